"""The batch progress display: plain lines when piped, a live bar on a terminal, none when off."""

from __future__ import annotations

import io

import pytest

from claude_foundry.batches import BatchProgress
from claude_foundry.cli._batch_progress import describe, make_progress


def progress(finished: int, *, resumed_from: int = 0, elapsed: float = 60.0) -> BatchProgress:
    return BatchProgress(
        batch_id="msgbatch_x",
        processing_status="in_progress",
        total=100,
        succeeded=finished - 1,
        errored=1,
        canceled=0,
        expired=0,
        in_flight=4,
        resumed_from=resumed_from,
        done_this_run=finished - resumed_from,
        input_tokens=6000,
        output_tokens=3000,
        elapsed=elapsed,
        admission="quota 97% rpm",
    )


def test_plain_line_says_done_rates_quota_and_eta() -> None:
    text = describe(progress(40, resumed_from=10))
    assert text.startswith("40/100 done (39 succeeded, 1 errored, 0 canceled, 0 expired)")
    assert "4 in flight" in text
    assert "30 req/min" in text  # this run's 30 over one minute, not the resumed 10
    assert "9,000 tok/min" in text
    assert "quota 97% rpm" in text
    assert "ETA 2:00" in text


def test_auto_on_a_pipe_prints_rate_limited_lines_and_the_last_state() -> None:
    stream = io.StringIO()
    with make_progress("auto", stream, interval=3600) as sink:
        sink.update(progress(10))
        sink.update(progress(20))  # within the interval: not printed now
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("10/100 done")
    assert lines[1].startswith("20/100 done")


def test_plain_lines_do_not_repeat_the_last_state_already_printed() -> None:
    stream = io.StringIO()
    with make_progress("auto", stream, interval=3600) as sink:
        sink.update(progress(10))
        sink.update(progress(10, elapsed=61.0))  # the same counts, other rates
    assert len(stream.getvalue().splitlines()) == 1


def test_on_draws_a_bar_that_starts_at_the_resumed_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    stream = io.StringIO()
    with make_progress("on", stream) as sink:
        sink.update(progress(55, resumed_from=50))
    output = stream.getvalue()
    assert "55/100" in output
    assert "quota 97% rpm" in output


def test_off_prints_nothing() -> None:
    stream = io.StringIO()
    with make_progress("off", stream) as sink:
        sink.update(progress(10))
    assert stream.getvalue() == ""
