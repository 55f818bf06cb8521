"""Round trips to the Redis quota store per call, counted in this process.

Every redis-py round trip sends one packed command (a pipeline sends one for many), so wrapping
``send_packed_command`` of the sync and asyncio connections counts them; each is named by the
Lua script it runs (``reserve``, ``adjust``, ``usage``) or ``other``. Counted after a warm-up
call (connecting and loading the scripts are once per connection, not per call).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

KEY = "bench-key"
MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "Hello"}]
CALLS = 20


@contextlib.contextmanager
def counting(backend: Any) -> Iterator[Counter[str]]:
    import redis.asyncio.connection
    import redis.connection

    trips: Counter[str] = Counter()
    shas = {name: script.sha.encode() for name, script in backend._scripts.items()}

    def name(command: Any) -> str:
        text = command if isinstance(command, bytes) else b"".join(command)
        return next((n for n, sha in shas.items() if sha and sha in text), "other")

    sync_class = redis.connection.AbstractConnection
    async_class = redis.asyncio.connection.AbstractConnection
    sync_send, async_send = sync_class.send_packed_command, async_class.send_packed_command

    def send(self: Any, command: Any, check_health: bool = True) -> None:
        trips[name(command)] += 1
        sync_send(self, command, check_health)

    async def asend(self: Any, command: Any, check_health: bool = True) -> None:
        trips[name(command)] += 1
        await async_send(self, command, check_health)

    sync_class.send_packed_command = send  # type: ignore[method-assign]
    async_class.send_packed_command = asend  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        sync_class.send_packed_command = sync_send  # type: ignore[method-assign]
        async_class.send_packed_command = async_send  # type: ignore[method-assign]


def per_call(base_urls: tuple[str, str], redis_url: str) -> dict[str, dict[str, float]]:
    """Round trips per call by script, for plain and routed clients, sync and async."""
    from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
    from claude_foundry.quota import PoolLimits, QuotaGovernor, RedisBackend
    from claude_foundry.router import (
        AsyncRoutedFoundry,
        Catalogue,
        Deployment,
        Route,
        RoutedFoundry,
    )

    big = PoolLimits(rpm=10**6)
    catalogue = Catalogue.of(
        [
            Deployment("a", MODEL, base_url=base_urls[0], pool="pa"),
            Deployment("b", MODEL, base_url=base_urls[1], pool="pb", priority=1),
        ],
        [Route("route", ("a", "b"))],
        {"pa": big, "pb": big},
    )
    environ = {"ANTHROPIC_FOUNDRY_API_KEY": KEY}
    results: dict[str, dict[str, float]] = {}

    def record(label: str, trips: Counter[str]) -> None:
        results[label] = {name: count / CALLS for name, count in trips.items()}

    backend = RedisBackend(redis_url, prefix=f"cfbench:trips:{uuid.uuid4().hex}:")
    try:
        plain = AnthropicFoundry(
            base_url=base_urls[0],
            api_key=KEY,
            governor=QuotaGovernor({MODEL: big}, backend=backend),
        )
        routed = RoutedFoundry(
            catalogue, governor=QuotaGovernor(catalogue.pools, backend=backend), environ=environ
        )
        for label, client, model in (("plain", plain, MODEL), ("routed", routed, "route")):
            client.messages.create(model=model, max_tokens=8, messages=MESSAGES)
            with counting(backend) as trips:
                for _ in range(CALLS):
                    client.messages.create(model=model, max_tokens=8, messages=MESSAGES)
            record(label, trips)
            client.close()

        async def run_async() -> None:
            aplain = AsyncAnthropicFoundry(
                base_url=base_urls[0],
                api_key=KEY,
                governor=QuotaGovernor({MODEL: big}, backend=backend),
            )
            arouted = AsyncRoutedFoundry(
                catalogue, governor=QuotaGovernor(catalogue.pools, backend=backend), environ=environ
            )
            for label, client, model in (
                ("plain async", aplain, MODEL),
                ("routed async", arouted, "route"),
            ):
                await client.messages.create(model=model, max_tokens=8, messages=MESSAGES)
                with counting(backend) as trips:
                    for _ in range(CALLS):
                        await client.messages.create(model=model, max_tokens=8, messages=MESSAGES)
                record(label, trips)
                await client.close()
            await backend.aclose()

        asyncio.run(run_async())
    finally:
        backend.delete(MODEL, "pa", "pb")
        backend.close()
    return results
