"""@beta_tool functions and the tool loop's decisions (no I/O)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import pytest

from claude_foundry import ToolError, beta_async_tool, beta_tool
from claude_foundry._errors import APIStatusError
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
    loop = _loop(thread=False)
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
    # The server holds the unfinished turn: the continue sends nothing new, and it resumes.
    assert again["messages"] == []
    assert again["thread"] == {"type": "continue", "previous_message_id": "msg_1"}
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
    with pytest.raises(TypeError, match="thread=False"):
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


def _thread_error(status: int, error_code: str) -> APIStatusError:
    error = {"type": "x", "message": "m", "details": {"error_code": error_code}}
    body = {"type": "error", "error": error}
    return APIStatusError("thread refused", status_code=status, body=body)


def _tool_turn(loop: ToolLoop, reply_id: str) -> dict[str, Any]:
    """Send a request, get a tool call back, answer it; the request that was sent."""
    request = loop.next_request()
    assert request is not None
    use = ToolUseBlock(id=f"t_{reply_id}", name="get_weather", input={"location": "Oslo"})
    reply = _reply("tool_use", use)
    reply.id = reply_id
    loop.record_reply(reply)
    result = {"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}
    loop.finish_turn(loop.results_message([result]))
    return request


def test_threaded_turns_send_only_what_is_new() -> None:
    loop = _loop(system="be brief", betas=["x"])
    first = _tool_turn(loop, "msg_a")
    assert first["thread"] == {"type": "create"}
    assert first["betas"] == ["x", "message-threads-2026-08-12"]
    assert first["system"] == "be brief"
    assert first["tools"] == [get_weather.to_dict()]
    second = loop.next_request()
    assert second is not None
    assert second["thread"] == {"type": "continue", "previous_message_id": "msg_a"}
    assert "system" not in second
    assert "tools" not in second
    assert [m["role"] for m in second["messages"]] == ["user"]
    assert len(loop.messages) == 3  # the runner keeps the whole conversation


@pytest.mark.parametrize(
    "error_code", ["thread_not_found", "thread_already_continued", "thread_continue_in_flight"]
)
def test_a_lost_thread_is_replayed_whole_under_a_new_one(error_code: str) -> None:
    loop = _loop()
    _tool_turn(loop, "msg_a")
    assert loop.next_request() is not None
    assert loop.recovers_from(_thread_error(404, error_code))
    replay = loop.next_request()
    assert replay is not None
    assert replay["thread"] == {"type": "create"}
    assert len(replay["messages"]) == 3
    assert replay["tools"] == [get_weather.to_dict()]


def test_a_thread_lost_again_right_after_a_replay_stops_threading() -> None:
    loop = _loop()
    _tool_turn(loop, "msg_a")
    loop.next_request()
    assert loop.recovers_from(_thread_error(404, "thread_not_found"))
    _tool_turn(loop, "msg_b")  # the replay created a new thread
    loop.next_request()
    assert loop.recovers_from(_thread_error(404, "thread_not_found"))
    unthreaded = loop.next_request()
    assert unthreaded is not None
    assert "thread" not in unthreaded
    assert len(unthreaded["messages"]) == 5


def test_unsupported_threads_fall_back_to_the_whole_conversation() -> None:
    loop = _loop()
    assert loop.next_request() is not None
    assert loop.recovers_from(_thread_error(400, "thread_unsupported_request"))
    request = _tool_turn(loop, "msg_a")
    assert "thread" not in request
    assert "betas" not in request
    later = loop.next_request()
    assert later is not None
    assert "thread" not in later
    assert len(later["messages"]) == 3


def test_other_errors_and_unthreaded_requests_are_not_retried() -> None:
    loop = _loop()
    loop.next_request()
    assert not loop.recovers_from(_thread_error(400, "thread_fingerprint_mismatch"))
    assert not loop.recovers_from(APIStatusError("busy", status_code=529, body=None))
    off = _loop(thread=False)
    off.next_request()
    assert not off.recovers_from(_thread_error(400, "thread_unsupported_request"))


def test_new_tools_system_or_messages_start_a_new_thread() -> None:
    loop = _loop()
    _tool_turn(loop, "msg_a")
    loop.add_tools([get_weather])  # the same definition: the thread goes on
    continued = loop.next_request()
    assert continued is not None
    assert continued["thread"]["type"] == "continue"

    @beta_tool
    def get_time(city: str) -> str:
        """The time."""
        return "noon"

    loop.add_tools([get_time])
    created = loop.next_request()
    assert created is not None
    assert created["thread"] == {"type": "create"}
    assert [t["name"] for t in created["tools"]] == ["get_weather", "get_time"]
    assert set(loop.runnable_tools()) == {"get_weather", "get_time"}
    loop.remove_tools(["get_time"])
    assert set(loop.runnable_tools()) == {"get_weather"}

    loop = _loop()
    _tool_turn(loop, "msg_a")
    loop.set_params({**loop.params, "messages": [{"role": "user", "content": "new"}]})
    replaced = loop.next_request()
    assert replaced is not None
    assert replaced["thread"] == {"type": "create"}
    assert replaced["messages"] == [{"role": "user", "content": "new"}]


def test_a_refused_reply_is_not_continued() -> None:
    loop = _loop()
    loop.next_request()
    loop.record_reply(_reply("refusal"))
    # The server may hold the refused turn: whatever comes next starts a new thread.
    assert loop.thread.mode == "new"
    assert loop.thread.previous_message_id is None
