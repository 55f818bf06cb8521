"""The batch store's numbered migrations: a store from before them is adopted in place with its
data, a fresh store and an adopted one have the same tables, and a store from a newer release is
refused and left as it was. One test body per backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from batch_stores import postgres_database
from claude_foundry.batches import BatchStoreError, open_store
from claude_foundry.batches.store import BatchStore

T0 = 1_000_000.0

# The tables exactly as the release before numbered migrations created them (its "schema" query),
# frozen here: migration 0001 must keep reading what that release wrote.
LEGACY_SCHEMA = {
    "sqlite": """\
CREATE TABLE IF NOT EXISTS cf_batch_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cf_batches (
    id                  TEXT PRIMARY KEY,
    label               TEXT,
    input_sha256        TEXT NOT NULL,
    processing_status   TEXT NOT NULL DEFAULT 'in_progress',
    request_count       INTEGER NOT NULL,
    created_at          REAL NOT NULL,
    expires_at          REAL NOT NULL,
    ended_at            REAL,
    cancel_initiated_at REAL,
    results_url         TEXT
);
CREATE INDEX IF NOT EXISTS cf_batches_label ON cf_batches (label);
CREATE TABLE IF NOT EXISTS cf_batch_requests (
    batch_id      TEXT NOT NULL REFERENCES cf_batches (id),
    custom_id     TEXT NOT NULL,
    line          INTEGER NOT NULL,
    params        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    claims        INTEGER NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_expires REAL,
    result        TEXT,
    finished_at   REAL,
    exported      INTEGER,  -- NULL until finished, then 0; 1 once in the results file
    PRIMARY KEY (batch_id, custom_id)
);
CREATE INDEX IF NOT EXISTS cf_batch_requests_queue ON cf_batch_requests (batch_id, state, line);
CREATE INDEX IF NOT EXISTS cf_batch_requests_unexported
    ON cf_batch_requests (batch_id, exported, finished_at);
CREATE TABLE IF NOT EXISTS cf_batch_workers (
    id           TEXT PRIMARY KEY,
    batch_id     TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   REAL NOT NULL,
    heartbeat_at REAL NOT NULL
);
""",
    "postgres": """\
CREATE TABLE IF NOT EXISTS cf_batch_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cf_batches (
    id                  TEXT PRIMARY KEY,
    label               TEXT,
    input_sha256        TEXT NOT NULL,
    processing_status   TEXT NOT NULL DEFAULT 'in_progress',
    request_count       BIGINT NOT NULL,
    created_at          DOUBLE PRECISION NOT NULL,
    expires_at          DOUBLE PRECISION NOT NULL,
    ended_at            DOUBLE PRECISION,
    cancel_initiated_at DOUBLE PRECISION,
    results_url         TEXT
);
CREATE INDEX IF NOT EXISTS cf_batches_label ON cf_batches (label);
CREATE TABLE IF NOT EXISTS cf_batch_requests (
    batch_id      TEXT NOT NULL REFERENCES cf_batches (id),
    custom_id     TEXT NOT NULL,
    line          BIGINT NOT NULL,
    params        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    claims        BIGINT NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_expires DOUBLE PRECISION,
    result        TEXT,
    finished_at   DOUBLE PRECISION,
    exported      BIGINT,  -- NULL until finished, then 0; 1 once in the results file
    PRIMARY KEY (batch_id, custom_id)
);
CREATE INDEX IF NOT EXISTS cf_batch_requests_queue ON cf_batch_requests (batch_id, state, line);
CREATE INDEX IF NOT EXISTS cf_batch_requests_unexported
    ON cf_batch_requests (batch_id, exported, finished_at);
CREATE TABLE IF NOT EXISTS cf_batch_workers (
    id           TEXT PRIMARY KEY,
    batch_id     TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL
);
""",
}
# That release's advisory lock around creating the tables and stamping them.
LEGACY_LOCK = 7331001


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "store.sqlite")
    else:
        with postgres_database() as url:
            yield url


class Database:
    """A plain driver connection to the store's database, with ``?`` placeholders in both."""

    def __init__(self, location: str) -> None:
        self.postgres = location.startswith("postgresql://")
        if self.postgres:
            import psycopg

            self.connection: Any = psycopg.connect(location, autocommit=True)
        else:
            self.connection = sqlite3.connect(location, isolation_level=None)

    def execute(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.postgres:
            sql = sql.replace("?", "%s")
        cursor = self.connection.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    def script(self, sql: str) -> None:
        if self.postgres:
            self.connection.execute(sql)
        else:
            self.connection.executescript(sql)

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Each table's columns (name, type, not null, default) and indexes, for comparing."""
        if self.postgres:
            columns = self.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = current_schema() "
                "ORDER BY table_name, ordinal_position"
            )
            indexes = self.execute(
                "SELECT tablename, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() ORDER BY indexname"
            )
        else:
            names = self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            columns = [
                (table, *column[1:5])
                for (table,) in sorted(names)
                for column in self.execute(f"PRAGMA table_info({table})")
            ]
            indexes = self.execute(
                "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
            )
        found: dict[str, list[tuple[Any, ...]]] = {}
        for table, *rest in [*columns, *indexes]:
            found.setdefault(table, []).append(tuple(rest))
        return found

    def close(self) -> None:
        self.connection.close()


def build_legacy_store(location: str, *, stamp: int = 1) -> None:
    """A store as the release before numbered migrations left it: its tables, its version
    stamp, and a batch part done (one result written to the file, one recorded but not yet
    written, one in flight, two pending) with a worker."""
    with closing(Database(location)) as db:
        dialect = "postgres" if db.postgres else "sqlite"
        if db.postgres:
            db.execute("SELECT pg_advisory_lock(?)", LEGACY_LOCK)
        db.script(LEGACY_SCHEMA[dialect])
        if not db.execute("SELECT max(version) FROM cf_batch_schema")[0][0]:
            db.execute("INSERT INTO cf_batch_schema (version) VALUES (?)", stamp)
        db.execute(
            "INSERT INTO cf_batches (id, label, input_sha256, request_count, created_at, "
            "expires_at) VALUES ('msgbatch_old', 'out.jsonl', 'abc', 5, ?, ?)",
            T0,
            T0 + 100,
        )
        for line in range(1, 6):
            db.execute(
                "INSERT INTO cf_batch_requests (batch_id, custom_id, line, params) "
                "VALUES ('msgbatch_old', ?, ?, ?)",
                f"r{line}",
                line,
                '{"model":"m","max_tokens":1,"messages":[]}',
            )
        db.execute(
            "UPDATE cf_batch_requests SET state = 'succeeded', claims = 1, finished_at = ?, "
            "result = ?, exported = 1 WHERE custom_id = 'r1'",
            T0 + 1,
            '{"type":"succeeded","message":{"id":"msg_1"}}',
        )
        db.execute(
            "UPDATE cf_batch_requests SET state = 'errored', claims = 1, finished_at = ?, "
            "result = ?, exported = 0 WHERE custom_id = 'r2'",
            T0 + 2,
            '{"type":"errored","error":{"type":"error"}}',
        )
        db.execute(
            "UPDATE cf_batch_requests SET state = 'in_flight', claims = 1, "
            "lease_owner = 'host/1/abc', lease_expires = ? WHERE custom_id = 'r3'",
            T0 + 60,
        )
        db.execute(
            "INSERT INTO cf_batch_workers VALUES ('host/1/abc', 'msgbatch_old', 'host', 1, ?, ?)",
            T0,
            T0 + 3,
        )


def test_a_store_from_before_numbered_migrations_is_adopted_with_its_data(
    store_location: str,
) -> None:
    build_legacy_store(store_location)
    with open_store(store_location) as store:
        record = store.get_batch("msgbatch_old")
        assert (record.label, record.input_sha256, record.request_count) == ("out.jsonl", "abc", 5)
        assert record.counts == {"succeeded": 1, "errored": 1, "in_flight": 1, "pending": 2}
        assert dict(store.results("msgbatch_old")) == {
            "r1": {"type": "succeeded", "message": {"id": "msg_1"}},
            "r2": {"type": "errored", "error": {"type": "error"}},
        }
        assert [custom_id for custom_id, _ in store.unexported("msgbatch_old")] == ["r2"]
        assert store.workers("msgbatch_old") == [("host/1/abc", "host", 1, T0 + 3)]
        assert store.lease_owners("msgbatch_old") == ["host/1/abc"]
        # and it goes on working: the pending requests are claimed, the in-flight one is not
        claimed = store.claim("msgbatch_old", "w", limit=10, lease=10, now=T0 + 5)
        assert [c.custom_id for c in claimed] == ["r4", "r5"]
        assert claimed[0].params == {"model": "m", "max_tokens": 1, "messages": []}
        assert store.finish("msgbatch_old", "w", [("r4", "succeeded", {"type": "succeeded"})],
                            now=T0 + 6) == 1  # fmt: skip
    with closing(Database(store_location)) as db:
        assert db.execute("SELECT version FROM cf_batch_schema_versions") == [(1,)]
        assert db.execute("SELECT version FROM cf_batch_schema") == [(1,)]
    with open_store(store_location) as again:  # opening again changes nothing
        assert again.get_batch("msgbatch_old").counts["succeeded"] == 2


def test_a_fresh_store_and_an_adopted_one_have_the_same_tables(
    store_location: str, tmp_path: Path
) -> None:
    build_legacy_store(store_location)
    open_store(store_location).close()
    with closing(Database(store_location)) as db:
        adopted = db.tables()
    if store_location.startswith("postgresql://"):
        with postgres_database() as url:
            open_store(url).close()
            with closing(Database(url)) as db:
                fresh = db.tables()
    else:
        open_store(tmp_path / "fresh.sqlite").close()
        with closing(Database(str(tmp_path / "fresh.sqlite"))) as db:
            fresh = db.tables()
    assert set(fresh) == {
        "cf_batch_schema", "cf_batch_schema_versions", "cf_batches", "cf_batch_requests",
        "cf_batch_workers",
    }  # fmt: skip
    assert fresh == adopted


def test_a_fresh_store_is_stamped_for_older_releases(store_location: str) -> None:
    open_store(store_location).close()
    with closing(Database(store_location)) as db:
        assert db.execute("SELECT version FROM cf_batch_schema_versions") == [(1,)]
        # what the release before numbered migrations reads to refuse a newer layout
        assert db.execute("SELECT version FROM cf_batch_schema") == [(1,)]


def test_a_store_from_a_newer_release_is_refused_and_left_as_it_was(
    store_location: str,
) -> None:
    with open_store(store_location) as store:
        store.create_batch("msgbatch_new", [], input_sha256="x", created_at=T0, expires_at=T0 + 1)
    with closing(Database(store_location)) as db:
        db.execute("INSERT INTO cf_batch_schema_versions VALUES (99, ?)", T0)
        before = db.tables()
    with pytest.raises(BatchStoreError) as caught:
        open_store(store_location)
    message = str(caught.value)
    assert "schema version 99, newer than this release of claude-foundry can read" in message
    assert "upgrade claude-foundry" in message
    with closing(Database(store_location)) as db:
        assert db.tables() == before
        assert db.execute("SELECT max(version) FROM cf_batch_schema_versions") == [(99,)]
        assert db.execute("SELECT id FROM cf_batches") == [("msgbatch_new",)]


def test_a_legacy_stamp_newer_than_any_old_release_wrote_is_refused(store_location: str) -> None:
    build_legacy_store(store_location, stamp=2)
    with pytest.raises(BatchStoreError, match="schema version 2, newer than"):
        open_store(store_location)
    with closing(Database(store_location)) as db:
        assert db.execute("SELECT version FROM cf_batch_schema") == [(2,)]
        no_versions = "SELECT count(*) FROM sqlite_master WHERE name = 'cf_batch_schema_versions'"
        if db.postgres:
            no_versions = (
                "SELECT count(*) FROM pg_tables WHERE tablename = 'cf_batch_schema_versions'"
            )
        assert db.execute(no_versions) == [(0,)]


def test_workers_opening_a_new_store_at_once_migrate_it_once(store_location: str) -> None:
    import threading

    errors: list[BaseException] = []
    opened: list[BatchStore] = []

    def open_one() -> None:
        try:
            opened.append(open_store(store_location))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in opened:
        store.close()
    assert errors == []
    with closing(Database(store_location)) as db:
        assert db.execute("SELECT version FROM cf_batch_schema_versions") == [(1,)]
        assert db.execute("SELECT version FROM cf_batch_schema") == [(1,)]


@pytest.mark.parametrize("package", ["claude_foundry.batches", "claude_foundry.ledger"])
def test_every_dialect_has_the_same_numbered_migrations(package: str) -> None:
    from claude_foundry._migrations import numbered_scripts

    sqlite = [version for version, _ in numbered_scripts(package, "sqlite")]
    postgresql = [version for version, _ in numbered_scripts(package, "postgresql")]
    assert sqlite == postgresql
    assert sqlite == list(range(1, len(sqlite) + 1))  # numbered from 1, none missing


def test_a_migration_splits_into_its_statements_without_its_comments() -> None:
    from claude_foundry._migrations import sql_statements

    script = (
        "-- a; comment\nCREATE TABLE t (\n    a INTEGER,  -- one; two\n    b TEXT\n);\nSELECT 1;"
    )
    assert sql_statements(script) == ["CREATE TABLE t (\n    a INTEGER,\n    b TEXT\n)", "SELECT 1"]
