"""The Message Batches objects, at the official path (``anthropic.types.messages``).

Foundry has no Batches API; :mod:`claude_foundry.batches` runs batches on the client side and
hands back these objects, shaped as the API's, so code written for the Batches API reads them
unchanged (``batch.processing_status``, ``batch.request_counts.succeeded``,
``entry.result.type``, ``entry.result.message.content``, ``entry.result.error.error.type``).
"""

# No ``from __future__ import annotations``: on Python 3.11 a TypedDict reads ``Required`` only
# from evaluated annotations.

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, Required, TypeAlias, TypedDict

from ._base import WireModel
from .errors import ErrorResponse
from .message import Message
from .params import MessageCreateParamsNonStreaming

__all__ = [
    "BatchCreateParams",
    "BatchListParams",
    "DeletedMessageBatch",
    "MessageBatch",
    "MessageBatchCanceledResult",
    "MessageBatchErroredResult",
    "MessageBatchExpiredResult",
    "MessageBatchIndividualResponse",
    "MessageBatchRequestCounts",
    "MessageBatchResult",
    "MessageBatchSucceededResult",
]

ProcessingStatus: TypeAlias = Literal["in_progress", "canceling", "ended"]


class MessageBatchRequestCounts(WireModel):
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


class MessageBatch(WireModel):
    """A batch: ``processing_status`` is ``in_progress``, ``canceling`` or ``ended``.

    ``results_url`` is set once the batch has ended, as in the API; from the client-side runner
    it is a ``file:`` URL of the results file when one is written, else a ``batch-store:``
    reference.
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


MessageBatchResult: TypeAlias = (
    MessageBatchSucceededResult
    | MessageBatchErroredResult
    | MessageBatchCanceledResult
    | MessageBatchExpiredResult
)


class MessageBatchIndividualResponse(WireModel):
    custom_id: str
    result: MessageBatchResult


class DeletedMessageBatch(WireModel):
    id: str
    type: Literal["message_batch_deleted"] = "message_batch_deleted"


class Request(TypedDict):
    """One line of a batch: its ``custom_id`` and the ``messages.create`` arguments."""

    custom_id: str
    params: MessageCreateParamsNonStreaming


class BatchCreateParams(TypedDict, total=False):
    requests: Required[Iterable[Request]]
    user_profile_id: str
    workspace_id: str


class BatchListParams(TypedDict, total=False):
    after_id: str
    before_id: str
    limit: int
    workspace_id: str
