"""@beta_tool functions and the tool loop's decisions (no I/O)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import pytest

from claude_foundry import ToolError, beta_async_tool, beta_tool
from claude_foundry._tool_runner import COMPACTION_BETA, STOP_REASON_STEPS, ToolLoop, step_after
from claude_foundry.lib.tools import BetaFunctionTool
from claude_foundry.types import Message, TextBlock, ToolUseBlock, Usage


@beta_tool
def get_weather(location: str, units: Literal["c", "f"] = "c", days: int | None = None) -> str:
    """Look up the weather for a city.

    More words about it.

    Args:
        location: The city and state,
            e.g. San Francisco, CA
        units: Unit for the output
    Returns:
        The weather as text.
    """
    return f"{location}: 20 {units} ({days})"


def test_definition_from_signature_and_docstring() -> None:
    definition = get_weather.to_dict()
    assert definition["name"] == "get_weather"
    assert definition["description"] == "Look up the weather for a city.\n\nMore words about it."
    schema = definition["input_schema"]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["location"]
    assert schema["properties"]["location"] == {
        "type": "string",
        "description": "The city and state, e.g. San Francisco, CA",
    }
    assert schema["properties"]["units"]["enum"] == ["c", "f"]
    assert schema["properties"]["units"]["default"] == "c"
    assert "description" not in schema["properties"]["days"]
    assert isinstance(get_weather, BetaFunctionTool)


def test_call_validates_and_converts_input() -> None:
    assert get_weather.call({"location": "Paris"}) == "Paris: 20 c (None)"
    assert get_weather.call({"location": "Oslo", "units": "f", "days": 3}) == "Oslo: 20 f (3)"
    assert get_weather("Rome") == "Rome: 20 c (None)"  # still a function
    with pytest.raises(ValueError, match="Invalid arguments for function get_weather"):
        get_weather.call({"units": "c"})
    with pytest.raises(ValueError, match="get_weather"):
        get_weather.call({"location": "Paris", "units": "k"})
    with pytest.raises(TypeError, match="dictionary"):
        get_weather.call(["Paris"])


def test_decorator_options_and_extra_definition_fields() -> None:
    @beta_tool(name="lookup", description="Find it.", cache_control={"type": "ephemeral"})
    def find(query: str) -> str:
        return query

    assert find.to_dict() == {
        "name": "lookup",
        "description": "Find it.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
            "additionalProperties": False,
        },
        "cache_control": {"type": "ephemeral"},
    }


async def test_async_tool() -> None:
    @beta_async_tool
    async def add(a: int, b: int) -> str:
        """Add two numbers."""
        return str(a + b)

    assert await add.call({"a": 2, "b": "3"}) == "5"
    with pytest.raises(RuntimeError, match="beta_async_tool"):
        beta_tool(add.func).call({"a": 1, "b": 2})


def test_tool_error_message() -> None:
    assert str(ToolError("bad city")) == "bad city"
    error = ToolError([{"type": "text", "text": "no"}, {"type": "image", "source": {}}])
    assert str(error) == "no [image]"


def _reply(stop_reason: str, *content: Any) -> Message:
    return Message(
        id="msg_1",
        model="m",
        content=list(content) or [TextBlock(text="done")],
        stop_reason=stop_reason,
        usage=Usage(input_tokens=1, output_tokens=1),
    )


def _loop(**params: Any) -> ToolLoop:
    base = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    return ToolLoop({**base, "tools": [get_weather], **params}, max_iterations=None)


def test_every_stop_reason_has_a_step() -> None:
    assert set(STOP_REASON_STEPS.values()) == {"run_tools", "resume", "stop"}
    assert step_after(None) == "stop"
    assert step_after("something_new") == "stop"


def test_loop_sends_definitions_and_the_whole_history() -> None:
    loop = _loop()
    request = loop.next_request()
    assert request is not None
    assert request["tools"] == [get_weather.to_dict()]
    use = ToolUseBlock(id="toolu_1", name="get_weather", input={"location": "Paris"})
    loop.record_reply(_reply("tool_use", use))
    [(block, tool)] = loop.pending_calls()
    assert tool is get_weather
    result = loop.result_block(block, tool, tool.call(block.input), failed=False)
    loop.finish_turn(loop.results_message([result]))
    second = loop.next_request()
    assert second is not None
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert second["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Paris: 20 c (None)"}
    ]
    loop.record_reply(_reply("end_turn"))
    loop.finish_turn(None)
    assert loop.next_request() is None


def test_failures_and_unknown_tools_become_error_results() -> None:
    loop = _loop()
    use = ToolUseBlock(id="t", name="get_weather", input={})
    failed = loop.result_block(use, get_weather, ValueError("boom"), failed=True)
    assert failed["is_error"] is True
    assert "boom" in failed["content"]
    structured = loop.result_block(use, get_weather, ToolError("no such city"), failed=True)
    assert structured["content"] == "no such city"
    with pytest.warns(UserWarning, match="not found"):
        missing = loop.result_block(ToolUseBlock(id="u", name="nope", input={}), None, None, False)
    assert missing == {
        "type": "tool_result",
        "tool_use_id": "u",
        "content": "Error: Tool 'nope' not found",
        "is_error": True,
    }


def test_pause_turn_resends_and_max_iterations_stops() -> None:
    loop = ToolLoop(
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        max_iterations=2,
    )
    assert loop.next_request() is not None
    loop.record_reply(_reply("pause_turn"))
    loop.finish_turn(None)
    again = loop.next_request()
    assert again is not None
    assert again["messages"][-1]["role"] == "assistant"  # the unfinished turn goes back
    loop.record_reply(_reply("pause_turn"))
    loop.finish_turn(None)
    assert loop.next_request() is None


def test_compaction_request_and_history_replacement() -> None:
    loop = _loop(context_management={"edits": []}, tool_choice={"type": "any"}, betas=["x"])
    loop.schedule_compaction(None)
    request = loop.next_request()
    assert request is not None
    assert request["compaction"] == {"type": "summarize"}
    assert request["betas"] == ["x", COMPACTION_BETA]
    assert "context_management" not in request
    assert "tool_choice" not in request
    loop.record_reply(_reply("compaction", TextBlock(text="summary")))
    loop.finish_turn(None)
    follow = loop.next_request()
    assert follow is not None
    assert "compaction" not in follow
    assert follow["context_management"] == {"edits": []}
    assert len(follow["messages"]) == 1
    assert follow["messages"][0]["role"] == "assistant"


def test_compaction_and_threads_are_refused_as_parameters() -> None:
    with pytest.raises(TypeError, match="compact_before_next_turn"):
        _loop(compaction={"type": "summarize"})
    with pytest.raises(TypeError, match="thread must be False"):
        _loop(thread={"type": "create"})
    assert _loop(thread=False).next_request() is not None


def test_appended_messages_follow_the_tool_results() -> None:
    loop = _loop()
    loop.next_request()
    use = ToolUseBlock(id="t1", name="get_weather", input={"location": "Oslo"})
    loop.record_reply(_reply("tool_use", use))
    loop.append([{"role": "user", "content": "and tomorrow?"}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = loop.result_block(use, get_weather, "sunny", failed=False)
    loop.finish_turn(loop.results_message([result]))
    roles = [m["role"] for m in loop.messages]
    assert roles == ["user", "assistant", "user", "user"]
    assert loop.messages[-1]["content"] == "and tomorrow?"
