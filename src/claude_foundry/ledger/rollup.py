"""Daily totals and latency histograms, kept up to date as calls are written.

The writer turns each batch of rows into additions to ``ledger_daily`` (sums per day and
deployment, model, host, route, operation, outcome, price table), ``ledger_daily_latency``
(call counts per latency bucket), and their twins per tag, ``ledger_daily_tags`` and
``ledger_daily_tag_latency`` (per day, tag name and tag value: a call with two tags counts in
both), applied in the transaction that inserts the calls, so the totals always match the rows.
A report reads whole days from here and only the partial days at the edges of its period from
``ledger_calls``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .store import COLUMNS

__all__ = [
    "PER_CALL_TAGS",
    "ROLLUP_DIMENSIONS",
    "ROLLUP_TABLES",
    "RollupTable",
    "rollup",
]

DAY_SECONDS = 86_400
ROLLUP_DIMENSIONS = ("deployment", "model", "host", "route", "operation", "outcome")
"""What the daily tables are keyed by besides the day: what a report over them can group by."""

PER_CALL_TAGS = frozenset({"custom_id"})
"""Tag names whose value differs on every call (the batch runner's ``custom_id``): per-tag daily
totals of them would be as large as the calls, so they stay in the calls only (migration 0003
names them too)."""

_AT = {name: index for index, name in enumerate(COLUMNS)}
_STARTED, _OUTCOME, _THROTTLED = _AT["started_at"], _AT["outcome"], _AT["throttled"]
_DEPLOYMENT, _MODEL, _PRICED = _AT["deployment"], _AT["model"], _AT["priced_model"]
_HOST, _ROUTE, _OPERATION = _AT["host"], _AT["route"], _AT["operation"]
_INPUT, _OUTPUT = _AT["input_tokens"], _AT["output_tokens"]
_WRITES, _READS = _AT["cache_creation_input_tokens"], _AT["cache_read_input_tokens"]
_COST, _TABLE = _AT["cost_usd"], _AT["price_table"]
_DURATION, _TTFT = _AT["duration_bucket"], _AT["ttft_bucket"]
_TAGS = _AT["tags"]

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


@dataclass(frozen=True)
class RollupTable:
    """A daily table: rows are ``keys`` then ``sums``, as :func:`rollup` returns them; a row
    whose keys exist already adds its sums to that row's."""

    name: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.keys + self.sums

    def conflict_clause(self) -> str:
        """``ON CONFLICT ... DO UPDATE`` adding the sums (the same in SQLite and PostgreSQL)."""
        table = self.name
        additions = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in self.sums)
        return f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {additions}"


_CALL_KEYS = ("day", "deployment", "model", "host", "route", "operation", "outcome")
DAILY = RollupTable("ledger_daily", (*_CALL_KEYS, "price_table"), _DAILY_SUMS)
LATENCY = RollupTable("ledger_daily_latency", (*_CALL_KEYS, "kind", "bucket"), ("calls",))
TAGS = RollupTable("ledger_daily_tags", ("day", "tag", "value", "price_table"), _DAILY_SUMS)
TAG_LATENCY = RollupTable(
    "ledger_daily_tag_latency", ("day", "tag", "value", "kind", "bucket"), ("calls",)
)
ROLLUP_TABLES = (DAILY, LATENCY, TAGS, TAG_LATENCY)
"""In the order of :func:`rollup`'s result."""

Additions = list[tuple[Any, ...]]


def rollup(rows: Sequence[Sequence[Any]]) -> tuple[Additions, Additions, Additions, Additions]:
    """The additions a batch of rows (in :data:`COLUMNS` order) makes to the daily tables
    (``ledger_daily``, ``ledger_daily_latency``, ``ledger_daily_tags``,
    ``ledger_daily_tag_latency``), sorted by key so concurrent writers lock rows in one order."""
    daily: dict[tuple[Any, ...], list[Any]] = {}
    latency: dict[tuple[Any, ...], int] = {}
    tagged: dict[tuple[Any, ...], list[Any]] = {}
    tag_latency: dict[tuple[Any, ...], int] = {}
    for row in rows:
        outcome = row[_OUTCOME]
        day = int(row[_STARTED] // DAY_SECONDS)
        base = (
            day,
            row[_DEPLOYMENT] or "",
            row[_MODEL] or row[_PRICED] or "",
            row[_HOST] or "",
            row[_ROUTE] or "",
            row[_OPERATION],
            outcome,
        )
        table = row[_TABLE] or ""
        cost = row[_COST]
        additions = (
            1,
            outcome == "error",
            row[_THROTTLED] > 0,
            0 if row[_OPERATION] == "count_tokens" else row[_INPUT] or 0,  # a count, not use
            row[_OUTPUT] or 0,
            row[_WRITES] or 0,
            row[_READS] or 0,
            cost or 0.0,
            cost is None and outcome == "ok",
        )
        buckets = [
            (kind, bucket)
            for kind, bucket in (("duration", row[_DURATION]), ("ttft", row[_TTFT]))
            if bucket is not None
        ]
        _add(daily, (*base, table), additions)
        for kind, bucket in buckets:
            key = (*base, kind, bucket)
            latency[key] = latency.get(key, 0) + 1
        if row[_TAGS]:
            for name, value in json.loads(row[_TAGS]).items():
                if name in PER_CALL_TAGS:
                    continue
                _add(tagged, (day, name, str(value), table), additions)
                for kind, bucket in buckets:
                    tag_key = (day, name, str(value), kind, bucket)
                    tag_latency[tag_key] = tag_latency.get(tag_key, 0) + 1
    return (
        [(*key, *sums) for key, sums in sorted(daily.items())],
        [(*key, calls) for key, calls in sorted(latency.items())],
        [(*key, *sums) for key, sums in sorted(tagged.items())],
        [(*key, calls) for key, calls in sorted(tag_latency.items())],
    )


def _add(sums_by_key: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], row: Any) -> None:
    sums = sums_by_key.get(key)
    if sums is None:
        sums_by_key[key] = [int(v) if isinstance(v, bool) else v for v in row]
        return
    for index, value in enumerate(row):
        sums[index] += value
