"""The batch objects user code reads (defined in :mod:`claude_foundry.types.messages`, the
official path), and turning stored results back into them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from ..types import ErrorResponse, message_from_builtins
from ..types.messages import (
    MessageBatch,
    MessageBatchCanceledResult,
    MessageBatchErroredResult,
    MessageBatchExpiredResult,
    MessageBatchIndividualResponse,
    MessageBatchRequestCounts,
    MessageBatchResult,
    MessageBatchSucceededResult,
)

__all__ = [
    "MessageBatch",
    "MessageBatchCanceledResult",
    "MessageBatchErroredResult",
    "MessageBatchExpiredResult",
    "MessageBatchIndividualResponse",
    "MessageBatchRequestCounts",
    "MessageBatchResult",
    "MessageBatchSucceededResult",
    "result_from_builtins",
    "timestamp",
]


def timestamp(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def result_from_builtins(result: dict[str, Any]) -> MessageBatchResult:
    """A stored result as its typed object; the message is decoded leniently (a newer API's
    fields stay readable)."""
    kind = result.get("type")
    if kind == "succeeded":
        return MessageBatchSucceededResult(message=message_from_builtins(result["message"]))
    if kind == "errored":
        return MessageBatchErroredResult(error=msgspec.convert(result["error"], ErrorResponse))
    if kind == "canceled":
        return MessageBatchCanceledResult()
    if kind == "expired":
        return MessageBatchExpiredResult()
    raise ValueError(f"unknown batch result type {kind!r}")
