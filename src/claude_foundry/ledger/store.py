"""The ledger's storage seam: one table of calls, SQLite or PostgreSQL behind a few methods.

A :class:`Store` guarantees:

- :meth:`~Store.migrate` brings the schema to the newest version, applying the numbered SQL files
  in ``migrations/<dialect>/`` in order, each in one transaction, safely from several processes at
  once (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock);
- :meth:`~Store.insert` writes a batch of rows in one transaction (all or none);
- :meth:`~Store.prune` deletes at most ``limit`` rows older than a time, in its own short
  transaction, so writers in other processes wait at most for one small delete;
- :meth:`~Store.query` runs a read (``%s`` placeholders in both dialects).

Driver errors (``sqlite3``, ``psycopg``) become :class:`LedgerError` in one place,
:func:`driver_errors`, with the driver's error as ``__cause__`` and never the URL's password.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .._errors import AnthropicError
from .._migrations import newer_schema_message, numbered_scripts
from .._observe import CallRecord

__all__ = [
    "COLUMNS",
    "LedgerError",
    "Store",
    "driver_errors",
    "latency_bucket",
    "migration_scripts",
    "row_for",
]


class LedgerError(AnthropicError):
    """The ledger's database failed or refused (unreachable, locked, not a ledger, ...).

    ``transient`` is true when trying again later may succeed (a connection or lock problem),
    false when the same statement will fail again (a schema or data problem)."""

    transient: bool = True


#: The columns a row is written with, in order (the table also has an ``id``).
COLUMNS: tuple[str, ...] = (
    "started_at",
    "duration",
    "time_to_first_token",
    "operation",
    "stream",
    "host",
    "deployment",
    "route",
    "model",
    "response_id",
    "request_id",
    "apim_request_id",
    "region",
    "served_by_cluster",
    "processed_tier",
    "status_code",
    "outcome",
    "error_type",
    "attempts",
    "retries",
    "failovers",
    "throttled",
    "stop_reason",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_input_tokens",
    "web_search_requests",
    "web_fetch_requests",
    "service_tier",
    "tags",
    "priced_model",
    "cost_usd",
    "price_table",
    "duration_bucket",
    "ttft_bucket",
    "request_body",
    "reply_text",
)

# Latency percentiles come from log-scale buckets stored with each row (5% wide), so a report
# over a million rows groups small integers instead of sorting every duration.
_BUCKET_GROWTH = math.log(1.05)


def latency_bucket(seconds: float | None) -> int | None:
    """The bucket of a duration: ``floor(log_1.05(milliseconds))``, 0 for under a millisecond."""
    if seconds is None:
        return None
    milliseconds = seconds * 1000.0
    if milliseconds <= 1.0:
        return 0
    return int(math.log(milliseconds) / _BUCKET_GROWTH)


def bucket_seconds(bucket: int) -> float:
    """A bucket's middle, in seconds."""
    return math.exp((bucket + 0.5) * _BUCKET_GROWTH) / 1000.0


def row_for(
    record: CallRecord, priced_model: str | None, cost: float | None, table: str
) -> tuple[Any, ...]:
    """A record as the values of :data:`COLUMNS`."""
    return (
        record.started_at,
        record.duration,
        record.time_to_first_token,
        record.operation,
        int(record.stream),
        record.host,
        record.deployment,
        record.route,
        record.model,
        record.response_id,
        record.request_id,
        record.apim_request_id,
        record.region,
        record.served_by_cluster,
        record.processed_tier,
        record.status_code,
        record.outcome,
        record.error_type,
        record.attempts,
        record.retries,
        record.failovers,
        int(record.throttled),
        record.stop_reason,
        record.input_tokens,
        record.output_tokens,
        record.cache_creation_input_tokens,
        record.cache_write_5m_tokens,
        record.cache_write_1h_tokens,
        record.cache_read_input_tokens,
        record.web_search_requests,
        record.web_fetch_requests,
        record.service_tier,
        json.dumps(dict(record.tags), separators=(",", ":"), sort_keys=True)
        if record.tags
        else None,
        priced_model,
        cost,
        table,
        latency_bucket(record.duration),
        latency_bucket(record.time_to_first_token),
        record.request_body,
        record.reply_text,
    )


def migration_scripts(dialect: str) -> list[tuple[int, str]]:
    """``(version, sql)`` of every migration for ``dialect``, in order."""
    return numbered_scripts(__package__, dialect)


def refuse_newer_schema(where: str, found: int, dialect: str) -> None:
    """Raise a :class:`LedgerError` if the ledger at ``where`` was migrated by a newer release:
    its rows may need columns this release would leave empty."""
    message = newer_schema_message(f"The ledger {where}", found, migration_scripts(dialect)[-1][0])
    if message is not None:
        error = LedgerError(f"{message}.")
        error.transient = False
        raise error


# DB-API error classes that say "try again later" in both drivers.
_TRANSIENT_ERRORS = frozenset({"OperationalError", "InterfaceError"})


@contextlib.contextmanager
def driver_errors(what: str, where: str) -> Iterator[None]:
    """Turn a database driver's error into a :class:`LedgerError` naming ``what`` failed at
    ``where`` (a redacted URL) and what to do."""
    try:
        yield
    except LedgerError:
        raise
    except Exception as exc:
        driver = type(exc).__module__.split(".")[0]
        if driver not in ("sqlite3", "psycopg", "psycopg_binary", "psycopg_c"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        error = LedgerError(
            f"Ledger {where}: {what} failed ({type(exc).__name__}: {message}). Check that the "
            "database is reachable and writable, and that CLAUDE_FOUNDRY_LEDGER (or ledger=) "
            "names the right one."
        )
        error.transient = any(kind.__name__ in _TRANSIENT_ERRORS for kind in type(exc).__mro__)
        raise error from exc


class Store:
    """Where ledger rows live. Subclasses: :class:`~claude_foundry.ledger.sqlite.SQLiteStore`,
    :class:`~claude_foundry.ledger.postgres.PostgresStore`. Each method opens what it needs; the
    ledger's writer thread owns the writing connection, readers open their own."""

    dialect: str
    _local: threading.local
    where: str
    """The store's URL with any password removed, for messages."""

    def migrate(self, target: int | None = None) -> int:
        """Apply the migrations not applied yet (up to ``target``); return the schema version."""
        raise NotImplementedError

    def schema_version(self) -> int | None:
        """The schema version migrations have brought the ledger to, ``None`` when it has no
        ledger tables yet (the first write creates them). Reads only."""
        raise NotImplementedError

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def prune(self, before: float, limit: int = 5000) -> int:
        """Delete up to ``limit`` rows that started before ``before``; return how many."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def day_sql(self) -> str:
        """An SQL expression for a row's UTC day as a whole number of days since the epoch
        (cheaper to compute and group than a date string; the report formats it)."""
        raise NotImplementedError

    def tag_sql(self) -> str:
        """An SQL expression for one tag's value; its one parameter is the tag's name."""
        raise NotImplementedError

    def close(self) -> None:
        """Close this thread's connection."""
        raise NotImplementedError

    def forget_connections(self) -> None:
        """Drop every connection without closing it: in a forked child they belong to the
        parent, and closing them there would disturb the parent's sessions."""
        self._local = threading.local()
