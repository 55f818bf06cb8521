"""Daily totals and latency histograms, kept up to date as calls are written.

The writer turns each batch of rows into additions to ``ledger_daily`` (sums per day and
deployment, model, host, route, operation, outcome, price table) and ``ledger_daily_latency``
(call counts per latency bucket), applied in the transaction that inserts the calls, so the
totals always match the rows. A report reads whole days from here and only the partial days at
the edges of its period from ``ledger_calls``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .store import COLUMNS

__all__ = ["DAILY_UPSERT", "LATENCY_UPSERT", "ROLLUP_DIMENSIONS", "rollup"]

DAY_SECONDS = 86_400
ROLLUP_DIMENSIONS = ("deployment", "model", "host", "route", "operation", "outcome")
"""What the daily tables are keyed by besides the day: what a report over them can group by."""

_AT = {name: index for index, name in enumerate(COLUMNS)}
_STARTED, _OUTCOME, _THROTTLED = _AT["started_at"], _AT["outcome"], _AT["throttled"]
_DEPLOYMENT, _MODEL, _PRICED = _AT["deployment"], _AT["model"], _AT["priced_model"]
_HOST, _ROUTE, _OPERATION = _AT["host"], _AT["route"], _AT["operation"]
_INPUT, _OUTPUT = _AT["input_tokens"], _AT["output_tokens"]
_WRITES, _READS = _AT["cache_creation_input_tokens"], _AT["cache_read_input_tokens"]
_COST, _TABLE = _AT["cost_usd"], _AT["price_table"]
_DURATION, _TTFT = _AT["duration_bucket"], _AT["ttft_bucket"]

_DAILY_KEYS = "day, deployment, model, host, route, operation, outcome, price_table"
_DAILY_SUMS = (
    "calls",
    "errors",
    "throttled",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_usd",
    "unpriced_calls",
)
DAILY_UPSERT = (
    f"INSERT INTO ledger_daily ({_DAILY_KEYS}, {', '.join(_DAILY_SUMS)}) "
    f"VALUES ({', '.join(['%s'] * 17)}) ON CONFLICT ({_DAILY_KEYS}) DO UPDATE SET "
    + ", ".join(f"{name} = ledger_daily.{name} + excluded.{name}" for name in _DAILY_SUMS)
)
_LATENCY_KEYS = "day, deployment, model, host, route, operation, outcome, kind, bucket"
LATENCY_UPSERT = (
    f"INSERT INTO ledger_daily_latency ({_LATENCY_KEYS}, calls) "
    f"VALUES ({', '.join(['%s'] * 10)}) ON CONFLICT ({_LATENCY_KEYS}) "
    "DO UPDATE SET calls = ledger_daily_latency.calls + excluded.calls"
)


def rollup(rows: Sequence[Sequence[Any]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The additions a batch of rows (in :data:`COLUMNS` order) makes to the daily tables, sorted
    by key so concurrent writers lock rows in one order."""
    daily: dict[tuple[Any, ...], list[Any]] = {}
    latency: dict[tuple[Any, ...], int] = {}
    for row in rows:
        outcome = row[_OUTCOME]
        base = (
            int(row[_STARTED] // DAY_SECONDS),
            row[_DEPLOYMENT] or "",
            row[_MODEL] or row[_PRICED] or "",
            row[_HOST] or "",
            row[_ROUTE] or "",
            row[_OPERATION],
            outcome,
        )
        daily_key = (*base, row[_TABLE] or "")
        sums = daily.get(daily_key)
        if sums is None:
            sums = daily[daily_key] = [0, 0, 0, 0, 0, 0, 0, 0.0, 0]
        cost = row[_COST]
        sums[0] += 1
        sums[1] += outcome == "error"
        sums[2] += row[_THROTTLED] > 0
        sums[3] += row[_INPUT] or 0
        sums[4] += row[_OUTPUT] or 0
        sums[5] += row[_WRITES] or 0
        sums[6] += row[_READS] or 0
        sums[7] += cost or 0.0
        sums[8] += cost is None and outcome == "ok"
        for kind, bucket in (("duration", row[_DURATION]), ("ttft", row[_TTFT])):
            if bucket is not None:
                key = (*base, kind, bucket)
                latency[key] = latency.get(key, 0) + 1
    return (
        [(*key, *sums) for key, sums in sorted(daily.items())],
        [(*key, calls) for key, calls in sorted(latency.items())],
    )
