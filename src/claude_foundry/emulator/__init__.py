"""A local Microsoft Foundry resource for Claude: the same paths, headers, errors and streams.

    >>> from claude_foundry.emulator import Emulator
    >>> with Emulator(api_key="test-key") as emu:  # doctest: +SKIP
    ...     client = AnthropicFoundry(api_key=emu.api_key, base_url=emu.base_url)
    ...     emu.add_fault(kind="status", status=529, count=2, retry_after=0)
    ...     client.messages.create(model="claude-sonnet-5", max_tokens=64,
    ...                            messages=[{"role": "user", "content": "Hi"}])

Command line: ``claude-foundry emulator --port 8011``. Pytest: the ``foundry_emulator`` fixture
of :mod:`claude_foundry.testing`.
"""

from __future__ import annotations

from .config import DEFAULT_API_KEY, DeploymentConfig, EmulatorConfig, EmulatorConfigError
from .server import Emulator

__all__ = [
    "DEFAULT_API_KEY",
    "DeploymentConfig",
    "Emulator",
    "EmulatorConfig",
    "EmulatorConfigError",
]
