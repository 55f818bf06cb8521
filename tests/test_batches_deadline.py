"""Nothing is sent after a batch's deadline: the gate in front of the governor, and a batch whose
quota makes its last requests wait past the deadline, against the emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_foundry import AnthropicFoundry
from claude_foundry._admission import AdmissionAsk, Outcome
from claude_foundry.batches import BatchProgress, BatchRunner, SQLiteBatchStore
from claude_foundry.batches._deadline import DeadlineGate, DeadlinePassed
from claude_foundry.batches._format import BatchRequest
from claude_foundry.emulator import Emulator
from claude_foundry.quota import MemoryBackend, PoolLimits, QuotaGovernor
from fake_clock import FakeClock

MODEL = "claude-sonnet-5"
DEADLINE = 2000.0


def governor(clock: FakeClock, rpm: int = 1) -> QuotaGovernor:
    return QuotaGovernor(
        default_limits=PoolLimits(rpm=rpm, output_tpm=10_000),
        backend=MemoryBackend(clock),
        clock=clock,
        window_s=60.0,
        background_share=1.0,
    )


def ask() -> AdmissionAsk:
    return AdmissionAsk(model=MODEL, max_tokens=100, body_size=400, priority="background")


def test_before_the_deadline_the_governor_decides() -> None:
    clock = FakeClock(1000.0)
    quota = governor(clock)
    gate = DeadlineGate(quota, lambda: DEADLINE, clock)
    verdict = gate.reserve(ask())
    assert verdict.grant is not None
    gate.settle(verdict.grant, Outcome(input_tokens=100, output_tokens=10))
    assert quota.in_flight(MODEL) == 0
    assert quota.backend.usage(quota.pool_for(MODEL), quota.shape) == (1, 100, 10)


def test_asked_at_the_deadline_the_governor_is_not_asked() -> None:
    clock = FakeClock(DEADLINE)
    quota = governor(clock)
    gate = DeadlineGate(quota, lambda: DEADLINE, clock)
    with pytest.raises(DeadlinePassed, match="deadline passed before this request was sent"):
        gate.reserve(ask())
    assert quota.backend.usage(quota.pool_for(MODEL), quota.shape) == (0, 0, 0)


def test_a_wait_that_ends_after_the_deadline_is_not_waited() -> None:
    clock = FakeClock(1000.0)
    quota = governor(clock)
    assert quota.reserve(ask()).grant is not None  # the pool's one request a minute
    gate = DeadlineGate(quota, lambda: 1030.0, clock)  # 30 s left, room in about 60
    with pytest.raises(DeadlinePassed):
        gate.reserve(ask())
    assert clock.now == 1000.0  # raised at once
    # with time enough, the same wait is handed on for the flow to sleep
    patient = DeadlineGate(quota, lambda: DEADLINE, clock)
    verdict = patient.reserve(ask())
    assert verdict.grant is None
    assert 55.0 < verdict.wait < DEADLINE - 1000.0


def test_admitted_as_the_deadline_came_the_whole_charge_goes_back() -> None:
    clock = FakeClock(1000.0)
    quota = governor(clock)
    pool = quota.pool_for(MODEL)
    moments: Iterator[float] = iter([DEADLINE - 1, DEADLINE])  # the answer came at the deadline
    gate = DeadlineGate(quota, lambda: DEADLINE, lambda: next(moments))
    with pytest.raises(DeadlinePassed):
        gate.reserve(ask())
    assert quota.backend.usage(pool, quota.shape) == (0, 0, 0)
    assert quota.in_flight(MODEL) == 0


@pytest.mark.timeout(120)  # without the gate the last requests would wait about a minute
def test_no_request_reaches_the_service_after_the_deadline(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Two requests a minute: two go at once, the third would wait at the governor for about a
    # minute, far past the batch's deadline. It and the rest end expired without being sent.
    quota = QuotaGovernor(default_limits=PoolLimits(rpm=2), window_s=60.0, background_share=1.0)
    client = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url, governor=quota)
    store = SQLiteBatchStore(tmp_path / "store.sqlite")
    params = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    requests = [BatchRequest(f"q{i}", i + 1, params) for i in range(5)]
    now = time.time()
    record = store.create_batch(
        "msgbatch_d", requests, input_sha256="x", created_at=now, expires_at=now + 30
    )
    emulator.clear_journal()
    final = BatchRunner(store, "msgbatch_d", client, max_concurrency=8).run()
    assert final.processing_status == "ended"
    assert final.counts == {"succeeded": 2, "expired": 3}
    kinds = [result["type"] for _, result in store.results("msgbatch_d")]
    assert sorted(kinds) == ["expired"] * 3 + ["succeeded"] * 2
    sent = [entry for entry in emulator.journal() if entry.path.endswith("/v1/messages")]
    assert len(sent) == 2
    assert all(entry.time < record.expires_at for entry in sent)
    # the expired requests cost the quota nothing: only the two sent are in its window
    (pool,) = quota.status()
    assert pool.used[0] == 2
    assert pool.in_flight == 0
    store.close()
    client.close()


def test_a_request_asked_while_the_batch_is_canceling_is_not_sent() -> None:
    from claude_foundry.batches._deadline import BatchCanceling

    clock = FakeClock(1000.0)
    quota = governor(clock, rpm=5)
    canceling = [True]
    gate = DeadlineGate(quota, lambda: DEADLINE, clock, canceling=lambda: canceling[0])
    with pytest.raises(BatchCanceling):
        gate.reserve(ask())
    assert quota.backend.usage(quota.pool_for(MODEL), quota.shape) == (0, 0, 0)

    class CancelWhileInLine:
        """The governor's answer comes after the batch was canceled."""

        def reserve(self, question: AdmissionAsk) -> object:
            verdict = quota.reserve(question)
            canceling[0] = True
            return verdict

        def settle(self, grant: object, outcome: Outcome) -> None:
            quota.settle(grant, outcome)

    canceling[0] = False
    late = DeadlineGate(
        CancelWhileInLine(), lambda: DEADLINE, clock, canceling=lambda: canceling[0]
    )  # type: ignore[arg-type]
    with pytest.raises(BatchCanceling):
        late.reserve(ask())
    assert quota.backend.usage(quota.pool_for(MODEL), quota.shape) == (0, 0, 0)
    assert quota.in_flight(MODEL) == 0


@pytest.mark.timeout(60)
def test_requests_waiting_at_the_governor_when_the_batch_is_canceled_are_never_sent(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Two requests per 2-second window: two go at once, the others wait at the governor. The batch
    # is canceled as soon as the first two are recorded: the waiting ones end canceled, unsent.
    quota = QuotaGovernor(default_limits=PoolLimits(rpm=2), window_s=2.0, background_share=1.0)
    client = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url, governor=quota)
    store = SQLiteBatchStore(tmp_path / "store.sqlite")
    params = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    requests = [BatchRequest(f"c{i}", i + 1, params) for i in range(5)]
    now = time.time()
    store.create_batch(
        "msgbatch_c", requests, input_sha256="x", created_at=now, expires_at=now + 60
    )
    emulator.clear_journal()

    canceled: list[float] = []

    def cancel_after_two(progress: BatchProgress) -> None:
        if progress.finished >= 2 and not canceled:
            canceled.append(time.time())
            store.cancel("msgbatch_c", canceled[0])

    final = BatchRunner(
        store, "msgbatch_c", client, max_concurrency=8, on_progress=cancel_after_two
    ).run()
    assert final.processing_status == "ended"
    sent = [entry for entry in emulator.journal() if entry.path.endswith("/v1/messages")]
    assert final.counts.get("succeeded", 0) == len(sent)
    assert final.counts.get("canceled", 0) == 5 - len(sent)
    assert len(sent) < 5
    assert all(entry.time < canceled[0] for entry in sent)  # nothing went out after the cancel
    (pool,) = quota.status()
    assert pool.in_flight == 0
    store.close()
    client.close()
