"""Fixtures shared by the test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from claude_foundry.emulator import Emulator

TEST_API_KEY = "test-key"


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    with Emulator(api_key=TEST_API_KEY) as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_session: Emulator) -> Emulator:
    """One emulator for the session (key "test-key", no pacing, no quotas), reset per test."""
    emulator_session.reset()
    return emulator_session
