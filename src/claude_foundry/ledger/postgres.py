"""The PostgreSQL store (psycopg 3): one ledger for several processes or hosts.

Needs the ``postgres`` extra (``pip install 'claude-foundry[postgres]'``); the driver is imported
on first use, so nothing else needs it. Each thread uses its own connection in autocommit mode,
with explicit transactions where several statements must hold together.

A batch is written by one statement in one round trip: the calls and the additions to each daily
table travel as JSON arrays, one parameter per table. Row-by-row statements (even pipelined) made
the writer thread give up and take back the GIL once per row, and every hand-over cost the
calling threads a context switch. The statement commits asynchronously (the server acknowledges
before its WAL reaches disk) unless the URL's ``options`` set ``synchronous_commit``: a server
crash can then lose the last fraction of a second of committed calls, as a client crash loses
the batch still queued.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import msgspec

from .._config import redact_url
from .rollup import DAY_SECONDS, ROLLUP_TABLES, rollup
from .store import (
    COLUMNS,
    LedgerError,
    Store,
    driver_errors,
    migration_scripts,
    refuse_newer_schema,
)

_DAILY_TABLES = (
    "ledger_daily",
    "ledger_daily_latency",
    "ledger_daily_tags",
    "ledger_daily_tag_latency",
)

__all__ = ["PostgresStore", "import_psycopg"]

_TAGS = COLUMNS.index("tags")


def _batch_statement(synchronous_commit: bool) -> str:
    """Insert the calls and add to the daily tables, each from one ``jsonb`` array of objects.

    Each daily table takes its rows in key order, so writers in other processes lock shared rows
    in the same order (PostgreSQL runs the parts in one fixed order for the same statement)."""
    columns = ", ".join(COLUMNS)
    parts = [
        f"calls AS (INSERT INTO ledger_calls ({columns}) SELECT {columns} "
        "FROM jsonb_populate_recordset(NULL::ledger_calls, %s::jsonb))"
    ]
    for index, table in enumerate(ROLLUP_TABLES):
        columns = ", ".join(table.columns)
        parts.append(
            f"daily{index} AS (INSERT INTO {table.name} ({columns}) SELECT {columns} "
            f"FROM jsonb_populate_recordset(NULL::{table.name}, %s::jsonb) "
            f"ORDER BY {', '.join(table.keys)} {table.conflict_clause()})"
        )
    # A setting local to the statement's own transaction: nothing leaks into a pooled session.
    commit = "NULL" if synchronous_commit else "set_config('synchronous_commit', 'off', true)"
    return f"WITH {', '.join(parts)} SELECT {commit}"


def _json_array(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return _encode([dict(zip(columns, row, strict=True)) for row in rows]).decode()


def _calls_json(rows: Sequence[tuple[Any, ...]]) -> tuple[Sequence[tuple[Any, ...]], str]:
    """The rows as they can be stored, and the calls' JSON array."""
    objects = []
    for row in rows:
        call = dict(zip(COLUMNS, row, strict=True))
        if call["tags"] is not None:
            call["tags"] = msgspec.Raw(call["tags"].encode())  # already JSON text
        objects.append(call)
    text = _encode(objects)
    if b"\\u0000" in text:
        # PostgreSQL text and jsonb cannot hold NUL: one call carrying it (in a tag, or in
        # recorded content) must not make the database refuse the whole batch.
        return _calls_json([_without_nul(row) for row in rows])
    return rows, text.decode()


def _without_nul(row: tuple[Any, ...]) -> tuple[Any, ...]:
    values = [_clean(value) for value in row]
    if row[_TAGS] is not None:
        tags = {_clean(name): _clean(value) for name, value in json.loads(row[_TAGS]).items()}
        values[_TAGS] = json.dumps(tags, separators=(",", ":"), sort_keys=True)
    return tuple(values)


def _clean(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _synchronous_commit_set(psycopg: Any, url: str) -> bool:
    """Whether the URL's ``options`` choose ``synchronous_commit`` themselves."""
    try:
        options = psycopg.conninfo.conninfo_to_dict(url).get("options") or ""
    except psycopg.ProgrammingError:
        return False  # connecting reports the bad URL
    return "synchronous_commit" in str(options)


_encode = msgspec.json.Encoder().encode
# Serializes migrations between processes that start at once; any fixed number unique to us.
_MIGRATION_LOCK = 0x6C656467


def import_psycopg() -> Any:
    try:
        import psycopg
    except ModuleNotFoundError as exc:
        if exc.name not in ("psycopg", "psycopg_binary"):
            raise
        raise LedgerError(
            "A PostgreSQL ledger needs psycopg 3: pip install 'claude-foundry[postgres]'"
        ) from None
    return psycopg


def _redacted(url: str) -> str:
    return redact_url(url).partition("?")[0]  # the query may hold a password too


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self._url = url
        self.where = _redacted(url)
        self._psycopg = import_psycopg()
        self._local = threading.local()
        self._insert_batch = _batch_statement(_synchronous_commit_set(self._psycopg, url))

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            with driver_errors("connecting", self.where):
                connection = self._psycopg.connect(self._url, autocommit=True, connect_timeout=10)
            self._local.connection = connection
        return connection

    def migrate(self, target: int | None = None) -> int:
        with driver_errors("migrating the schema", self.where):
            connection = self._connection()
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS ledger_schema_versions "
                    "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
                )
                row = connection.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM ledger_schema_versions"
                ).fetchone()
                current = int(row[0])
                refuse_newer_schema(self.where, current, self.dialect)
                for version, script in migration_scripts(self.dialect):
                    if version <= current or (target is not None and version > target):
                        continue
                    connection.execute(script)
                    connection.execute(
                        "INSERT INTO ledger_schema_versions VALUES (%s, extract(epoch from now()))",
                        (version,),
                    )
                    current = version
            return current

    def schema_version(self) -> int | None:
        with driver_errors("reading the schema version", self.where):
            connection = self._connection()
            row = connection.execute(
                "SELECT to_regclass('ledger_schema_versions') IS NOT NULL"
            ).fetchone()
            if not row[0]:
                return None
            row = connection.execute(
                "SELECT COALESCE(MAX(version), 0) FROM ledger_schema_versions"
            ).fetchone()
            return int(row[0])

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with driver_errors("writing calls", self.where):
            if not rows:
                return
            rows, calls = _calls_json(rows)
            daily = [
                _json_array(table.columns, additions)
                for table, additions in zip(ROLLUP_TABLES, rollup(rows), strict=True)
            ]
            self._connection().execute(self._insert_batch, (calls, *daily))

    def prune(self, before: float, limit: int = 5000) -> int:
        with driver_errors("deleting old calls", self.where):
            connection = self._connection()
            cursor = connection.execute(
                "DELETE FROM ledger_calls WHERE id IN "
                "(SELECT id FROM ledger_calls WHERE started_at < %s LIMIT %s)",
                (before, limit),
            )
            first_kept_day = int(before // DAY_SECONDS)
            for table in _DAILY_TABLES:
                connection.execute(f"DELETE FROM {table} WHERE day < %s", (first_kept_day,))
            return int(cursor.rowcount)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with driver_errors("reading calls", self.where):
            rows: list[tuple[Any, ...]] = self._connection().execute(sql, tuple(params)).fetchall()
            return rows

    def day_sql(self) -> str:
        return "CAST(FLOOR(started_at / 86400) AS BIGINT)"

    def tag_sql(self) -> str:
        return "(tags ->> %s)"

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._local.connection = None
            connection.close()
