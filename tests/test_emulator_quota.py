from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_foundry.emulator.quota import (
    Admission,
    QuotaBook,
    QuotaLimits,
    uncached_input_tokens,
)
from fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def book(clock: FakeClock) -> QuotaBook:
    return QuotaBook(clock=clock)


def admit(book: QuotaBook, limits: QuotaLimits, inp: int = 10, out: int = 10) -> Admission:
    return book.admit("d1", limits, input_tokens=inp, max_tokens=out)


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="'rpm' must be a whole number >= 0"):
        QuotaLimits(rpm=-1)
    with pytest.raises(ValueError, match="input_tpm"):
        QuotaLimits(input_tpm=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window_s"):
        QuotaBook(window_s=0)


def test_unlimited_admits_everything_and_tracks_nothing(book: QuotaBook) -> None:
    for _ in range(1000):
        admission = admit(book, QuotaLimits())
        assert admission.admitted
        book.settle(admission.ticket, output_tokens=5)
    assert book.snapshot("d1")["requests"] == 0


def test_rpm_refuses_with_retry_after(book: QuotaBook, clock: FakeClock) -> None:
    limits = QuotaLimits(rpm=2)
    assert admit(book, limits).admitted
    clock.advance(10)
    assert admit(book, limits).admitted
    clock.advance(5)
    refused = admit(book, limits)
    assert not refused.admitted
    assert refused.limit == "rpm"
    assert refused.retry_after == pytest.approx(45.0)
    assert refused.headers() == {"retry-after": "45", "retry-after-ms": "45000"}
    assert refused.message is not None
    assert "'d1'" in refused.message
    assert "2 requests per minute" in refused.message
    assert refused.ticket is None
    clock.advance(45)
    assert admit(book, limits).admitted


def test_refusal_charges_nothing(book: QuotaBook) -> None:
    limits = QuotaLimits(rpm=1)
    admit(book, limits)
    for _ in range(5):
        assert not admit(book, limits).admitted
    assert book.snapshot("d1")["requests"] == 1


def test_retry_after_header_rounds_up_to_at_least_one_second(
    book: QuotaBook, clock: FakeClock
) -> None:
    limits = QuotaLimits(rpm=1)
    admit(book, limits)
    clock.advance(59.75)
    refused = admit(book, limits)
    assert refused.retry_after == pytest.approx(0.25)
    assert refused.retry_after_seconds == 1
    assert refused.retry_after_ms == 250
    other = book.admit("d2", limits, input_tokens=1, max_tokens=1)
    assert other.admitted
    clock.advance(58.5)
    assert book.admit("d2", limits, input_tokens=1, max_tokens=1).retry_after_seconds == 2


def test_input_tokens_window(book: QuotaBook, clock: FakeClock) -> None:
    limits = QuotaLimits(input_tpm=100)
    assert admit(book, limits, inp=60).admitted
    clock.advance(20)
    assert admit(book, limits, inp=30).admitted
    refused = admit(book, limits, inp=20)
    assert (refused.admitted, refused.limit) == (False, "input_tpm")
    # 20 more fit once the first 60 expire (at +60 s), not when the 30 do.
    assert refused.retry_after == pytest.approx(40.0)
    assert admit(book, limits, inp=10).admitted


def test_wait_is_until_enough_budget_frees(book: QuotaBook, clock: FakeClock) -> None:
    limits = QuotaLimits(input_tpm=100)
    for _ in range(4):
        assert admit(book, limits, inp=25).admitted
        clock.advance(10)
    refused = admit(book, limits, inp=60)
    # 60 needs three 25-token charges gone: the third expires 60 s after t=20.
    assert refused.retry_after == pytest.approx(40.0)


def test_cache_reads_do_not_count() -> None:
    assert uncached_input_tokens(100, cache_creation_input_tokens=50) == 150
    assert uncached_input_tokens(100, cache_read_input_tokens=10_000) == 100


def test_output_reserved_at_admission_and_settled(book: QuotaBook, clock: FakeClock) -> None:
    limits = QuotaLimits(output_tpm=1000)
    first = admit(book, limits, out=800)
    assert first.admitted
    assert book.snapshot("d1") == {
        "requests": 1,
        "input_tokens": 10,
        "output_tokens": 800,
        "pending": 1,
    }
    refused = admit(book, limits, out=300)
    assert (refused.admitted, refused.limit) == (False, "output_tpm")
    book.settle(first.ticket, output_tokens=100)
    assert book.snapshot("d1")["output_tokens"] == 100
    assert book.snapshot("d1")["pending"] == 0
    assert admit(book, limits, out=300).admitted
    book.settle(first.ticket, output_tokens=999)  # a second settle is ignored
    assert book.snapshot("d1")["output_tokens"] == 400


def test_settle_can_correct_the_input_for_cache_reads(book: QuotaBook) -> None:
    limits = QuotaLimits(input_tpm=1000)
    first = admit(book, limits, inp=900)
    assert not admit(book, limits, inp=200).admitted
    book.settle(first.ticket, output_tokens=5, input_tokens=uncached_input_tokens(100, 0, 800))
    assert book.snapshot("d1")["input_tokens"] == 100
    assert admit(book, limits, inp=200).admitted
    with pytest.raises(ValueError, match="input_tokens"):
        book.settle(admit(book, limits).ticket, output_tokens=1, input_tokens=-1)


def test_settle_after_the_charge_expired_is_harmless(book: QuotaBook, clock: FakeClock) -> None:
    limits = QuotaLimits(output_tpm=1000)
    old = admit(book, limits, out=500)
    clock.advance(61)
    new = admit(book, limits, out=500)
    book.settle(old.ticket, output_tokens=10)
    assert book.snapshot("d1") == {
        "requests": 1,
        "input_tokens": 10,
        "output_tokens": 500,
        "pending": 1,
    }
    book.settle(new.ticket, output_tokens=10)
    book.settle(None, output_tokens=3)
    with pytest.raises(TypeError, match="not a quota ticket"):
        book.settle(object(), output_tokens=1)


def test_request_that_can_never_fit_is_refused_clearly(book: QuotaBook) -> None:
    refused = admit(book, QuotaLimits(output_tpm=8000), out=50_000)
    assert not refused.admitted
    assert refused.permanent
    assert refused.limit == "output_tpm"
    assert refused.message is not None
    assert "max_tokens (50000)" in refused.message
    assert "8000 output tokens per minute" in refused.message
    assert refused.headers() == {}
    refused = admit(book, QuotaLimits(input_tpm=100), inp=101)
    assert refused.permanent
    assert refused.message is not None
    assert "101 tokens" in refused.message
    zero = admit(book, QuotaLimits(rpm=0))
    assert zero.permanent
    assert zero.message is not None
    assert "0 requests per minute" in zero.message
    assert book.snapshot("d1")["requests"] == 0


def test_binding_limit_is_the_longest_wait(book: QuotaBook, clock: FakeClock) -> None:
    limits = QuotaLimits(rpm=10, output_tpm=100)
    assert admit(book, limits, out=90).admitted
    clock.advance(30)
    for _ in range(9):
        assert admit(book, limits, out=1).admitted
    refused = admit(book, limits, out=50)
    # rpm frees at +30 s (the first request); output needs the 90 gone too: also +30 s.
    assert refused.retry_after == pytest.approx(30.0)
    clock.advance(30)
    assert admit(book, limits, out=50).admitted


def test_deployments_are_separate_and_reset_clears(book: QuotaBook) -> None:
    limits = QuotaLimits(rpm=1)
    assert book.admit("a", limits, input_tokens=1, max_tokens=1).admitted
    assert book.admit("b", limits, input_tokens=1, max_tokens=1).admitted
    assert not book.admit("a", limits, input_tokens=1, max_tokens=1).admitted
    book.reset()
    assert book.snapshot("a")["requests"] == 0
    assert book.admit("a", limits, input_tokens=1, max_tokens=1).admitted


def test_memory_stays_bounded(clock: FakeClock) -> None:
    book = QuotaBook(clock=clock)
    limits = QuotaLimits(input_tpm=10**12)
    for _ in range(20_000):
        assert book.admit("d1", limits, input_tokens=1, max_tokens=1).admitted
        clock.advance(0.01)
    window = book._windows["d1"]
    assert len(window.slots) <= 601
    for index in range(1000):
        book.admit(f"deployment-{index}", limits, input_tokens=1, max_tokens=1)
        clock.advance(1)
    assert len(book._windows) <= 300


def test_concurrent_admissions_respect_rpm(book: QuotaBook) -> None:
    limits = QuotaLimits(rpm=100)
    admitted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(admit(book, limits).admitted for _ in range(50))
        with lock:
            admitted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 100


requests = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=30, allow_nan=False),  # gap before the request
        st.integers(0, 400),  # input tokens
        st.integers(0, 300),  # max_tokens
        st.floats(min_value=0, max_value=1),  # share of max_tokens really produced
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    rpm=st.integers(1, 8),
    input_tpm=st.integers(1, 1000),
    output_tpm=st.integers(1, 600),
    calls=requests,
)
def test_admitted_usage_in_any_window_never_exceeds_the_limit(
    rpm: int, input_tpm: int, output_tpm: int, calls: list[tuple[float, int, int, float]]
) -> None:
    clock = FakeClock(0.0)
    book = QuotaBook(clock=clock)
    limits = QuotaLimits(rpm=rpm, input_tpm=input_tpm, output_tpm=output_tpm)
    history: list[tuple[float, int, int]] = []
    for gap, inp, max_tokens, share in calls:
        clock.advance(gap)
        admission = book.admit("d", limits, input_tokens=inp, max_tokens=max_tokens)
        if admission.admitted:
            produced = int(max_tokens * share)
            book.settle(admission.ticket, output_tokens=produced)
            history.append((clock.now, inp, produced))
        elif not admission.permanent:
            assert admission.retry_after > 0
    for start, _, _ in history:
        inside = [h for h in history if start <= h[0] < start + 60]
        assert len(inside) <= rpm
        assert sum(h[1] for h in inside) <= input_tpm
        assert sum(h[2] for h in inside) <= output_tpm


@settings(max_examples=100, deadline=None)
@given(
    limit=st.integers(1, 500),
    gaps=st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=30),
    sizes=st.lists(st.integers(1, 200), min_size=1, max_size=30),
)
def test_waiting_the_advertised_time_is_enough(
    limit: int, gaps: list[float], sizes: list[int]
) -> None:
    clock = FakeClock(0.0)
    book = QuotaBook(clock=clock)
    limits = QuotaLimits(input_tpm=limit)
    for gap, size in zip(gaps, sizes, strict=False):
        clock.advance(gap)
        admission = book.admit("d", limits, input_tokens=size, max_tokens=0)
        if admission.admitted or admission.permanent:
            continue
        clock.advance(admission.retry_after)
        assert book.admit("d", limits, input_tokens=size, max_tokens=0).admitted
