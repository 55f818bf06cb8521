"""Call observers: one CallRecord per call from both clients, whatever way the call ends."""

from __future__ import annotations

import logging

import pytest

from claude_foundry import (
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    CallObserver,
    CallRecord,
    OverloadedError,
)
from claude_foundry.emulator import Emulator
from claude_foundry.ledger.testing import CallCapture as Capture

TEST_API_KEY = "test-key"
MODEL = "claude-sonnet-4-6"
HELLO = [{"role": "user", "content": "Hello"}]


def _client(emulator: Emulator, capture: Capture, **options: object) -> AnthropicFoundry:
    return AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[capture], **options
    )


def test_the_capture_helper_satisfies_the_protocol() -> None:
    capture = Capture()
    assert isinstance(capture, CallObserver)
    with pytest.raises(LookupError, match="observers=\\[capture\\]"):
        _ = capture.last
    capture.record_call(CallRecord(started_at=0.0, duration=1.0))
    assert capture.last.duration == 1.0
    capture.clear()
    assert capture.records == []


async def test_the_async_client_records_every_kind_of_call(emulator: Emulator) -> None:
    capture = Capture()
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[capture], tags={"a": "1"}
    ) as client:
        message = await client.messages.create(
            model=MODEL, max_tokens=32, messages=HELLO, tags={"b": "2"}
        )
        async with client.messages.stream(model=MODEL, max_tokens=32, messages=HELLO) as stream:
            final = await stream.get_final_message()
        raw = await client.messages.create(model=MODEL, max_tokens=32, messages=HELLO, stream=True)
        async for _event in raw:
            break
        await raw.close()
        await client.messages.count_tokens(model=MODEL, messages=HELLO)
    created, streamed, cancelled, counted = capture.records
    assert created.tags == {"a": "1", "b": "2"}
    assert created.output_tokens == message.usage.output_tokens
    assert created.request_id == message.request_id
    assert streamed.stream
    assert streamed.outcome == "ok"
    assert streamed.output_tokens == final.usage.output_tokens
    assert streamed.time_to_first_token is not None
    assert 0 < streamed.time_to_first_token <= streamed.duration
    assert cancelled.outcome == "cancelled"
    assert counted.operation == "count_tokens"


def test_a_stream_that_fails_early_is_retried_and_counted(emulator: Emulator) -> None:
    capture = Capture()
    client = _client(emulator, capture)
    emulator.add_fault(kind="status", status=529, count=1, retry_after=0)
    with client.messages.stream(model=MODEL, max_tokens=32, messages=HELLO) as stream:
        stream.get_final_message()
    (record,) = capture.records
    assert (record.attempts, record.retries, record.outcome) == (2, 1, "ok")


def test_an_error_that_exhausts_retries_is_recorded_once(emulator: Emulator) -> None:
    capture = Capture()
    client = _client(emulator, capture, max_retries=1)
    emulator.add_fault(kind="status", status=529, count=2, retry_after=0)
    with pytest.raises(OverloadedError):
        client.messages.create(model=MODEL, max_tokens=32, messages=HELLO)
    (record,) = capture.records
    assert (record.outcome, record.error_type, record.status_code) == (
        "error",
        "OverloadedError",
        529,
    )
    assert record.attempts == 2
    assert record.input_tokens is None


def test_raw_and_streaming_responses_are_recorded(emulator: Emulator) -> None:
    capture = Capture()
    client = _client(emulator, capture)
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=32, messages=HELLO)
    with client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=32, messages=HELLO
    ) as response:
        response.read()
    first, second = capture.records
    assert first.output_tokens == raw.parse().usage.output_tokens
    assert second.status_code == 200
    assert second.outcome == "ok"


def test_a_failing_observer_never_breaks_the_call(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def record_call(self, record: CallRecord) -> None:
            raise RuntimeError("observer bug")

    capture = Capture()
    client = AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[Broken(), capture]
    )
    with caplog.at_level(logging.ERROR, logger="claude_foundry"):
        client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert len(capture.records) == 1  # the next observer still got it
    assert "observer" in caplog.text


def test_copies_share_observers_and_bad_arguments_are_refused(emulator: Emulator) -> None:
    capture = Capture()
    client = _client(emulator, capture, tags={"team": "x"})
    client.with_options(max_retries=0).messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert capture.records[0].tags == {"team": "x"}
    with pytest.raises(TypeError, match="record_call"):
        AnthropicFoundry(api_key="k", base_url=emulator.base_url, observers=[object()])
    with pytest.raises(TypeError, match="ledger must be"):
        AnthropicFoundry(api_key="k", base_url=emulator.base_url, ledger=42)


def test_no_observers_means_no_trace(emulator: Emulator) -> None:
    client = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, ledger=False)
    assert client._observers == ()
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)  # and nothing to record


async def test_a_cancelled_task_is_recorded_as_cancelled(emulator: Emulator) -> None:
    import asyncio

    capture = Capture()
    emulator.add_fault(kind="latency", delay_ms=1500, count=1)
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[capture]
    ) as client:
        task = asyncio.create_task(
            client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    (record,) = capture.records
    assert record.outcome == "cancelled"
    assert record.error_type is None  # the driver closed the flow; nothing failed


def test_content_is_recorded_only_when_asked(emulator: Emulator) -> None:
    capture = Capture()
    plain = _client(emulator, capture)
    plain.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert capture.records[-1].request_body is None
    assert capture.records[-1].reply_text is None

    opted_in = _client(emulator, capture, record_content=True)
    message = opted_in.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    record = capture.records[-1]
    assert record.request_body is not None
    assert '"Hello"' in record.request_body
    assert record.reply_text == message.content[0].text
    with opted_in.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        text = stream.get_final_text()
    assert capture.records[-1].reply_text == text
    assert TEST_API_KEY not in (capture.records[-1].request_body or "")


def test_a_stream_dropped_without_iteration_or_close_is_recorded(emulator: Emulator) -> None:
    import gc

    capture = Capture()
    client = _client(emulator, capture)
    stream = client.messages.create(model=MODEL, max_tokens=8, messages=HELLO, stream=True)
    assert capture.records == []  # still open: nothing recorded yet
    del stream
    gc.collect()
    (record,) = capture.records
    assert record.outcome == "cancelled"
    assert record.stream
    assert record.status_code == 200
    assert record.request_id is not None

    started = client.messages.create(model=MODEL, max_tokens=8, messages=HELLO, stream=True)
    next(iter(started))
    del started
    gc.collect()
    assert len(capture.records) == 2
    assert capture.records[-1].outcome == "cancelled"


async def test_an_async_stream_dropped_without_iteration_or_close_is_recorded(
    emulator: Emulator,
) -> None:
    import gc

    capture = Capture()
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[capture]
    ) as client:
        stream = await client.messages.create(
            model=MODEL, max_tokens=8, messages=HELLO, stream=True
        )
        del stream
        gc.collect()
        (record,) = capture.records
        assert record.outcome == "cancelled"
        assert record.stream


def test_a_trace_passes_every_record_field_in_the_dataclass_order() -> None:
    # CallTrace.record builds the record from positional arguments (the caller pays for every
    # call): a field added or moved in CallRecord must move there too.
    import dataclasses

    from claude_foundry._observe import RECORD_FIELD_ORDER, CallRecord

    assert tuple(field.name for field in dataclasses.fields(CallRecord)) == RECORD_FIELD_ORDER
