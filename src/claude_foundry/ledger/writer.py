"""The ledger: a call observer that writes records off the caller's thread, in batches.

``record_call`` appends the record to an in-memory queue (well under a microsecond); a daemon
thread takes what has gathered every ``flush_interval`` seconds (or as soon as ``batch_size``
records wait), prices them, and writes them in one transaction. The same thread deletes rows
older than the retention window a few thousand at a time between batches, so callers never wait
for it and writers in other processes wait at most for one small delete.

What a crash loses: the records still queued, at most ``flush_interval`` seconds' worth (or one
batch). ``close()`` and interpreter exit (``atexit``) flush them; ``kill -9`` or a power cut does
not. What was committed stays readable: SQLite in WAL mode and PostgreSQL both recover to the last
commit.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._observe import CallRecord
from .prices import PriceTable, load_price_table
from .store import LedgerError, Store, row_for

__all__ = ["DEFAULT_RETENTION_DAYS", "Ledger"]

log = logging.getLogger("claude_foundry.ledger")

DEFAULT_RETENTION_DAYS = 30.0
"""Anthropic recommends logging activity on at least a 30-day rolling basis."""

PRICES_ENVIRONMENT_VARIABLE = "CLAUDE_FOUNDRY_PRICES"
"""A price file laid over the shipped table (see prices.toml for its shape)."""

_DAY = 86_400.0
_PRUNE_CHUNK = 5000
_MAX_RETRY_DELAY = 30.0


class Ledger:
    """Records every call it observes into a :class:`~claude_foundry.ledger.store.Store`.

    Pass it (or its URL) as ``AnthropicFoundry(ledger=...)``; several clients may share one.

    ``retention_days`` (default 30; ``None`` keeps everything) is enforced every
    ``prune_interval`` seconds. ``max_queued`` bounds memory if the database is down for long:
    past it the newest records are dropped and counted in ``dropped``.
    """

    _shared_key: str | None = None

    def __init__(
        self,
        store: Store,
        *,
        prices: PriceTable | str | Path | None = None,
        retention_days: float | None = DEFAULT_RETENTION_DAYS,
        flush_interval: float = 0.2,
        batch_size: int = 1000,
        prune_interval: float = 300.0,
        max_queued: int = 100_000,
        now: Callable[[], float] = time.time,
    ) -> None:
        if retention_days is not None and retention_days <= 0:
            raise ValueError(f"retention_days must be positive or None, not {retention_days!r}")
        self.store = store
        if prices is None:
            prices = os.environ.get(PRICES_ENVIRONMENT_VARIABLE) or None
        self.prices = prices if isinstance(prices, PriceTable) else load_price_table(prices)
        self.retention_days = retention_days
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.prune_interval = prune_interval
        self.dropped = 0
        """Records dropped: the queue was full (the database was unreachable for long) or the
        database refused them (a schema or data error; logged)."""
        self._now = now
        self._queue: collections.deque[CallRecord] = collections.deque()
        self._max_queued = max_queued
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._written = 0  # records taken off the queue and settled (written or dropped)
        self._taken = 0
        self._closed = False
        self._last_prune = 0.0
        store.migrate()
        store.close()  # the caller's connection; the writer thread opens its own
        self._start_writer()
        _open_ledgers.add(self)

    def _start_writer(self) -> None:
        self._generation = _fork_generation
        self._thread = threading.Thread(target=self._run, name="claude-foundry-ledger", daemon=True)
        self._thread.start()

    def _restart_in_child(self) -> None:
        """In a forked child: the parent's writer thread, locks and connections did not come
        along, and its queued records are the parent's to write."""
        self._queue = collections.deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._written = self._taken = 0
        self.store.forget_connections()
        self._start_writer()

    def __repr__(self) -> str:
        return f"Ledger({self.store.where!r}, retention_days={self.retention_days})"

    # --- the caller's side: microseconds ---------------------------------------------------------

    def record_call(self, record: CallRecord) -> None:
        """Queue ``record`` to be written (the :class:`~claude_foundry.CallObserver` protocol)."""
        if self._generation != _fork_generation and not self._closed:
            self._restart_in_child()  # a forked worker (gunicorn --preload, multiprocessing)
        queue = self._queue
        if len(queue) >= self._max_queued:
            self.dropped += 1
            return
        queue.append(record)
        if len(queue) >= self.batch_size:
            self._wake.set()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every record queued so far is written; ``False`` on timeout."""
        if self._generation != _fork_generation and not self._closed:
            self._restart_in_child()
        if threading.current_thread() is self._thread:
            return False
        target = self._taken + len(self._queue)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._written < target and self._thread.is_alive():
                self._wake.set()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining if remaining is not None else 1.0)
        return self._written >= target

    def close(self, timeout: float | None = 10.0) -> None:
        """Write what is queued, stop the writer thread and close the store. Idempotent."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)
        self.store.close()
        _open_ledgers.discard(self)
        if self._shared_key is not None:
            with _shared_lock:
                if _shared.get(self._shared_key) is self:
                    del _shared[self._shared_key]

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def prune(self) -> int:
        """Delete the rows older than the retention window now; return how many."""
        if self.retention_days is None:
            return 0
        before = self._now() - self.retention_days * _DAY
        total = 0
        while True:
            deleted = self.store.prune(before, _PRUNE_CHUNK)
            total += deleted
            if deleted < _PRUNE_CHUNK:
                return total

    # --- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._write_until_closed()
        finally:
            self.store.close()  # this thread's connection

    def _write_until_closed(self) -> None:
        delay = 0.0
        while True:
            self._wake.wait(self.flush_interval if delay == 0.0 else delay)
            self._wake.clear()
            closing = self._closed
            try:
                self._write_queued()
                self._prune_when_due()
                delay = 0.0
            except LedgerError as exc:
                delay = min(max(delay * 2, 1.0), _MAX_RETRY_DELAY)
                log.warning("ledger write failed, retrying in %.0f s: %s", delay, exc)
                if closing:
                    return
            except Exception:  # a bug must not kill the thread silently and leak the queue
                log.exception("ledger writer failed")
                delay = min(max(delay * 2, 1.0), _MAX_RETRY_DELAY)
            if closing and not self._queue:
                return

    def _write_queued(self) -> None:
        queue = self._queue
        while queue:
            batch: list[CallRecord] = []
            while queue and len(batch) < self.batch_size:
                batch.append(queue.popleft())
            self._taken += len(batch)
            try:
                self.store.insert([self._row(record) for record in batch])
            except LedgerError as exc:
                if exc.transient:
                    queue.extendleft(reversed(batch))  # retried, in order, on the next round
                    self._taken -= len(batch)
                    raise
                # The same rows would fail again: drop them rather than block every later one.
                log.error("ledger dropped %d records the database refused: %s", len(batch), exc)
                self.dropped += len(batch)
            except BaseException:
                queue.extendleft(reversed(batch))
                self._taken -= len(batch)
                raise
            with self._idle:
                self._written += len(batch)
                self._idle.notify_all()

    def _row(self, record: CallRecord) -> tuple[Any, ...]:
        priced_model, cost = self.prices.cost(record)
        return row_for(record, priced_model, cost, self.prices.version)

    def _prune_when_due(self) -> None:
        if self.retention_days is None:
            return
        now = time.monotonic()
        if now - self._last_prune < self.prune_interval and self._last_prune:
            return
        self._last_prune = now
        deleted = self.store.prune(self._now() - self.retention_days * _DAY, _PRUNE_CHUNK)
        if deleted == _PRUNE_CHUNK:
            self._last_prune = 0.0  # more to delete: another chunk after the next batch
        if deleted:
            log.debug("ledger retention: deleted %d rows", deleted)


_open_ledgers: weakref.WeakSet[Ledger] = weakref.WeakSet()
_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
_shared: dict[str, Ledger] = {}
_shared_lock = threading.Lock()


def shared_ledger(url: str, factory: Callable[[], Ledger]) -> Ledger:
    """One ledger per URL per process, so every client of a process shares one writer."""
    with _shared_lock:
        ledger = _shared.get(url)
        if ledger is None or ledger._closed:
            ledger = factory()
            ledger._shared_key = url
            _shared[url] = ledger
        return ledger


@atexit.register
def _flush_at_exit() -> None:
    for ledger in list(_open_ledgers):
        try:
            ledger.close(timeout=5.0)
        except Exception:
            log.exception("ledger %r: could not write its last records at exit", ledger)
