"""The doctor's ledger row: CLAUDE_FOUNDRY_LEDGER reachable and at a schema this release can use,
found without writing anything (SQLite and a real PostgreSQL server)."""

from __future__ import annotations

from pathlib import Path

from claude_foundry.doctor import CheckResult, DoctorOptions, run_doctor
from claude_foundry.ledger import Ledger, open_store
from claude_foundry.ledger.store import migration_scripts
from ledger_stores import postgres_url  # noqa: F401  (fixture)

NEWEST = migration_scripts("sqlite")[-1][0]


def ledger_row(url: str | None) -> CheckResult:
    environ = {} if url is None else {"CLAUDE_FOUNDRY_LEDGER": url}
    results = run_doctor(DoctorOptions(send_message=False, timeout=5.0), environ=environ)
    (row,) = [result for result in results if result.name == "ledger"]
    return row


def test_no_ledger_set_is_skipped() -> None:
    row = ledger_row(None)
    assert (row.status, row.detail) == ("skip", "CLAUDE_FOUNDRY_LEDGER is not set: no usage ledger")


def test_a_url_the_ledger_cannot_use_fails_with_the_forms_it_takes() -> None:
    row = ledger_row("mysql://root@localhost/usage")
    assert row.status == "fail"
    assert "Unsupported ledger URL" in row.detail
    assert "sqlite:///" in row.fix


def test_a_sqlite_ledger_not_yet_created_is_not_created_by_the_doctor(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    row = ledger_row(f"sqlite:///{path}")
    assert (row.status, row.detail) == (
        "ok",
        f"sqlite:///{path}: created with the first recorded call",
    )
    assert not path.exists()
    missing = ledger_row(f"sqlite:///{tmp_path / 'absent' / 'usage.db'}")
    assert missing.status == "fail"
    assert "does not exist" in missing.detail


def test_a_sqlite_ledger_in_use_reports_its_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    Ledger(open_store(url)).close()
    row = ledger_row(url)
    assert (row.status, row.detail) == ("ok", f"{url}: reachable, schema version {NEWEST}")


def test_a_postgresql_ledger_empty_then_newer_than_this_release(
    postgres_url: str,  # noqa: F811  (the fixture)
) -> None:
    row = ledger_row(postgres_url)
    assert row.status == "ok"
    assert row.detail.endswith("reachable; the first call creates its tables")
    store = open_store(postgres_url)
    store.migrate()
    store.query(
        "INSERT INTO ledger_schema_versions VALUES (%s, 0) RETURNING version", (NEWEST + 1,)
    )
    store.close()
    newer = ledger_row(postgres_url)
    assert newer.status == "fail"
    assert f"schema version {NEWEST + 1}" in newer.detail
    assert "pip install -U claude-foundry" in newer.fix


def test_an_unreachable_postgresql_ledger_fails_without_showing_its_password() -> None:
    row = ledger_row("postgresql://ledger:hunter2-secret@127.0.0.1:1/usage")
    assert row.status == "fail"
    assert "hunter2-secret" not in row.detail + row.fix
    assert "127.0.0.1:1" in row.detail
