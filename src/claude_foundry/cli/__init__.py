"""The ``claude-foundry`` command: one entry point, one subcommand per job."""

from __future__ import annotations

import click

from ._boundary import CommandGroup

__all__ = ["main"]


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="claude-foundry", prog_name="claude-foundry")
def main() -> None:
    """Claude in Microsoft Foundry: chat, a local emulator, diagnostics, and usage."""


def _register_subcommands() -> None:
    # Each subcommand lives in its own module; importing them here keeps `main` the only entry.
    from importlib import import_module

    for name in ("batch", "chat", "deployments", "doctor", "emulator", "usage"):
        try:
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        main.add_command(module.command)


_register_subcommands()
