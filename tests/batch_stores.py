"""Batch store backends for tests: SQLite always, PostgreSQL on a server of its own database.

PostgreSQL tests need a server at ``CLAUDE_FOUNDRY_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). Each test gets a fresh database
``cftest_batches_<uuid>``, dropped afterwards. When the server is unreachable they skip, except
under CI (``CI=true``), where they fail: CI runs a real server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_URL = os.environ.get(
    "CLAUDE_FOUNDRY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A URL of a new, empty database, dropped on exit."""
    import psycopg

    name = f"cftest_batches_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(ADMIN_URL, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
