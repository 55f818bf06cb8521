"""The SQLite store: one file on one machine, several processes may write it.

WAL mode lets readers (``claude-foundry usage``) run while a writer commits; ``synchronous=NORMAL``
keeps every committed batch through a process crash (a power cut may lose the last ones). A
connection belongs to the thread that opened it: the ledger's writer thread writes, a reader opens
its own.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._migrations import sql_statements
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

__all__ = ["SQLiteStore"]

_BUSY_TIMEOUT_MS = 10_000
_ROWS_PER_STATEMENT = 256


class SQLiteStore(Store):
    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.where = f"sqlite:///{self.path}"
        self._local = threading.local()
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().parent
            if not parent.is_dir():
                raise LedgerError(
                    f"Ledger {self.where}: the folder {str(parent)!r} does not exist. Create it, "
                    "or point CLAUDE_FOUNDRY_LEDGER at a file in an existing folder."
                )

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            with driver_errors("opening the database", self.where):
                connection = sqlite3.connect(
                    Path(self.path).expanduser() if self.path != ":memory:" else self.path,
                    timeout=_BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,  # transactions are explicit
                )
                connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
        return connection

    def migrate(self, target: int | None = None) -> int:
        with driver_errors("migrating the schema", self.where):
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS ledger_schema_versions "
                    "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
                )
                (current,) = connection.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM ledger_schema_versions"
                ).fetchone()
                refuse_newer_schema(self.where, current, self.dialect)
                for version, script in migration_scripts(self.dialect):
                    if version <= current or (target is not None and version > target):
                        continue
                    for statement in sql_statements(script):
                        connection.execute(statement)
                    connection.execute(
                        "INSERT INTO ledger_schema_versions VALUES (?, ?)", (version, time.time())
                    )
                    current = version
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return int(current)

    def schema_version(self) -> int | None:
        with driver_errors("reading the schema version", self.where):
            connection = self._connection()
            (tables,) = connection.execute(
                "SELECT COUNT(*) FROM sqlite_master "
                "WHERE type = 'table' AND name = 'ledger_schema_versions'"
            ).fetchone()
            if not tables:
                return None
            (version,) = connection.execute(
                "SELECT COALESCE(MAX(version), 0) FROM ledger_schema_versions"
            ).fetchone()
            return int(version)

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with driver_errors("writing calls", self.where):
            connection = self._connection()
            additions = rollup(rows)
            connection.execute("BEGIN IMMEDIATE")
            try:
                _insert_rows(connection, "ledger_calls", COLUMNS, rows)
                for table, rows_to_add in zip(ROLLUP_TABLES, additions, strict=True):
                    conflict = table.conflict_clause()
                    _insert_rows(connection, table.name, table.columns, rows_to_add, conflict)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def prune(self, before: float, limit: int = 5000) -> int:
        with driver_errors("deleting old calls", self.where):
            connection = self._connection()
            cursor = connection.execute(
                "DELETE FROM ledger_calls WHERE id IN "
                "(SELECT id FROM ledger_calls WHERE started_at < ? LIMIT ?)",
                (before, limit),
            )
            first_kept_day = int(before // DAY_SECONDS)
            for table in _DAILY_TABLES:
                connection.execute(f"DELETE FROM {table} WHERE day < ?", (first_kept_day,))
            return cursor.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with driver_errors("reading calls", self.where):
            return self._connection().execute(sql.replace("%s", "?"), tuple(params)).fetchall()

    def day_sql(self) -> str:
        return "CAST(started_at / 86400 AS INTEGER)"

    def tag_sql(self) -> str:
        return "json_extract(tags, '$.\"' || %s || '\"')"

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._local.connection = None
            connection.close()


def _insert_rows(
    connection: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: str = "",
) -> None:
    """Insert ``rows`` with multi-row statements. ``executemany`` steps once per row and lets go
    of the GIL each time; every hand-over to a calling thread cost that thread a context switch.
    """
    if not rows:
        return
    width = len(columns)
    limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(_ROWS_PER_STATEMENT, limit // width))
    row_marks = f"({', '.join('?' * width)})"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = [value for row in chunk for value in row]
        connection.execute(f"{head}{', '.join([row_marks] * len(chunk))} {conflict}", values)
