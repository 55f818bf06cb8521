"""The sans-IO accumulator and the partial JSON parser, as pure units."""

from __future__ import annotations

import json
from typing import Any

import jiter
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_foundry._accumulate import (
    MessageAccumulator,
    PartialJSON,
    StreamEventOrderError,
    ToolInputJSONError,
)
from claude_foundry.types import (
    ContentBlockDeltaEvent,
    MessageStartEvent,
    ParsedMessageStopEvent,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
    UnknownEvent,
)
from stream_fixtures import (
    MESSAGE_STOP,
    MIXED,
    TEXT,
    accumulate,
    block_start,
    block_stop,
    decode,
    delta,
    message_delta,
    message_start,
    sse,
)

# --- accumulation ---------------------------------------------------------------------------


def test_text_stream_events_and_final_message() -> None:
    out, accumulator = accumulate(TEXT)
    assert [e.type for e in out] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "text",
        "content_block_delta",
        "text",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert [(e.text, e.snapshot) for e in out if e.type == "text"] == [
        ("Hello", "Hello"),
        (", world", "Hello, world"),
    ]
    message = accumulator.message
    assert message is not None
    assert accumulator.done
    assert message.content == [TextBlock(text="Hello, world")]
    assert (message.stop_reason, message.usage.input_tokens, message.usage.output_tokens) == (
        "end_turn",
        12,
        5,
    )
    assert (message.request_id, message.apim_request_id) == ("req_1", "apim_1")
    assert out[-1].message is message
    assert out[6].content_block is message.content[0]


def test_official_order_for_thinking_text_and_tool_use() -> None:
    out, accumulator = accumulate(MIXED)
    assert [e.type for e in out] == [
        "message_start",
        *("content_block_start", "content_block_delta", "thinking"),
        *("content_block_delta", "thinking", "content_block_delta", "signature"),
        "content_block_stop",
        *("content_block_start", "content_block_delta", "text", "content_block_delta"),
        *("citation", "content_block_delta", "text", "content_block_stop"),
        *("content_block_start", "content_block_delta", "input_json"),
        *("content_block_delta", "input_json", "content_block_delta", "input_json"),
        *("content_block_delta", "input_json", "content_block_stop"),
        "message_delta",
        "message_stop",
    ]
    message = accumulator.message
    assert message is not None
    thinking, text, tool = message.content
    assert thinking == ThinkingBlock(thinking="Let me think.", signature="sig==")
    assert isinstance(text, TextBlock)
    assert text.text == "Checking the weather."
    assert text.citations == [{"type": "char_location", "cited_text": "x"}]
    assert tool == ToolUseBlock(
        id="toolu_1", name="get_weather", input={"city": "Paris", "days": 3}
    )
    assert [e.snapshot for e in out if e.type == "input_json"] == [
        {},
        {},
        {"city": "Paris", "days": 3},
        {"city": "Paris", "days": 3},
    ]
    assert [e.signature for e in out if e.type == "signature"] == ["sig=="]
    citation_event = next(e for e in out if e.type == "citation")
    assert citation_event.snapshot == [{"type": "char_location", "cited_text": "x"}]
    assert message.stop_reason == "tool_use"
    assert (message.usage.output_tokens, message.usage.cache_read_input_tokens) == (42, 7)


def test_raw_events_are_not_mutated_by_accumulation() -> None:
    out, _ = accumulate(TEXT)
    start = out[0]
    assert isinstance(start, MessageStartEvent)
    assert start.message.content == []
    assert start.message.usage.output_tokens == 1
    assert out[1].content_block == TextBlock(text="")


def test_usage_on_message_delta_is_cumulative() -> None:
    chunks = [
        message_start(cache_creation_input_tokens=3),
        message_delta({"output_tokens": 10, "input_tokens": None}),
        message_delta({"output_tokens": 25, "input_tokens": 40, "cache_read_input_tokens": 2}),
        MESSAGE_STOP,
    ]
    _, accumulator = accumulate(chunks)
    usage = accumulator.message.usage  # type: ignore[union-attr]
    assert (usage.input_tokens, usage.output_tokens) == (40, 25)
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (3, 2)


def test_unknown_event_block_and_delta_types_pass_through() -> None:
    chunks = [
        sse("future_event", {"type": "future_event", "x": 1}),
        message_start(),
        block_start(0, {"type": "hologram", "frames": 3}),
        delta(0, type="hologram_delta", frame="f1"),
        block_stop(0),
        block_start(1, {"type": "text", "text": ""}),
        delta(1, type="sparkle_delta", sparkle=True),
        delta(1, type="text_delta", text="ok"),
        block_stop(1),
        sse("future_event", {"type": "future_event", "x": 2}),
        message_delta({"output_tokens": 2}),
        MESSAGE_STOP,
    ]
    out, accumulator = accumulate(chunks)
    assert isinstance(out[0], UnknownEvent)
    assert out[0].x == 1
    message = accumulator.message
    assert message is not None
    hologram, text = message.content
    assert isinstance(hologram, UnknownBlock)
    assert hologram.frames == 3
    assert text == TextBlock(text="ok")
    unknown_delta = out[3]
    assert isinstance(unknown_delta, ContentBlockDeltaEvent)
    assert unknown_delta.delta.type == "hologram_delta"
    assert isinstance(out[-1], ParsedMessageStopEvent)


def test_content_before_message_start_is_an_order_error() -> None:
    accumulator = MessageAccumulator(request_id="req_9")
    (event,) = decode([block_stop(0), MESSAGE_STOP])[:1]
    with pytest.raises(StreamEventOrderError, match="before 'message_start'") as info:
        accumulator.feed(event)
    assert isinstance(info.value, RuntimeError)
    assert "req_9" in str(info.value)


def test_delta_for_a_block_never_started_is_an_order_error() -> None:
    with pytest.raises(StreamEventOrderError, match="content block 3"):
        accumulate([message_start(), delta(3, type="text_delta", text="x"), MESSAGE_STOP])


def test_invalid_tool_json_names_the_tool() -> None:
    chunks = [
        message_start(),
        block_start(0, {"type": "tool_use", "id": "toolu_9", "name": "lookup", "input": {}}),
        delta(0, type="input_json_delta", partial_json='{"q": tru'),
        delta(0, type="input_json_delta", partial_json="e,}"),
        block_stop(0),
        MESSAGE_STOP,
    ]
    with pytest.raises(ToolInputJSONError, match="Unable to parse tool parameter JSON") as info:
        accumulate(chunks)
    assert isinstance(info.value, ValueError)
    assert "'lookup'" in str(info.value)
    assert "toolu_9" in str(info.value)


def test_tool_with_no_json_keeps_its_start_input() -> None:
    chunks = [
        message_start(),
        block_start(0, {"type": "tool_use", "id": "t", "name": "noop", "input": {}}),
        block_stop(0),
        message_delta({"output_tokens": 1}),
        MESSAGE_STOP,
    ]
    _, accumulator = accumulate(chunks)
    assert accumulator.message.content[0].input == {}  # type: ignore[union-attr]


# --- partial JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "default"),
        ("{", {}),
        ('{"a', {}),
        ('{"a":', {}),
        ('{"a": "San Fr', {}),
        ('{"a": 1', {"a": 1}),
        ('{"a": 12, "b": tr', {"a": 12}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": {"b": "c"}, ', {"a": {"b": "c"}}),
        ("[1, -", [1]),
        ('{"a": 1.5e', {}),
        ('{"a": 1e5', {"a": 100000.0}),
        ('{"a": true', {"a": True}),
        ('{"a": ["x", "y', {"a": ["x"]}),
        ('{"a\\"b": 1', {'a"b': 1}),
        ('{"a": "x\\u00e9', {}),
        ('{"a": "x\\u00e9"', {"a": "xé"}),
        ('{"a": "}]\\\\"', {"a": "}]\\"}),
    ],
)
def test_partial_json_matches_official_partial_mode(text: str, expected: Any) -> None:
    parser = PartialJSON()
    parser.feed(text)
    assert parser.snapshot("default") == expected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(value=st.dictionaries(st.text(max_size=6), json_values, max_size=5), data=st.data())
def test_partial_json_snapshots_agree_with_jiter_at_every_cut(value: Any, data: Any) -> None:
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    parser = PartialJSON()
    previous = 0
    for cut in [*cuts, len(text)]:
        parser.feed(text[previous:cut])
        previous = cut
        prefix = text[:cut]
        expected = jiter.from_json(prefix.encode(), partial_mode=True) if prefix else "default"
        assert parser.snapshot("default") == expected, prefix
    assert parser.text == text
