"""The Message Batches API that Foundry lacks, run on the client side.

Formats are Anthropic's (JSONL of ``{"custom_id", "params"}`` in, result lines out); the state is
a store (SQLite by default, PostgreSQL for several hosts) so a batch survives ``kill -9`` and
resumes with exactly one result per ``custom_id``.
"""

from __future__ import annotations

from ._admission import AdaptiveLimit, Admission, GovernedAdmission
from ._client import AnthropicFoundry, AsyncAnthropicFoundry, AsyncBatches, Batches
from ._format import BatchInputError, BatchRequest, read_requests, validate_requests
from ._open import open_store
from ._output import ResultsFile, ResultsFileError
from ._runner import BatchProgress, BatchRunner
from ._service import BatchPage, BatchResultsNotReadyError, BatchService, DeletedMessageBatch
from ._sqlite import SQLiteBatchStore
from ._state import BatchStateError
from ._types import (
    MessageBatch,
    MessageBatchCanceledResult,
    MessageBatchErroredResult,
    MessageBatchExpiredResult,
    MessageBatchIndividualResponse,
    MessageBatchRequestCounts,
    MessageBatchResult,
    MessageBatchSucceededResult,
)
from .store import (
    BatchNotFoundError,
    BatchRecord,
    BatchStore,
    BatchStoreError,
)

__all__ = [
    "AdaptiveLimit",
    "Admission",
    "AnthropicFoundry",
    "AsyncAnthropicFoundry",
    "AsyncBatches",
    "BatchInputError",
    "BatchNotFoundError",
    "BatchPage",
    "BatchProgress",
    "BatchRecord",
    "BatchRequest",
    "BatchResultsNotReadyError",
    "BatchRunner",
    "BatchService",
    "BatchStateError",
    "BatchStore",
    "BatchStoreError",
    "Batches",
    "DeletedMessageBatch",
    "GovernedAdmission",
    "MessageBatch",
    "MessageBatchCanceledResult",
    "MessageBatchErroredResult",
    "MessageBatchExpiredResult",
    "MessageBatchIndividualResponse",
    "MessageBatchRequestCounts",
    "MessageBatchResult",
    "MessageBatchSucceededResult",
    "ResultsFile",
    "ResultsFileError",
    "SQLiteBatchStore",
    "open_store",
    "read_requests",
    "validate_requests",
]
