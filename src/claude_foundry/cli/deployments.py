"""``claude-foundry deployments``: the catalogue as a table: what can I call, where, with what.

Foundry has no Models API; the catalogue (``--catalogue deployments.toml`` or
``$CLAUDE_FOUNDRY_CATALOGUE``, see ``docs/router.md``) says which deployments exist, of which model,
hosted where, in which quota pool, and which features their hosting refuses. Each deployment is
probed with the doctor's checks (no billed message: count_tokens only) unless ``--no-probe``;
each pool shows its configured limits and, with ``--redis URL``, the current use the governors
sharing that store hold. ``--json`` prints the same for scripts. Exit status 1 when a probe
fails.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from .._errors import AnthropicError

__all__ = ["collect", "command"]

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "-": "dim"}


def _probe(deployment: Any, environ: Mapping[str, str], timeout: float) -> dict[str, str]:
    from ..doctor import DoctorOptions, run_doctor

    options = DoctorOptions(
        resource=deployment.resource,
        base_url=deployment.base_url,
        deployment=deployment.deployment,
        api_key_env=deployment.api_key_env,
        entra=deployment.entra,
        timeout=timeout,
        send_message=False,
    )
    results = run_doctor(options, environ=environ)
    failed = [r for r in results if r.status == "fail"]
    warned = [r for r in results if r.status == "warn"]
    worst = failed or warned
    status = "fail" if failed else "warn" if warned else "ok"
    if not worst:
        return {"status": status, "detail": "", "fix": ""}
    return {"status": status, "detail": worst[0].detail, "fix": worst[0].fix}


def collect(
    catalogue: Any,
    *,
    probe: bool = True,
    backend: Any = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """The report as data: ``{"deployments": [...], "routes": [...], "pools": [...]}``."""
    from ..quota import QuotaGovernor

    environ = os.environ if environ is None else environ
    governor = QuotaGovernor(catalogue.pools, backend=backend)
    deployments = []
    for deployment in catalogue.deployments.values():
        row = deployment.to_dict()
        row["probe"] = (
            _probe(deployment, environ, timeout) if probe else {"status": "-", "detail": ""}
        )
        deployments.append(row)
    pools = []
    for status in governor.status():
        pools.append(
            {
                "pool": status.pool,
                "configured": {
                    "rpm": status.configured.rpm,
                    "input_tpm": status.configured.input_tpm,
                    "output_tpm": status.configured.output_tpm,
                },
                "learned_factor": status.learned_factor,
                "used": dict(
                    zip(("requests", "input_tokens", "output_tokens"), status.used, strict=True)
                ),
                "deployments": sorted(
                    d.name for d in catalogue.deployments.values() if d.pool == status.pool
                ),
            }
        )
    routes = [
        {"name": r.name, "strategy": r.strategy, "deployments": list(r.deployments)}
        for r in catalogue.routes.values()
    ]
    return {"deployments": deployments, "routes": routes, "pools": pools}


def _limit(value: int | None) -> str:
    return "∞" if value is None else f"{value:,}"


def render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title="deployments", expand=True)
    for column in ("name", "model (deployment)", "where", "hosting · type", "pool", "region",
                   "prio", "refuses", "probe"):  # fmt: skip
        table.add_column(column)
    refusals: dict[tuple[str, ...], list[str]] = {}
    for row in report["deployments"]:
        status = row["probe"]["status"]
        refused = tuple(row["unavailable_features"])
        if refused:
            refusals.setdefault(refused, []).append(row["name"])
        table.add_row(
            row["name"],
            f"{row['model']} ({row['deployment']})",
            row["where"],
            f"{row['hosting']} · {row['deployment_type']}",
            row["pool"],
            row["region"] or "",
            str(row["priority"]),
            str(len(refused)) if refused else "-",  # which: listed below the table
            f"[{_STYLE[status]}]{status}[/]",
        )
    console.print(table, markup=True)
    # Long text below the table, in full: a narrow terminal would cut it in the cells.
    for refused, names in refusals.items():
        console.print(f"{', '.join(names)} refuse: {', '.join(refused)}", soft_wrap=True)
    for row in report["deployments"]:
        probe = row["probe"]
        if probe["status"] in ("warn", "fail"):
            style = _STYLE[probe["status"]]
            console.print(
                f"[{style}]{escape(row['name'])}: {probe['status']}[/] {escape(probe['detail'])}",
                soft_wrap=True,
            )
            if probe.get("fix"):
                console.print(f"  fix: {probe['fix']}", soft_wrap=True, markup=False)
    if report["routes"]:
        routes = Table(title="routes (model=)")
        routes.add_column("route")
        routes.add_column("strategy")
        routes.add_column("deployments")
        for route in report["routes"]:
            routes.add_row(route["name"], route["strategy"], " → ".join(route["deployments"]))
        console.print(routes)
    if report["pools"]:
        pools = Table(title="quota pools (per minute: configured, in use now)")
        for column in ("pool", "RPM", "input TPM", "output TPM", "deployments"):
            pools.add_column(column)
        for pool in report["pools"]:
            conf, used = pool["configured"], pool["used"]
            pools.add_row(
                pool["pool"],
                f"{used['requests']:,} / {_limit(conf['rpm'])}",
                f"{used['input_tokens']:,} / {_limit(conf['input_tpm'])}",
                f"{used['output_tokens']:,} / {_limit(conf['output_tpm'])}",
                ", ".join(pool["deployments"]),
            )
        console.print(pools)


@click.command("deployments")
@click.option(
    "--catalogue",
    "catalogue_path",
    envvar="CLAUDE_FOUNDRY_CATALOGUE",
    metavar="PATH",
    help="The catalogue TOML file (default: $CLAUDE_FOUNDRY_CATALOGUE).",
)
@click.option("--probe/--no-probe", default=True, help="Check each deployment (count_tokens).")
@click.option("--redis", "redis_url", metavar="URL", help="Show pool use from this Redis store.")
@click.option("--redis-prefix", default="claude-foundry:quota:", show_default=True)
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def command(
    catalogue_path: str | None,
    probe: bool,
    redis_url: str | None,
    redis_prefix: str,
    timeout: float,
    as_json: bool,
) -> None:
    """List deployments, routes and quota pools.

    What can I call, where, and with which features: each deployment of the catalogue with its
    model, endpoint, hosting, pool and the features its hosting refuses, probed with the
    doctor's checks; the routes; each pool's limits and current use.
    """
    from ..router import load_catalogue

    if not catalogue_path:
        raise click.UsageError(
            "name the catalogue: --catalogue deployments.toml or $CLAUDE_FOUNDRY_CATALOGUE "
            "(see docs/router.md for its format)"
        )
    try:
        catalogue = load_catalogue(catalogue_path)
        backend = None
        if redis_url:
            from ..quota.redis_backend import RedisBackend

            backend = RedisBackend(redis_url, prefix=redis_prefix)
        report = collect(catalogue, probe=probe, backend=backend, timeout=timeout)
    except AnthropicError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        render(report)
    failed = any(row["probe"]["status"] == "fail" for row in report["deployments"])
    sys.exit(1 if failed else 0)
