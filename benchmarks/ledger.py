"""What the usage ledger costs: caller-thread time per call, rows/s into each store, report time.

    python benchmarks/ledger.py            # full run (PostgreSQL rows need 127.0.0.1:5432)
    python benchmarks/ledger.py --smoke    # tiny counts, checks the harness runs; asserts no timing

Rows:
- caller-thread CPU per ``messages.create`` with the ledger on against off (``time.thread_time``,
  so the writer thread's work is not counted: it is what the caller pays), and the difference;
- sustained rows per second from ``record_call`` to committed rows, SQLite and PostgreSQL;
- ``claude-foundry usage``'s report (by day, 30 days) over a million rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _servers
from _harness import MICROSECONDS, MILLISECONDS, Row, Target, Unit, interleave, markdown_table
from _servers import API_KEY, DEPLOYMENT
from claude_foundry import AnthropicFoundry, CallRecord
from claude_foundry.ledger import Ledger, open_store
from claude_foundry.ledger.prices import load_price_table
from claude_foundry.ledger.report import usage_report
from claude_foundry.ledger.store import row_for

ROWS_PER_SECOND = Unit("rows/s", higher_is_better=True)
POSTGRES_ADMIN = os.environ.get(
    "CLAUDE_FOUNDRY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PARAMS: dict[str, Any] = {
    "model": DEPLOYMENT,
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Hello, Claude"}],
}
DAY = 86_400.0


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A scratch database, dropped afterwards; ``None`` when no server answers."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        yield None
        return
    name = f"cfbench_ledger_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def thread_cpu_per_call(call: Callable[[], object], count: int) -> float:
    start = time.thread_time()
    for _ in range(count):
        call()
    return (time.thread_time() - start) / count


def bench_caller_overhead(
    url: str, label: str, rounds: int, count: int, *, judged: bool = True
) -> list[Row]:
    """Caller-thread CPU per create with the ledger on and off, interleaved. Unjudged rows show a
    setting's cost beside the default's (no target)."""
    name = f"caller-thread CPU per create, ledger on ({label})"
    ratio_row = Row(name, "ledger on", MICROSECONDS, "ledger off")
    ratio_row.target = Target(at_most=1.15) if judged else None
    with (
        _servers.running("fixed", "--mode", "json") as server,
        Ledger(open_store(url), flush_interval=0.05) as ledger,
    ):
        off = AnthropicFoundry(api_key=API_KEY, base_url=server.base_url, ledger=False)
        on = AnthropicFoundry(api_key=API_KEY, base_url=server.base_url, ledger=ledger)
        results = interleave(
            rounds,
            {
                "off": lambda: thread_cpu_per_call(lambda: off.messages.create(**PARAMS), count),
                "on": lambda: thread_cpu_per_call(lambda: on.messages.create(**PARAMS), count),
            },
        )
        off.close()
        on.close()
    ratio_row.subject_samples = results["on"]
    ratio_row.baseline_samples = results["off"]
    ratio_row.note = f"{rounds} rounds x {count} creates; time.thread_time of the calling thread"
    difference = Row(f"caller-thread overhead of recording ({label})", "on - off", MICROSECONDS)
    difference.subject_samples = [a - b for a, b in zip(results["on"], results["off"], strict=True)]
    median = sorted(difference.subject_samples)[len(difference.subject_samples) // 2]
    if judged:
        difference.target_text = "≤ 15 µs"
        difference.verdict_override = "met" if median <= 15e-6 else "MISSED"
    return [ratio_row, difference]


def bench_observation_path(url: str, label: str, rounds: int, count: int) -> Row:
    """The recording machinery alone, on a flow that sends once and returns a message: the
    CallTrace, the observing wrapper, the record and the ledger's queue, without network noise."""
    import httpx2
    import msgspec

    from claude_foundry._observe import observe
    from claude_foundry._pipeline import Call, Send
    from claude_foundry.types import Message

    request = httpx2.Request("POST", "https://example-resource.services.ai.azure.com/anthropic/")
    response = httpx2.Response(
        200,
        headers={
            "content-type": "application/json",
            "request-id": "req_011CUbenchmark",
            "apim-request-id": "6b1f5c4e-0000-4000-8000-000000000000",
            "x-ms-region": "East US 2",
            "azureml-served-by-cluster": "hyena-eastus2-01",
            "date": "Sun, 29 Nov 2026 18:00:00 GMT",
        },
        request=request,
    )
    message = msgspec.json.decode(msgspec.json.encode(_servers.canned_message()), type=Message)

    def flow() -> Any:
        yield Send(request, False)
        return message

    def drive(generator: Any) -> Any:
        value = None
        while True:
            try:
                generator.send(value)
            except StopIteration as stop:
                return stop.value
            value = response

    row = Row(f"recording path per call, no network ({label})", "observed", MICROSECONDS)
    row.baseline = "unobserved"
    row.target_text = "≤ 15 µs over"
    with Ledger(open_store(url), flush_interval=0.05, retention_days=None) as ledger:
        observers = (ledger,)

        def observed() -> None:
            drive(
                observe(
                    flow(), Call(path="v1/messages", body=b"", model=DEPLOYMENT), observers, None
                )
            )

        results = interleave(
            rounds,
            {
                "plain": lambda: thread_cpu_per_call(lambda: drive(flow()), count),
                "observed": lambda: thread_cpu_per_call(observed, count),
            },
        )
        ledger.flush(timeout=600)
    row.subject_samples = results["observed"]
    row.baseline_samples = results["plain"]
    over = sorted(a - b for a, b in zip(row.subject_samples, row.baseline_samples, strict=True))
    row.verdict_override = "met" if over[len(over) // 2] <= 15e-6 else "MISSED"
    row.note = (
        f"{rounds} rounds x {count} calls; median added {over[len(over) // 2] * 1e6:.1f} µs "
        "per call on the calling thread (time.thread_time)"
    )
    return row


def _synthetic(started_at: float, index: int) -> CallRecord:
    return CallRecord(
        started_at=started_at,
        duration=0.2 + (index % 97) / 50,
        time_to_first_token=0.1 + (index % 13) / 40 if index % 2 else None,
        stream=bool(index % 2),
        host="example-resource.services.ai.azure.com",
        deployment=("prod-sonnet", "prod-haiku", "batch-opus")[index % 3],
        model=("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-5")[index % 3],
        response_id=f"msg_{index:024d}",
        request_id=f"req_{index:024d}",
        apim_request_id=str(uuid.UUID(int=index)),
        region="East US 2",
        status_code=200 if index % 50 else 429,
        outcome="ok" if index % 50 else "error",
        input_tokens=800 + index % 400,
        output_tokens=200 + index % 300,
        cache_read_input_tokens=index % 1000,
        tags={"user": f"user-{index % 40}", "feature": ("chat", "search")[index % 2]},
    )


def bench_rows_per_second(url: str, label: str, rounds: int, count: int) -> Row:
    row = Row(f"sustained rows into {label} (record_call to commit)", "ledger", ROWS_PER_SECOND)
    samples = []
    with Ledger(open_store(url), flush_interval=0.05, retention_days=None) as ledger:
        now = time.time()
        for _ in range(rounds + 1):
            start = time.perf_counter()
            for index in range(count):
                ledger.record_call(_synthetic(now, index))
            assert ledger.flush(timeout=600)
            samples.append(count / (time.perf_counter() - start))
    row.subject_samples = samples[1:]  # the first round warms up
    row.note = f"{rounds} rounds x {count} records, batches of up to 1000"
    return row


def fill_ledger(url: str, total_rows: int) -> float:
    """``total_rows`` calls over the last 30 days, in time order as a ledger fills; returns now."""
    store = open_store(url)
    store.migrate()
    prices = load_price_table()
    now = time.time()
    store.prune(now + DAY, limit=2**62)  # start empty: earlier rows share the database
    batch: list[tuple[Any, ...]] = []
    for index in range(total_rows):
        record = _synthetic(now - 30 * DAY + 30 * DAY * index / total_rows, index)
        batch.append(row_for(record, *prices.cost(record), prices.version))
        if len(batch) == 20_000:
            store.insert(batch)
            batch.clear()
    if batch:
        store.insert(batch)
    store.close()
    return now


def bench_report(url: str, label: str, total_rows: int, rounds: int, now: float, by: str) -> Row:
    name = f"usage report, 30 days by {by}, {total_rows:,} rows ({label})"
    row = Row(name, "report", MILLISECONDS)
    store = open_store(url)
    for _ in range(rounds + 1):
        start = time.perf_counter()
        report = usage_report(store, since=now - 30 * DAY, until=now + 1, by=by)
        row.subject_samples.append(time.perf_counter() - start)
        assert report.total.calls == total_rows
    row.subject_samples = row.subject_samples[1:]
    row.target_text = "≤ 1 s"
    median = sorted(row.subject_samples)[len(row.subject_samples) // 2]
    row.verdict_override = "met" if median <= 1.0 else "MISSED"
    row.note = (
        "p50/p95 latency and time to first token per group, top deployments; whole days from "
        "the daily totals (per tag value for a tag), the partial first and last day from the calls"
    )
    store.close()
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts; checks the harness")
    options = parser.parse_args(argv)
    smoke = options.smoke
    rounds, creates = (2, 20) if smoke else (15, 300)
    records = 500 if smoke else 30_000
    report_rows = 2_000 if smoke else 1_000_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder, postgres_database() as postgres:
        stores = [(f"sqlite:///{Path(folder) / 'bench.db'}", "SQLite")]
        if postgres is not None:
            stores.append((postgres, "PostgreSQL"))
        else:
            print("PostgreSQL at 127.0.0.1:5432 is unreachable: its rows are skipped")
        for url, label in stores:
            rows.append(bench_observation_path(url, label, rounds, 200 if smoke else 20_000))
            rows += bench_caller_overhead(url, label, rounds, creates)
            rows.append(bench_rows_per_second(url, label, max(rounds // 3, 1), records))
        if postgres is not None:
            # Opting back in to synchronous commits: each batch then waits for the server's WAL
            # flush, and on a machine that also runs the server that work lands beside the caller.
            durable = postgres + "?options=-c%20synchronous_commit%3Don"
            label = "PostgreSQL, synchronous_commit=on"
            rows += bench_caller_overhead(durable, label, rounds, creates, judged=False)
        for url, label in stores:
            report_url = url.replace("bench.db", "report.db")
            now = fill_ledger(report_url, report_rows)
            for by in ("day", "tag:user"):
                rounds_here = 1 if smoke else 5
                rows.append(bench_report(report_url, label, report_rows, rounds_here, now, by))
    print(markdown_table(rows))
    for row in rows:
        if row.note:
            print(f"- {row.benchmark}: {row.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
