"""Where a batch lives while it runs: the job store.

:class:`BatchStore` is the seam: the runner, the ``messages.batches`` service and the CLI use only
its methods. Two stores implement it with the same named queries (``sql/sqlite.sql``,
``sql/postgres.sql``): :class:`SQLiteBatchStore` (the default, one machine, any number of worker
processes on it) and :class:`PostgresBatchStore` (several hosts; row claims with
``FOR UPDATE SKIP LOCKED``).

Guarantees every store keeps:

- Opening a store brings its tables to the newest layout: the numbered files in
  ``migrations/<dialect>/`` not yet applied run in order, in one transaction, under a lock
  (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so several workers may start at
  once. A store written by a newer release is refused with a message to upgrade, and left as
  it was.
- A batch and all its requests are created in one transaction: a batch is never half there.
- ``claim`` hands a pending request (or one whose lease ran out) to one worker only, marks it
  ``in_flight`` with a lease, and commits before the request is sent ("state written before").
- ``finish`` records a request's result once: it is guarded by ``state = 'in_flight' AND
  lease_owner = worker``, so a worker whose lease was taken over records nothing, and a result
  once recorded never changes ("state written after"). Commits are durable (SQLite
  ``synchronous=FULL``; PostgreSQL's commit).
- Batch status changes follow :mod:`._state`'s table; an illegal one raises
  :class:`~.BatchStateError` and changes nothing.

Driver errors (``sqlite3``, ``psycopg``) become :class:`BatchStoreError` at one place, with
``from exc``.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import msgspec

from .._errors import AnthropicError
from .._migrations import newer_schema_message, numbered_scripts
from ._format import BatchRequest
from ._state import (
    BATCH_TRANSITIONS,
    CANCELED,
    CANCELING,
    ENDED,
    ERRORED,
    EXPIRED,
    FINISHED_REQUEST_STATES,
    IN_FLIGHT,
    PENDING,
    REQUEST_TRANSITIONS,
    SUCCEEDED,
    BatchStateError,
    next_batch_state,
    next_request_state,
    sources,
)
from ._types import MessageBatch, MessageBatchRequestCounts, timestamp

__all__ = [
    "BatchNotFoundError",
    "BatchRecord",
    "BatchStore",
    "BatchStoreError",
    "Claimed",
]


class BatchStoreError(AnthropicError):
    """The batch store (SQLite file or PostgreSQL server) failed; the driver's error is
    ``__cause__``."""


class BatchNotFoundError(AnthropicError, LookupError):
    """No batch with that id in this store."""


@dataclass(frozen=True, slots=True)
class Claimed:
    custom_id: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A batch row and its request counts per state."""

    id: str
    label: str | None
    input_sha256: str
    processing_status: str
    request_count: int
    created_at: float
    expires_at: float
    ended_at: float | None
    cancel_initiated_at: float | None
    results_url: str | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> int:
        return sum(self.counts.get(state, 0) for state in FINISHED_REQUEST_STATES)

    @property
    def in_flight(self) -> int:
        return self.counts.get(IN_FLIGHT, 0)

    def to_message_batch(self) -> MessageBatch:
        counts = self.counts
        created = timestamp(self.created_at)
        expires = timestamp(self.expires_at)
        assert created is not None
        assert expires is not None
        return MessageBatch(
            id=self.id,
            processing_status=self.processing_status,  # type: ignore[arg-type]
            request_counts=MessageBatchRequestCounts(
                processing=counts.get(PENDING, 0) + counts.get(IN_FLIGHT, 0),
                succeeded=counts.get(SUCCEEDED, 0),
                errored=counts.get(ERRORED, 0),
                canceled=counts.get(CANCELED, 0),
                expired=counts.get(EXPIRED, 0),
            ),
            created_at=created,
            expires_at=expires,
            ended_at=timestamp(self.ended_at),
            cancel_initiated_at=timestamp(self.cancel_initiated_at),
            # as in the API, only an ended batch has results to fetch
            results_url=(self.results_url or f"batch-store:{self.id}")
            if self.processing_status == ENDED
            else None,
        )


def _load_queries(filename: str, placeholders: dict[str, str]) -> dict[str, str]:
    text = resources.files(__package__).joinpath("sql", filename).read_text("utf-8")
    queries: dict[str, str] = {}
    for chunk in text.split("-- name: ")[1:]:
        name, _, body = chunk.partition("\n")
        for key, value in placeholders.items():
            body = body.replace("{" + key + "}", value)
        queries[name.strip()] = body.strip()
    return queries


def _guards(quote: str) -> dict[str, str]:
    """The SQL spellings of the state tables' guards: ``{pending}`` → ``'pending'``, and the
    sources of the transitions the queries guard."""

    def literal(state: str) -> str:
        return quote + state + quote

    def group(states: Iterable[str]) -> str:
        return "(" + ", ".join(literal(state) for state in states) + ")"

    values = {state: literal(state) for state in (PENDING, IN_FLIGHT, *FINISHED_REQUEST_STATES)}
    values["finish_sources"] = group(sources(REQUEST_TRANSITIONS, "succeed"))
    return values


_ENCODE = msgspec.json.encode
_DECODE = msgspec.json.decode


class BatchStore(ABC):
    """The job store's operations. Times are epoch seconds; ``worker`` is a worker's id."""

    #: a description safe to print (no password)
    location: str
    #: the folder of its migrations: ``migrations/<dialect>/``
    dialect: str

    # --- connection-level primitives the shared logic runs on --------------------------------

    @abstractmethod
    def _run(self, name: str, params: dict[str, Any] | None = None) -> Any:
        """Run a named query; return the cursor."""

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction (exclusive where the database needs it for claims)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> BatchStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @abstractmethod
    def _execute_script(self, script: str) -> None:
        """Run a migration file's statements inside the current transaction."""

    def _migrate(self) -> int:
        """Bring the tables to the newest layout; return its version. Runs inside the caller's
        transaction, under the lock that keeps two processes from migrating at once.

        A store from before numbered migrations (a stamp in ``cf_batch_schema``, no versions
        table) is at version 1, the layout ``0001`` creates: it is recorded so, not rebuilt. A
        store at a version this release does not know is refused, not misread."""
        scripts = numbered_scripts(__package__, self.dialect)
        newest = scripts[-1][0]
        self._run("create_schema_versions")
        current = int(self._run("schema_version").fetchone()[0])
        legacy = None
        if self._run("has_legacy_stamp").fetchone()[0]:
            legacy = self._run("legacy_stamp").fetchone()[0]
        if current == 0 and legacy is not None:
            # Releases before numbered migrations only ever stamped 1; a higher stamp without
            # the versions table is a newer release's store.
            self._refuse_newer(int(legacy), 1)
            self._run("record_schema_version", {"version": 1, "now": time.time()})
            current = 1
        self._refuse_newer(current, newest)
        for version, script in scripts:
            if version > current:
                self._execute_script(script)
                self._run("record_schema_version", {"version": version, "now": time.time()})
                current = version
        if legacy != current:
            self._run("clear_legacy_stamp")
            self._run("set_legacy_stamp", {"version": current})
        return current

    def _refuse_newer(self, found: int, newest: int) -> None:
        message = newer_schema_message(f"the batch store {self.location}", found, newest)
        if message is not None:
            raise BatchStoreError(message)

    # --- batches ------------------------------------------------------------------------------

    def create_batch(
        self,
        batch_id: str,
        requests: Sequence[BatchRequest],
        *,
        input_sha256: str,
        created_at: float,
        expires_at: float,
        label: str | None = None,
    ) -> BatchRecord:
        with self._transaction():
            self._run(
                "insert_batch",
                {
                    "id": batch_id,
                    "label": label,
                    "input_sha256": input_sha256,
                    "request_count": len(requests),
                    "created_at": created_at,
                    "expires_at": expires_at,
                },
            )
            self._insert_requests(
                {
                    "batch_id": batch_id,
                    "custom_id": request.custom_id,
                    "line": request.line,
                    "params": _ENCODE(request.params).decode(),
                }
                for request in requests
            )
        return self.get_batch(batch_id)

    @abstractmethod
    def _insert_requests(self, rows: Iterable[dict[str, Any]]) -> None: ...

    def get_batch(self, batch_id: str) -> BatchRecord:
        with self._errors():
            row = self._run("get_batch", {"id": batch_id}).fetchone()
            if row is None:
                raise BatchNotFoundError(
                    f"no batch {batch_id!r} in the batch store {self.location}; check the id "
                    f"(`claude-foundry batch status --store {self.location}` lists the batches)"
                )
            counts = {
                state: count
                for state, count in self._run("counts", {"batch_id": batch_id}).fetchall()
            }
        return _record(tuple(row), counts)

    def find_batch(self, label: str) -> BatchRecord | None:
        """The newest batch created with ``label`` (the CLI labels a batch with its output)."""
        with self._errors():
            row = self._run("find_batch", {"label": label}).fetchone()
        return None if row is None else self.get_batch(row[0])

    def list_batch_ids(self) -> list[str]:
        """Batch ids, newest first."""
        with self._errors():
            return [row[0] for row in self._run("list_batches").fetchall()]

    def _mark_batch(self, batch_id: str, event: str, now: float) -> BatchRecord:
        record = self.get_batch(batch_id)
        target = next_batch_state(record.processing_status, event)  # raises if illegal
        allowed_from = sources(BATCH_TRANSITIONS, event)
        query_params = {"batch_id": batch_id, "to_status": target, "now": now}
        with self._transaction():
            cursor = self._run_with("mark_batch", query_params, from_statuses=allowed_from)
            if cursor.rowcount == 0:  # somebody else moved it first
                fresh = self.get_batch(batch_id)
                raise BatchStateError("batch", fresh.processing_status, event)
        return self.get_batch(batch_id)

    @abstractmethod
    def _run_with(self, name: str, params: dict[str, Any], **groups: Sequence[str]) -> Any:
        """Run a named query whose ``{group}`` placeholders are filled with the given states."""

    def cancel(self, batch_id: str, now: float) -> BatchRecord:
        """Begin canceling: no more claims; requests not started become ``canceled``."""
        self._mark_batch(batch_id, "cancel", now)
        self.settle(batch_id, now)
        return self.get_batch(batch_id)

    def settle(self, batch_id: str, now: float) -> BatchRecord:
        """Move a batch on as far as its requests allow: past its deadline the unfinished
        requests become ``expired``; canceling, the unstarted ones ``canceled``; with nothing
        left to do, the batch ``ended``."""
        record = self.get_batch(batch_id)
        if now >= record.expires_at:
            # Also after the batch ended: a request a dead worker held expires with its lease.
            if record.counts.get(PENDING, 0) + record.in_flight:
                self._close_pending(batch_id, EXPIRED, {"type": "expired"}, now)
            if record.processing_status != ENDED:
                with contextlib.suppress(BatchStateError):
                    self._mark_batch(batch_id, "expire", now)
            return self.get_batch(batch_id)
        if record.processing_status == ENDED:
            return record
        if record.processing_status == CANCELING:
            self._close_pending(batch_id, CANCELED, {"type": "canceled"}, now)
        record = self.get_batch(batch_id)
        unfinished = record.counts.get(PENDING, 0) + record.in_flight
        if record.processing_status != ENDED and unfinished == 0:
            with contextlib.suppress(BatchStateError):
                self._mark_batch(batch_id, "drained", now)
            record = self.get_batch(batch_id)
        return record

    def _close_pending(self, batch_id: str, state: str, result: dict[str, Any], now: float) -> None:
        with self._transaction():
            self._run(
                "close_pending",
                {
                    "batch_id": batch_id,
                    "state": state,
                    "result": _ENCODE(result).decode(),
                    "now": now,
                },
            )

    def set_results_url(self, batch_id: str, url: str) -> None:
        with self._transaction():
            self._run("set_results_url", {"batch_id": batch_id, "results_url": url})

    def delete_batch(self, batch_id: str) -> None:
        """Remove an ended batch and its results."""
        record = self.get_batch(batch_id)
        if record.processing_status != ENDED:
            raise BatchStateError("batch", record.processing_status, "delete")
        with self._transaction():
            self._run("delete_requests", {"batch_id": batch_id})
            self._run("delete_batch", {"batch_id": batch_id})

    # --- requests -----------------------------------------------------------------------------

    def claim(
        self, batch_id: str, worker: str, *, limit: int, lease: float, now: float
    ) -> list[Claimed]:
        """Up to ``limit`` requests for ``worker``, leased until ``now + lease``."""
        if limit <= 0:
            return []
        with self._transaction():
            return self._claim(batch_id, worker, limit, lease, now)

    def _claim(
        self, batch_id: str, worker: str, limit: int, lease: float, now: float
    ) -> list[Claimed]:
        params = {
            "batch_id": batch_id,
            "worker": worker,
            "until": now + lease,
            "now": now,
            "limit": limit,
        }
        # a lease that ran out puts its request back in the queue (in_flight --release--> pending)
        self._run("release_expired_leases", {"batch_id": batch_id, "now": now})
        rows = self._run("claim", params).fetchall()
        return [Claimed(custom_id, _DECODE(params)) for custom_id, params in rows]

    def exchange(
        self,
        batch_id: str,
        worker: str,
        outcomes: Sequence[tuple[str, str, dict[str, Any]]],
        *,
        exported: Sequence[str] = (),
        limit: int,
        lease: float,
        now: float,
    ) -> tuple[int, list[Claimed]]:
        """:meth:`finish`, :meth:`mark_exported` and :meth:`claim` in one transaction (one
        durable commit instead of three): how many were recorded, and the new claims."""
        if not outcomes and not exported and limit <= 0:
            return 0, []
        with self._transaction():
            recorded = self._finish(batch_id, worker, outcomes, now)
            if exported:
                self._run_many(
                    "mark_exported", [{"batch_id": batch_id, "custom_id": c} for c in exported]
                )
            claimed = self._claim(batch_id, worker, limit, lease, now) if limit > 0 else []
        return recorded, claimed

    def renew(self, batch_id: str, worker: str, custom_ids: Iterable[str], *, until: float) -> None:
        rows = [
            {"batch_id": batch_id, "worker": worker, "custom_id": cid, "until": until}
            for cid in custom_ids
        ]
        if rows:
            with self._transaction():
                self._run_many("renew", rows)

    def finish(
        self,
        batch_id: str,
        worker: str,
        outcomes: Sequence[tuple[str, str, dict[str, Any]]],
        *,
        now: float,
    ) -> int:
        """Record ``(custom_id, state, result)`` outcomes in one transaction; returns how many
        were recorded (a request whose lease another worker took over is not)."""
        if not outcomes:
            return 0
        with self._transaction():
            return self._finish(batch_id, worker, outcomes, now)

    def _finish(
        self,
        batch_id: str,
        worker: str,
        outcomes: Sequence[tuple[str, str, dict[str, Any]]],
        now: float,
    ) -> int:
        recorded = 0
        for custom_id, state, result in outcomes:
            next_request_state(IN_FLIGHT, _finish_event(state))
            cursor = self._run(
                "finish",
                {
                    "batch_id": batch_id,
                    "worker": worker,
                    "custom_id": custom_id,
                    "state": state,
                    "result": _ENCODE(result).decode(),
                    "now": now,
                },
            )
            recorded += cursor.rowcount
        return recorded

    def release(self, batch_id: str, worker: str, custom_ids: Iterable[str] | None = None) -> None:
        """Give requests back (``None``: all this worker holds) so any worker may claim them."""
        with self._transaction():
            if custom_ids is None:
                self._run("release_owner", {"batch_id": batch_id, "worker": worker})
            else:
                rows = [
                    {"batch_id": batch_id, "worker": worker, "custom_id": c} for c in custom_ids
                ]
                if rows:
                    self._run_many("release", rows)

    def lease_owners(self, batch_id: str) -> list[str]:
        with self._errors():
            return [row[0] for row in self._run("lease_owners", {"batch_id": batch_id}).fetchall()]

    # --- results ------------------------------------------------------------------------------

    def unexported(self, batch_id: str, *, limit: int = 1000) -> list[tuple[str, bytes]]:
        with self._errors():
            rows = self._run("unexported", {"batch_id": batch_id, "limit": limit}).fetchall()
        return [(custom_id, result.encode()) for custom_id, result in rows]

    def mark_exported(self, batch_id: str, custom_ids: Iterable[str]) -> None:
        rows = [{"batch_id": batch_id, "custom_id": cid} for cid in custom_ids]
        if rows:
            with self._transaction():
                self._run_many("mark_exported", rows)

    def results(self, batch_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every recorded result, in the order they finished."""
        with self._errors():
            rows = self._run("results", {"batch_id": batch_id}).fetchall()
        for custom_id, result in rows:
            yield custom_id, _DECODE(result)

    # --- workers ------------------------------------------------------------------------------

    def heartbeat(self, worker: str, batch_id: str, *, host: str, pid: int, now: float) -> None:
        with self._transaction():
            self._run(
                "heartbeat",
                {"id": worker, "batch_id": batch_id, "host": host, "pid": pid, "now": now},
            )

    def prune_workers(self, batch_id: str, *, before: float) -> None:
        """Forget workers of the batch not heard from since ``before`` (they died)."""
        with self._transaction():
            self._run("prune_workers", {"batch_id": batch_id, "before": before})

    def forget_worker(self, worker: str) -> None:
        with self._transaction():
            self._run("forget_worker", {"id": worker})

    def workers(self, batch_id: str) -> list[tuple[str, str, int, float]]:
        with self._errors():
            return [tuple(row) for row in self._run("workers", {"batch_id": batch_id}).fetchall()]

    @abstractmethod
    def _run_many(self, name: str, rows: list[dict[str, Any]]) -> None: ...

    @abstractmethod
    def _errors(self) -> contextlib.AbstractContextManager[None]:
        """Map the driver's errors into :class:`BatchStoreError` (``from exc``)."""


def _record(row: tuple[Any, ...], counts: dict[str, int]) -> BatchRecord:
    (batch_id, label, sha, status, count, created, expires, ended, cancel_initiated, url) = row
    return BatchRecord(
        batch_id,
        label,
        sha,
        status,
        count,
        created,
        expires,
        ended,
        cancel_initiated,
        url,
        counts=counts,
    )


def _finish_event(state: str) -> str:
    return {
        SUCCEEDED: "succeed",
        ERRORED: "fail",
        CANCELED: "cancel",
        EXPIRED: "expire",
    }[state]
