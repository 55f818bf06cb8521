"""The governor in the client, end to end over loopback HTTP against the emulator's quotas."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.emulator.quota import QuotaBook
from claude_foundry.quota import (
    MemoryBackend,
    PoolLimits,
    QuotaBackend,
    QuotaGovernor,
    QuotaWaitTimeout,
)
from claude_foundry.quota.redis_backend import RedisBackend
from stores import require_redis

KEY = "test-key"
MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "Hello there, how are you today?"}]


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[Emulator]:
    config = EmulatorConfig.default()
    with Emulator(config, api_key=KEY) as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_module: Emulator) -> Iterator[Emulator]:
    emulator_module.reset()
    yield emulator_module
    emulator_module.state.quota = QuotaBook()


def server_429s(emulator: Emulator) -> int:
    return sum(1 for entry in emulator.journal() if entry.status == 429)


def governed(emulator: Emulator, governor: QuotaGovernor, **options: object) -> AnthropicFoundry:
    return AnthropicFoundry(
        api_key=KEY,
        base_url=emulator.base_url,
        governor=governor,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[QuotaBackend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    store = RedisBackend(require_redis(), prefix=f"cftest:quota:{uuid.uuid4().hex}:")
    try:
        yield store
    finally:
        store.delete(MODEL)
        store.close()


def test_load_above_the_limit_meets_no_429(emulator: Emulator, backend: QuotaBackend) -> None:
    # A quota minute of 2 s keeps the test short: 20 requests per window, 50 sent 10 at a time
    # by two governors on one store (two processes, as far as the pool can tell).
    window = 2.0
    emulator.state.quota = QuotaBook(window_s=window)
    emulator.configure(quotas={MODEL: {"rpm": 20, "input_tpm": 100_000, "output_tpm": 20_000}})
    governors = [
        QuotaGovernor(
            {MODEL: PoolLimits(rpm=20, input_tpm=100_000, output_tpm=20_000)},
            window_s=window,
            window_margin_s=1.0,  # generous: a loaded test machine delays arrivals
            backend=backend,
            on_outage="fail-closed",
        )
        for _ in range(2)
    ]
    clients = [governed(emulator, governor, max_retries=0) for governor in governors]
    with ThreadPoolExecutor(10) as pool:
        replies = list(
            pool.map(
                lambda n: clients[n % 2].messages.create(
                    model=MODEL, max_tokens=64, messages=MESSAGES
                ),
                range(50),
            )
        )
    assert len(replies) == 50
    assert server_429s(emulator) == 0
    assert [governor.in_flight(MODEL) for governor in governors] == [0, 0]


def test_unused_output_comes_back(emulator: Emulator) -> None:
    # Each call reserves 400 of 1,000 output tokens per (long) minute and uses a few: without
    # refunds the third call would have to wait a minute and time out.
    emulator.configure(quotas={MODEL: {"output_tpm": 1000}})
    governor = QuotaGovernor({MODEL: PoolLimits(output_tpm=1000)}, max_wait=0.5)
    client = governed(emulator, governor)
    for _ in range(4):
        client.messages.create(model=MODEL, max_tokens=400, messages=MESSAGES)
    with client.messages.stream(model=MODEL, max_tokens=400, messages=MESSAGES) as stream:
        stream.get_final_message()
    for _event in client.messages.create(
        model=MODEL, max_tokens=400, messages=MESSAGES, stream=True
    ):
        pass
    _, _, used_output = governor.backend.usage(MODEL, governor.shape)
    assert used_output < 400
    assert server_429s(emulator) == 0


def test_input_estimate_learns_the_real_usage(emulator: Emulator) -> None:
    governor = QuotaGovernor({MODEL: PoolLimits(input_tpm=1_000_000)})
    client = governed(emulator, governor)
    for _ in range(30):
        message = client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    real = message.usage.input_tokens
    _, used_input, _ = governor.backend.usage(MODEL, governor.shape)
    assert used_input == 30 * real  # corrected to what the service reported, not the estimate
    assert governor.estimator.error(MODEL) < 0.25  # below where it started
    assert governor.estimator.estimate(MODEL, len(b"x")) >= 1


def test_a_429_is_learned_and_the_call_still_succeeds(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=429, count=1, retry_after=0)
    governor = QuotaGovernor({MODEL: PoolLimits(rpm=100)})
    client = governed(emulator, governor)
    client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    status = governor.status()[0]
    assert status.rate_limited == 1
    assert status.learned_factor < 1.0
    assert status.used[0] == 2  # both attempts stay counted


def test_background_priority_and_the_wait_limit(emulator: Emulator) -> None:
    governor = QuotaGovernor({MODEL: PoolLimits(rpm=2)}, background_max_wait=0.1, max_wait=0.1)
    client = governed(emulator, governor)
    background = client.with_options(priority="background")
    assert background.priority == "background"
    assert background.governor is governor
    background.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    with pytest.raises(QuotaWaitTimeout):  # background may use 80 % of 2 requests: one
        background.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)  # interactive: the rest
    assert len(emulator.journal()) == 2
    assert client.with_options(governor=None).governor is None


def test_count_tokens_is_not_governed(emulator: Emulator) -> None:
    governor = QuotaGovernor({MODEL: PoolLimits(rpm=1)}, max_wait=0)
    client = governed(emulator, governor)
    for _ in range(3):
        client.messages.count_tokens(model=MODEL, messages=MESSAGES)
    assert governor.headroom(MODEL) == 1


def test_a_bad_priority_is_a_configuration_error(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="priority must be one of"):
        governed(emulator, QuotaGovernor(), priority="urgent")


async def test_async_client_is_governed_by_the_same_rules(emulator: Emulator) -> None:
    emulator.configure(quotas={MODEL: {"output_tpm": 1000}})
    governor = QuotaGovernor({MODEL: PoolLimits(rpm=50, output_tpm=1000)}, max_wait=5)
    client = AsyncAnthropicFoundry(api_key=KEY, base_url=emulator.base_url, governor=governor)
    replies = await asyncio.gather(
        *(client.messages.create(model=MODEL, max_tokens=300, messages=MESSAGES) for _ in range(8))
    )
    assert len(replies) == 8
    async with client.messages.stream(model=MODEL, max_tokens=300, messages=MESSAGES) as stream:
        await stream.get_final_message()
    assert governor.in_flight(MODEL) == 0
    assert server_429s(emulator) == 0
    await client.close()


async def test_a_cancelled_call_is_no_longer_in_flight(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", delay_ms=5_000, count=1)
    governor = QuotaGovernor({MODEL: PoolLimits(rpm=50)})
    client = AsyncAnthropicFoundry(api_key=KEY, base_url=emulator.base_url, governor=governor)
    task = asyncio.create_task(
        client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    )
    for _ in range(1000):  # until the request is on its way (the reply is held 5 s)
        if governor.in_flight(MODEL):
            break
        await asyncio.sleep(0.01)
    assert governor.in_flight(MODEL) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert governor.in_flight(MODEL) == 0
    assert governor.backend.usage(MODEL, governor.shape)[0] == 1  # still counted
    await client.close()
