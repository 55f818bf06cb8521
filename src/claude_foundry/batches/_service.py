"""``client.messages.batches``, served from a local batch store.

The methods and shapes are the Batches API's (``create``, ``retrieve``, ``list``, ``cancel``,
``delete``, ``results``); requests are processed on this side, either by a worker thread of this
process (``processing="thread"``, the default: a batch is picked up when it is created, and again
when this process touches it after a restart) or by worker processes that share the store
(``processing="workers"``: run ``claude-foundry batch worker --store ...``).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._errors import AnthropicError
from ..types.messages import DeletedMessageBatch
from ._format import BatchRequest, requests_sha256, validate_requests
from ._open import open_store
from ._runner import BatchRunner
from ._state import ENDED
from ._types import MessageBatch, MessageBatchIndividualResponse, result_from_builtins
from .store import BatchStore

__all__ = [
    "DEFAULT_DEADLINE",
    "BatchPage",
    "BatchResultsNotReadyError",
    "BatchService",
    "DeletedMessageBatch",
    "default_store_location",
    "new_batch_id",
]

logger = logging.getLogger(__name__)

#: the Batches API's processing window
DEFAULT_DEADLINE = 24 * 3600.0
Processing = Literal["thread", "workers"]


class BatchResultsNotReadyError(AnthropicError, ValueError):
    """``results()`` of a batch that has not ended (the API has no ``results_url`` yet)."""


def new_batch_id() -> str:
    return "msgbatch_" + secrets.token_hex(12)


def default_store_location(environ: Mapping[str, str] | None = None) -> str:
    """``CLAUDE_FOUNDRY_BATCH_STORE``, else ``$XDG_STATE_HOME/claude-foundry/batches.sqlite``
    (``~/.local/state/...``)."""
    env = os.environ if environ is None else environ
    if env.get("CLAUDE_FOUNDRY_BATCH_STORE"):
        return env["CLAUDE_FOUNDRY_BATCH_STORE"]
    state_home = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(state_home) / "claude-foundry" / "batches.sqlite")


@dataclass(frozen=True, slots=True)
class BatchPage:
    """A page of ``list()``. Iterating it goes on through the following pages, as iterating the
    SDK's ``SyncPage`` does; ``data`` is this page alone."""

    data: list[MessageBatch]
    has_more: bool
    first_id: str | None
    last_id: str | None
    _next_page: Callable[[str], BatchPage] | None = None

    def has_next_page(self) -> bool:
        return self.has_more and self.last_id is not None

    def get_next_page(self) -> BatchPage:
        if not self.has_next_page() or self._next_page is None or self.last_id is None:
            raise StopIteration("no next page")
        return self._next_page(self.last_id)

    def __iter__(self) -> Iterator[MessageBatch]:
        page: BatchPage | None = self
        while page is not None:
            yield from page.data
            page = page.get_next_page() if page.has_next_page() else None


class BatchService:
    """The batch operations over one store, shared by the sync and async resources. Thread-safe:
    the store connection of the API calls is used under a lock; each worker thread opens its
    own connection."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        store: str | Path | None = None,
        processing: Processing = "thread",
        runner_options: Mapping[str, Any] | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        if processing not in ("thread", "workers"):
            raise ValueError(f"batch_processing must be 'thread' or 'workers', got {processing!r}")
        self.location = str(store) if store is not None else default_store_location()
        self.processing = processing
        self.deadline = deadline
        self._client_factory = client_factory
        self._runner_options = dict(runner_options or {})
        self._lock = threading.Lock()
        self._store: BatchStore | None = None
        self._runners: dict[str, tuple[threading.Thread, BatchRunner]] = {}

    def _open(self) -> BatchStore:
        if self._store is None:
            self._store = open_store(self.location)
        return self._store

    def _call(self, operation: Callable[[BatchStore], Any]) -> Any:
        with self._lock:
            return operation(self._open())

    # --- operations -------------------------------------------------------------------------

    def create(self, requests: Iterable[Mapping[str, Any]]) -> MessageBatch:
        validated = validate_requests(
            ((index, dict(item)) for index, item in enumerate(requests, start=1)),
            source="requests",
        )
        return self.create_validated(validated, input_sha256=requests_sha256(validated))

    def create_validated(
        self, requests: list[BatchRequest], *, input_sha256: str, label: str | None = None
    ) -> MessageBatch:
        now = time.time()
        batch_id = new_batch_id()
        record = self._call(
            lambda store: store.create_batch(
                batch_id,
                requests,
                input_sha256=input_sha256,
                created_at=now,
                expires_at=now + self.deadline,
                label=label,
            )
        )
        logger.info(
            "batch %s created with %d requests",
            batch_id,
            len(requests),
            extra={"action": "batch_created", "batch_id": batch_id},
        )
        self._ensure_processing(batch_id, record.processing_status)
        batch: MessageBatch = record.to_message_batch()
        return batch

    def retrieve(self, batch_id: str) -> MessageBatch:
        record = self._call(lambda store: store.settle(batch_id, time.time()))
        self._ensure_processing(batch_id, record.processing_status)
        batch: MessageBatch = record.to_message_batch()
        return batch

    def list(
        self, *, limit: int = 20, after_id: str | None = None, before_id: str | None = None
    ) -> BatchPage:
        """Newest first, as the API lists them; ``after_id`` / ``before_id`` page through."""
        ids: list[str] = self._call(lambda store: store.list_batch_ids())
        if after_id is not None and after_id in ids:
            ids = ids[ids.index(after_id) + 1 :]
        if before_id is not None and before_id in ids:
            ids = ids[: ids.index(before_id)][-limit:]
        page, more = ids[:limit], len(ids) > limit
        batches = [self.retrieve(batch_id) for batch_id in page]
        return BatchPage(
            batches,
            more,
            page[0] if page else None,
            page[-1] if page else None,
            lambda last: self.list(limit=limit, after_id=last),
        )

    def cancel(self, batch_id: str) -> MessageBatch:
        record = self._call(lambda store: store.cancel(batch_id, time.time()))
        logger.info(
            "batch %s canceling",
            batch_id,
            extra={"action": "batch_cancel", "batch_id": batch_id},
        )
        batch: MessageBatch = record.to_message_batch()
        return batch

    def delete(self, batch_id: str) -> DeletedMessageBatch:
        self._call(lambda store: store.delete_batch(batch_id))
        return DeletedMessageBatch(batch_id)

    def results(self, batch_id: str) -> Iterator[MessageBatchIndividualResponse]:
        record = self._call(lambda store: store.settle(batch_id, time.time()))
        if record.processing_status != ENDED:
            raise BatchResultsNotReadyError(
                f"batch {batch_id} is {record.processing_status.replace('_', ' ')}: its results "
                "are ready once processing_status is 'ended' (poll retrieve())"
            )
        rows = self._call(lambda store: list(store.results(batch_id)))
        return (
            MessageBatchIndividualResponse(custom_id=cid, result=result_from_builtins(result))
            for cid, result in rows
        )

    # --- processing -------------------------------------------------------------------------

    def _ensure_processing(self, batch_id: str, status: str) -> None:
        if self.processing != "thread" or status == ENDED:
            return
        with self._lock:
            running = self._runners.get(batch_id)
            if running is not None and running[0].is_alive():
                return
            runner_store = open_store(self.location)
            runner = BatchRunner(
                runner_store, batch_id, self._client_factory(), **self._runner_options
            )

            def work() -> None:
                try:
                    runner.run()
                except Exception:
                    logger.exception(
                        "batch %s: the worker thread failed; it resumes on the next call",
                        batch_id,
                        extra={"action": "worker_failed", "batch_id": batch_id},
                    )
                finally:
                    runner_store.close()

            thread = threading.Thread(target=work, name=f"batch-{batch_id}", daemon=True)
            self._runners[batch_id] = (thread, runner)
            thread.start()

    def wait(self, batch_id: str, max_wait: float | None = None) -> MessageBatch:
        """Block until the batch has ended (a convenience the API lacks; polling works too)."""
        deadline = None if max_wait is None else time.monotonic() + max_wait
        while True:
            batch = self.retrieve(batch_id)
            if batch.processing_status == ENDED:
                return batch
            if deadline is not None and time.monotonic() >= deadline:
                return batch
            time.sleep(0.05)

    def close(self) -> None:
        """Stop this process's worker threads (their requests go back to the store)."""
        with self._lock:
            runners = list(self._runners.values())
            self._runners.clear()
        for _, runner in runners:
            runner.stop()
        for thread, _ in runners:
            thread.join(timeout=10)
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
