"""The PostgreSQL store (psycopg 3): one ledger for several processes or hosts.

Needs the ``postgres`` extra (``pip install 'claude-foundry[postgres]'``); the driver is imported
on first use, so nothing else needs it. Each thread uses its own connection in autocommit mode,
with explicit transactions where several statements must hold together.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .._config import redact_url
from .rollup import (
    DAILY_UPSERT,
    DAY_SECONDS,
    LATENCY_UPSERT,
    TAG_LATENCY_UPSERT,
    TAG_UPSERT,
    rollup,
)
from .store import COLUMNS, LedgerError, Store, driver_errors, migration_scripts

_DAILY_TABLES = (
    "ledger_daily",
    "ledger_daily_latency",
    "ledger_daily_tags",
    "ledger_daily_tag_latency",
)

__all__ = ["PostgresStore", "import_psycopg"]

_INSERT = (
    f"INSERT INTO ledger_calls ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
)
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

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with driver_errors("writing calls", self.where):
            connection = self._connection()
            daily, latency, tagged, tag_latency = rollup(rows)
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(_INSERT, rows)
                cursor.executemany(DAILY_UPSERT, daily)
                cursor.executemany(LATENCY_UPSERT, latency)
                if tagged:
                    cursor.executemany(TAG_UPSERT, tagged)
                    cursor.executemany(TAG_LATENCY_UPSERT, tag_latency)

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
