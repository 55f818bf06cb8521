"""Hours of simulated time with one-minute Entra tokens: no 401 reaches the caller, and the
credential is asked for a token about once per lifetime, not once per request.

One simulated clock drives the emulator's token issuer and verifier and the client's token cache;
requests travel over real loopback HTTP. The credential mints from the emulator's tenant, as a
managed identity would, and counts how often it is asked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
from claude_foundry._auth import CredentialAuth
from claude_foundry.emulator import Emulator, EmulatorConfig

LIFETIME_S = 60
SIMULATED_S = 3 * 3600
STEP_S = 75  # simulated time between rounds: every round finds the last token expired
CONCURRENCY = 50
HELLO = [{"role": "user", "content": "Hello!"}]


class SimulatedClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class EmulatorTenantCredential:
    """A TokenCredential whose tokens come from the emulator's tenant."""

    def __init__(self, emulator: Emulator) -> None:
        directory = emulator.state.entra
        assert directory is not None
        self._directory = directory
        self._lock = threading.Lock()
        self.calls = 0

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        with self._lock:
            self.calls += 1
        issued = self._directory.issue_token(principal="app", scope=scopes[0])
        return AccessToken(issued.access_token, issued.expires_on)


@pytest.fixture
def simulated() -> Iterator[tuple[Emulator, SimulatedClock]]:
    config = EmulatorConfig.from_mapping(
        {
            "journal_size": 10_000,  # every request of the run stays in the journal
            "entra": {
                "enabled": True,
                "token_lifetime_s": LIFETIME_S,
                "leeway_s": 0,
                "principals": [{"name": "app", "roles": ["Foundry User"]}],
            },
        }
    )
    clock = SimulatedClock()
    with Emulator(config) as emulator:
        directory = emulator.state.entra
        assert directory is not None
        directory.issuer.clock = clock
        directory.verifier.clock = clock
        yield emulator, clock


def _use_clock(client: AnthropicFoundry | AsyncAnthropicFoundry, clock: SimulatedClock) -> None:
    auth = client._auth
    assert isinstance(auth, CredentialAuth)
    auth.source._clock = clock


def _assert_once_per_lifetime(calls: int, rounds: int) -> None:
    # Every round of fifty concurrent requests finds the token expired: one refresh serves them
    # all, so the credential is asked once per round, never more than once per token lifetime.
    assert rounds <= calls <= rounds + 2
    assert calls <= SIMULATED_S / LIFETIME_S


async def test_async_client_over_simulated_hours(
    simulated: tuple[Emulator, SimulatedClock],
) -> None:
    emulator, clock = simulated
    credential = EmulatorTenantCredential(emulator)
    client = AsyncAnthropicFoundry(base_url=emulator.base_url, credential=credential)
    _use_clock(client, clock)
    requests = 0
    rounds = SIMULATED_S // STEP_S
    async with client:
        for _ in range(rounds):
            clock.now += STEP_S
            results = await asyncio.gather(
                *(
                    client.messages.create(model="claude-haiku-4-5", max_tokens=4, messages=HELLO)
                    for _ in range(CONCURRENCY)
                )
            )
            requests += len(results)

    assert requests == CONCURRENCY * rounds
    assert len(emulator.journal()) == requests
    _assert_once_per_lifetime(credential.calls, rounds)
    assert not [entry for entry in emulator.journal() if entry.status == 401]


def test_sync_client_with_threads_over_simulated_hours(
    simulated: tuple[Emulator, SimulatedClock],
) -> None:
    emulator, clock = simulated
    credential = EmulatorTenantCredential(emulator)
    client = AnthropicFoundry(base_url=emulator.base_url, credential=credential)
    _use_clock(client, clock)
    errors: list[BaseException] = []
    start = threading.Barrier(CONCURRENCY + 1)
    done = threading.Barrier(CONCURRENCY + 1)
    rounds = SIMULATED_S // (2 * STEP_S)  # fewer rounds: threads are slower than tasks

    def worker() -> None:
        for _ in range(rounds):
            start.wait()
            try:
                client.messages.create(model="claude-haiku-4-5", max_tokens=4, messages=HELLO)
            except BaseException as exc:
                errors.append(exc)
            done.wait()

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for _ in range(rounds):
        clock.now += 2 * STEP_S
        start.wait()
        done.wait()
    for thread in threads:
        thread.join(timeout=30)
    client.close()

    assert not errors, errors[:3]
    assert len(emulator.journal()) == CONCURRENCY * rounds
    _assert_once_per_lifetime(credential.calls, rounds)
    assert not [entry for entry in emulator.journal() if entry.status == 401]
