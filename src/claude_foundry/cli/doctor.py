"""``claude-foundry doctor``: check a Claude-in-Foundry setup and say how to fix what is wrong.

Reads the client's settings (``ANTHROPIC_FOUNDRY_API_KEY``, ``ANTHROPIC_FOUNDRY_RESOURCE``,
``ANTHROPIC_FOUNDRY_BASE_URL``) unless options override them. Exit status 1 when a check fails,
0 otherwise (warnings included); ``--json`` prints ``[{"name", "status", "detail", "fix"}, ...]``.
"""

from __future__ import annotations

import json
import sys

import click

from ..doctor import DEFAULT_DEPLOYMENT, CheckResult, DoctorOptions, exit_code, run_doctor

__all__ = ["command", "render_table"]

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def render_table(results: list[CheckResult]) -> None:
    """The report as a rich table on stdout (plain text when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="claude-foundry doctor", show_lines=True, expand=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", ratio=3)
    table.add_column("fix", ratio=2)
    for result in results:
        # Text, not markup: a detail such as "[redacted]" or a deployment name in brackets is
        # shown as written.
        table.add_row(
            Text(result.name),
            Text(result.status, style=_STYLE[result.status]),
            Text(result.detail),
            Text(result.fix),
            style="dim" if result.status == "skip" else None,
        )
    console = Console(highlight=False)
    console.print(table)
    counts = {status: sum(r.status == status for r in results) for status in _STYLE}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    console.print(summary)


@click.command("doctor")
@click.option("--resource", help="Resource name (default: $ANTHROPIC_FOUNDRY_RESOURCE).")
@click.option("--base-url", help="Endpoint, e.g. https://NAME.services.ai.azure.com/anthropic/.")
@click.option(
    "--deployment",
    "--model",
    "deployment",
    default=DEFAULT_DEPLOYMENT,
    show_default=True,
    help="Deployment name to test (the value of `model`).",
)
@click.option(
    "--api-key-env",
    metavar="NAME",
    help="Variable holding the key (default: ANTHROPIC_FOUNDRY_API_KEY).",
)
@click.option("--entra", is_flag=True, help="Use a token from DefaultAzureCredential.")
@click.option(
    "--token-env",
    metavar="NAME",
    help="Variable holding a Microsoft Entra access token (read, never printed).",
)
@click.option(
    "--scope",
    default="https://ai.azure.com/.default",
    show_default=True,
    help="Token scope for --entra.",
)
@click.option(
    "--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds."
)
@click.option(
    "--no-message", is_flag=True, help="Only count tokens; send no (billed) 1-token message."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def command(
    resource: str | None,
    base_url: str | None,
    deployment: str,
    api_key_env: str | None,
    entra: bool,
    token_env: str | None,
    scope: str,
    timeout: float,
    no_message: bool,
    as_json: bool,
) -> None:
    """Check a Foundry setup and say how to fix what is wrong.

    Settings, endpoint, credential, network, access and deployment, in that order. Each
    failure names its cause and the fix; checks that depend on a failed one are skipped.
    Keys and tokens are never printed.
    """
    options = DoctorOptions(
        resource=resource,
        base_url=base_url,
        deployment=deployment,
        api_key_env=api_key_env,
        token_env=token_env,
        entra=entra,
        scope=scope,
        timeout=timeout,
        send_message=not no_message,
    )
    results = run_doctor(options)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        render_table(results)
    sys.exit(exit_code(results))
