"""Streaming end to end: our client against the emulator over loopback HTTP, sync and async."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx2
import pytest

from claude_foundry import (
    AnthropicFoundry,
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncAnthropicFoundry,
    OverloadedError,
)
from claude_foundry.emulator import Emulator
from claude_foundry.types import ToolUseBlock

MODEL = "claude-sonnet-4-6"
HELLO = [{"role": "user", "content": "Hello there, how are you today?"}]
PARAMS: dict[str, Any] = {"model": MODEL, "max_tokens": 200, "messages": HELLO}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
}
# message_start, content_block_start, ping, then text deltas: after 5 events content deltas have
# reached the user, so the client no longer retries but reports (before the first delta it retries:
# tests/test_stream_retry_e2e.py).
PAST_FIRST_DELTA = 5


@pytest.fixture
def client(emulator: Emulator) -> Iterator[AnthropicFoundry]:
    with AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        yield client


@pytest.fixture
async def aclient(emulator: Emulator) -> AsyncIterator[AsyncAnthropicFoundry]:
    async with AsyncAnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url) as c:
        yield c


def test_stream_helper_text_and_final_message(client: AnthropicFoundry) -> None:
    with client.messages.stream(**PARAMS) as stream:
        texts = list(stream.text_stream)
        message = stream.get_final_message()
        assert stream.get_final_text() == "".join(texts) == message.content[0].text  # type: ignore[union-attr]
        assert len(texts) > 1
        assert stream.request_id is not None
        assert stream.request_id.startswith("req_")
        assert stream.apim_request_id is not None
        assert message.request_id == stream.request_id
        assert message.apim_request_id == stream.apim_request_id
        assert message.stop_reason == "end_turn"
        assert message.usage.output_tokens > 1
    assert stream.response.is_closed


def test_stream_helper_event_order(client: AnthropicFoundry) -> None:
    with client.messages.stream(**PARAMS) as stream:
        kinds = [event.type for event in stream]
    assert kinds[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    body = kinds[2:-3]
    assert body == ["content_block_delta", "text"] * (len(body) // 2)


def test_raw_stream_has_no_derived_events(client: AnthropicFoundry) -> None:
    with client.messages.create(**PARAMS, stream=True) as stream:
        kinds = [event.type for event in stream]
        assert stream.request_id is not None
    assert "text" not in kinds
    assert "ping" not in kinds
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert stream.response.is_closed


def test_tool_use_stream(client: AnthropicFoundry) -> None:
    params = dict(PARAMS, tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"})
    with client.messages.stream(**params) as stream:
        snapshots = [event.snapshot for event in stream if event.type == "input_json"]
        message = stream.get_final_message()
        tool = next(block for block in message.content if isinstance(block, ToolUseBlock))
        assert tool.name == "get_weather"
        assert isinstance(tool.input, dict)
        assert set(tool.input) == {"city", "days"}
        assert snapshots
        assert snapshots[-1] == tool.input
        if not any(block.type == "text" for block in message.content):
            with pytest.raises(RuntimeError, match="needs a `text` content block"):
                stream.get_final_text()


def test_thinking_stream_order(client: AnthropicFoundry) -> None:
    params = dict(PARAMS, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024})
    with client.messages.stream(**params) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert message.content[0].type == "thinking"
    assert message.content[0].signature  # type: ignore[union-attr]
    first_stop = kinds.index("content_block_stop")
    assert kinds[first_stop - 2 : first_stop] == ["content_block_delta", "signature"]
    assert "thinking" in kinds[:first_stop]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_same_events_as_the_official_client(emulator: Emulator, client: AnthropicFoundry) -> None:
    official = anthropic.AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
    with official.messages.stream(**PARAMS) as theirs:
        their_events = [event.type for event in theirs]
        their_message = theirs.get_final_message().to_dict()
    with client.messages.stream(**PARAMS) as ours:
        our_events = [event.type for event in ours]
        our_message = ours.get_final_message().to_dict()
    assert our_events == their_events
    for key in ("content", "stop_reason", "model", "role"):
        assert our_message[key] == their_message[key]
    assert our_message["usage"]["output_tokens"] == their_message["usage"]["output_tokens"]
    official.close()


def test_error_event_before_content_is_retried(
    emulator: Emulator, client: AnthropicFoundry
) -> None:
    emulator.add_fault(kind="stream_error", after_events=0)
    with client.messages.stream(**PARAMS) as stream:
        assert "Hello there" in stream.get_final_text()
    assert len(emulator.journal()) == 2


def test_error_event_mid_stream_is_classified(emulator: Emulator, client: AnthropicFoundry) -> None:
    emulator.add_fault(kind="stream_error", after_events=PAST_FIRST_DELTA, event_delay_ms=20)
    with client.messages.stream(**PARAMS) as stream:
        received: list[str] = []
        with pytest.raises(OverloadedError) as info:
            received.extend(stream.text_stream)
        err = info.value
        assert (err.status_code, err.in_stream, err.type) == (529, True, "overloaded_error")
        assert err.request_id == stream.request_id
        assert err.apim_request_id == stream.apim_request_id
        assert received
        assert "".join(received) == stream.current_message_snapshot.content[0].text  # type: ignore[union-attr]
        with pytest.raises(OverloadedError):
            stream.get_final_message()
    assert stream.response.is_closed
    assert len(emulator.journal()) == 1


@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        ("truncate", APIConnectionError, "ended before message_stop"),
        ("disconnect", APIConnectionError, "dropped mid-stream"),
        ("malformed", APIResponseValidationError, "Could not decode"),
    ],
)
def test_broken_streams(
    emulator: Emulator, client: AnthropicFoundry, kind: str, error: type[Exception], match: str
) -> None:
    emulator.add_fault(kind=kind, after_events=PAST_FIRST_DELTA, event_delay_ms=20)
    with client.messages.create(**PARAMS, stream=True) as stream:
        with pytest.raises(error, match=match) as info:
            for _ in stream:
                pass
        assert stream.request_id is not None
        assert stream.request_id in str(info.value)
    assert stream.response.is_closed
    # the client and the emulator are fine afterwards
    assert client.messages.create(**PARAMS).stop_reason == "end_turn"


def test_stall_is_a_timeout(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", event_delay_ms=3000)
    timeout = httpx2.Timeout(5.0, read=0.3)
    client = AnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, timeout=timeout, max_retries=0
    )
    with client, pytest.raises(APITimeoutError), client.messages.stream(**PARAMS) as stream:
        stream.until_done()


def test_leaving_early_closes_and_the_connection_is_reusable(client: AnthropicFoundry) -> None:
    for _ in range(3):
        with client.messages.stream(**PARAMS) as stream:
            for event in stream:
                if event.type == "text":
                    break
        assert stream.response.is_closed
        with pytest.raises(RuntimeError, match="closed before 'message_stop'"):
            stream.get_final_message()
    assert client.messages.create(**PARAMS).stop_reason == "end_turn"


# --- async ----------------------------------------------------------------------------------


async def test_async_stream_helper(aclient: AsyncAnthropicFoundry) -> None:
    async with aclient.messages.stream(**PARAMS) as stream:
        texts = [text async for text in stream.text_stream]
        message = await stream.get_final_message()
        assert await stream.get_final_text() == "".join(texts)
        assert message.request_id == stream.request_id
        assert message.apim_request_id is not None
    assert stream.response.is_closed


async def test_async_raw_stream(aclient: AsyncAnthropicFoundry) -> None:
    stream = await aclient.messages.create(**PARAMS, stream=True)
    async with stream:
        kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert stream.response.is_closed


async def test_async_error_event_mid_stream(
    emulator: Emulator, aclient: AsyncAnthropicFoundry
) -> None:
    emulator.add_fault(kind="stream_error", after_events=PAST_FIRST_DELTA, event_delay_ms=20)
    async with aclient.messages.stream(**PARAMS) as stream:
        with pytest.raises(OverloadedError) as info:
            await stream.until_done()
        assert info.value.in_stream
        assert info.value.apim_request_id == stream.apim_request_id
    assert stream.response.is_closed


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("truncate", APIConnectionError),
        ("disconnect", APIConnectionError),
        ("malformed", APIResponseValidationError),
    ],
)
async def test_async_broken_streams(
    emulator: Emulator, aclient: AsyncAnthropicFoundry, kind: str, error: type[Exception]
) -> None:
    emulator.add_fault(kind=kind, after_events=PAST_FIRST_DELTA, event_delay_ms=20)
    stream = await aclient.messages.create(**PARAMS, stream=True)

    async def drain() -> None:
        async for _ in stream:
            pass

    with pytest.raises(error):
        await drain()
    assert stream.response.is_closed


async def test_async_leaving_early(aclient: AsyncAnthropicFoundry) -> None:
    async with aclient.messages.stream(**PARAMS) as stream:
        async for event in stream:
            if event.type == "text":
                break
    assert stream.response.is_closed
    message = await aclient.messages.create(**PARAMS)
    assert message.stop_reason == "end_turn"
