"""``claude-foundry usage``: what the ledger recorded over a period.

Totals and estimated cost grouped by day, deployment, model or a tag; p50/p95 latency and time to
first token; error and 429 rates; the top consumers. Rich tables on a terminal, ``--json`` or
``--csv`` for scripts. Reads the ledger named by ``--ledger`` or ``CLAUDE_FOUNDRY_LEDGER``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click

from .._errors import AnthropicError

__all__ = ["command", "parse_time"]

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_time(text: str, now: float) -> float:
    """``7d``, ``24h``, ``30m`` (that long before ``now``), ``now``, or an ISO date or time
    (UTC unless it names its zone); seconds since the epoch."""
    value = text.strip()
    if value == "now":
        return now
    relative = _RELATIVE.match(value)
    if relative:
        return now - float(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time: use 7d, 24h, 30m, now, 2026-11-01 or 2026-11-01T12:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _pair(first: float | None, second: float | None) -> str:
    return f"{_duration(first)} / {_duration(second)}"


def _render_table(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # a pipe or a file: no wrapping
    title = (
        f"Usage {_iso(report.since)} to {_iso(report.until)}, by {report.by} "
        f"(cost is an estimate; price table {', '.join(report.price_tables) or '-'})"
    )
    table = Table(title=title, title_justify="left")
    headers = (
        report.by, "calls", "input", "output", "cache write / read", "est. cost $",
        "latency p50 / p95", "first token p50 / p95", "errors", "429",
    )  # fmt: skip
    for index, name in enumerate(headers):
        table.add_column(name, justify="left" if index == 0 else "right")
    for group in [*report.groups, report.total]:
        table.add_row(
            group.key,
            f"{group.calls:,}",
            f"{group.input_tokens:,}",
            f"{group.output_tokens:,}",
            f"{group.cache_write_tokens:,} / {group.cache_read_tokens:,}",
            f"{group.cost_usd:,.4f}" + ("*" if group.unpriced_calls else ""),
            _pair(group.latency_p50, group.latency_p95),
            _pair(group.ttft_p50, group.ttft_p95),
            f"{group.error_rate:.1%}",
            f"{group.rate_limited_rate:.1%}",
            end_section=group is report.groups[-1] if report.groups else False,
        )
    console.print(table)
    if report.total.unpriced_calls:
        console.print(
            f"* {report.total.unpriced_calls:,} successful calls have a model the price table "
            "does not know; map their deployments in a price file (CLAUDE_FOUNDRY_PRICES)."
        )
    if report.top:
        top = Table(title=f"Top consumers by {report.top_by}", title_justify="left")
        for index, name in enumerate((report.top_by, "calls", "est. cost $", "tokens")):
            top.add_column(name, justify="left" if index == 0 else "right")
        for group in report.top:
            top.add_row(
                group.key,
                f"{group.calls:,}",
                f"{group.cost_usd:,.4f}",
                f"{group.input_tokens + group.output_tokens:,}",
            )
        console.print(top)


def _render_csv(report: Any) -> None:
    rows = [group.as_dict() for group in [*report.groups, report.total]]
    writer = csv.DictWriter(sys.stdout, fieldnames=["group_by", *rows[0]])
    writer.writeheader()
    for row in rows:
        writer.writerow({"group_by": report.by, **row})


@click.command("usage")
@click.option(
    "--ledger",
    "ledger_url",
    envvar="CLAUDE_FOUNDRY_LEDGER",
    help="sqlite:///path or postgresql://... (default: CLAUDE_FOUNDRY_LEDGER).",
)
@click.option("--since", default="30d", show_default=True, help="Start: 7d, 24h, or a date.")
@click.option("--until", default="now", show_default=True, help="End: a date, or now.")
@click.option(
    "--by",
    default="day",
    show_default=True,
    help="Group by day, deployment, model, host, route, outcome, operation or tag:NAME.",
)
@click.option(
    "--top-by",
    default="deployment",
    show_default=True,
    help="Who the top consumers are: a dimension of --by, or tag:user, tag:tenant, ...",
)
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per group, then total).")
def command(
    ledger_url: str | None,
    since: str,
    until: str,
    by: str,
    top_by: str,
    top: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Show what the usage ledger recorded: calls, tokens, estimated cost, latency, errors.

    \b
    Examples:
      claude-foundry usage --since 7d --by deployment
      claude-foundry usage --since 2026-11-01 --until 2026-12-01 --by tag:tenant --json
    """
    if as_json and as_csv:
        raise click.UsageError("Choose one of --json and --csv.")
    if not ledger_url:
        raise click.UsageError(
            "No ledger: pass --ledger sqlite:///path/to/usage.db (or postgresql://...) or set "
            "CLAUDE_FOUNDRY_LEDGER."
        )
    from ..ledger import open_store
    from ..ledger.report import usage_report

    now = time.time()
    start, end = parse_time(since, now), parse_time(until, now)
    if start >= end:
        raise click.BadParameter("--since must be before --until", param_hint="--since")
    try:
        if not ledger_url.startswith(("postgresql://", "postgres://")):
            path = ledger_url.removeprefix("sqlite:///")
            if not os.path.exists(os.path.expanduser(path)):
                raise click.ClickException(
                    f"No ledger at {path!r} yet: nothing has been recorded there. Set "
                    "CLAUDE_FOUNDRY_LEDGER to it while running calls, then try again."
                )
        store = open_store(ledger_url)
        try:
            store.migrate()
            report = usage_report(store, since=start, until=end, by=by, top_by=top_by, top=top)
        finally:
            store.close()
    except AnthropicError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif as_csv:
        _render_csv(report)
    else:
        _render_table(report)
