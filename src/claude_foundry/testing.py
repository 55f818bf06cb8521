"""Pytest fixtures for code that calls Claude in Microsoft Foundry: a local emulator per session.

Installed as a pytest plugin (entry point ``claude_foundry``), so the fixtures need no import::

    def test_summary(foundry_emulator):
        client = AnthropicFoundry(api_key=foundry_emulator.api_key,
                                  base_url=foundry_emulator.base_url)
        foundry_emulator.add_fault(kind="status", status=529, count=1)
        ...
        assert foundry_emulator.journal()[-1].retry_count == 1

``foundry_emulator`` is one emulator for the whole session, reset (faults, journal, quotas,
scripts, ids, configuration) before each test that uses it. Its key is ``"test-key"``; it has no
quotas and no stream pacing. To start it from your own configuration, override
``foundry_emulator_config`` in a ``conftest.py``::

    @pytest.fixture(scope="session")
    def foundry_emulator_config():
        return "tests/emulator.toml"      # or an EmulatorConfig

Disable the plugin with ``-p no:claude_foundry``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .emulator import Emulator, EmulatorConfig

__all__ = [
    "TEST_API_KEY",
    "foundry_emulator",
    "foundry_emulator_config",
    "foundry_emulator_session",
]

TEST_API_KEY = "test-key"


@pytest.fixture(scope="session")
def foundry_emulator_config() -> EmulatorConfig | str | Path | None:
    """The configuration the session's emulator starts from; None means the defaults."""
    return None


@pytest.fixture(scope="session")
def foundry_emulator_session(
    foundry_emulator_config: EmulatorConfig | str | Path | None,
) -> Iterator[Emulator]:
    """The session's emulator, not reset between tests."""
    from .emulator import Emulator  # imported late: loading the plugin must stay cheap

    # The test key applies unless the configuration names its own keys.
    api_key = TEST_API_KEY if foundry_emulator_config is None else None
    with Emulator(foundry_emulator_config, api_key=api_key) as emulator:
        yield emulator


@pytest.fixture
def foundry_emulator(foundry_emulator_session: Emulator) -> Emulator:
    """The session's emulator, reset to its start state for this test."""
    foundry_emulator_session.reset()
    return foundry_emulator_session
