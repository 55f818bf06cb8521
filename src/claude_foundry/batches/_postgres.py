"""The batch store on PostgreSQL, for workers on several hosts (``pip install
'claude-foundry[postgres]'``). Claims use ``FOR UPDATE SKIP LOCKED``, so workers never wait on
each other's rows and never claim the same one; the queries are ``sql/postgres.sql``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .._config import redact_url
from .store import BatchStore, BatchStoreError, _guards, _load_queries

__all__ = ["PostgresBatchStore"]

_MIGRATION_LOCK = 7331001


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise BatchStoreError(
            "a postgresql:// batch store needs psycopg: pip install 'claude-foundry[postgres]'"
        ) from exc
    return psycopg


class PostgresBatchStore(BatchStore):
    """A store in a PostgreSQL database (tables ``cf_batches``, ``cf_batch_requests``,
    ``cf_batch_workers``, created when missing)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self._psycopg = _import_psycopg()
        self.location = redact_url(url)
        self._queries = _load_queries("postgres.sql", _guards("'"))
        try:
            self._connection = self._psycopg.connect(url, autocommit=True)
        except self._psycopg.Error as exc:
            raise self._cannot_open(exc) from exc
        try:
            with self._errors(), self._connection.transaction():
                # One migration at a time when several workers start together; the lock's
                # number is the one earlier releases took, so they wait for it too.
                self._connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                self._migrate()
        except BatchStoreError as exc:
            self._connection.close()
            if isinstance(exc.__cause__, self._psycopg.Error):
                raise self._cannot_open(exc.__cause__) from exc.__cause__
            raise

    def _cannot_open(self, exc: Exception) -> BatchStoreError:
        return BatchStoreError(
            f"cannot open the batch store {self.location}: {exc}".strip()
            + "; check that the server is running and the database exists"
        )

    def __repr__(self) -> str:
        return f"PostgresBatchStore({self.location!r})"

    def _execute_script(self, script: str) -> None:
        with self._errors():
            self._connection.execute(script)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._psycopg.Error as exc:
            raise BatchStoreError(f"batch store {self.location}: {exc}") from exc

    def _run(self, name: str, params: dict[str, Any] | None = None) -> Any:
        with self._errors():
            return self._connection.execute(self._queries[name], params or {})

    def _run_with(self, name: str, params: dict[str, Any], **groups: Sequence[str]) -> Any:
        query = self._queries[name]
        for key, states in groups.items():
            query = query.replace("{" + key + "}", "(" + ", ".join(f"'{s}'" for s in states) + ")")
        with self._errors():
            return self._connection.execute(query, params)

    def _run_many(self, name: str, rows: list[dict[str, Any]]) -> None:
        with self._errors(), self._connection.cursor() as cursor:
            cursor.executemany(self._queries[name], rows)

    def _insert_requests(self, rows: Iterable[dict[str, Any]]) -> None:
        self._run_many("insert_request", list(rows))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._errors(), self._connection.transaction():
            yield

    def close(self) -> None:
        self._connection.close()
