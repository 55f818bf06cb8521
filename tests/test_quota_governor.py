"""The governor's rules, sans-IO, on a fake clock: windows, reconciliation, learning, priorities."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_foundry._admission import AdmissionAsk, Outcome, Verdict
from claude_foundry.quota import (
    Grant,
    InputEstimator,
    MemoryBackend,
    PoolLimits,
    QuotaGovernor,
    QuotaLimitError,
    QuotaWaitTimeout,
)
from fake_clock import FakeClock

WINDOW = 60.0


def make(clock: FakeClock, **limits: int | None) -> QuotaGovernor:
    return QuotaGovernor(
        {"pool": PoolLimits(**limits)},
        {"claude-sonnet-4-6": "pool"},
        backend=MemoryBackend(clock),
        clock=clock,
        window_s=WINDOW,
        max_wait=1000.0,
        background_max_wait=1000.0,
    )


def ask(max_tokens: int = 10, body: int = 100, priority: str = "interactive") -> AdmissionAsk:
    return AdmissionAsk(
        model="claude-sonnet-4-6",
        max_tokens=max_tokens,
        body_size=body,
        priority=priority,  # type: ignore[arg-type]
    )


def test_unlisted_deployment_is_its_own_pool_and_unconfigured_pools_are_not_governed() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=1)
    assert governor.pool_for("other") == "other"
    verdicts = [governor.reserve(AdmissionAsk("other", 10, 10)) for _ in range(5)]
    assert all(v.grant is not None for v in verdicts)
    governor.settle(verdicts[0].grant, Outcome())  # a no-op for an ungoverned grant


def test_waits_until_the_oldest_charge_ages_out() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=2)
    first = governor.reserve(ask())
    governor.settle(first.grant, Outcome(input_tokens=10, output_tokens=1))
    clock.advance(10)
    second = governor.reserve(ask())
    governor.settle(second.grant, Outcome(input_tokens=10, output_tokens=1))
    third = ask()
    refused = governor.reserve(third)
    assert refused.grant is None
    # The first charge counts for the window plus the margin for the trip to the service.
    assert refused.wait == pytest.approx(governor.shape.hold_s - 10)
    clock.advance(refused.wait)
    assert governor.reserve(third).grant is not None  # the same call, asking again


def test_a_wait_past_max_wait_raises_and_sends_nothing() -> None:
    clock = FakeClock()
    governor = QuotaGovernor(
        {"pool": PoolLimits(rpm=1)}, backend=MemoryBackend(clock), clock=clock, max_wait=5.0
    )
    assert governor.reserve(AdmissionAsk("pool", 1, 1)).grant is not None
    with pytest.raises(QuotaWaitTimeout) as caught:
        governor.reserve(AdmissionAsk("pool", 1, 1, waited=1.0))
    assert caught.value.pool == "pool"
    assert caught.value.wait > 5.0
    assert "max_wait" in str(caught.value)


def test_a_waiting_call_asks_again_soon_while_requests_are_in_flight() -> None:
    clock = FakeClock()
    governor = make(clock, output_tpm=100)
    held = governor.reserve(ask(max_tokens=100))
    waiting = ask(max_tokens=95)
    refused = governor.reserve(waiting)
    assert refused.grant is None
    assert refused.wait <= WINDOW * 0.01  # the refund of the first may come any moment
    governor.settle(held.grant, Outcome(input_tokens=20, output_tokens=5))
    assert governor.reserve(waiting).grant is not None


def test_max_tokens_over_the_whole_limit_can_never_fit() -> None:
    governor = make(FakeClock(), output_tpm=1000)
    with pytest.raises(QuotaLimitError, match="Lower max_tokens"):
        governor.reserve(ask(max_tokens=1001))
    zero = make(FakeClock(), rpm=0)
    with pytest.raises(QuotaLimitError, match="allows no requests"):
        zero.reserve(ask())


def test_reconcile_refunds_output_and_corrects_input() -> None:
    clock = FakeClock()
    governor = make(clock, input_tpm=10_000, output_tpm=1000)
    verdict = governor.reserve(ask(max_tokens=800, body=1000))
    grant = verdict.grant
    assert isinstance(grant, Grant)
    estimate = grant.costs[1]
    assert governor.backend.usage("pool", governor.shape) == (1, estimate, 800)
    governor.settle(grant, Outcome(input_tokens=321, output_tokens=45))
    assert governor.backend.usage("pool", governor.shape) == (1, 321, 45)
    governor.settle(grant, Outcome(input_tokens=1, output_tokens=1))  # once only
    assert governor.backend.usage("pool", governor.shape) == (1, 321, 45)
    assert governor.in_flight("claude-sonnet-4-6") == 0


def test_an_error_keeps_the_request_counted_and_frees_the_output() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=5, output_tpm=1000)
    grant = governor.reserve(ask(max_tokens=500)).grant
    governor.settle(grant, Outcome(status=500, output_tokens=0))
    requests, _, output = governor.backend.usage("pool", governor.shape)
    assert (requests, output) == (1, 0)


def test_a_connection_error_keeps_the_whole_reservation() -> None:
    clock = FakeClock()
    governor = make(clock, output_tpm=1000)
    grant = governor.reserve(ask(max_tokens=500)).grant
    governor.settle(grant, Outcome(reached=False))  # it may still be generating
    assert governor.backend.usage("pool", governor.shape)[2] == 500


def test_an_attempt_never_sent_gives_back_the_whole_charge_and_teaches_nothing() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=1, input_tpm=10_000, output_tpm=1000)
    estimate = governor.estimator.estimate("claude-sonnet-4-5", 1000)
    grant = governor.reserve(ask(max_tokens=500, body=1000)).grant
    waiting = ask()
    assert governor.reserve(waiting).grant is None  # the one request a minute is taken
    governor.settle(grant, Outcome(sent=False))  # e.g. a batch's deadline came first
    assert governor.backend.usage("pool", governor.shape) == (0, 0, 0)
    assert governor.in_flight("claude-sonnet-4-5") == 0
    assert governor.estimator.estimate("claude-sonnet-4-5", 1000) == estimate
    assert governor.reserve(waiting).grant is not None  # its room is there again at once


def test_a_429_cuts_the_learned_limit_pauses_and_success_grows_it_back() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=100)
    grant = governor.reserve(ask()).grant
    governor.settle(grant, Outcome(status=429, retry_after=3.0, output_tokens=0))
    status = governor.status()[0]
    assert status.learned_factor == pytest.approx(0.7)
    assert status.effective[0] == 70
    assert status.paused_for == pytest.approx(3.0)
    assert status.rate_limited == 1
    paused = governor.reserve(ask())
    assert paused.grant is None
    assert paused.wait == pytest.approx(3.0)
    clock.advance(3.0)
    for _ in range(100):  # a window of traffic at the limit wins back 10 %
        call = ask()
        verdict = governor.reserve(call)
        while verdict.grant is None:
            clock.advance(verdict.wait)
            verdict = governor.reserve(call)
        governor.settle(verdict.grant, Outcome(input_tokens=1, output_tokens=1))
    assert governor.status()[0].learned_factor == pytest.approx(0.8)


def test_one_burst_of_429s_cuts_once() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=100)
    grants = [governor.reserve(ask()).grant for _ in range(5)]
    for grant in grants:
        governor.settle(grant, Outcome(status=429, output_tokens=0))
    assert governor.status()[0].learned_factor == pytest.approx(0.7)
    clock.advance(WINDOW)
    governor.settle(governor.reserve(ask()).grant, Outcome(status=429, output_tokens=0))
    assert governor.status()[0].learned_factor == pytest.approx(0.49)


def test_background_takes_only_its_share_interactive_the_rest() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=10)
    background = [governor.reserve(ask(priority="background")) for _ in range(10)]
    assert sum(v.grant is not None for v in background) == 8
    assert governor.headroom("claude-sonnet-4-6", priority="background") == 0
    assert governor.headroom("claude-sonnet-4-6") == 2
    interactive = [governor.reserve(ask()) for _ in range(3)]
    assert [v.grant is not None for v in interactive] == [True, True, False]


def test_headroom_counts_requests_of_the_given_size() -> None:
    governor = make(FakeClock(), rpm=100, input_tpm=10_000, output_tpm=2_000)
    assert governor.headroom("claude-sonnet-4-6", input_tokens=1000, max_tokens=100) == 10
    assert governor.headroom("claude-sonnet-4-6", input_tokens=10, max_tokens=500) == 4
    assert governor.headroom("unlisted") == 1_000_000


def test_the_estimate_starts_high_and_converges_on_observed_usage() -> None:
    estimator = InputEstimator()
    first = estimator.estimate("claude-haiku-4-5", 4000)
    assert first >= 4000 * 0.3
    for _ in range(100):
        estimator.observe("claude-haiku-4-5-v2", 4000, 1000)  # same family
    assert 1000 <= estimator.estimate("claude-haiku-4-5", 4000) <= 1002
    assert estimator.error("claude-haiku-4-5") < 0.001
    assert estimator.estimate("claude-opus-4-7", 4000) == first  # another family


def test_settling_observed_input_teaches_the_estimator() -> None:
    clock = FakeClock()
    governor = make(clock, input_tpm=100_000)
    for _ in range(40):
        grant = governor.reserve(ask(body=2000)).grant
        governor.settle(grant, Outcome(input_tokens=400, output_tokens=1))
    grant = governor.reserve(ask(body=2000)).grant
    assert isinstance(grant, Grant)
    assert 400 <= grant.costs[1] <= 420


def test_waiting_callers_go_in_order_interactive_first() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=1)
    governor.settle(governor.reserve(ask()).grant, Outcome(input_tokens=1, output_tokens=1))
    early_background = ask(priority="background")
    early, late = ask(), ask()
    for call in (early_background, early, late):
        assert governor.reserve(call).grant is None
    clock.advance(WINDOW + 1)
    # The late interactive call asks first but waits behind the early one; background last.
    assert governor.reserve(late).grant is None
    assert governor.reserve(early_background).grant is None
    assert governor.reserve(early).grant is not None


def test_a_caller_that_stops_asking_leaves_the_line() -> None:
    clock = FakeClock()
    governor = make(clock, rpm=1)
    governor.reserve(ask())
    gone = governor.reserve(ask())  # this caller never asks again
    assert gone.grant is None
    clock.advance(gone.wait + 1.5)
    assert governor.reserve(ask()).grant is not None


def test_bad_configuration_is_refused_with_the_key() -> None:
    with pytest.raises(ValueError, match="background_share"):
        QuotaGovernor(background_share=1.5)
    with pytest.raises(ValueError, match="on_outage"):
        QuotaGovernor(on_outage="maybe")
    with pytest.raises(ValueError, match="rpm"):
        PoolLimits(rpm=-1)
    with pytest.raises(ValueError, match="unknown key 'tpm'"):
        QuotaGovernor({"p": {"tpm": 5}})


# --- the window property ------------------------------------------------------------------------

LIMITS = {"rpm": 7, "input_tpm": 3000, "output_tpm": 1500}

events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=30.0),  # time since the previous event
        st.integers(min_value=1, max_value=1500),  # max_tokens
        st.integers(min_value=1, max_value=4000),  # body bytes
        st.sampled_from(["interactive", "background"]),
        st.floats(min_value=0.0, max_value=1.0),  # share of the output really produced
        st.floats(min_value=0.0, max_value=1.0),  # share of the estimate really sent
        st.booleans(),  # settle at once (else at the next event)
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(events)
def test_admitted_usage_in_any_window_never_exceeds_the_limits(plan: list) -> None:
    clock = FakeClock()
    governor = make(clock, **LIMITS)
    charged: list[tuple[float, list[int]]] = []  # admission time, final charge
    unsettled: list[tuple[Grant, list[int], int, int]] = []
    waiting: AdmissionAsk | None = None
    for gap, max_tokens, body, priority, out_share, in_share, at_once in plan:
        clock.advance(gap)
        for grant, record, inp, out in unsettled:
            governor.settle(grant, Outcome(input_tokens=inp, output_tokens=out))
            record[1], record[2] = inp, out
        unsettled.clear()
        # A refused caller asks again at its next turn, as the client does after its wait.
        call = waiting or ask(max_tokens=max_tokens, body=body, priority=priority)
        verdict: Verdict = governor.reserve(call)
        if verdict.grant is None:
            assert verdict.wait > 0
            waiting = call
            continue
        waiting = None
        max_tokens = call.max_tokens
        grant = verdict.grant
        assert isinstance(grant, Grant)
        record = list(grant.costs)
        charged.append((clock.now, record))
        inp = int(grant.costs[1] * in_share)
        out = int(max_tokens * out_share)
        if at_once:
            governor.settle(grant, Outcome(input_tokens=inp, output_tokens=out))
            record[1], record[2] = inp, out
        else:
            unsettled.append((grant, record, inp, out))
    limits = (LIMITS["rpm"], LIMITS["input_tpm"], LIMITS["output_tpm"])
    for start, _ in charged:
        inside = [c for t, c in charged if start <= t < start + WINDOW]
        for budget in range(3):
            assert sum(c[budget] for c in inside) <= limits[budget]
