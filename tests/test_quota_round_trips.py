"""Round trips to the Redis quota store per call: one per reservation, one per reconciliation,
for plain governed clients and routed ones, sync and async (issue: governor overhead).

Counted in this process by wrapping redis-py's connections (every round trip sends one packed
command), against the real Redis, so a store-side change cannot hide an extra trip.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio.connection
import redis.connection

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.quota import PoolLimits, QuotaGovernor, RedisBackend
from claude_foundry.router import AsyncRoutedFoundry, Catalogue, Deployment, Route, RoutedFoundry
from stores import require_redis

KEY = "test-key"
MESSAGES = [{"role": "user", "content": "Hello"}]
CALLS = 3


class TripCounter:
    """Round trips by what they ran: a script's name (``reserve``, ``adjust``, ``usage``) or
    the command's name."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        self.trips: Counter[str] = Counter()

    def name(self, command: Any) -> str:
        text = command if isinstance(command, bytes) else b"".join(command)
        for name, script in self.backend._scripts.items():
            if script.sha and script.sha.encode() in text:
                return str(name)
        return "other"

    def reset(self) -> None:
        self.trips.clear()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RedisBackend, TripCounter]]:
    url = require_redis()
    backend = RedisBackend(url, prefix=f"cftest:quota3:{uuid.uuid4().hex}:")
    counter = TripCounter(backend)
    sync_send = redis.connection.AbstractConnection.send_packed_command
    async_send = redis.asyncio.connection.AbstractConnection.send_packed_command

    def send(self: Any, command: Any, check_health: bool = True) -> None:
        counter.trips[counter.name(command)] += 1
        sync_send(self, command, check_health)

    async def asend(self: Any, command: Any, check_health: bool = True) -> None:
        counter.trips[counter.name(command)] += 1
        await async_send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
    monkeypatch.setattr(redis.asyncio.connection.AbstractConnection, "send_packed_command", asend)
    try:
        yield backend, counter
    finally:
        backend.delete("pa", "pb", "claude-haiku-4-5")
        backend.close()


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[Emulator, Emulator]]:
    with (
        Emulator(EmulatorConfig.default(), api_key=KEY) as first,
        Emulator(EmulatorConfig.default(), api_key=KEY) as second,
    ):
        yield first, second


def _catalogue(a: Emulator, b: Emulator) -> Catalogue:
    return Catalogue.of(
        [
            Deployment("a", "claude-haiku-4-5", base_url=a.base_url, pool="pa"),
            Deployment("b", "claude-haiku-4-5", base_url=b.base_url, pool="pb", priority=1),
        ],
        [Route("haiku", ("a", "b"))],
        {"pa": PoolLimits(rpm=1_000), "pb": PoolLimits(rpm=1_000)},
    )


def _assert_per_call(counter: TripCounter) -> None:
    # After a warm-up call (connecting, loading the scripts): per call one reservation, one
    # reconciliation, nothing else.
    assert counter.trips == Counter({"reserve": CALLS, "adjust": CALLS}), counter.trips


def test_a_governed_call_makes_one_trip_to_reserve_and_one_to_reconcile(
    counted: tuple[RedisBackend, TripCounter], emulators: tuple[Emulator, Emulator]
) -> None:
    backend, counter = counted
    governor = QuotaGovernor({"claude-haiku-4-5": PoolLimits(rpm=1_000)}, backend=backend)
    client = AnthropicFoundry(base_url=emulators[0].base_url, api_key=KEY, governor=governor)
    client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES)
    counter.reset()
    for _ in range(CALLS):
        client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES)
    _assert_per_call(counter)
    client.close()


def test_an_async_governed_call_makes_one_trip_each(
    counted: tuple[RedisBackend, TripCounter], emulators: tuple[Emulator, Emulator]
) -> None:
    backend, counter = counted
    governor = QuotaGovernor({"claude-haiku-4-5": PoolLimits(rpm=1_000)}, backend=backend)

    async def main() -> None:
        client = AsyncAnthropicFoundry(
            base_url=emulators[0].base_url, api_key=KEY, governor=governor
        )
        await client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES)
        counter.reset()
        for _ in range(CALLS):
            await client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES)
        _assert_per_call(counter)
        await client.close()
        await backend.aclose()

    asyncio.run(main())


def test_a_routed_call_makes_one_trip_to_reserve_and_one_to_reconcile(
    counted: tuple[RedisBackend, TripCounter], emulators: tuple[Emulator, Emulator]
) -> None:
    backend, counter = counted
    catalogue = _catalogue(*emulators)
    governor = QuotaGovernor(catalogue.pools, backend=backend)
    client = RoutedFoundry(catalogue, governor=governor, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY})
    client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    counter.reset()
    for _ in range(CALLS):
        client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    _assert_per_call(counter)
    client.close()


def test_an_async_routed_call_makes_one_trip_each(
    counted: tuple[RedisBackend, TripCounter], emulators: tuple[Emulator, Emulator]
) -> None:
    backend, counter = counted
    catalogue = _catalogue(*emulators)
    governor = QuotaGovernor(catalogue.pools, backend=backend)

    async def main() -> None:
        client = AsyncRoutedFoundry(
            catalogue, governor=governor, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY}
        )
        await client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
        counter.reset()
        for _ in range(CALLS):
            await client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
        _assert_per_call(counter)
        await client.close()
        await backend.aclose()

    asyncio.run(main())


def test_a_full_pool_costs_its_refused_reservation_only(
    counted: tuple[RedisBackend, TripCounter], emulators: tuple[Emulator, Emulator]
) -> None:
    from claude_foundry._admission import AdmissionAsk

    backend, counter = counted
    catalogue = _catalogue(*emulators)
    catalogue.pools["pa"] = PoolLimits(rpm=1)
    # Another process filled pool pa: this one has not seen it yet.
    other = QuotaGovernor(catalogue.pools, backend=backend)
    assert other.reserve(AdmissionAsk("claude-haiku-4-5", 8, 10, pool="pa")).grant is not None
    governor = QuotaGovernor(catalogue.pools, backend=backend)
    client = RoutedFoundry(catalogue, governor=governor, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY})
    counter.reset()
    message = client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    assert (message.deployment, message.failovers) == ("b", 0)
    # pa refused (one trip), pb reserved (one), pb reconciled (one); then pa is known full.
    assert counter.trips == Counter({"reserve": 2, "adjust": 1}), counter.trips
    counter.reset()
    client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    assert counter.trips == Counter({"reserve": 1, "adjust": 1}), counter.trips
    client.close()
