"""EagerCalls and ToolLoop's eager decisions, fed decoded events without I/O."""

from __future__ import annotations

from typing import Any

import pytest
from tests.stream_fixtures import (
    MESSAGE_STOP,
    block_start,
    block_stop,
    decode,
    delta,
    message_delta,
    message_start,
)

from claude_foundry import NotSupportedOnFoundryError, beta_tool
from claude_foundry._accumulate import MessageAccumulator
from claude_foundry._tool_eager import EagerCalls, tool_use_id
from claude_foundry._tool_loop import ToolLoop

USAGE = {"output_tokens": 5}


def _call(index: int, call_id: str, name: str = "get_weather") -> list[bytes]:
    return [
        block_start(index, {"type": "tool_use", "id": call_id, "name": name, "input": {}}),
        delta(index, type="input_json_delta", partial_json='{"city": "Paris"}'),
        block_stop(index),
    ]


def _text(index: int) -> list[bytes]:
    return [
        block_start(index, {"type": "text", "text": ""}),
        delta(index, type="text_delta", text="hi"),
        block_stop(index),
    ]


def _due_per_event(chunks: list[bytes], calls_factory: Any = EagerCalls) -> list[Any]:
    """Read the events as the runner's wrapper does: before handing on each event, ask which
    call is due; the accumulator takes each event after it was handed on. Returns, for each
    event, its type and the id of the call due before it (or None)."""
    accumulator = MessageAccumulator()
    calls = calls_factory(lambda: accumulator.message)
    seen = []
    for event in decode(chunks):
        due = calls.take_due()
        seen.append((event.type, due.id if due is not None else None))
        if due is not None:
            calls.record(due, {"type": "tool_result", "tool_use_id": due.id})
        calls.saw(event)
        accumulator.feed(event)
    return seen


def _due(seen: list[Any]) -> list[tuple[str, str]]:
    return [(event, call) for event, call in seen if call is not None]


def test_a_call_is_due_on_the_read_after_the_next_block_starts() -> None:
    seen = _due_per_event(
        [message_start(), *_call(0, "a"), *_text(1), message_delta(USAGE, "tool_use"), MESSAGE_STOP]
    )
    # content_block_start of the text shows the move; the call runs before its first delta.
    assert _due(seen) == [("content_block_delta", "a")]
    assert seen[seen.index(("content_block_delta", "a")) - 1] == ("content_block_start", None)


def test_the_last_call_is_due_on_message_stop_after_a_tool_use_stop() -> None:
    seen = _due_per_event(
        [
            message_start(),
            *_call(0, "a"),
            *_call(1, "b"),
            message_delta(USAGE, "tool_use"),
            MESSAGE_STOP,
        ]
    )
    assert _due(seen) == [("content_block_delta", "a"), ("message_stop", "b")]


@pytest.mark.parametrize("stop_reason", ["max_tokens", "end_turn", "pause_turn"])
def test_a_last_call_closed_by_another_stop_never_runs_early(stop_reason: str) -> None:
    seen = _due_per_event(
        [message_start(), *_call(0, "a"), message_delta(USAGE, stop_reason), MESSAGE_STOP]
    )
    assert _due(seen) == []


def test_no_call_runs_early_after_a_fallback_block() -> None:
    fallback = {"type": "fallback", "from": {"model": "a"}, "to": {"model": "b"}}
    seen = _due_per_event(
        [
            message_start(),
            *_call(0, "a"),
            block_start(1, fallback),
            block_stop(1),
            *_call(2, "b"),
            *_text(3),
            message_delta(USAGE, "tool_use"),
            MESSAGE_STOP,
        ]
    )
    assert _due(seen) == []


def test_a_held_call_is_not_due_and_is_listed_once_finished() -> None:
    accumulator = MessageAccumulator()
    calls = EagerCalls(lambda: accumulator.message)
    events = decode([message_start(), *_call(0, "a"), *_call(1, "b"), *_text(2), MESSAGE_STOP])
    for event in events:
        if (due := calls.take_due()) is not None:
            calls.record(due, {"type": "tool_result", "tool_use_id": due.id})
        calls.saw(event)
        accumulator.feed(event)
        if event.type == "content_block_start" and event.index == 0:
            calls.hold("a")
            assert calls.held() == []  # not finished streaming yet
    assert [block.id for block in calls.held()] == ["a"]
    assert calls.held()[0].input == {"city": "Paris"}
    assert list(calls.results) == ["b"]
    calls.hold("b")  # has run: holding it does nothing
    assert [block.id for block in calls.held()] == ["a"]


def test_tool_use_id_takes_blocks_dicts_and_ids() -> None:
    block = decode([message_start(), *_call(0, "toolu_1"), MESSAGE_STOP])[1].content_block  # type: ignore[union-attr]
    assert tool_use_id(block) == tool_use_id({"id": "toolu_1"}) == tool_use_id("toolu_1")


@beta_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _loop(eager: bool = True) -> ToolLoop:
    params = {"model": "m", "max_tokens": 10, "messages": [], "tools": [get_weather]}
    return ToolLoop(params, max_iterations=None, run_tools_eagerly=eager)


def _stream_through(loop: ToolLoop, chunks: list[bytes]) -> list[str]:
    accumulator = MessageAccumulator()
    eager = loop.begin_streamed_reply(lambda: accumulator.message)
    assert eager is not None
    ran = []
    for event in decode(chunks):
        if (due := loop.due_eager_call()) is not None:
            tool_use, tool = due
            ran.append(tool_use.id)
            loop.record_eager_result(tool_use, tool, tool.call(tool_use.input), False)
        eager.saw(event)
        accumulator.feed(event)
    assert accumulator.message is not None
    loop.record_reply(accumulator.message)
    return ran


REPLY = [message_start(), *_call(0, "a"), *_call(1, "b", "get_news"), *_call(2, "c")]
REPLY += [*_text(3), message_delta(USAGE, "tool_use"), MESSAGE_STOP]


def test_loop_runs_only_its_own_tools_early_and_keeps_the_model_order() -> None:
    loop = _loop()
    assert _stream_through(loop, REPLY) == ["a", "c"]  # no tool for get_news
    calls = loop.tool_calls()
    with (
        pytest.warns(UserWarning, match="'get_news' not found"),
        pytest.raises(StopIteration) as done,
    ):
        next(calls)  # nothing left to run: the two results are reused
    response = done.value.value
    assert [block["tool_use_id"] for block in response["content"]] == ["a", "b", "c"]
    assert response["content"][1]["is_error"] is True


def test_a_tool_removed_mid_reply_stops_running_at_once() -> None:
    loop = _loop()
    accumulator = MessageAccumulator()
    eager = loop.begin_streamed_reply(lambda: accumulator.message)
    assert eager is not None
    for event in decode(REPLY):
        if event.type == "content_block_start" and event.index == 2:
            loop.remove_tools(["get_weather"])
        due = loop.due_eager_call()
        if due is not None:
            loop.record_eager_result(*due, "sunny", False)
        eager.saw(event)
        accumulator.feed(event)
    assert list(eager.results) == ["a"]


def test_without_eager_no_tracker_and_defer_is_a_no_op() -> None:
    loop = _loop(eager=False)
    assert loop.begin_streamed_reply(lambda: None) is None
    assert loop.due_eager_call() is None
    loop.defer("a")
    assert loop.deferred() == []


def test_official_toolsets_are_refused() -> None:
    from anthropic.tools.computer import BetaAbstractComputerToolset20260801

    class Desktop(BetaAbstractComputerToolset20260801):
        def screenshot(self, context: Any, input: Any) -> str:
            return "png"

    params = {"model": "m", "max_tokens": 10, "messages": [], "tools": [Desktop()]}
    with pytest.raises(NotSupportedOnFoundryError, match="computer_toolset_20260801") as refused:
        ToolLoop(params, max_iterations=None)
    assert "@beta_tool" in str(refused.value)
    loop = _loop()
    with pytest.raises(NotSupportedOnFoundryError):
        loop.add_tools([Desktop()])
    with pytest.raises(NotSupportedOnFoundryError):
        loop.set_params({"messages": [], "tools": [Desktop()]})
    assert [tool.name for tool in loop.tools] == ["get_weather"]
