"""One test body for every quota backend (memory, Redis): the guarantees of QuotaBackend."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest

from claude_foundry._admission import AdmissionAsk, Outcome
from claude_foundry.quota import (
    MemoryBackend,
    PoolLimits,
    QuotaBackend,
    QuotaBackendError,
    QuotaGovernor,
    WindowShape,
)
from claude_foundry.quota.backend import Reservation
from claude_foundry.quota.redis_backend import RedisBackend
from claude_foundry.quota.window import Costs
from stores import require_redis

SHAPE = WindowShape(hold_s=60.5, slot_s=0.5)  # long: nothing ages out during a test


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[QuotaBackend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    url = require_redis()
    store = RedisBackend(url, prefix=f"cftest:quota:{uuid.uuid4().hex}:")
    try:
        yield store
    finally:
        store.delete("p", "q")
        store.close()


def test_reserve_charges_all_three_budgets_or_none(backend: QuotaBackend) -> None:
    limits = (10, 100, 50)
    assert backend.reserve("p", (1, 60, 30), limits, SHAPE).slot is not None
    refused = backend.reserve("p", (1, 60, 10), limits, SHAPE)  # input would overflow
    assert refused.slot is None
    assert 0 < refused.wait <= SHAPE.hold_s
    assert backend.usage("p", SHAPE) == (1, 60, 30)  # the refusal charged nothing
    assert backend.reserve("p", (1, 40, 20), limits, SHAPE).slot is not None
    assert backend.usage("p", SHAPE) == (2, 100, 50)


def test_pools_are_separate(backend: QuotaBackend) -> None:
    assert backend.reserve("p", (1, 0, 0), (1, None, None), SHAPE).slot is not None
    assert backend.reserve("q", (1, 0, 0), (1, None, None), SHAPE).slot is not None
    assert backend.reserve("p", (1, 0, 0), (1, None, None), SHAPE).slot is None


def test_adjust_refunds_and_corrects(backend: QuotaBackend) -> None:
    limits = (None, 1000, 100)
    first = backend.reserve("p", (1, 100, 100), limits, SHAPE)
    assert first.slot is not None
    assert backend.reserve("p", (1, 10, 10), limits, SHAPE).slot is None
    backend.adjust("p", first.slot, (0, 50, -90), SHAPE)  # more input than estimated, less output
    assert backend.usage("p", SHAPE) == (1, 150, 10)
    assert backend.reserve("p", (1, 10, 90), limits, SHAPE).slot is not None


def test_a_request_larger_than_the_limit_goes_alone(backend: QuotaBackend) -> None:
    assert backend.reserve("p", (1, 500, 0), (None, 100, None), SHAPE).slot is not None
    assert backend.reserve("p", (1, 1, 0), (None, 100, None), SHAPE).slot is None


def test_adjusting_an_unknown_slot_changes_nothing(backend: QuotaBackend) -> None:
    backend.reserve("p", (1, 10, 10), (None, None, None), SHAPE)
    backend.adjust("p", 12345, (0, -10, -10), SHAPE)
    assert backend.usage("p", SHAPE) == (1, 10, 10)


@pytest.mark.parametrize("limit", [1, 7, 40])
def test_100_threads_exactly_the_limit_admitted(backend: QuotaBackend, limit: int) -> None:
    admitted: list[int] = []
    barrier = threading.Barrier(100)

    def worker() -> None:
        barrier.wait()
        if backend.reserve("p", (1, 10, 10), (limit, None, None), SHAPE).slot is not None:
            admitted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == limit
    assert backend.usage("p", SHAPE) == (limit, 10 * limit, 10 * limit)


async def test_100_tasks_exactly_the_limit_admitted(backend: QuotaBackend) -> None:
    results = await asyncio.gather(
        *(backend.areserve("p", (1, 0, 0), (9, None, None), SHAPE) for _ in range(100))
    )
    assert sum(r.slot is not None for r in results) == 9
    assert await backend.ausage("p", SHAPE) == (9, 0, 0)
    admitted = next(r for r in results if r.slot is not None)
    assert admitted.slot is not None
    await backend.aadjust("p", admitted.slot, (0, 0, 0), SHAPE)
    await backend.aclose()


def test_governor_shares_a_pool_across_governors(backend: QuotaBackend) -> None:
    # Two governors on one store stand for two processes: the pool is counted once.
    pools = {"p": PoolLimits(rpm=3)}
    first = QuotaGovernor(pools, backend=backend, max_wait=120)
    second = QuotaGovernor(pools, backend=backend, max_wait=120)
    assert first.headroom("p") == 3
    ask = AdmissionAsk(model="p", max_tokens=1, body_size=10)
    grants = [g.reserve(ask).grant for g in (first, second, first)]
    assert all(grant is not None for grant in grants)
    assert second.reserve(ask).grant is None
    assert first.headroom("p") == 0


def test_a_grant_never_sent_gives_its_whole_charge_back_in_the_store(backend: QuotaBackend) -> None:
    # a batch's deadline came after admission: the shared pool gets the request back too
    governor = QuotaGovernor({"p": PoolLimits(rpm=1, output_tpm=100)}, backend=backend)
    ask = AdmissionAsk(model="p", max_tokens=60, body_size=10)
    grant = governor.reserve(ask).grant
    assert grant is not None
    governor.settle(grant, Outcome(sent=False))
    assert backend.usage("p", governor.shape) == (0, 0, 0)
    assert governor.reserve(ask).grant is not None


# --- Redis outages: a policy, never a hang ------------------------------------------------------


def _dead_redis() -> RedisBackend:
    return RedisBackend("redis://127.0.0.1:1/0", socket_timeout=0.2)


def test_redis_errors_become_quota_backend_errors_without_the_password() -> None:
    store = RedisBackend("redis://user:hunter2@127.0.0.1:1/0", socket_timeout=0.2)
    with pytest.raises(QuotaBackendError) as caught:
        store.reserve("p", (1, 0, 0), (1, None, None), SHAPE)
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
    assert caught.value.__cause__ is not None


def test_outage_fail_closed_raises() -> None:
    governor = QuotaGovernor(
        {"p": PoolLimits(rpm=8)}, backend=_dead_redis(), on_outage="fail-closed"
    )
    with pytest.raises(QuotaBackendError):
        governor.reserve(AdmissionAsk(model="p", max_tokens=1, body_size=1))


def test_outage_fail_open_admits_a_local_share() -> None:
    governor = QuotaGovernor({"p": PoolLimits(rpm=8)}, backend=_dead_redis(), outage_share=0.25)
    ask = AdmissionAsk(model="p", max_tokens=1, body_size=1)
    verdicts = [governor.reserve(ask) for _ in range(3)]
    assert [v.grant is not None for v in verdicts] == [True, True, False]  # 25 % of 8
    governor.settle(verdicts[0].grant, Outcome(output_tokens=0))  # the refund cannot fail


def test_adjust_moves_a_charge_later_and_it_is_held_longer(backend: QuotaBackend) -> None:
    limits = (1, None, None)
    first = backend.reserve("p", (1, 10, 10), limits, SHAPE)
    assert first.slot is not None
    backend.adjust("p", first.slot, (0, -5, 0), SHAPE, shift=30.0, charge=(1, 5, 10))
    assert backend.usage("p", SHAPE) == (1, 5, 10)  # moved, not added
    refused = backend.reserve("p", (1, 0, 0), limits, SHAPE)
    assert refused.slot is None
    assert SHAPE.hold_s + 25 < refused.wait <= SHAPE.hold_s + 31
    backend.adjust("p", first.slot, (0, 0, -10), SHAPE)  # the old slot still takes corrections
    assert backend.usage("p", SHAPE) == (1, 5, 0)


class _CountingDeadStore(MemoryBackend):
    """A store that is down: every question fails (as redis-py's timeout does), counted."""

    name = "dead"

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def reserve(self, *args: object, **kwargs: object) -> Reservation:  # type: ignore[override]
        self.asked += 1
        raise QuotaBackendError("store at redis://127.0.0.1:1 failed: TimeoutError")

    def usage(self, *args: object, **kwargs: object) -> Costs:  # type: ignore[override]
        self.asked += 1
        raise QuotaBackendError("store at redis://127.0.0.1:1 failed: TimeoutError")


def test_a_store_that_is_down_is_asked_once_per_retry_interval() -> None:
    from fake_clock import FakeClock

    clock = FakeClock()
    store = _CountingDeadStore()
    governor = QuotaGovernor(
        {"p": PoolLimits(rpm=100)}, backend=store, outage_retry_s=5.0, clock=clock
    )
    ask = AdmissionAsk(model="p", max_tokens=1, body_size=1)
    for _ in range(5):
        verdict = governor.reserve(ask)
        assert verdict.grant is not None  # fail-open: the local window answers
        governor.settle(verdict.grant, Outcome(output_tokens=0))
    assert governor.headroom("p") == 25 - 5  # the outage share of 100, less what it admitted
    assert store.asked == 1  # one timeout, not one per call
    clock.advance(5.0)
    governor.reserve(ask)
    assert store.asked == 2  # asked again once the interval passed


def test_fail_closed_headroom_and_reservations_raise_while_the_store_is_down() -> None:
    governor = QuotaGovernor(
        {"p": PoolLimits(rpm=8)}, backend=_CountingDeadStore(), on_outage="fail-closed"
    )
    with pytest.raises(QuotaBackendError):
        governor.headroom("p")
    with pytest.raises(QuotaBackendError):
        governor.reserve(AdmissionAsk(model="p", max_tokens=1, body_size=1))
