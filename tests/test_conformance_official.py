"""Conformance: the official ``anthropic`` SDK (AnthropicFoundry) against the emulator.

The emulator is right when the official client cannot tell it from Foundry: every call here goes
over loopback HTTP through the SDK's own request building, response parsing (with strict
validation on), stream accumulation, error mapping and retry logic.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic import AnthropicFoundry, AsyncAnthropicFoundry

from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.emulator.responder import default_reply_text, thinking_signature
from claude_foundry.emulator.tokens import count_input_tokens
from claude_foundry.types import MessageCreateRequest, RequestMessage

DEPLOYMENT = "claude-sonnet-4-6"
HELLO = [{"role": "user", "content": "Hello there"}]
HELLO_REPLY = default_reply_text(
    MessageCreateRequest(
        model=DEPLOYMENT,
        max_tokens=1,
        messages=[RequestMessage(role="user", content="Hello there")],
    )
)
WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"],
    },
}
REQUEST_ID = re.compile(r"req_[0-9A-Za-z]{24}")


@pytest.fixture
def client(emulator: Emulator) -> Iterator[AnthropicFoundry]:
    with AnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        max_retries=2,
        _strict_response_validation=True,
    ) as sdk:
        yield sdk


@pytest.fixture
async def async_client(emulator: Emulator) -> Any:
    async with AsyncAnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        max_retries=2,
        _strict_response_validation=True,
    ) as sdk:
        yield sdk


def _no_retries(client: AnthropicFoundry) -> AnthropicFoundry:
    return client.with_options(max_retries=0)


def _journal(emulator: Emulator, expected: int) -> list[Any]:
    """The journal, which must hold ``expected`` entries the moment the call has returned."""
    entries = emulator.journal()
    assert len(entries) == expected, [(e.status, e.path) for e in entries]
    return entries


# --- messages.create ---------------------------------------------------------------------------


def test_create_returns_the_deterministic_reply(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    message = client.messages.create(model=DEPLOYMENT, max_tokens=256, messages=HELLO)
    assert isinstance(message, anthropic.types.Message)
    assert message.content[0].type == "text"
    assert message.content[0].text == HELLO_REPLY
    assert message.model == DEPLOYMENT
    assert message.stop_reason == "end_turn"
    assert message.id.startswith("msg_")
    assert message.usage.input_tokens == count_input_tokens(
        MessageCreateRequest(
            model=DEPLOYMENT,
            max_tokens=256,
            messages=[RequestMessage(role="user", content="Hello there")],
        )
    )
    assert message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0
    [entry] = _journal(emulator, 1)
    assert message._request_id == entry.request_id
    assert REQUEST_ID.fullmatch(entry.request_id)


def test_both_request_ids_reach_the_caller(client: AnthropicFoundry, emulator: Emulator) -> None:
    raw = client.messages.with_raw_response.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    message = raw.parse()
    [entry] = _journal(emulator, 1)
    assert raw.request_id == message._request_id == entry.request_id
    apim = raw.headers["apim-request-id"]
    assert apim == entry.apim_request_id
    assert uuid.UUID(apim)
    assert entry.retry_count == 0
    assert entry.headers["api-key"] == "[redacted]"


def test_journal_is_complete_when_the_call_returns(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    for count in range(1, 21):
        if count % 2:
            _status_fault(emulator, 529)
            with pytest.raises(anthropic.OverloadedError):
                _no_retries(client).messages.create(model=DEPLOYMENT, max_tokens=8, messages=HELLO)
        else:
            client.messages.create(model=DEPLOYMENT, max_tokens=8, messages=HELLO)
        assert len(emulator.journal()) == count


def test_sdk_headers_are_accepted_and_journalled(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    with client.messages.stream(model=DEPLOYMENT, max_tokens=32, messages=HELLO) as stream:
        stream.until_done()
    client.messages.create(model=DEPLOYMENT, max_tokens=32, messages=HELLO)
    streamed, created = _journal(emulator, 2)
    assert streamed.stream is True
    assert streamed.header("x-stainless-helper-method") == "stream"
    assert created.header("x-stainless-helper-method") is None
    assert created.header("user-agent").startswith("AnthropicFoundry/Python")
    assert created.header("anthropic-version")
    assert created.unknown_fields == []


def test_beta_messages_with_betas(client: AnthropicFoundry, emulator: Emulator) -> None:
    message = client.beta.messages.create(
        model=DEPLOYMENT,
        max_tokens=64,
        messages=HELLO,
        betas=["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == HELLO_REPLY
    [entry] = _journal(emulator, 1)
    assert entry.path == "/anthropic/v1/messages"
    assert entry.header("anthropic-beta") == (
        "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
    )


def test_count_tokens_agrees_with_usage(client: AnthropicFoundry) -> None:
    kwargs: dict[str, Any] = {
        "model": DEPLOYMENT,
        "messages": HELLO,
        "system": "Be brief.",
        "tools": [WEATHER_TOOL],
    }
    counted = client.messages.count_tokens(**kwargs)
    message = client.messages.create(max_tokens=64, **kwargs)
    assert counted.input_tokens == message.usage.input_tokens > 0
    assert counted._request_id is not None


def test_stop_sequences_and_max_tokens(client: AnthropicFoundry) -> None:
    stopped = client.messages.create(
        model=DEPLOYMENT, max_tokens=256, messages=HELLO, stop_sequences=["deterministic"]
    )
    assert stopped.stop_reason == "stop_sequence"
    assert stopped.stop_sequence == "deterministic"
    assert stopped.content[0].type == "text"
    assert stopped.content[0].text == HELLO_REPLY.split("deterministic")[0]

    cut = client.messages.create(model=DEPLOYMENT, max_tokens=4, messages=HELLO)
    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == 4
    assert cut.content[0].type == "text"
    assert cut.content[0].text == HELLO_REPLY[:16]


def test_tool_use_round_trip(client: AnthropicFoundry) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Oslo?"}]
    first = client.messages.create(
        model=DEPLOYMENT,
        max_tokens=512,
        messages=messages,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    assert first.stop_reason == "tool_use"
    [call] = first.content
    assert call.type == "tool_use"
    assert call.name == "get_weather"
    assert call.input == {"city": "example city", "days": 1}
    assert call.id.startswith("toolu_")

    messages += [
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Snow, -3 C"}],
        },
    ]
    second = client.messages.create(
        model=DEPLOYMENT, max_tokens=512, messages=messages, tools=[WEATHER_TOOL]
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text"
    assert second.content[0].text == 'The get_weather tool returned: "Snow, -3 C".'


def test_thinking_comes_first_with_a_signature(client: AnthropicFoundry) -> None:
    message = client.messages.create(
        model=DEPLOYMENT,
        max_tokens=2048,
        messages=HELLO,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    thinking, text = message.content
    assert thinking.type == "thinking"
    assert thinking.signature == thinking_signature(thinking.thinking)
    assert text.type == "text"
    assert text.text == HELLO_REPLY


def test_scripted_reply_through_the_sdk(client: AnthropicFoundry, emulator: Emulator) -> None:
    emulator.add_script({"contains": "hello", "replies": ["First.", "Second."]})
    texts = []
    for question in ("hello?", "hello again", "hello, third time", "hello?"):
        message = client.messages.create(
            model=DEPLOYMENT, max_tokens=64, messages=[{"role": "user", "content": question}]
        )
        assert message.content[0].type == "text"
        texts.append(message.content[0].text)
    # one reply per distinct request, the last repeating; a repeated body gets its reply again
    assert texts == ["First.", "Second.", "Second.", "First."]


def test_scripted_usage_reaches_the_sdk_whole(client: AnthropicFoundry, emulator: Emulator) -> None:
    usage = {
        "output_tokens": 12,
        "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
        "output_tokens_details": {"thinking_tokens": 5},
        "service_tier": "priority",
        "inference_geo": "eastus2",
        "speed": "fast",
    }
    emulator.add_script({"contains": "search", "reply": {"text": "Found it.", "usage": usage}})
    ask = [{"role": "user", "content": "search the web"}]
    message = client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=ask)
    with client.messages.stream(model=DEPLOYMENT, max_tokens=64, messages=ask) as stream:
        streamed = stream.get_final_message()
    for got in (message.usage, streamed.usage):
        assert got.server_tool_use is not None
        assert (
            got.server_tool_use.web_search_requests,
            got.server_tool_use.web_fetch_requests,
        ) == (
            2,
            1,
        )
        assert got.output_tokens == 12
        assert got.service_tier == "priority"
    assert message.usage.speed == "fast"
    assert message.usage.inference_geo == "eastus2"


def test_prompt_caching_split_and_reset(client: AnthropicFoundry, emulator: Emulator) -> None:
    system: Any = [
        {"type": "text", "text": "policy " * 800, "cache_control": {"type": "ephemeral"}}
    ]
    first = client.messages.create(model=DEPLOYMENT, max_tokens=64, system=system, messages=HELLO)
    second = client.messages.create(model=DEPLOYMENT, max_tokens=64, system=system, messages=HELLO)
    written = first.usage.cache_creation_input_tokens
    assert written is not None
    assert written > 1024
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    assert first.usage.input_tokens == second.usage.input_tokens

    emulator.reset()  # a reset emulator has an empty prompt cache
    third = client.messages.create(model=DEPLOYMENT, max_tokens=64, system=system, messages=HELLO)
    assert third.usage.cache_creation_input_tokens == written


# --- streaming ---------------------------------------------------------------------------------


def test_stream_helper_text_and_final_message(client: AnthropicFoundry) -> None:
    with client.messages.stream(model=DEPLOYMENT, max_tokens=256, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
        request_id = stream.request_id
    assert len(pieces) > 1
    assert "".join(pieces) == HELLO_REPLY
    assert final.content[0].type == "text"
    assert final.content[0].text == HELLO_REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 1
    assert final.usage.input_tokens > 0
    assert request_id is not None
    assert REQUEST_ID.fullmatch(request_id)

    created = client.messages.create(model=DEPLOYMENT, max_tokens=256, messages=HELLO)
    streamed = final.model_dump(exclude={"id"})
    assert streamed == created.model_dump(exclude={"id"})


def test_stream_helper_event_order_with_thinking_text_and_tool(
    client: AnthropicFoundry,
) -> None:
    with client.messages.stream(
        model=DEPLOYMENT,
        max_tokens=4096,
        messages=[{"role": "user", "content": "Please use get_weather for Oslo"}],
        tools=[WEATHER_TOOL],
        thinking={"type": "enabled", "budget_tokens": 2048},
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start"
    assert events[-2:] == ["message_delta", "message_stop"]
    collapsed = [kind for i, kind in enumerate(events) if i == 0 or events[i - 1] != kind]
    assert "thinking" in events
    assert "signature" in events
    assert "text" in events
    assert "input_json" in events
    assert collapsed.index("signature") < collapsed.index("text") < collapsed.index("input_json")
    assert [block.type for block in final.content] == ["thinking", "text", "tool_use"]
    tool = final.content[2]
    assert tool.type == "tool_use"
    assert tool.input == {"city": "example city", "days": 1}
    assert final.stop_reason == "tool_use"


def test_raw_stream_events(client: AnthropicFoundry) -> None:
    stream = client.messages.create(model=DEPLOYMENT, max_tokens=256, messages=HELLO, stream=True)
    with stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    start = events[0]
    assert start.type == "message_start"
    assert start.message.content == []
    assert start.message.stop_reason is None
    text = "".join(
        event.delta.text
        for event in events
        if event.type == "content_block_delta" and event.delta.type == "text_delta"
    )
    assert text == HELLO_REPLY
    delta = events[-2]
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens > 1


def test_stream_stop_sequence_and_max_tokens(client: AnthropicFoundry) -> None:
    with client.messages.stream(
        model=DEPLOYMENT, max_tokens=256, messages=HELLO, stop_sequences=["Foundry"]
    ) as stream:
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "Foundry")
    with client.messages.stream(model=DEPLOYMENT, max_tokens=2, messages=HELLO) as stream:
        assert stream.get_final_text() == HELLO_REPLY[:8]
        assert stream.get_final_message().stop_reason == "max_tokens"


# --- errors ------------------------------------------------------------------------------------


def _status_fault(emulator: Emulator, status: int, **fields: Any) -> None:
    emulator.add_fault(kind="status", status=status, count=1, **fields)


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (503, anthropic.ServiceUnavailableError, None),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_injected_status_maps_to_the_sdk_class(
    client: AnthropicFoundry,
    emulator: Emulator,
    status: int,
    error_class: type[anthropic.APIStatusError],
    error_type: str | None,
) -> None:
    _status_fault(emulator, status)
    with pytest.raises(error_class) as caught:
        _no_retries(client).messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    error = caught.value
    assert error.status_code == status
    if error_type is not None:
        assert error.type == error_type
    [entry] = _journal(emulator, 1)
    assert error.request_id == entry.request_id
    assert error.response.headers["apim-request-id"] == entry.apim_request_id


def test_bad_request_from_validation(client: AnthropicFoundry) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=DEPLOYMENT, max_tokens=0, messages=HELLO)
    assert caught.value.type == "invalid_request_error"
    assert "max_tokens" in caught.value.message
    with pytest.raises(anthropic.BadRequestError, match="budget_tokens"):
        client.messages.create(
            model=DEPLOYMENT,
            max_tokens=2048,
            messages=HELLO,
            thinking={"type": "enabled", "budget_tokens": 10},
        )


def test_prompt_over_the_context_window(client: AnthropicFoundry, emulator: Emulator) -> None:
    emulator.configure(deployments={DEPLOYMENT: {"context_window": 1000}})
    long_prompt = [{"role": "user", "content": "x" * 4000}]  # 1,003 tokens
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long: 1003 tokens > 1000"):
        client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=long_prompt)
    assert client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)


def test_wrong_key_is_an_azure_shaped_401(emulator: Emulator) -> None:
    with (
        AnthropicFoundry(api_key="wrong-key", base_url=emulator.base_url) as sdk,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        sdk.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    error = caught.value
    assert error.status_code == 401
    assert error.type is None
    assert "Access denied due to invalid subscription key" in str(error.body)
    assert "wrong-key" not in str(error.body)
    assert error.response.headers["apim-request-id"]
    assert len(_journal(emulator, 1)) == 1  # 401 is not retried


def test_unknown_deployment_is_deployment_not_found(client: AnthropicFoundry) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="no-such-deployment", max_tokens=64, messages=HELLO)
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"]["code"] == "DeploymentNotFound"


def test_missing_anthropic_segment_is_api_not_supported(emulator: Emulator) -> None:
    with (
        AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.url + "/") as sdk,
        pytest.raises(anthropic.NotFoundError) as caught,
    ):
        sdk.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"]["code"] == "api_not_supported"


def test_oversized_body_is_413(client: AnthropicFoundry, emulator: Emulator) -> None:
    emulator.configure(max_body_bytes=2048)
    with pytest.raises(anthropic.ContentTooLargeError) as caught:
        client.messages.create(
            model=DEPLOYMENT, max_tokens=64, messages=[{"role": "user", "content": "x" * 5000}]
        )
    assert caught.value.status_code == 413


def test_quota_429_carries_retry_after(client: AnthropicFoundry, emulator: Emulator) -> None:
    emulator.configure(quotas={DEPLOYMENT: {"rpm": 1}})
    _no_retries(client).messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError) as caught:
        _no_retries(client).messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert float(caught.value.response.headers["retry-after"]) > 0
    assert "anthropic-ratelimit-requests-limit" not in caught.value.response.headers


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "wait"),
    [
        (429, {"retry_after": 0.001}),
        (529, {"retry_after": 0.001}),
        (429, {"retry_after_ms": 1}),
        (529, {"retry_after_ms": 1}),
        (503, {"retry_after_ms": 1}),
        (500, {"retry_after_ms": 1}),
    ],
)
def test_sdk_retries_after_retryable_faults(
    client: AnthropicFoundry, emulator: Emulator, status: int, wait: dict[str, float]
) -> None:
    emulator.add_fault(kind="status", status=status, count=2, **wait)
    message = client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text"
    entries = _journal(emulator, 3)
    assert [entry.status for entry in entries] == [status, status, 200]
    assert [entry.retry_count for entry in entries] == [0, 1, 2]
    assert message._request_id == entries[-1].request_id
    assert emulator.faults()[0]["hits"] == 2


def test_retries_exhausted_raise_the_last_error(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    emulator.add_fault(kind="status", status=529, count=None, retry_after=0.001)
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert len(_journal(emulator, 3)) == 3  # the first try and max_retries=2


def test_should_retry_false_stops_retries(client: AnthropicFoundry, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=529, count=1, should_retry=False)
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert len(_journal(emulator, 1)) == 1


def test_retried_request_gets_the_same_scripted_reply(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    emulator.add_script({"replies": ["one", "two"]})
    emulator.add_fault(kind="disconnect", count=1, stream=False)
    first = client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    second = client.messages.create(
        model=DEPLOYMENT, max_tokens=64, messages=[{"role": "user", "content": "again"}]
    )
    assert [first.content[0].type, second.content[0].type] == ["text", "text"]
    assert first.content[0].text == "one"  # the retry after the dropped connection
    assert second.content[0].text == "two"
    assert [entry.retry_count for entry in _journal(emulator, 3)] == [0, 1, 0]


def test_stream_retries_before_the_first_byte(client: AnthropicFoundry, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=529, count=1, retry_after_ms=1)
    with client.messages.stream(model=DEPLOYMENT, max_tokens=64, messages=HELLO) as stream:
        assert stream.get_final_text() == HELLO_REPLY
    assert [entry.status for entry in _journal(emulator, 2)] == [529, 200]


def test_mid_stream_error_event(client: AnthropicFoundry, emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error", after_events=3, count=1)
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model=DEPLOYMENT, max_tokens=256, messages=HELLO) as stream,
    ):
        for _ in stream.text_stream:
            pass
    error = caught.value
    assert error.status_code == 200
    assert error.type == "overloaded_error"
    [entry] = _journal(emulator, 1)  # an error after the 200 is not retried
    assert error.request_id == entry.request_id
    assert entry.stream is True


def test_truncated_stream_ends_without_a_stop_reason(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    emulator.add_fault(kind="truncate", after_events=4, count=1)
    with client.messages.stream(model=DEPLOYMENT, max_tokens=256, messages=HELLO) as stream:
        final = stream.get_final_message()
    # the official client does not notice: no message_delta, so no stop reason
    assert final.stop_reason is None
    assert final.content[0].type == "text"
    assert HELLO_REPLY.startswith(final.content[0].text)
    assert final.content[0].text != HELLO_REPLY


def test_dropped_stream_raises_and_dropped_reply_is_retried(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    emulator.add_fault(kind="disconnect", after_events=3, count=1, stream=True)
    with (
        pytest.raises(Exception, match="peer closed connection") as caught,
        client.messages.stream(model=DEPLOYMENT, max_tokens=256, messages=HELLO) as stream,
    ):
        stream.until_done()
    assert not isinstance(caught.value, anthropic.APIStatusError)
    assert len(_journal(emulator, 1)) == 1  # a stream that has started is never retried

    emulator.reset()
    emulator.add_fault(kind="disconnect", count=1, stream=False)
    message = client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text"
    assert [entry.retry_count for entry in _journal(emulator, 2)] == [0, 1]


@pytest.mark.parametrize("stream", [True, False])
def test_malformed_json_reaches_the_caller(
    client: AnthropicFoundry, emulator: Emulator, stream: bool
) -> None:
    emulator.add_fault(kind="malformed", after_events=3 if stream else 0, count=1, stream=stream)

    def call() -> None:
        if stream:
            with client.messages.stream(model=DEPLOYMENT, max_tokens=256, messages=HELLO) as events:
                events.until_done()
        else:
            client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)

    with pytest.raises(ValueError, match="Unterminated string"):  # json.JSONDecodeError
        call()
    assert len(_journal(emulator, 1)) == 1


# --- the async client --------------------------------------------------------------------------


async def test_async_create_stream_and_count(async_client: Any, emulator: Emulator) -> None:
    message = await async_client.messages.create(model=DEPLOYMENT, max_tokens=256, messages=HELLO)
    assert message.content[0].text == HELLO_REPLY
    async with async_client.messages.stream(
        model=DEPLOYMENT, max_tokens=256, messages=HELLO
    ) as stream:
        pieces = [piece async for piece in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == HELLO_REPLY
    assert final.usage.output_tokens == message.usage.output_tokens
    counted = await async_client.messages.count_tokens(model=DEPLOYMENT, messages=HELLO)
    assert counted.input_tokens == message.usage.input_tokens
    agents = {entry.headers.get("user-agent", "") for entry in _journal(emulator, 3)}
    assert all(agent.startswith("AsyncAnthropicFoundry/Python") for agent in agents)


async def test_async_retry_and_errors(async_client: Any, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=529, count=1, retry_after_ms=1)
    message = await async_client.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert message.content[0].text == HELLO_REPLY
    assert [entry.retry_count for entry in _journal(emulator, 2)] == [0, 1]
    with pytest.raises(anthropic.NotFoundError):
        await async_client.messages.create(model="missing", max_tokens=64, messages=HELLO)


async def test_async_mid_stream_error(async_client: Any, emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error", after_events=2, count=1, error_type="api_error")
    stream = await async_client.messages.create(
        model=DEPLOYMENT, max_tokens=256, messages=HELLO, stream=True
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        async for _ in stream:
            pass
    assert caught.value.type == "api_error"


# --- Microsoft Entra ID bearer tokens -------------------------------------------------------------


@pytest.fixture(scope="module")
def entra_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig.from_mapping(
        {
            "entra": {
                "enabled": True,
                "principals": [
                    {"name": "app", "roles": ["Cognitive Services User"]},
                    {"name": "reader", "roles": ["Reader"]},
                ],
            }
        }
    )
    with Emulator(config) as emulator:
        yield emulator


def _token_provider(emulator: Emulator, principal: str, **options: Any) -> Any:
    directory = emulator.state.entra
    assert directory is not None

    def provider() -> str:
        return directory.issue_token(principal=principal, **options).access_token

    return provider


def test_entra_token_with_a_data_plane_role(entra_emulator: Emulator) -> None:
    entra_emulator.reset()
    provider = _token_provider(entra_emulator, "app", scope="https://ai.azure.com/.default")
    with AnthropicFoundry(
        base_url=entra_emulator.base_url, azure_ad_token_provider=provider
    ) as sdk:
        message = sdk.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text"
    [entry] = _journal(entra_emulator, 1)
    assert entry.header("authorization") == "[redacted]"


def test_entra_token_without_a_role_is_403(entra_emulator: Emulator) -> None:
    entra_emulator.reset()
    provider = _token_provider(entra_emulator, "reader")
    with (
        AnthropicFoundry(base_url=entra_emulator.base_url, azure_ad_token_provider=provider) as sdk,
        pytest.raises(anthropic.PermissionDeniedError) as caught,
    ):
        sdk.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
    assert caught.value.status_code == 403
    assert caught.value.response.headers["apim-request-id"]


def test_expired_entra_token_is_401(entra_emulator: Emulator) -> None:
    entra_emulator.reset()
    provider = _token_provider(entra_emulator, "app", lifetime_s=-600)
    with (
        AnthropicFoundry(
            base_url=entra_emulator.base_url, azure_ad_token_provider=provider, max_retries=0
        ) as sdk,
        pytest.raises(anthropic.AuthenticationError),
    ):
        sdk.messages.create(model=DEPLOYMENT, max_tokens=64, messages=HELLO)
