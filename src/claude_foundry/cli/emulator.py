"""``claude-foundry emulator``: run a local Foundry resource until Ctrl-C."""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..emulator.config import DeploymentConfig

__all__ = ["command", "key_hint", "sample_deployment"]


def key_hint(key: str, *, well_known: bool) -> str:
    """How the key is shown: the well-known default in full, any other key masked."""
    if well_known:
        return f"{key} (the emulator's well-known default key)"
    if len(key) <= 8:
        return f"{'*' * len(key)} ({len(key)} characters, as given with --api-key)"
    return f"{key[:3]}…{key[-2:]} ({len(key)} characters, as given)"


def sample_deployment(deployments: Mapping[str, DeploymentConfig]) -> str:
    """A deployment the printed example can call: one the configuration declares, else a
    current catalog model; never one whose quota is 0 (it could never answer)."""
    from ..emulator.config import catalog

    usable = [
        d.name
        for d in deployments.values()
        if all(limit != 0 for limit in (d.rpm, d.input_tpm, d.output_tpm))
    ]
    catalog_names = {entry["deployment"] for entry in catalog().models}
    declared = [name for name in usable if name not in catalog_names]
    for name in (*declared, "claude-sonnet-4-6", *usable):
        if name in usable:
            return name
    return next(iter(deployments), "claude-sonnet-4-6")


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="Port (default: a free one)."
)
@click.option("--api-key", envvar="CLAUDE_FOUNDRY_EMULATOR_KEY", help="The key callers must send.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file with deployments, quotas, faults and scripts.",
)
@click.option("--strict", is_flag=True, help="Reject unknown fields and header values (400).")
@click.option(
    "--stream-delay-ms",
    type=click.FloatRange(min=0),
    help="Pause between stream events, in milliseconds.",
)
@click.option("--seed", type=int, help="Seed for probabilistic faults.")
@click.option(
    "--quota-window",
    type=float,
    help="Seconds in a quota minute (default 60; shorter for tests and benchmarks).",
)
@click.option(
    "--allow-remote", is_flag=True, help="Permit a non-loopback --host (the control API is open)."
)
@click.option(
    "--entra",
    is_flag=True,
    help="Accept Microsoft Entra ID bearer tokens; serve a managed identity for azure-identity.",
)
@click.option(
    "--token-lifetime",
    type=click.IntRange(min=1),
    help="Seconds an Entra ID token lives (implies --entra; default 3600).",
)
def command(
    host: str,
    port: int,
    api_key: str | None,
    config_path: Path | None,
    strict: bool,
    stream_delay_ms: float | None,
    seed: int | None,
    quota_window: float | None,
    allow_remote: bool,
    entra: bool,
    token_lifetime: int | None,
) -> None:
    """Run a local Claude-in-Foundry emulator on loopback.

    Point a client at the printed base URL, e.g.
    AnthropicFoundry(api_key=KEY, base_url="http://127.0.0.1:PORT/anthropic/").
    """
    from ..emulator import DEFAULT_API_KEY, Emulator, EmulatorConfig, EmulatorConfigError
    from ..emulator.config_values import seconds

    try:
        config = EmulatorConfig.load(config_path) if config_path else EmulatorConfig.default()
        if strict:
            config.strict = True
        if stream_delay_ms is not None:
            config.apply_settings(
                {"stream_event_delay_ms": stream_delay_ms}, where="--stream-delay-ms"
            )
        if seed is not None:
            config.seed = seed
        if quota_window is not None:
            config.quota_window_s = seconds(quota_window, "--quota-window")
        if entra or token_lifetime is not None:
            lifetime = token_lifetime or config.entra.token_lifetime_s
            config.entra = dataclasses.replace(
                config.entra, enabled=True, token_lifetime_s=lifetime
            )
        emulator = Emulator(
            config, api_key=api_key, host=host, port=port, allow_remote=allow_remote
        ).start()
    except EmulatorConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(str(exc)) from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        deployments = emulator.state.config.deployments
        well_known = emulator.api_key == DEFAULT_API_KEY
        click.echo(f"Claude in Foundry emulator: {emulator.base_url}")
        click.echo(f"  API key:      {key_hint(emulator.api_key, well_known=well_known)}")
        click.echo(f"  Deployments:  {len(deployments)} ({', '.join(sorted(deployments)[:4])}, …)")
        click.echo(f"  Control API:  {emulator.url}/_emulator/health")
        click.echo(f"  export ANTHROPIC_FOUNDRY_BASE_URL={emulator.base_url}")
        if emulator.state.entra is not None:
            lines = emulator.state.entra.shell_lines(
                server_url=emulator.url,
                base_url=emulator.base_url,
                deployment=sample_deployment(deployments),
            )
            click.echo("\n".join(lines))
        click.echo("Press Ctrl-C to stop.", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
