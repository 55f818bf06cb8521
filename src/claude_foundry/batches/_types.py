"""The batch objects user code reads, shaped as the official SDK's ``MessageBatch`` and
``MessageBatchIndividualResponse`` so code written for the Batches API reads them unchanged
(``batch.processing_status``, ``batch.request_counts.succeeded``, ``entry.result.type``,
``entry.result.message.content``, ``entry.result.error.error.type``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from ..types import ErrorResponse, Message, WireModel, message_from_builtins

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

ProcessingStatus = Literal["in_progress", "canceling", "ended"]


def timestamp(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class MessageBatchRequestCounts(WireModel):
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


class MessageBatch(WireModel):
    """A batch: ``processing_status`` is ``in_progress``, ``canceling`` or ``ended``.

    ``results_url`` is set once the batch has ended, as in the API; here it is a ``file:`` URL
    of the results file when one is written, else a ``batch-store:`` reference.
    """

    id: str
    processing_status: ProcessingStatus
    request_counts: MessageBatchRequestCounts
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    archived_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    results_url: str | None = None
    type: str = "message_batch"


class MessageBatchSucceededResult(WireModel, tag_field="type", tag="succeeded"):
    message: Message


class MessageBatchErroredResult(WireModel, tag_field="type", tag="errored"):
    error: ErrorResponse


class MessageBatchCanceledResult(WireModel, tag_field="type", tag="canceled"):
    pass


class MessageBatchExpiredResult(WireModel, tag_field="type", tag="expired"):
    pass


MessageBatchResult = (
    MessageBatchSucceededResult
    | MessageBatchErroredResult
    | MessageBatchCanceledResult
    | MessageBatchExpiredResult
)


class MessageBatchIndividualResponse(WireModel):
    custom_id: str
    result: MessageBatchResult


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
