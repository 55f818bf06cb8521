"""The usage ledger end to end: calls against the emulator leave one row each, in SQLite and in
PostgreSQL, with the responses' usage and a cost that matches the price table by hand."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claude_foundry import AnthropicFoundry, CallRecord, NotFoundError
from claude_foundry.cli import main
from claude_foundry.emulator import Emulator
from claude_foundry.ledger import Ledger, LedgerError, open_store
from claude_foundry.ledger.store import COLUMNS, migration_scripts
from ledger_stores import STORE_KINDS, postgres_url, store_url  # noqa: F401  (fixture)

TEST_API_KEY = "test-key"
MODEL = "claude-sonnet-4-6"
# claude-sonnet-4-6 by hand, USD per million tokens: input, output, 5m write, 1h write, read.
SONNET = (3.0, 15.0, 3.75, 6.0, 0.30)
READ_COLUMNS = (
    "operation, stream, deployment, model, status_code, outcome, error_type, attempts, retries, "
    "input_tokens, output_tokens, cache_creation_input_tokens, cache_write_5m_tokens, "
    "cache_write_1h_tokens, cache_read_input_tokens, cost_usd, price_table, request_id, "
    "apim_request_id, region, tags, stop_reason, time_to_first_token"
)


@pytest.fixture(params=STORE_KINDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(request.param, tmp_path, request)


def _rows(ledger: Ledger) -> list[dict[str, Any]]:
    names = [name.strip() for name in READ_COLUMNS.split(",")]
    rows = ledger.store.query(f"SELECT {READ_COLUMNS} FROM ledger_calls ORDER BY id")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _cost(usage: Any) -> float:
    base, output, write_5m, write_1h, read = SONNET
    creation = usage.cache_creation
    return (
        usage.input_tokens * base
        + usage.output_tokens * output
        + creation.ephemeral_5m_input_tokens * write_5m
        + creation.ephemeral_1h_input_tokens * write_1h
        + usage.cache_read_input_tokens * read
    ) / 1e6


def _long_system(ttl: str | None = None) -> list[dict[str, Any]]:
    cache_control: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        cache_control["ttl"] = ttl
    text = "The reference manual, section by section. " * 400  # well over 1,024 tokens
    return [{"type": "text", "text": text + (ttl or ""), "cache_control": cache_control}]


def test_a_mixed_run_leaves_one_row_per_call_with_its_usage_and_cost(
    emulator: Emulator, ledger_url: str
) -> None:
    ledger = Ledger(open_store(ledger_url), flush_interval=0.05)
    client = AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, ledger=ledger, tags={"app": "tests"}
    )
    hello = [{"role": "user", "content": "Hello"}]
    usages: list[Any] = []

    usages.append(client.messages.create(model=MODEL, max_tokens=64, messages=hello).usage)
    with client.messages.stream(model=MODEL, max_tokens=64, messages=hello) as stream:
        usages.append(stream.get_final_message().usage)
    counted = client.messages.count_tokens(model=MODEL, messages=hello)
    tool = {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    tool_reply = client.messages.create(
        model=MODEL,
        max_tokens=128,
        messages=[{"role": "user", "content": "Use get_weather for Paris"}],
        tools=[tool],
        tool_choice={"type": "tool", "name": "get_weather"},
        tags={"user": "alice"},
    )
    usages.append(tool_reply.usage)
    for system in (_long_system(), _long_system(), _long_system("1h")):
        reply = client.messages.create(model=MODEL, max_tokens=32, messages=hello, system=system)
        usages.append(reply.usage)
    with pytest.raises(NotFoundError):
        client.messages.create(model="no-such-deployment", max_tokens=8, messages=hello)
    emulator.add_fault(kind="status", status=529, count=1, retry_after=0)
    usages.append(client.messages.create(model=MODEL, max_tokens=64, messages=hello).usage)
    cancelled = client.messages.create(model=MODEL, max_tokens=64, messages=hello, stream=True)
    next(iter(cancelled))
    cancelled.close()
    assert ledger.flush()

    rows = _rows(ledger)
    assert len(rows) == 10
    priced = [rows[i] for i in (0, 1, 3, 4, 5, 6, 8)]
    for row, usage in zip(priced, usages, strict=True):
        assert row["outcome"] == "ok"
        assert row["model"] == MODEL
        assert row["input_tokens"] == usage.input_tokens
        assert row["output_tokens"] == usage.output_tokens
        assert row["cache_creation_input_tokens"] == usage.cache_creation_input_tokens
        assert row["cache_read_input_tokens"] == usage.cache_read_input_tokens
        assert row["cache_write_5m_tokens"] == usage.cache_creation.ephemeral_5m_input_tokens
        assert row["cache_write_1h_tokens"] == usage.cache_creation.ephemeral_1h_input_tokens
        assert row["cost_usd"] == pytest.approx(_cost(usage), rel=1e-9)
        assert row["price_table"] == "anthropic-2026-09"
        assert row["request_id"]
        assert row["apim_request_id"]
        assert row["region"]
    # The cache did its work, so the cost check covered every price.
    assert usages[3].cache_creation.ephemeral_5m_input_tokens > 0
    assert usages[4].cache_read_input_tokens > 0
    assert usages[5].cache_creation.ephemeral_1h_input_tokens > 0

    stream_row, count_row, tool_row = rows[1], rows[2], rows[3]
    assert stream_row["stream"] == 1
    assert stream_row["time_to_first_token"] > 0
    assert count_row["operation"] == "count_tokens"
    assert count_row["input_tokens"] == counted.input_tokens
    assert count_row["cost_usd"] == 0
    assert tool_row["stop_reason"] == "tool_use"
    assert json.loads(_text(tool_row["tags"])) == {"app": "tests", "user": "alice"}
    error_row, retried_row, cancelled_row = rows[7], rows[8], rows[9]
    assert error_row["outcome"] == "error"
    assert error_row["error_type"] == "NotFoundError"
    assert error_row["status_code"] == 404
    assert error_row["cost_usd"] is None
    assert error_row["deployment"] == "no-such-deployment"
    assert (retried_row["attempts"], retried_row["retries"]) == (2, 1)
    assert cancelled_row["outcome"] == "cancelled"
    assert cancelled_row["stream"] == 1
    ledger.close()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def test_the_migrations_produce_the_schema_the_writer_uses(ledger_url: str) -> None:
    store = open_store(ledger_url)
    latest = migration_scripts(store.dialect)[-1][0]
    assert store.migrate() == latest
    assert store.migrate() == latest  # applying again changes nothing
    if store.dialect == "sqlite":
        columns = [row[1] for row in store.query("PRAGMA table_info(ledger_calls)")]
    else:
        columns = [
            row[0]
            for row in store.query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'ledger_calls' ORDER BY ordinal_position"
            )
        ]
    assert columns == ["id", *COLUMNS]
    store.close()


def _record(started_at: float, **fields: Any) -> CallRecord:
    return CallRecord(
        started_at=started_at,
        duration=0.25,
        deployment=MODEL,
        model=MODEL,
        input_tokens=10,
        output_tokens=20,
        **fields,
    )


def test_retention_removes_old_rows_while_writers_keep_writing(ledger_url: str) -> None:
    now = time.time()
    keeper = Ledger(open_store(ledger_url), retention_days=1, flush_interval=0.01, prune_interval=0)
    other = Ledger(open_store(ledger_url), retention_days=None, flush_interval=0.01)
    for day in range(2, 6):
        other.record_call(_record(now - day * 86_400, tags={"age": "old"}))
    assert other.flush()
    stop = threading.Event()
    written = [0]

    def write() -> None:
        while not stop.is_set():
            other.record_call(_record(time.time(), tags={"age": "new"}))
            written[0] += 1
            time.sleep(0.002)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            keeper.record_call(_record(time.time(), tags={"age": "new"}))
            assert keeper.flush()
            old = keeper.store.query(
                "SELECT COUNT(*) FROM ledger_calls WHERE started_at < %s", (now - 86_400,)
            )[0][0]
            if old == 0:
                break
            time.sleep(0.01)
        assert old == 0
    finally:
        stop.set()
        writer.join()
    assert other.flush()
    assert keeper.flush()
    total = keeper.store.query("SELECT COUNT(*) FROM ledger_calls")[0][0]
    assert total >= written[0] > 0  # every new row stayed
    # The daily totals of the days past the window went too, the per-tag ones included.
    old_days = keeper.store.query(
        "SELECT COUNT(*) FROM ledger_daily WHERE day <= %s", (int((now - 2 * 86_400) // 86_400),)
    )
    assert old_days[0][0] == 0
    tagged = keeper.store.query("SELECT DISTINCT value FROM ledger_daily_tags WHERE tag = 'age'")
    assert tagged == [("new",)]
    keeper.close()
    other.close()


_WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from claude_foundry import CallRecord
    from claude_foundry.ledger import Ledger, open_store
    ledger = Ledger(open_store(sys.argv[1]), flush_interval=0.005)
    n = 0
    while True:
        ledger.record_call(CallRecord(started_at=time.time(), duration=0.1, input_tokens=n,
                                      output_tokens=1, model="claude-haiku-4-5",
                                      tags={"worker": "w1"}))
        n += 1
        if n == 50:
            ledger.flush()
            print("ready", flush=True)
        time.sleep(0.0005)
    """
)


def test_kill_9_while_writing_leaves_a_readable_ledger(ledger_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER_SCRIPT, ledger_url],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # mid-stream: batches committing all the time
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    store = open_store(ledger_url)
    calls = store.query("SELECT COUNT(*) FROM ledger_calls")[0][0]
    assert calls >= 50
    if store.dialect == "sqlite":
        assert store.query("PRAGMA integrity_check") == [("ok",)]
    # The daily totals went in with the calls or not at all: they still add up.
    assert store.query("SELECT SUM(calls) FROM ledger_daily")[0][0] == calls
    assert store.query("SELECT SUM(calls) FROM ledger_daily_tags")[0][0] == calls
    store.close()
    result = CliRunner().invoke(main, ["usage", "--ledger", ledger_url, "--since", "1d", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"]["calls"] == calls
    with Ledger(open_store(ledger_url), flush_interval=0.01) as ledger:  # and writable again
        ledger.record_call(_record(time.time()))
        assert ledger.flush()


def test_the_callers_thread_only_queues(tmp_path: Path) -> None:
    # The record is in the database only after the writer thread's next round.
    with Ledger(open_store(f"sqlite:///{tmp_path / 'q.db'}"), flush_interval=60) as ledger:
        ledger.record_call(_record(time.time()))
        assert ledger.store.query("SELECT COUNT(*) FROM ledger_calls") == [(0,)]
        assert ledger.flush()
        assert ledger.store.query("SELECT COUNT(*) FROM ledger_calls") == [(1,)]


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'close.db'}"
    ledger = Ledger(open_store(url), flush_interval=60)
    for _ in range(3):
        ledger.record_call(_record(time.time()))
    ledger.close()
    ledger.close()  # idempotent
    assert open_store(url).query("SELECT COUNT(*) FROM ledger_calls") == [(3,)]


def test_records_written_at_interpreter_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'exit.db'}"
    script = (
        "import time\n"
        "from claude_foundry import CallRecord\n"
        "from claude_foundry.ledger import open_ledger\n"
        f"ledger = open_ledger({url!r}, flush_interval=60)\n"
        "for _ in range(7):\n"
        "    ledger.record_call(CallRecord(started_at=time.time(), duration=0.1))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    assert open_store(url).query("SELECT COUNT(*) FROM ledger_calls") == [(7,)]


def test_environment_variable_turns_the_ledger_on(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("CLAUDE_FOUNDRY_LEDGER", url)
    client = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)
    other = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)
    assert client._observers == other._observers  # one shared ledger per URL
    client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    ledger = client._observers[0]
    assert isinstance(ledger, Ledger)
    ledger.close()
    assert open_store(url).query("SELECT COUNT(*) FROM ledger_calls") == [(1,)]
    off = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, ledger=False)
    assert off._observers == ()


def test_a_record_never_holds_the_key_or_the_prompt(
    emulator: Emulator, ledger_url: str, tmp_path: Path
) -> None:
    secret_prompt = "my-very-private-prompt"
    with Ledger(open_store(ledger_url), flush_interval=0.01) as ledger:
        client = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, ledger=ledger)
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": secret_prompt}]
        )
        with client.messages.stream(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": secret_prompt}]
        ) as stream:
            stream.get_final_message()
    if ledger_url.startswith("sqlite"):
        data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    else:  # every row of every table, as text
        store = open_store(ledger_url)
        tables = store.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        data = b"".join(
            str(store.query(f"SELECT t::text FROM {name} t")).encode() for (name,) in tables
        )
        store.close()
        assert b"ledger_calls" in str(tables).encode()
    assert b"msg_" in data  # the rows are there
    assert TEST_API_KEY.encode() not in data
    assert secret_prompt.encode() not in data
    assert b"deterministic reply" not in data


def test_bad_urls_and_unreachable_databases_raise_ledger_errors(tmp_path: Path) -> None:
    from claude_foundry import ConfigurationError

    with pytest.raises(ConfigurationError, match="Unsupported ledger URL"):
        open_store("mysql://user:hunter2@db/ledger")
    with pytest.raises(ConfigurationError) as info:
        open_store("mysql://user:hunter2@db/ledger")
    assert "hunter2" not in str(info.value)
    with pytest.raises(LedgerError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    store = open_store("postgresql://user:hunter2@127.0.0.1:1/ledger")
    with pytest.raises(LedgerError) as failure:
        store.migrate()
    assert "hunter2" not in str(failure.value)
    assert "postgresql://[redacted]@127.0.0.1:1/ledger" in str(failure.value)


def test_a_forked_worker_writes_its_own_records(tmp_path: Path) -> None:
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'fork.db'}"
    ledger = Ledger(open_store(url), flush_interval=0.01)
    ledger.record_call(_record(time.time(), tags={"who": "parent"}))
    assert ledger.flush()

    def child() -> None:
        for _ in range(3):
            ledger.record_call(_record(time.time(), tags={"who": "child"}))
        ledger.close()

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(30)
    assert process.exitcode == 0
    ledger.record_call(_record(time.time(), tags={"who": "parent"}))
    ledger.close()
    tags = [
        json.loads(row[0])["who"] for row in open_store(url).query("SELECT tags FROM ledger_calls")
    ]
    assert sorted(tags) == ["child", "child", "child", "parent", "parent"]


def _spread_records(now: float) -> list[CallRecord]:
    records = []
    for index in range(300):
        records.append(
            CallRecord(
                started_at=now - (index % 10) * 86_400 - index * 37.0,
                duration=0.05 + (index % 23) / 10,
                time_to_first_token=0.02 + (index % 7) / 20 if index % 3 == 0 else None,
                stream=index % 3 == 0,
                operation="count_tokens" if index % 11 == 0 else "chat",
                host=("a.services.ai.azure.com", "b.services.ai.azure.com")[index % 2],
                deployment=("prod-sonnet", "prod-haiku", None)[index % 3],
                route=None if index % 4 else "main",
                tags=(
                    {
                        "user": f"u{index % 6}",
                        "feature": ("chat", "search", "")[index % 3],
                        "custom_id": f"q{index}",
                    }
                    if index % 5
                    else {}
                ),
                model=(MODEL, "claude-haiku-4-5", None, "unknown-model")[index % 4],
                outcome=("ok", "ok", "error", "cancelled")[index % 4],
                throttled=int(index % 5 == 0),
                input_tokens=index,
                output_tokens=2 * index,
                cache_creation_input_tokens=index % 13,
                cache_read_input_tokens=index % 17,
            )
        )
    return records


def test_daily_totals_match_the_calls_they_sum(ledger_url: str) -> None:
    from claude_foundry.ledger.report import _grouped, _scan_calls

    now = time.time()
    with Ledger(open_store(ledger_url), flush_interval=0.01, retention_days=None) as ledger:
        for record in _spread_records(now):
            ledger.record_call(record)
        assert ledger.flush()
        since, until = now - 12.3 * 86_400, now + 1.0  # partial days at both ends
        dimensions = ("day", "deployment", "model", "host", "route", "outcome", "operation")
        for dimension in (*dimensions, "tag:user", "tag:feature", "tag:absent", "tag:custom_id"):
            via_days = _grouped(ledger.store, dimension, since, until, set())
            from_calls: dict[str, Any] = {}
            _scan_calls(ledger.store, dimension, since, until, from_calls, set(), buckets=True)
            assert via_days.keys() == from_calls.keys(), dimension
            for key, group in via_days.items():
                expected = from_calls[key]
                assert (group.calls, group.errors, group.rate_limited) == (
                    expected.calls,
                    expected.errors,
                    expected.rate_limited,
                ), (dimension, key)
                assert group.input_tokens == expected.input_tokens
                assert group.cache_read_tokens == expected.cache_read_tokens
                assert group.cost_usd == pytest.approx(expected.cost_usd)
                assert group.unpriced_calls == expected.unpriced_calls
                assert group._latency == expected._latency
                assert group._ttft == expected._ttft


def test_a_report_by_tag_reads_whole_days_from_the_daily_totals(ledger_url: str) -> None:
    from claude_foundry.ledger.report import usage_report

    now = time.time()
    with Ledger(open_store(ledger_url), flush_interval=0.01, retention_days=None) as ledger:
        for record in _spread_records(now):
            ledger.record_call(record)
        assert ledger.flush()
        today = int(now // 86_400) * 86_400.0
        since, until = today - 20 * 86_400, today  # whole days only
        before = usage_report(ledger.store, since=since, until=until, by="tag:user", top=0)
        # Without the calls, whole days still report the same: the totals hold them.
        ledger.store.query("DELETE FROM ledger_calls RETURNING id")
        after = usage_report(ledger.store, since=since, until=until, by="tag:user", top=0)
    assert before.total.calls > 0
    assert [(g.key, g.calls, g.input_tokens) for g in after.groups] == [
        (g.key, g.calls, g.input_tokens) for g in before.groups
    ]
    assert "(none)" in {group.key for group in after.groups}  # calls without the tag
    assert after.total.latency_p95 == before.total.latency_p95


def test_the_daily_tables_migration_fills_them_from_existing_calls(ledger_url: str) -> None:
    from claude_foundry.ledger.prices import load_price_table
    from claude_foundry.ledger.store import row_for

    now = time.time()
    records = _spread_records(now)
    prices = load_price_table()
    rows = [row_for(record, *prices.cost(record), prices.version) for record in records]
    store = open_store(ledger_url)
    assert store.migrate(target=1) == 1
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    insert = f"INSERT INTO ledger_calls ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    if store.dialect == "sqlite":
        import sqlite3

        with sqlite3.connect(ledger_url.removeprefix("sqlite:///")) as connection:
            connection.executemany(insert.replace("%s", "?"), rows)
    else:
        import psycopg

        with psycopg.connect(ledger_url) as connection:
            connection.cursor().executemany(insert, rows)
    assert store.migrate() == migration_scripts(store.dialect)[-1][0]
    store.close()
    # The backfilled daily totals equal the ones the writer keeps call by call.
    from claude_foundry.ledger.rollup import rollup

    reader = open_store(ledger_url)
    backfilled = reader.query(
        "SELECT day, deployment, model, outcome, calls, input_tokens FROM ledger_daily"
    )
    backfilled_tags = reader.query(
        "SELECT day, tag, value, price_table, calls, input_tokens, cost_usd FROM ledger_daily_tags"
    )
    backfilled_tag_latency = reader.query("SELECT * FROM ledger_daily_tag_latency")
    reader.close()

    daily, _latency, tags, tag_latency = rollup(rows)
    incremental = sorted((row[0], row[1], row[2], row[6], row[8], row[11]) for row in daily)
    assert sorted(tuple(row) for row in backfilled) == incremental
    assert len(backfilled_tags) == len(tags) > 0
    assert sorted(tuple(row[:6]) for row in backfilled_tags) == sorted(
        (*row[:4], row[4], row[7]) for row in tags
    )
    assert sorted(tuple(row) for row in backfilled_tag_latency) == sorted(tag_latency)


def test_rows_the_database_refuses_are_dropped_not_retried_forever(ledger_url: str) -> None:
    with Ledger(open_store(ledger_url), flush_interval=0.01) as ledger:
        ledger.record_call(_record(time.time(), outcome=None))  # NOT NULL: refused for good
        assert ledger.flush()
        assert ledger.dropped == 1
        ledger.record_call(_record(time.time()))  # later records still go in
        assert ledger.flush()
        assert ledger.store.query("SELECT COUNT(*) FROM ledger_calls")[0][0] == 1


def test_a_partial_day_is_read_the_cheaper_way_and_adds_up(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_foundry.ledger import report

    day = 86_400.0
    base = (int(time.time() // day) - 6) * day
    with Ledger(open_store(ledger_url), flush_interval=0.01, retention_days=None) as ledger:
        for index in range(5 * 24):  # one call an hour for five days
            ledger.record_call(
                CallRecord(
                    started_at=base + index * 3600.0 + 60.0,
                    duration=0.05 + (index % 9) / 10,
                    time_to_first_token=0.03 if index % 2 else None,
                    deployment=("a", "b", "c")[index % 3],
                    model=MODEL,
                    input_tokens=10 + index,
                    output_tokens=20,
                    outcome="error" if index % 7 == 0 else "ok",
                    tags={"user": f"u{index % 4}"} if index % 5 else {},
                )
            )
        assert ledger.flush()
        store = ledger.store
        scanned: list[float] = []
        scan = report._scan_calls

        def spy(
            store: Any, dimension: str, start: float, end: float, *args: Any, **kw: Any
        ) -> None:
            scanned.append(end - start)
            scan(store, dimension, start, end, *args, **kw)

        def check(since: float, until: float) -> None:
            for dimension in ("day", "deployment", "tag:user", "outcome"):
                monkeypatch.setattr(report, "_scan_calls", spy)
                via_days = report._grouped(store, dimension, since, until, set())
                monkeypatch.setattr(report, "_scan_calls", scan)
                expected: dict[str, Any] = {}
                scan(store, dimension, since, until, expected, set(), buckets=True)
                assert via_days.keys() == expected.keys(), (dimension, since - base)
                for key, group in via_days.items():
                    other = expected[key]
                    assert (group.calls, group.errors, group.input_tokens) == (
                        other.calls,
                        other.errors,
                        other.input_tokens,
                    ), (dimension, key)
                    assert group.cost_usd == pytest.approx(other.cost_usd)
                    assert group._latency == other._latency
                    assert group._ttft == other._ttft

        # 90% of the first day and 80% of the last: the rest of each day is read instead.
        scanned.clear()
        check(base + 0.1 * day, base + 3.8 * day)
        assert max(scanned) <= 0.2 * day + 1
        # 30% and 30%: the parts themselves are read.
        scanned.clear()
        check(base + 0.7 * day, base + 3.3 * day)
        assert max(scanned) <= 0.3 * day + 1
        # Retention deleted the first calls of a day and kept its totals: read the part itself.
        store.query("DELETE FROM ledger_calls WHERE started_at < %s RETURNING id", [base + 3600])
        scanned.clear()
        check(base + 0.1 * day, base + 3.8 * day)
        assert max(scanned) >= 0.9 * day - 1


def test_a_token_count_is_a_call_that_uses_no_tokens(ledger_url: str) -> None:
    from claude_foundry.ledger.report import usage_report

    day = 86_400.0
    yesterday_noon = (int(time.time() // day) - 1) * day + day / 2
    with Ledger(open_store(ledger_url), flush_interval=0.01, retention_days=None) as ledger:
        for started_at in (yesterday_noon, time.time()):
            ledger.record_call(_record(started_at, tags={"user": "a"}))  # 10 input tokens
            counted = CallRecord(
                started_at=started_at, duration=0.1, operation="count_tokens", input_tokens=5000
            )
            ledger.record_call(counted)
        assert ledger.flush()
        for since in (yesterday_noon - 1, yesterday_noon - day):  # parts of days, whole days
            for by in ("day", "deployment", "tag:user"):
                report = usage_report(ledger.store, since=since, until=time.time() + 1, by=by)
                assert report.total.calls == 4
                assert report.total.input_tokens == 20, (since, by)


def test_server_tool_use_reaches_the_row(emulator: Emulator, ledger_url: str) -> None:
    server_tools = {"web_search_requests": 3, "web_fetch_requests": 2}
    emulator.add_script(
        {"reply": {"text": "Searched.", "usage": {"server_tool_use": server_tools}}}
    )
    with Ledger(open_store(ledger_url), flush_interval=0.01) as ledger:
        client = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, ledger=ledger)
        with client.messages.stream(
            model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Search"}]
        ) as stream:
            usage = stream.get_final_message().usage
        assert ledger.flush()
        rows = ledger.store.query(
            "SELECT web_search_requests, web_fetch_requests, service_tier FROM ledger_calls"
        )
    assert usage.server_tool_use is not None
    assert rows == [(3, 2, usage.service_tier)]


def test_a_tag_unique_to_each_call_stays_out_of_the_daily_totals(ledger_url: str) -> None:
    from claude_foundry.ledger.report import usage_report

    day = 86_400.0
    yesterday = (int(time.time() // day) - 1) * day
    with Ledger(open_store(ledger_url), flush_interval=0.01, retention_days=None) as ledger:
        for index in range(20):  # a batch's calls: one custom_id each
            tags = {"batch": "b1", "custom_id": f"q{index}"}
            ledger.record_call(_record(yesterday + 60.0 * index, tags=tags))
        assert ledger.flush()
        names = ledger.store.query("SELECT DISTINCT tag FROM ledger_daily_tags")
        latency = ledger.store.query("SELECT DISTINCT tag FROM ledger_daily_tag_latency")
        report = usage_report(
            ledger.store, since=yesterday - day, until=time.time(), by="tag:custom_id"
        )
    assert names == latency == [("batch",)]
    assert len(report.groups) == 20  # still reported, from the calls
    assert report.total.calls == 20


def test_text_holding_nul_characters_does_not_cost_the_batch(ledger_url: str) -> None:
    with Ledger(open_store(ledger_url), flush_interval=0.01, retention_days=None) as ledger:
        ledger.record_call(
            _record(time.time(), tags={"user": "a\x00b"}, request_body='{"x": "\x00"}')
        )
        ledger.record_call(_record(time.time(), tags={"user": "plain"}))
        assert ledger.flush()
        assert ledger.dropped == 0
        rows = ledger.store.query("SELECT tags, request_body FROM ledger_calls ORDER BY id")
    tags = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]
    # PostgreSQL's text cannot hold NUL: it becomes U+FFFD there; SQLite keeps it.
    kept = "\x00" if ledger_url.startswith("sqlite") else "\ufffd"
    assert tags == [{"user": f"a{kept}b"}, {"user": "plain"}]
    assert rows[0][1] == '{"x": "' + kept + '"}'
    totals = ledger.store.query("SELECT value, calls FROM ledger_daily_tags ORDER BY value")
    assert [tuple(row) for row in totals] == [(f"a{kept}b", 1), ("plain", 1)]


def _rows_for(records: list[CallRecord]) -> list[tuple[Any, ...]]:
    from claude_foundry.ledger.prices import load_price_table
    from claude_foundry.ledger.store import row_for

    prices = load_price_table()
    return [row_for(record, *prices.cost(record), prices.version) for record in records]


def test_a_large_batch_is_written_whole_and_the_totals_add_up(ledger_url: str) -> None:
    now = time.time()
    rows = _rows_for([_record(now + i, tags={"user": f"u{i % 3}"}) for i in range(600)])
    store = open_store(ledger_url)
    store.migrate()
    store.insert(rows)  # more rows than one SQLite statement takes
    store.insert(rows[:5])  # the same days and tags again: the totals add up
    assert store.query("SELECT COUNT(*) FROM ledger_calls")[0][0] == 605
    assert store.query("SELECT SUM(calls) FROM ledger_daily")[0][0] == 605
    assert store.query("SELECT SUM(input_tokens) FROM ledger_daily")[0][0] == 6050
    user_calls = store.query("SELECT value, calls FROM ledger_daily_tags ORDER BY value")
    assert [tuple(row) for row in user_calls] == [("u0", 202), ("u1", 202), ("u2", 201)]
    stored = store.query("SELECT started_at, cost_usd FROM ledger_calls ORDER BY id LIMIT 600")
    assert [tuple(row) for row in stored] == [
        (row[0], row[COLUMNS.index("cost_usd")]) for row in rows
    ]
    store.close()


def test_a_postgresql_batch_commits_asynchronously_without_touching_the_session(
    postgres_url: str,  # noqa: F811  (the fixture)
) -> None:
    from claude_foundry.ledger.postgres import PostgresStore

    rows = _rows_for([_record(time.time())])
    store = PostgresStore(postgres_url)
    store.migrate()
    store.insert(rows)
    # The asynchronous commit is local to each batch's transaction, so a pooled session keeps its
    # own setting; a URL that sets synchronous_commit itself keeps it for the batches too.
    assert store.query("SHOW synchronous_commit") == [("on",)]
    assert "set_config('synchronous_commit', 'off', true)" in store._insert_batch
    store.close()
    durable = PostgresStore(postgres_url + "?options=-c%20synchronous_commit%3Don")
    assert "synchronous_commit" not in durable._insert_batch
    durable.insert(rows)
    assert durable.query("SELECT COUNT(*) FROM ledger_calls")[0][0] == 2
    durable.close()


def test_a_ledger_migrated_by_a_newer_release_is_refused_and_left_alone(ledger_url: str) -> None:
    store = open_store(ledger_url)
    newest = store.migrate()
    mark = "%s" if store.dialect == "postgresql" else "?"
    store.query(
        f"INSERT INTO ledger_schema_versions (version, applied_at) VALUES ({mark}, 0) "
        "RETURNING version",
        (newest + 1,),
    )
    store.close()
    with pytest.raises(LedgerError, match="upgrade claude-foundry") as refused:
        Ledger(open_store(ledger_url))
    assert refused.value.transient is False
    assert f"schema version {newest + 1}" in str(refused.value)
    reader = open_store(ledger_url)
    versions = reader.query("SELECT MAX(version) FROM ledger_schema_versions")
    reader.close()
    assert versions[0][0] == newest + 1
