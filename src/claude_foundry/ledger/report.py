"""Usage over a period: totals, estimated cost, latency percentiles, error and 429 rates.

:func:`usage_report` reads a store and returns plain data (:class:`UsageReport`); the CLI
(``claude-foundry usage``) renders it. The database does the counting: whole days come from the
daily totals the writer keeps (per dimension, and per tag name and value), the partial first and
last day from one grouped scan of the calls, so a month of a million calls is read in well under
a second. Percentiles come from log-scale buckets 5% wide (see
:func:`~claude_foundry.ledger.store.latency_bucket`): each is within 2.5% of the exact value.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .._errors import ConfigurationError
from .rollup import PER_CALL_TAGS, ROLLUP_DIMENSIONS
from .store import Store, bucket_seconds

__all__ = ["DIMENSIONS", "UsageGroup", "UsageReport", "usage_report"]

DIMENSIONS = ("day", "deployment", "model", "host", "route", "outcome", "operation")
"""What a report can group by, besides ``tag:NAME``."""

_TAG = re.compile(r"^tag:([A-Za-z0-9_.\-]{1,64})$")
NONE_KEY = "(none)"
_DAY = 86_400


@dataclass
class UsageGroup:
    """The calls of one group (a day, a deployment, a tag value, ...) or of the whole period."""

    key: str
    calls: int = 0
    errors: int = 0
    rate_limited: int = 0
    """Calls that got at least one 429 (retried or not)."""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    """An estimate from the price table (Azure bills by the hour, not per call)."""
    unpriced_calls: int = 0
    """Successful calls whose model the price table does not know: not in ``cost_usd``."""
    latency_p50: float | None = None
    latency_p95: float | None = None
    ttft_p50: float | None = None
    ttft_p95: float | None = None
    _latency: Counter[int] = field(default_factory=Counter, repr=False)
    _ttft: Counter[int] = field(default_factory=Counter, repr=False)

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def rate_limited_rate(self) -> float:
        return self.rate_limited / self.calls if self.calls else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data["error_rate"] = self.error_rate
        data["rate_limited_rate"] = self.rate_limited_rate
        return data

    def _add(self, row: tuple[Any, ...]) -> None:
        (calls, errors, limited, tokens_in, tokens_out, writes, reads, cost, unpriced) = row[3:12]
        self.calls += int(calls)
        self.errors += int(errors or 0)
        self.rate_limited += int(limited or 0)
        self.input_tokens += int(tokens_in or 0)
        self.output_tokens += int(tokens_out or 0)
        self.cache_write_tokens += int(writes or 0)
        self.cache_read_tokens += int(reads or 0)
        self.cost_usd += float(cost or 0.0)
        self.unpriced_calls += int(unpriced or 0)
        if row[1] is not None:
            self._latency[int(row[1])] += int(calls)
        if row[2] is not None:
            self._ttft[int(row[2])] += int(calls)

    def _merge(self, other: UsageGroup) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.rate_limited += other.rate_limited
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cost_usd += other.cost_usd
        self.unpriced_calls += other.unpriced_calls
        self._latency.update(other._latency)
        self._ttft.update(other._ttft)

    def _subtract(self, other: UsageGroup) -> None:
        self.calls -= other.calls
        self.errors -= other.errors
        self.rate_limited -= other.rate_limited
        self.input_tokens -= other.input_tokens
        self.output_tokens -= other.output_tokens
        self.cache_write_tokens -= other.cache_write_tokens
        self.cache_read_tokens -= other.cache_read_tokens
        self.cost_usd = max(0.0, self.cost_usd - other.cost_usd)  # no float dust below zero
        self.unpriced_calls -= other.unpriced_calls
        self._latency.subtract(other._latency)
        self._ttft.subtract(other._ttft)
        self._latency = +self._latency  # drop the buckets left at zero
        self._ttft = +self._ttft

    def _settle(self) -> None:
        self.latency_p50 = _percentile(self._latency, 0.50)
        self.latency_p95 = _percentile(self._latency, 0.95)
        self.ttft_p50 = _percentile(self._ttft, 0.50)
        self.ttft_p95 = _percentile(self._ttft, 0.95)


@dataclass
class UsageReport:
    since: float
    until: float
    by: str
    groups: list[UsageGroup]
    total: UsageGroup
    top_by: str
    top: list[UsageGroup]
    price_tables: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "by": self.by,
            "cost_is_estimate": True,
            "price_tables": self.price_tables,
            "total": self.total.as_dict(),
            "groups": [group.as_dict() for group in self.groups],
            "top_by": self.top_by,
            "top": [group.as_dict() for group in self.top],
        }


def _percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_seconds(bucket)
    return bucket_seconds(max(histogram))


def dimension_sql(store: Store, dimension: str) -> tuple[str, list[Any]]:
    """The SQL expression (and its parameters) a report groups by."""
    if dimension == "day":
        return store.day_sql(), []
    if dimension == "model":
        return "COALESCE(model, priced_model)", []
    if dimension in DIMENSIONS:
        return dimension, []
    match = _TAG.match(dimension)
    if match:
        return store.tag_sql(), [match.group(1)]
    raise ConfigurationError(
        f"Cannot group usage by {dimension!r}: use one of {', '.join(DIMENSIONS)} or tag:NAME "
        "(for example tag:user)."
    )


_SUMS = (
    "COUNT(*), "
    "SUM(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN throttled > 0 THEN 1 ELSE 0 END), "
    # count_tokens answers with a count of input tokens: nothing was used, so it adds none.
    "SUM(CASE WHEN operation = 'count_tokens' THEN 0 ELSE input_tokens END), SUM(output_tokens), "
    "SUM(cache_creation_input_tokens), SUM(cache_read_input_tokens), SUM(cost_usd), "
    "SUM(CASE WHEN cost_usd IS NULL AND outcome = 'ok' THEN 1 ELSE 0 END), "
    "MIN(price_table), MAX(price_table)"
)


def _key(value: Any, as_day: bool) -> str:
    if value is None or value == "":
        return NONE_KEY
    if as_day:
        return datetime.fromtimestamp(int(value) * _DAY, UTC).strftime("%Y-%m-%d")
    return str(value)


def _group(groups: dict[str, UsageGroup], key: str) -> UsageGroup:
    target = groups.get(key)
    if target is None:
        target = groups[key] = UsageGroup(key)
    return target


def _scan_calls(
    store: Store,
    dimension: str,
    since: float,
    until: float,
    groups: dict[str, UsageGroup],
    price_tables: set[str],
    *,
    buckets: bool,
) -> None:
    """Add the calls in ``[since, until)`` to ``groups``, read from ledger_calls: the sums by
    group, then (with ``buckets``) each latency histogram by group and bucket. Grouping the
    sums by bucket too would make thousands of groups of every sum; counts alone are cheap."""
    expression, params = dimension_sql(store, dimension)
    where = "WHERE started_at >= %s AND started_at < %s"
    rows = store.query(
        f"SELECT {expression}, NULL, NULL, {_SUMS} FROM ledger_calls {where} GROUP BY 1",
        [*params, since, until],
    )
    as_day = dimension == "day"
    for row in rows:
        price_tables.update(str(table) for table in row[12:14] if table)
        _group(groups, _key(row[0], as_day))._add(row)
    if not buckets:
        return
    for column in ("duration_bucket", "ttft_bucket"):
        counts = store.query(
            f"SELECT {expression}, {column}, COUNT(*) FROM ledger_calls {where} "
            f"AND {column} IS NOT NULL GROUP BY 1, 2",
            [*params, since, until],
        )
        for key, bucket, calls in counts:
            target = _group(groups, _key(key, as_day))
            histogram = target._latency if column == "duration_bucket" else target._ttft
            histogram[int(bucket)] += int(calls)


_DAILY_SUMS = (
    "SUM(calls), SUM(errors), SUM(throttled), SUM(input_tokens), SUM(output_tokens), "
    "SUM(cache_write_tokens), SUM(cache_read_tokens), SUM(cost_usd), SUM(unpriced_calls), "
    "MIN(price_table), MAX(price_table)"
)


def _read_days(
    store: Store,
    dimension: str,
    first_day: int,
    end_day: int,
    groups: dict[str, UsageGroup],
    price_tables: set[str],
) -> None:
    """Add whole days ``[first_day, end_day)`` to ``groups`` from the daily tables."""
    if _TAG.match(dimension):
        _read_tag_days(store, dimension[4:], first_day, end_day, groups, price_tables)
        return
    column = "day" if dimension == "day" else dimension
    _read_daily(
        store,
        ("ledger_daily", "ledger_daily_latency"),
        column,
        ("", []),
        (first_day, end_day),
        groups,
        price_tables,
        as_day=dimension == "day",
    )


def _read_daily(
    store: Store,
    tables: tuple[str, str],
    column: str,
    where: tuple[str, list[Any]],
    days: tuple[int, int],
    groups: dict[str, UsageGroup],
    price_tables: set[str],
    *,
    as_day: bool = False,
) -> None:
    """Add one pair of daily tables (sums, latency) to ``groups``, by ``column``."""
    condition, params = where
    sums = store.query(
        f"SELECT {column}, NULL, NULL, {_DAILY_SUMS} FROM {tables[0]} "
        f"WHERE day >= %s AND day < %s {condition} GROUP BY 1",
        [*days, *params],
    )
    for row in sums:
        price_tables.update(str(table) for table in row[12:14] if table)
        _group(groups, _key(row[0], as_day))._add(row)
    histograms = store.query(
        f"SELECT {column}, kind, bucket, SUM(calls) FROM {tables[1]} "
        f"WHERE day >= %s AND day < %s {condition} GROUP BY 1, 2, 3",
        [*days, *params],
    )
    for key, kind, bucket, calls in histograms:
        target = _group(groups, _key(key, as_day))
        (target._latency if kind == "duration" else target._ttft)[int(bucket)] += int(calls)


def _read_tag_days(
    store: Store,
    tag: str,
    first_day: int,
    end_day: int,
    groups: dict[str, UsageGroup],
    price_tables: set[str],
) -> None:
    """Whole days by one tag's value: the tagged calls from the daily tag tables, the calls
    without the tag as what the day's totals leave over."""
    days = (first_day, end_day)
    tagged: dict[str, UsageGroup] = {}
    tag_tables = ("ledger_daily_tags", "ledger_daily_tag_latency")
    _read_daily(store, tag_tables, "value", ("AND tag = %s", [tag]), days, tagged, price_tables)
    everything: dict[str, UsageGroup] = {}
    daily_tables = ("ledger_daily", "ledger_daily_latency")
    _read_daily(store, daily_tables, "''", ("", []), days, everything, price_tables)
    untagged = everything.get(NONE_KEY, UsageGroup(NONE_KEY))
    for key, group in tagged.items():
        untagged._subtract(group)
        _group(groups, key)._merge(group)
    if untagged.calls > 0:
        _group(groups, NONE_KEY)._merge(untagged)


def _grouped(
    store: Store,
    dimension: str,
    since: float,
    until: float,
    price_tables: set[str],
    *,
    buckets: bool = True,
) -> dict[str, UsageGroup]:
    """Usage in ``[since, until)`` by ``dimension``: whole days from the daily tables, the
    partial days at either end from the calls."""
    dimension_sql(store, dimension)  # refuse an unknown dimension before reading anything
    groups: dict[str, UsageGroup] = {}
    first_day = math.ceil(since / _DAY)
    end_day = math.floor(until / _DAY)
    tag = _TAG.match(dimension)
    daily = dimension in (*ROLLUP_DIMENSIONS, "day") or (
        tag is not None and tag.group(1) not in PER_CALL_TAGS
    )
    if not daily or first_day >= end_day:
        _scan_calls(store, dimension, since, until, groups, price_tables, buckets=buckets)
        return groups
    _read_days(store, dimension, first_day, end_day, groups, price_tables)
    for start, end in ((since, first_day * _DAY), (end_day * _DAY, until)):
        if start < end:
            _add_part_of_day(store, dimension, start, end, groups, price_tables, buckets=buckets)
    return groups


def _add_part_of_day(
    store: Store,
    dimension: str,
    start: float,
    end: float,
    groups: dict[str, UsageGroup],
    price_tables: set[str],
    *,
    buckets: bool,
) -> None:
    """Add the calls in ``[start, end)``, a part of one UTC day, reading the fewer calls: the
    part itself, or the day's totals less the rest of the day (a report to now reads almost
    nothing of today). The second way needs every call of the day still in the ledger:
    retention may have deleted a day's first calls and kept its totals."""
    day = int(start // _DAY)
    rest = [(a, b) for a, b in ((day * _DAY, start), (end, (day + 1) * _DAY)) if a < b]
    if (end - start) * 2 <= _DAY or not _day_is_complete(store, day):
        _scan_calls(store, dimension, start, end, groups, price_tables, buckets=buckets)
        return
    part: dict[str, UsageGroup] = {}
    tables: set[str] = set()
    _read_days(store, dimension, day, day + 1, part, tables)
    outside: dict[str, UsageGroup] = {}
    for a, b in rest:
        _scan_calls(store, dimension, a, b, outside, set(), buckets=buckets)
    if any(key not in part for key in outside):  # a writer got in between: read the part
        _scan_calls(store, dimension, start, end, groups, price_tables, buckets=buckets)
        return
    for key, group in outside.items():
        part[key]._subtract(group)
    for key, group in part.items():
        if group.calls > 0:
            _group(groups, key)._merge(group)
    price_tables.update(tables)  # the day's: a table used only outside the part shows too


def _day_is_complete(store: Store, day: int) -> bool:
    """Whether the calls of ``day`` still in the ledger are all its totals count."""
    bounds = [day * _DAY, (day + 1) * _DAY]
    calls = store.query(
        "SELECT COUNT(*) FROM ledger_calls WHERE started_at >= %s AND started_at < %s", bounds
    )
    totals = store.query("SELECT COALESCE(SUM(calls), 0) FROM ledger_daily WHERE day = %s", [day])
    return int(calls[0][0]) == int(totals[0][0])


def usage_report(
    store: Store,
    *,
    since: float,
    until: float,
    by: str = "day",
    top_by: str = "deployment",
    top: int = 10,
) -> UsageReport:
    """Usage between ``since`` and ``until`` (seconds since the epoch), grouped ``by`` a
    dimension, with the ``top`` consumers by estimated cost along ``top_by``.

    Every dimension, ``tag:NAME`` included, reads whole days from the daily totals, which is
    what keeps a month of a million calls fast."""
    tables: set[str] = set()
    groups = _grouped(store, by, since, until, tables)
    total = UsageGroup("total")
    for group in groups.values():
        group._settle()
        total._merge(group)
    total._settle()
    consumers: dict[str, UsageGroup] = {}
    if top and top_by == by:
        consumers = groups
    elif top:
        consumers = _grouped(store, top_by, since, until, set(), buckets=False)
    ranked = sorted(consumers.values(), key=lambda g: (-g.cost_usd, -g.calls, g.key))[:top]
    return UsageReport(
        since=since,
        until=until,
        by=by,
        groups=sorted(groups.values(), key=lambda g: g.key),
        total=total,
        top_by=top_by,
        top=ranked,
        price_tables=sorted(tables),
    )
