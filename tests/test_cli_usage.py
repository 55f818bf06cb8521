"""``claude-foundry usage`` and the report under it, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_foundry import CallRecord
from claude_foundry.cli import main
from claude_foundry.cli.usage import parse_time
from claude_foundry.ledger import Ledger, open_store
from claude_foundry.ledger.report import usage_report
from ledger_stores import STORE_KINDS, postgres_url, store_url  # noqa: F401  (fixture)

DAY = 86_400.0
NOW = time.time()


@pytest.fixture(params=STORE_KINDS)
def filled_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ledger of 100 calls over two days plus one call 40 days ago."""
    url = store_url(request.param, tmp_path, request)
    with Ledger(open_store(url), retention_days=None, flush_interval=0.01) as ledger:
        for i in range(100):
            ledger.record_call(
                CallRecord(
                    started_at=NOW - (1.5 if i < 40 else 0.5) * DAY,
                    duration=(i + 1) / 100,  # 10 ms ... 1 s
                    time_to_first_token=0.1 if i % 2 else None,
                    stream=bool(i % 2),
                    deployment="sonnet" if i < 60 else "haiku",
                    model="claude-sonnet-4-6" if i < 60 else "claude-haiku-4-5",
                    input_tokens=1000,
                    output_tokens=100,
                    cache_read_input_tokens=10,
                    outcome="error" if i % 10 == 0 else "ok",
                    throttled=1 if i % 20 == 0 else 0,
                    tags={"user": "alice" if i % 4 == 0 else "bob"},
                )
            )
        ledger.record_call(
            CallRecord(started_at=NOW - 40 * DAY, duration=1.0, input_tokens=7, output_tokens=7)
        )
    return url


def test_the_report_sums_groups_and_ranks(filled_url: str) -> None:
    store = open_store(filled_url)
    report = usage_report(
        store, since=NOW - 30 * DAY, until=NOW + 1, by="deployment", top_by="tag:user"
    )
    store.close()
    assert report.total.calls == 100  # the 40-day-old call is outside the period
    assert report.total.input_tokens == 100_000
    assert report.total.errors == 10
    assert report.total.rate_limited == 5
    by_key = {group.key: group for group in report.groups}
    assert (by_key["sonnet"].calls, by_key["haiku"].calls) == (60, 40)
    sonnet_cost = 60 * (1000 * 3.0 + 100 * 15.0 + 10 * 0.3) / 1e6
    haiku_cost = 40 * (1000 * 1.0 + 100 * 5.0 + 10 * 0.1) / 1e6
    assert by_key["sonnet"].cost_usd == pytest.approx(sonnet_cost)
    assert report.total.cost_usd == pytest.approx(sonnet_cost + haiku_cost)
    # Durations are 10 ms .. 1 s evenly: p50 about 0.5 s, p95 about 0.95 s (5% buckets).
    assert report.total.latency_p50 == pytest.approx(0.50, rel=0.05)
    assert report.total.latency_p95 == pytest.approx(0.95, rel=0.05)
    assert report.total.ttft_p50 == pytest.approx(0.1, rel=0.05)
    assert [group.key for group in report.top] == ["bob", "alice"]
    assert report.price_tables == ["anthropic-2026-09"]


def test_the_command_prints_json_csv_and_tables(filled_url: str) -> None:
    runner = CliRunner()
    base = ["usage", "--ledger", filled_url]
    result = runner.invoke(main, [*base, "--by", "day", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cost_is_estimate"] is True
    assert [group["calls"] for group in data["groups"]] == [40, 60]
    assert data["total"]["calls"] == 100

    result = runner.invoke(main, [*base, "--by", "tag:user", "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(row["key"], row["calls"]) for row in rows] == [
        ("alice", "25"),
        ("bob", "75"),
        ("total", "100"),
    ]

    result = runner.invoke(main, [*base, "--since", "45d", "--by", "model"])
    assert result.exit_code == 0, result.output
    assert "claude-sonnet-4-6" in result.output
    assert "101" in result.output  # the old call is inside 45 days
    assert "estimate" in result.output
    assert "Top consumers by deployment" in result.output

    result = runner.invoke(main, [*base, "--since", "1d", "--json"])
    assert json.loads(result.output)["total"]["calls"] == 60


def test_the_command_explains_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_FOUNDRY_LEDGER", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["usage"])
    assert result.exit_code == 2
    assert "CLAUDE_FOUNDRY_LEDGER" in result.output
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    result = runner.invoke(main, ["usage", "--ledger", missing])
    assert result.exit_code == 1
    assert "No ledger at" in result.output
    assert not (tmp_path / "none.db").exists()  # reading never creates one
    url = f"sqlite:///{tmp_path / 'u.db'}"
    Ledger(open_store(url)).close()
    result = runner.invoke(main, ["usage", "--ledger", url, "--by", "colour"])
    assert result.exit_code == 1
    assert "tag:NAME" in result.output
    result = runner.invoke(main, ["usage", "--ledger", url, "--since", "yesterday"])
    assert result.exit_code == 2
    assert "7d" in result.output
    result = runner.invoke(main, ["usage", "--ledger", url, "--json", "--csv"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["usage", "--ledger", url])  # empty: a table of zeros
    assert result.exit_code == 0, result.output
    assert "total" in result.output


def test_parse_time() -> None:
    assert parse_time("7d", 1000.0 + 7 * DAY) == 1000.0
    assert parse_time("90m", 6000.0) == 600.0
    assert parse_time("now", 5.0) == 5.0
    assert parse_time("1970-01-02", 0.0) == DAY
    assert parse_time("1970-01-01T01:00+01:00", 0.0) == 0.0


def test_chat_records_when_the_ledger_variable_is_set(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'chat.db'}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
    env.update(CLAUDE_FOUNDRY_LEDGER=url, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-c", "from claude_foundry.cli import main; main()"]
    subprocess.run(
        [*command, "chat", "Hello"], env=env, check=True, timeout=120, capture_output=True
    )
    result = subprocess.run(
        [*command, "usage", "--json", "--by", "model"],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout)
    assert report["total"]["calls"] == 1
    from claude_foundry.cli.chat import DEFAULT_MODEL

    assert report["groups"][0]["key"] == DEFAULT_MODEL
    assert report["total"]["cost_usd"] > 0
