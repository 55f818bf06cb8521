"""The responder (pure unit): deterministic replies, limits, tools, thinking, scripts, caching,
and the stream event sequence, checked against our decoder and the official SDK's accumulator."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_foundry.emulator.responder import (
    InvalidRequestError,
    Responder,
    default_reply_text,
    example_input,
    output_tokens_of,
    stream_events,
    thinking_signature,
)
from claude_foundry.emulator.scripts import ScriptBook
from claude_foundry.emulator.tokens import count_input_tokens, estimate_tokens
from claude_foundry.types import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    InputJSONDelta,
    Message,
    MessageCreateRequest,
    RedactedThinkingBlock,
    RequestMessage,
    ServerToolUseBlock,
    StreamEvent,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
    WebSearchToolResultBlock,
    decode_stream_event,
    encode,
)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "days", "units"],
    },
}
TIME_TOOL = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}


def _request(text: Any = "Hello", **fields: Any) -> MessageCreateRequest:
    fields.setdefault("max_tokens", 4000)
    messages = fields.pop("messages", None) or [RequestMessage(role="user", content=text)]
    return MessageCreateRequest(model="claude-test", messages=messages, **fields)


def _reply(request: MessageCreateRequest, responder: Responder | None = None) -> Message:
    return (responder or Responder()).reply(request, model="claude-model", message_id="msg_01X")


def _only_text(message: Message) -> str:
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, TextBlock)
    return block.text


# --- default replies -------------------------------------------------------------------------


def test_default_reply_quotes_the_last_user_message() -> None:
    message = _reply(_request("What is 2 + 2?"))
    expected = (
        'You said: "What is 2 + 2?". This is a deterministic reply from the Foundry emulator.'
    )
    assert _only_text(message) == expected
    assert (message.id, message.model, message.role, message.type) == (
        "msg_01X",
        "claude-model",
        "assistant",
        "message",
    )
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None


def test_default_reply_is_stable_across_responders() -> None:
    request = _request("same", tools=[WEATHER_TOOL], tool_choice={"type": "any"})
    assert encode(_reply(request)) == encode(_reply(request))


def test_snippet_rules() -> None:
    long_text = "word " * 100
    assert '"' + ("word " * 40).rstrip() + '..."' in default_reply_text(_request(long_text))
    assert 'You said: "a b c"' in default_reply_text(_request("  a\n\n b\tc "))
    blocks = [{"type": "text", "text": "Look:"}, {"type": "image", "source": {}}]
    assert 'You said: "Look: [image]"' in default_reply_text(_request(blocks))
    assert 'You said: "(no text)"' in default_reply_text(_request(""))


def test_reply_uses_the_last_user_turn() -> None:
    messages = [
        RequestMessage(role="user", content="first"),
        RequestMessage(role="assistant", content="ok"),
        RequestMessage(role="user", content="second"),
    ]
    assert '"second"' in _only_text(_reply(_request(messages=messages)))


def test_usage_counts_input_and_generated_output() -> None:
    request = _request("Count me", system="Be terse.")
    message = _reply(request)
    assert message.usage.input_tokens == count_input_tokens(request)
    assert message.usage.output_tokens == estimate_tokens(_only_text(message))
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.cache_read_input_tokens == 0


# --- max_tokens and stop_sequences -----------------------------------------------------------


def test_max_tokens_cuts_the_text() -> None:
    message = _reply(_request("Hello", max_tokens=3))
    assert _only_text(message) == 'You said: "H'  # 3 tokens = 12 characters
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 3


def test_stop_sequence_cuts_before_the_first_sequence() -> None:
    message = _reply(_request("Hello", stop_sequences=["emulator", "deterministic"]))
    assert _only_text(message) == 'You said: "Hello". This is a '
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "deterministic"
    assert message.usage.output_tokens == estimate_tokens('You said: "Hello". This is a ')


def test_stop_sequence_beyond_the_budget_loses_to_max_tokens() -> None:
    message = _reply(_request("Hello", max_tokens=5, stop_sequences=["emulator"]))
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None


def test_stop_sequence_at_the_start_leaves_no_text() -> None:
    message = _reply(_request("Hello", stop_sequences=["You"]))
    assert message.content == []
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "You")


# --- tools -----------------------------------------------------------------------------------


def test_forced_tool_returns_tool_use_from_the_schema() -> None:
    request = _request(
        "weather please",
        tools=[TIME_TOOL, WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    message = _reply(request)
    [block] = message.content
    assert isinstance(block, ToolUseBlock)
    assert block.name == "get_weather"
    assert block.input == {"city": "example city", "days": 1, "units": "celsius"}
    assert re.fullmatch(r"toolu_01[0-9A-Za-z]{22}", block.id)
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == output_tokens_of(message.content)


def test_any_prefers_the_mentioned_tool_else_the_first() -> None:
    tools = [TIME_TOOL, WEATHER_TOOL]
    mentioned = _reply(_request("use get_weather", tools=tools, tool_choice={"type": "any"}))
    first = _reply(_request("anything", tools=tools, tool_choice={"type": "any"}))
    assert isinstance(mentioned.content[0], ToolUseBlock)
    assert mentioned.content[0].name == "get_weather"
    assert isinstance(first.content[0], ToolUseBlock)
    assert first.content[0].name == "get_time"
    assert first.content[0].input == {}


def test_auto_uses_a_tool_named_in_the_message() -> None:
    message = _reply(_request("Please call GET_WEATHER for Paris", tools=[WEATHER_TOOL]))
    text, tool = message.content
    assert isinstance(text, TextBlock)
    assert text.text == "I will call the get_weather tool."
    assert isinstance(tool, ToolUseBlock)
    assert message.stop_reason == "tool_use"


def test_auto_without_a_match_and_none_reply_with_text() -> None:
    assert _only_text(_reply(_request("What's up?", tools=[WEATHER_TOOL])))
    none = _request("call get_weather", tools=[WEATHER_TOOL], tool_choice={"type": "none"})
    assert _only_text(_reply(none)).startswith("You said:")


def test_auto_calls_the_tool_that_best_matches_the_prompt() -> None:
    time_tool = {**TIME_TOOL, "description": "The local time in a city."}
    weather = _reply(_request("What is the weather in SF?", tools=[time_tool, WEATHER_TOOL]))
    text, tool = weather.content
    assert isinstance(text, TextBlock)
    assert text.text == "I will call the get_weather tool."
    assert isinstance(tool, ToolUseBlock)
    assert tool.name == "get_weather"
    assert tool.input == {"city": "example city", "days": 1, "units": "celsius"}
    assert weather.stop_reason == "tool_use"
    clock = _reply(_request("Which TIME is it in Oslo?", tools=[WEATHER_TOOL, time_tool]))
    assert isinstance(clock.content[1], ToolUseBlock)
    assert clock.content[1].name == "get_time"
    # Plural and camelCase forms match; common words ("get", "the") never do.
    plural = _reply(_request("weathers", tools=[{**WEATHER_TOOL, "name": "lookupWeather"}]))
    assert isinstance(plural.content[1], ToolUseBlock)
    assert _only_text(_reply(_request("get the thing", tools=[time_tool, WEATHER_TOOL])))


def test_the_loop_calls_each_matching_tool_once_then_reports_every_result() -> None:
    time_tool = {**TIME_TOOL, "description": "The local time in a city."}
    tools = [WEATHER_TOOL, time_tool]
    history = [
        RequestMessage(role="user", content="Weather and local time in Oslo, please"),
        RequestMessage(
            role="assistant",
            content=[{"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {}}],
        ),
        RequestMessage(
            role="user",
            content=[{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "Rain"}],
        ),
    ]
    first = _reply(_request(messages=history[:1], tools=tools))
    assert isinstance(first.content[1], ToolUseBlock)
    assert first.content[1].name == "get_time"  # two name words match: "local" and "time"
    second = _reply(_request(messages=history, tools=tools))
    assert isinstance(second.content[1], ToolUseBlock)
    assert second.content[1].name == "get_time"
    history += [
        RequestMessage(
            role="assistant",
            content=[{"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}}],
        ),
        RequestMessage(
            role="user",
            content=[{"type": "tool_result", "tool_use_id": "toolu_01B", "content": "Noon"}],
        ),
    ]
    last = _reply(_request(messages=history, tools=tools))
    assert _only_text(last) == (
        'The get_weather tool returned: "Rain". The get_time tool returned: "Noon".'
    )
    assert last.stop_reason == "end_turn"
    # A new prompt starts a new loop: the weather tool may be called again.
    history += [
        RequestMessage(role="assistant", content=last.content[0].text),  # type: ignore[union-attr]
        RequestMessage(role="user", content="And the weather tomorrow?"),
    ]
    again = _reply(_request(messages=history, tools=tools))
    assert isinstance(again.content[1], ToolUseBlock)
    assert again.content[1].name == "get_weather"


def _round_trip(result: dict[str, Any], **fields: Any) -> MessageCreateRequest:
    return _request(
        messages=[
            RequestMessage(role="user", content="Use get_weather"),
            RequestMessage(
                role="assistant",
                content=[
                    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {}}
                ],
            ),
            RequestMessage(role="user", content=[{"type": "tool_result", **result}]),
        ],
        tools=[WEATHER_TOOL],
        **fields,
    )


def test_tool_result_gets_an_acknowledgement() -> None:
    ok = _reply(_round_trip({"tool_use_id": "toolu_01A", "content": "Sunny, 21 C"}))
    assert _only_text(ok) == 'The get_weather tool returned: "Sunny, 21 C".'
    assert ok.stop_reason == "end_turn"
    failed = _round_trip(
        {
            "tool_use_id": "toolu_01A",
            "is_error": True,
            "content": [{"type": "text", "text": "city unknown"}],
        }
    )
    assert _only_text(_reply(failed)) == 'The get_weather tool reported an error: "city unknown".'


def test_parallel_tool_results_are_each_acknowledged() -> None:
    request = _request(
        messages=[
            RequestMessage(role="user", content="Weather and time?"),
            RequestMessage(
                role="assistant",
                content=[
                    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {}},
                    {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
                ],
            ),
            RequestMessage(
                role="user",
                content=[
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "Rain"},
                    {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "Noon"},
                ],
            ),
        ],
        tools=[WEATHER_TOOL, TIME_TOOL],
    )
    assert _only_text(_reply(request)) == (
        'The get_weather tool returned: "Rain". The get_time tool returned: "Noon".'
    )


def test_forced_tool_after_a_result_calls_again() -> None:
    request = _round_trip({"tool_use_id": "toolu_01A", "content": "x"}, tool_choice={"type": "any"})
    assert isinstance(_reply(request).content[0], ToolUseBlock)


def test_tiny_max_tokens_leaves_the_call_without_arguments() -> None:
    request = _request(
        "x", max_tokens=3, tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"}
    )
    message = _reply(request)
    [block] = message.content
    assert isinstance(block, ToolUseBlock)
    assert block.input == {}
    assert message.stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"tool_choice": {"type": "tool", "name": "nope"}, "tools": [WEATHER_TOOL]}, "'nope'"),
        ({"tool_choice": {"type": "any"}}, "at least one tool"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "at least 1024"),
        ({"thinking": {"type": "enabled", "budget_tokens": 5000}}, "greater than"),
        ({"thinking": {"type": "enabled"}}, "integer is required"),
        ({"thinking": {"type": "maybe"}}, "thinking.type"),
        (
            {
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "any"},
            },
            "forces tool use",
        ),
    ],
)
def test_requests_the_api_refuses(fields: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidRequestError, match=re.escape(complaint)) as caught:
        _reply(_request(**fields))
    assert caught.value.status == 400
    assert caught.value.error_type == "invalid_request_error"


# --- thinking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "thinking", [{"type": "enabled", "budget_tokens": 1024}, {"type": "adaptive"}]
)
def test_thinking_block_comes_first_with_a_signature(thinking: dict[str, Any]) -> None:
    message = _reply(_request("Think", thinking=thinking))
    first, second = message.content
    assert isinstance(first, ThinkingBlock)
    assert first.thinking == 'The user wrote: "Think". I will acknowledge it and quote it back.'
    assert first.signature == thinking_signature(first.thinking)
    assert len(first.signature) > 100
    assert isinstance(second, TextBlock)
    assert message.usage.output_tokens == estimate_tokens(first.thinking) + estimate_tokens(
        second.text
    )


def test_thinking_disabled_means_no_block() -> None:
    assert _only_text(_reply(_request("x", thinking={"type": "disabled"})))


# --- scripted replies ------------------------------------------------------------------------


def test_scripted_reply_wins_and_is_fitted_to_the_limits() -> None:
    book = ScriptBook([{"contains": "story", "reply": {"text": "Once upon a time. The end."}}])
    responder = Responder(book)
    assert _only_text(_reply(_request("tell a story"), responder)) == "Once upon a time. The end."
    cut = _reply(_request("another story", stop_sequences=[" The"]), responder)
    assert (_only_text(cut), cut.stop_reason) == ("Once upon a time.", "stop_sequence")
    assert _only_text(_reply(_request("no match"), responder)).startswith("You said:")


def test_scripted_content_thinking_and_explicit_stop_reason() -> None:
    book = ScriptBook(
        [
            {
                "reply": {
                    "thinking": "hmm",
                    "content": [
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "name": "get_weather", "input": {"city": "Oslo"}},
                        {"type": "fancy_new_block", "data": 1},
                    ],
                    "stop_reason": "pause_turn",
                    "usage": {"output_tokens": 99, "cache_read_input_tokens": 5},
                }
            }
        ]
    )
    message = _reply(_request("x", max_tokens=1), Responder(book))
    thinking, text, tool, unknown = message.content
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.signature == thinking_signature("hmm")
    assert isinstance(text, TextBlock)
    assert text.text == "Checking."  # an explicit stop_reason returns the reply as written
    assert isinstance(tool, ToolUseBlock)
    assert tool.id.startswith("toolu_01")
    assert tool.input == {"city": "Oslo"}
    assert isinstance(unknown, UnknownBlock)
    assert unknown.type == "fancy_new_block"
    assert message.stop_reason == "pause_turn"
    assert (message.usage.output_tokens, message.usage.cache_read_input_tokens) == (99, 5)


def test_scripts_set_every_usage_field() -> None:
    usage = {
        "input_tokens": 11,
        "output_tokens": 22,
        "cache_creation_input_tokens": 3,
        "cache_read_input_tokens": 4,
        "cache_creation": {"ephemeral_5m_input_tokens": 1, "ephemeral_1h_input_tokens": 2},
        "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
        "output_tokens_details": {"thinking_tokens": 7},
        "service_tier": "priority",
        "inference_geo": "eastus2",
        "speed": "fast",
    }
    book = ScriptBook([{"reply": {"text": "Searched.", "usage": usage}}])
    message = _reply(_request("x"), Responder(book))
    assert msgspec.to_builtins(message.usage) == usage
    events = list(stream_events(message))
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.usage.server_tool_use is not None
    assert delta.usage.server_tool_use.web_search_requests == 2
    assert delta.usage.output_tokens_details is not None


def test_scripted_tool_use_without_stop_reason_stops_for_tool_use() -> None:
    book = ScriptBook([{"reply": {"content": [{"type": "tool_use", "name": "get_time"}]}}])
    message = _reply(_request("x"), Responder(book))
    assert message.stop_reason == "tool_use"


def test_retried_request_gets_the_same_scripted_reply() -> None:
    responder = Responder(ScriptBook([{"replies": ["one", "two"]}]))
    request = _request("same body")
    assert _only_text(_reply(request, responder)) == "one"
    assert _only_text(_reply(request, responder)) == "one"
    assert _only_text(_reply(_request("other body"), responder)) == "two"


def test_reset_forgets_scripts() -> None:
    responder = Responder(ScriptBook([{"reply": "scripted"}]))
    responder.reset()
    assert _only_text(_reply(_request("x"), responder)).startswith("You said:")


# --- prompt caching --------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cached_request(question: str, ttl: str | None = None) -> MessageCreateRequest:
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    system = [{"type": "text", "text": "rules " * 1000, "cache_control": control}]
    return _request(question, system=system)


def test_cache_write_then_read_then_expiry() -> None:
    clock = _Clock()
    responder = Responder(clock=clock)
    first = _reply(_cached_request("one?"), responder)
    prefix = estimate_tokens("rules " * 1000)
    total = count_input_tokens(_cached_request("one?"))
    assert first.usage.cache_creation_input_tokens == prefix
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == prefix
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.input_tokens == total - prefix

    clock.now += 299
    second = _reply(_cached_request("two?"), responder)
    assert second.usage.cache_read_input_tokens == prefix
    assert second.usage.cache_creation_input_tokens == 0

    clock.now += 299  # the read refreshed the entry
    assert _reply(_cached_request("three?"), responder).usage.cache_read_input_tokens == prefix
    clock.now += 301
    assert _reply(_cached_request("four?"), responder).usage.cache_read_input_tokens == 0


def test_one_hour_ttl_and_short_prefixes() -> None:
    clock = _Clock()
    responder = Responder(clock=clock)
    first = _reply(_cached_request("a", ttl="1h"), responder)
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_1h_input_tokens > 0
    clock.now += 3000
    assert _reply(_cached_request("b", ttl="1h"), responder).usage.cache_read_input_tokens > 0

    short = [{"type": "text", "text": "tiny", "cache_control": {"type": "ephemeral"}}]
    usage = _reply(_request("x", system=short), responder).usage
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)


def test_mixed_ttls_split_the_write_as_the_service_bills_it() -> None:
    # A 1-hour breakpoint on the system prompt, a 5-minute one on the question: the prefix up to
    # the last 1-hour breakpoint is a 1-hour write, the rest up to the last breakpoint a 5-minute
    # write; after a read, only what lies past the read prefix is written.
    responder = Responder(clock=_Clock())
    rules = "rules " * 1000
    background = "background " * 1500
    system = [{"type": "text", "text": rules, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": background, "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "and?"},
            ],
        }
    ]
    body = {"model": "claude-test", "max_tokens": 4000, "system": system, "messages": messages}
    request = msgspec.convert(body, MessageCreateRequest)
    first = _reply(request, responder).usage
    assert first.cache_creation is not None
    one_hour = first.cache_creation.ephemeral_1h_input_tokens
    five_minutes = first.cache_creation.ephemeral_5m_input_tokens
    assert one_hour >= estimate_tokens(rules)
    assert five_minutes >= estimate_tokens(background)
    assert first.cache_creation_input_tokens == one_hour + five_minutes
    assert first.cache_read_input_tokens == 0
    assert first.input_tokens + first.cache_creation_input_tokens == count_input_tokens(request)

    second = _reply(request, responder).usage
    assert second.cache_read_input_tokens == one_hour + five_minutes
    assert second.cache_creation_input_tokens == 0

    # A new 5-minute tail after the cached 1-hour prefix: read the 1-hour part, write the rest.
    tail = {"type": "text", "text": "other " * 2000, "cache_control": {"type": "ephemeral"}}
    changed_messages = [{"role": "user", "content": [tail, {"type": "text", "text": "and?"}]}]
    changed = msgspec.convert({**body, "messages": changed_messages}, MessageCreateRequest)
    third = _reply(changed, responder).usage
    assert third.cache_creation is not None
    assert third.cache_read_input_tokens == one_hour
    assert third.cache_creation.ephemeral_1h_input_tokens == 0
    assert third.cache_creation.ephemeral_5m_input_tokens == third.cache_creation_input_tokens > 0


# --- streaming -------------------------------------------------------------------------------


def _rich_message() -> Message:
    return Message(
        id="msg_01S",
        model="claude-model",
        content=[
            ThinkingBlock(thinking="Let me think about this carefully.", signature="c2ln"),
            TextBlock(text="Here is the answer you asked for."),
            ToolUseBlock(id="toolu_01T", name="get_weather", input={"city": "Paris", "days": 3}),
            ToolUseBlock(id="toolu_01U", name="get_time", input={}),
        ],
        stop_reason="tool_use",
        usage=_reply(_request("x")).usage,
    )


def test_stream_event_sequence_matches_the_api() -> None:
    events = list(stream_events(_rich_message(), chunk_chars=16))
    kinds = [(e.type, getattr(getattr(e, "delta", None), "type", None)) for e in events]
    assert kinds == [
        ("message_start", None),
        ("content_block_start", None),
        ("ping", None),
        ("content_block_delta", "thinking_delta"),
        ("content_block_delta", "thinking_delta"),
        ("content_block_delta", "thinking_delta"),
        ("content_block_delta", "signature_delta"),
        ("content_block_stop", None),
        ("content_block_start", None),
        ("content_block_delta", "text_delta"),
        ("content_block_delta", "text_delta"),
        ("content_block_delta", "text_delta"),
        ("content_block_stop", None),
        ("content_block_start", None),
        ("content_block_delta", "input_json_delta"),
        ("content_block_delta", "input_json_delta"),
        ("content_block_stop", None),
        ("content_block_start", None),
        ("content_block_delta", "input_json_delta"),
        ("content_block_stop", None),
        ("message_delta", None),
        ("message_stop", None),
    ]
    start = events[0].message  # type: ignore[union-attr]
    assert (start.content, start.stop_reason, start.stop_sequence) == ([], None, None)
    assert start.usage.output_tokens == 1
    starts = [e for e in events if isinstance(e, ContentBlockStartEvent)]
    assert [encode(e.content_block) for e in starts[2:]] == [
        b'{"type":"tool_use","id":"toolu_01T","name":"get_weather","input":{}}',
        b'{"type":"tool_use","id":"toolu_01U","name":"get_time","input":{}}',
    ]
    last_tool_delta = [e for e in events if isinstance(e, ContentBlockDeltaEvent)][-1]
    assert last_tool_delta.delta == InputJSONDelta(partial_json="")


def test_stream_is_lazy_and_options_are_checked() -> None:
    events = stream_events(_rich_message())
    assert isinstance(events, Iterator)
    assert next(events).type == "message_start"
    no_ping = [e.type for e in stream_events(_rich_message(), ping=False)]
    assert "ping" not in no_ping
    with pytest.raises(ValueError, match="chunk_chars"):
        next(stream_events(_rich_message(), chunk_chars=0))


def _wire(events: Iterator[StreamEvent]) -> list[tuple[str, bytes]]:
    return [(event.type, encode(event)) for event in events]


def _accumulate_ours(wire: list[tuple[str, bytes]]) -> dict[str, Any]:
    """A plain implementation of the accumulation rules, over the decoded wire events."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for name, data in wire:
        event = decode_stream_event(data, name)
        raw = msgspec.json.decode(data)
        if name == "message_start":
            message = raw["message"]
        elif name == "content_block_start":
            message["content"].append(raw["content_block"])
        elif name == "content_block_delta":
            block, delta = message["content"][raw["index"]], raw["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "citations_delta":
                block["citations"] = [*(block.get("citations") or []), delta["citation"]]
            elif delta["type"] == "input_json_delta":
                partial[raw["index"]] = partial.get(raw["index"], "") + delta["partial_json"]
        elif name == "content_block_stop":
            if partial.get(raw["index"]):
                message["content"][raw["index"]]["input"] = json.loads(partial[raw["index"]])
        elif name == "message_delta":
            message.update(raw["delta"])
            for key, value in raw["usage"].items():
                if value is not None:
                    message["usage"][key] = value
        assert event.type == name
    return message


def _accumulate_official(wire: list[tuple[str, bytes]]) -> dict[str, Any]:
    snapshot = None
    buffers: dict[int, bytes] = {}
    for name, data in wire:
        if name == "ping":
            continue
        event = json.loads(data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    result: dict[str, Any] = snapshot.model_dump(exclude_none=True)
    return result


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_accumulated_stream_reproduces_the_message() -> None:
    message = _rich_message()
    expected = _without_nulls(message.to_dict())
    wire = _wire(stream_events(message, chunk_chars=7))
    assert _without_nulls(_accumulate_ours(wire)) == expected
    official = _accumulate_official(wire)
    for block in official["content"]:
        block.pop("citations", None)  # the SDK fills [] where the wire said null
    assert official == expected


def test_other_block_kinds_stream_back_exactly() -> None:
    citation = {"type": "char_location", "cited_text": "x", "document_index": 0}
    message = Message(
        id="msg_01O",
        model="claude-model",
        content=[
            RedactedThinkingBlock(data="b3BhcXVl"),
            TextBlock(text="Cited.", citations=[citation, citation]),
            ServerToolUseBlock(id="srvtoolu_01", name="web_search", input={"query": "q"}),
            WebSearchToolResultBlock(tool_use_id="srvtoolu_01", content=[]),
            UnknownBlock({"type": "future_block", "payload": [1, 2]}),
        ],
        stop_reason="end_turn",
        usage=_reply(_request("x")).usage,
    )
    wire = _wire(stream_events(message, chunk_chars=3))
    expected = _without_nulls(message.to_dict())
    assert _without_nulls(_accumulate_ours(wire)) == expected
    # the official models cannot dump a block type they do not know, so they get the rest
    known = msgspec.structs.replace(message, content=message.content[:4])
    official = _accumulate_official(_wire(stream_events(known, chunk_chars=3)))
    assert official["content"][1]["citations"] == [citation, citation]
    assert official["content"][2]["input"] == {"query": "q"}
    assert [block["type"] for block in official["content"]] == [
        "redacted_thinking",
        "text",
        "server_tool_use",
        "web_search_tool_result",
    ]


settings.register_profile("responder", max_examples=60, deadline=None)


@settings(settings.get_profile("responder"))
@given(
    text=st.text(min_size=0, max_size=300),
    max_tokens=st.integers(min_value=1, max_value=120),
    stops=st.lists(st.text(min_size=1, max_size=4), max_size=3),
    chunk=st.integers(min_value=1, max_value=40),
    thinking=st.booleans(),
)
def test_any_reply_respects_limits_and_streams_back_exactly(
    text: str, max_tokens: int, stops: list[str], chunk: int, thinking: bool
) -> None:
    fields: dict[str, Any] = {"max_tokens": max_tokens, "stop_sequences": stops}
    if thinking:
        fields["thinking"] = {"type": "adaptive"}
    message = _reply(_request(text, **fields))
    assert message.usage.output_tokens == output_tokens_of(message.content)
    assert message.usage.output_tokens <= max_tokens
    for block in message.content:
        if isinstance(block, TextBlock):
            assert not any(stop in block.text for stop in stops)
    if message.stop_reason == "stop_sequence":
        assert message.stop_sequence in stops
    wire = _wire(stream_events(message, chunk_chars=chunk))
    assert _without_nulls(_accumulate_ours(wire)) == _without_nulls(message.to_dict())


# --- example values from schemas -------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({}, {}),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, {}),
        (
            {"type": "object", "required": ["n"], "properties": {"n": {"type": "number"}}},
            {"n": 1.0},
        ),
        ({"type": "integer", "exclusiveMinimum": 5, "maximum": 10}, 6),
        ({"type": "integer", "minimum": 20, "maximum": 10}, 10),
        ({"type": "boolean"}, True),
        ({"type": ["null", "string"]}, "example value"),
        ({"type": "string", "format": "date"}, "2025-01-01"),
        ({"type": "string", "maxLength": 3}, "exa"),
        ({"type": "string", "minLength": 20}, "example valuexxxxxxx"),
        ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, [1, 1]),
        ({"const": "fixed", "type": "string"}, "fixed"),
        ({"type": "string", "default": "dflt"}, "dflt"),
        ({"anyOf": [{"type": "null"}, {"type": "boolean"}]}, True),
        (
            {
                "allOf": [
                    {"type": "object", "required": ["a"], "properties": {"a": {"const": 1}}},
                    {"type": "object", "required": ["b"], "properties": {"b": {"const": 2}}},
                ]
            },
            {"a": 1, "b": 2},
        ),
        (
            {
                "type": "object",
                "required": ["item"],
                "properties": {"item": {"$ref": "#/$defs/Item"}},
                "$defs": {"Item": {"required": ["id"], "properties": {"id": {"type": "integer"}}}},
            },
            {"item": {"id": 1}},
        ),
    ],
)
def test_example_input(schema: dict[str, Any], value: Any) -> None:
    assert example_input(schema) == value


def test_recursive_schema_terminates() -> None:
    schema = {
        "type": "object",
        "required": ["child"],
        "properties": {"child": {"$ref": "#"}},
    }
    value = example_input(schema)
    depth = 0
    while isinstance(value, dict):
        value = value["child"]
        depth += 1
    assert value is None
    assert depth < 12


def test_huge_min_items_and_min_length_stay_bounded() -> None:
    nested = {"type": "array", "minItems": 10**4}
    schema = {
        "type": "object",
        "required": ["many", "long", "nested"],
        "properties": {
            "many": {"type": "array", "minItems": 10**9},
            "long": {"type": "string", "minLength": 10**9},
            "nested": {**nested, "items": {**nested, "items": {**nested, "items": nested}}},
        },
    }
    value = example_input(schema)
    assert 0 < len(value["many"]) <= 10**6
    assert len(value["long"]) <= 10**6
    assert len(encode(value)) < 50 * 10**6


def test_invalid_requests_are_refused_before_scripts_are_consulted() -> None:
    book = ScriptBook([{"replies": ["one", "two"]}])
    responder = Responder(book)
    bad = _request("x", thinking={"type": "enabled", "budget_tokens": 5})
    with pytest.raises(InvalidRequestError):
        _reply(bad, responder)
    assert book.rules()[0]["calls"] == 0
    assert _only_text(_reply(_request("x"), responder)) == "one"


def test_context_window() -> None:
    request = _request("x" * 4000)  # 1,003 tokens
    with pytest.raises(
        InvalidRequestError, match=r"prompt is too long: 1003 tokens > 1000 maximum"
    ):
        Responder().reply(request, model="m", message_id="msg_1", context_window=1000)
    assert Responder().reply(request, model="m", message_id="msg_1", context_window=1003)
