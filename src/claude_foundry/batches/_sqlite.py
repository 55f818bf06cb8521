"""The batch store in one SQLite file: the default, for one machine (any number of worker
processes on it)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .._migrations import sql_statements
from .store import BatchStore, BatchStoreError, _guards, _load_queries

__all__ = ["SQLiteBatchStore"]


class SQLiteBatchStore(BatchStore):
    """A store in one SQLite file (WAL, ``synchronous=FULL``): every commit is on disk before
    it returns. Several processes on one machine may share the file; claims take the write lock
    (``BEGIN IMMEDIATE``) so a request goes to one of them."""

    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._queries = _load_queries("sqlite.sql", _guards("'"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                self.path, isolation_level=None, timeout=60.0, check_same_thread=False
            )
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.execute("PRAGMA busy_timeout=60000")
        except (sqlite3.Error, OSError) as exc:
            raise self._cannot_open(exc) from exc
        try:
            with self._transaction():
                self._migrate()
        except BatchStoreError as exc:
            self._connection.close()
            if isinstance(exc.__cause__, sqlite3.Error):
                raise self._cannot_open(exc.__cause__) from exc.__cause__
            raise

    def _cannot_open(self, exc: Exception) -> BatchStoreError:
        return BatchStoreError(
            f"cannot open the batch store {self.location}: {exc}; check the path and that "
            "it is writable"
        )

    def __repr__(self) -> str:
        return f"SQLiteBatchStore({self.location!r})"

    def _execute_script(self, script: str) -> None:
        # statement by statement: executescript would commit the migration's transaction
        with self._errors():
            for statement in sql_statements(script):
                self._connection.execute(statement)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
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
        with self._errors():
            self._connection.executemany(self._queries[name], rows)

    def _insert_requests(self, rows: Iterable[dict[str, Any]]) -> None:
        with self._errors():
            self._connection.executemany(self._queries["insert_request"], rows)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._errors():
            self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with self._errors():
                self._connection.execute("ROLLBACK")
            raise
        with self._errors():
            self._connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()
