"""tool_runner(stream=True, run_tools_eagerly=True) on the emulator, beside the official client.

Each scenario runs the same code twice against a freshly reset emulator, once with
``anthropic.AnthropicFoundry`` and once with ours, and compares what the emulator received (the
journal) and one log in which the tools and the loop body both write: the log shows when each tool
ran relative to the events the reader got, so it is the same only if the calls run at the same
points of the stream.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_foundry import (
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    NotSupportedOnFoundryError,
    beta_tool,
)
from claude_foundry.emulator import Emulator
from claude_foundry.testing import TEST_API_KEY

MODEL = "claude-sonnet-4-6"
ASK = [{"role": "user", "content": "What is the weather in Paris and the time in Oslo?"}]
WEATHER = {"type": "tool_use", "name": "get_weather", "input": {"city": "Paris"}}
TIME = {"type": "tool_use", "name": "get_time", "input": {"city": "Oslo"}}
FINAL = {"text": "Sunny in Paris; noon in Oslo."}

# The first reply of each scenario; the second (if the loop asks again) is FINAL.
SCENARIOS: dict[str, dict[str, Any]] = {
    # Calls between text blocks: each runs when the next block starts.
    "mixed": {
        "content": [
            {"type": "text", "text": "Checking."},
            WEATHER,
            TIME,
            {"type": "text", "text": "One moment."},
        ]
    },
    # The last call runs once the reply stops with tool_use (on message_stop).
    "calls_last": {"content": [{"type": "text", "text": "Checking."}, WEATHER, TIME]},
    # A call the runner has no tool for is answered with the tool response, not early.
    "unknown_tool": {
        "content": [{"type": "tool_use", "name": "get_news", "input": {}}, WEATHER, TIME]
    },
    # The reply ends the turn after a call: the call ran early, but no results are sent.
    "end_turn": {
        "content": [WEATHER, {"type": "text", "text": "Never mind."}],
        "stop_reason": "end_turn",
    },
    # Cut off after a call: its input may be cut too, so it never runs.
    "max_tokens": {
        "content": [{"type": "text", "text": "Checking."}, WEATHER],
        "stop_reason": "max_tokens",
    },
}


def _script(emulator: Emulator, first: dict[str, Any]) -> None:
    emulator.add_script({"tool": "get_weather", "replies": [first, FINAL]})


def _tools(log: list[str], *, failing: bool = False) -> list[Any]:
    """The official SDK's tool objects, so both clients send the same definitions."""

    def get_weather(city: str) -> str:
        """The weather in a city."""
        log.append(f"run get_weather({city})")
        if failing:
            raise RuntimeError("weather service down")
        return f"sunny in {city}"

    def get_time(city: str) -> str:
        """The local time in a city."""
        log.append(f"run get_time({city})")
        return f"noon in {city}"

    return [anthropic.beta_tool(get_weather), anthropic.beta_tool(get_time)]


def _read(stream: Any, reader: str, log: list[str]) -> None:
    if reader == "events":
        for event in stream:
            log.append(event.type)
    elif reader == "text":
        for text in stream.text_stream:
            log.append(f"text {text!r}")


def _run(client: Any, tools: list[Any], reader: str, log: list[str], **params: Any) -> Any:
    runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=256,
        tools=tools,
        messages=ASK,
        stream=True,
        run_tools_eagerly=True,
        **params,
    )
    for stream in runner:
        _read(stream, reader, log)
        log.append("loop body done")
    return runner.until_done()


def _compare(
    emulator: Emulator, first: dict[str, Any], run: Callable[[Any, list[str]], Any]
) -> tuple[list[str], list[Any], Any]:
    """Run ``run(client, log)`` with the official client, then with ours; both must send the same
    requests and write the same log. Returns our log, our requests and our result."""
    outcomes = []
    for client in (
        anthropic.AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
        AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
    ):
        emulator.reset()
        _script(emulator, first)
        log: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # tool not found: both warn
            result = run(client, log)
        outcomes.append((log, [entry.body for entry in emulator.journal()], result))
        client.close()
    (their_log, their_requests, _), (log, requests, result) = outcomes
    assert log == their_log
    assert requests == their_requests
    return log, requests, result


@pytest.mark.parametrize("reader", ["events", "text", "none"])
def test_calls_run_where_the_official_runner_runs_them(emulator: Emulator, reader: str) -> None:
    log, requests, final = _compare(
        emulator,
        SCENARIOS["mixed"],
        lambda client, log: _run(client, _tools(log), reader, log),
    )
    assert final.content[0].text == FINAL["text"]
    results = requests[1]["messages"][-1]["content"]
    assert [r["content"] for r in results] == ["sunny in Paris", "noon in Oslo"]
    ran = log.index("run get_weather(Paris)"), log.index("run get_time(Oslo)")
    if reader == "none":
        # Nothing read the reply in the loop body, so the loop read it after, running the calls.
        assert log.index("loop body done") < min(ran)
    else:
        # Both calls ran while the reader read the first reply, before it was done with it.
        assert max(ran) < log.index("loop body done")
    if reader == "events":
        # get_weather runs when the reader asks for the event after the next block's start.
        start = log.index("run get_weather(Paris)")
        assert log[start - 2 : start + 2] == [
            "content_block_stop",
            "content_block_start",
            "run get_weather(Paris)",
            "content_block_delta",
        ]


@pytest.mark.parametrize("scenario", ["calls_last", "unknown_tool", "end_turn", "max_tokens"])
def test_scenarios_match_the_official_runner(emulator: Emulator, scenario: str) -> None:
    log, requests, _ = _compare(
        emulator,
        SCENARIOS[scenario],
        lambda client, log: _run(client, _tools(log), "events", log),
    )
    ran = [line for line in log if line.startswith("run ")]
    if scenario == "calls_last":
        # The last call ran on the read of message_stop, inside the loop body.
        first_turn = log[: log.index("loop body done") + 1]
        assert first_turn[-4:] == [
            "message_delta",
            "run get_time(Oslo)",
            "message_stop",
            "loop body done",
        ]
    if scenario == "unknown_tool":
        results = requests[1]["messages"][-1]["content"]
        assert results[0] == {
            "type": "tool_result",
            "tool_use_id": results[0]["tool_use_id"],
            "content": "Error: Tool 'get_news' not found",
            "is_error": True,
        }
        assert ran == ["run get_weather(Paris)", "run get_time(Oslo)"]
    if scenario == "end_turn":
        assert ran == ["run get_weather(Paris)"]
        assert len(requests) == 1
    if scenario == "max_tokens":
        assert ran == []
        assert len(requests) == 1


def test_a_failing_tool_is_an_error_result_and_the_stream_goes_on(emulator: Emulator) -> None:
    log, requests, final = _compare(
        emulator,
        SCENARIOS["mixed"],
        lambda client, log: _run(client, _tools(log, failing=True), "events", log),
    )
    weather, time = requests[1]["messages"][-1]["content"]
    assert weather["is_error"] is True
    assert "weather service down" in weather["content"]
    assert time == {
        "type": "tool_result",
        "tool_use_id": time["tool_use_id"],
        "content": "noon in Oslo",
    }
    assert log.count("run get_weather(Paris)") == 1  # not run again for the tool response
    assert final.stop_reason == "end_turn"


def _hold_weather(client: Any, log: list[str]) -> Any:
    runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=256,
        tools=_tools(log),
        messages=ASK,
        stream=True,
        run_tools_eagerly=True,
    )
    for stream in runner:
        for event in stream:
            log.append(event.type)
            block = getattr(event, "content_block", None)
            if event.type == "content_block_start" and getattr(block, "name", "") == "get_weather":
                runner.defer_tool_call(block)
        log.append(f"held {[call.name for call in runner.deferred_tool_calls]}")
    return runner.until_done()


def test_a_deferred_call_runs_with_the_tool_response(emulator: Emulator) -> None:
    log, requests, _ = _compare(emulator, SCENARIOS["mixed"], _hold_weather)
    held = log.index("held ['get_weather']")
    assert log.index("run get_time(Oslo)") < held < log.index("run get_weather(Paris)")
    results = requests[1]["messages"][-1]["content"]
    assert [r["content"] for r in results] == ["sunny in Paris", "noon in Oslo"]  # model order
    assert log[-1] == "held []"


def test_max_iterations_stops_after_the_tools_ran(emulator: Emulator) -> None:
    log, requests, final = _compare(
        emulator,
        SCENARIOS["mixed"],
        lambda client, log: _run(client, _tools(log), "none", log, max_iterations=1),
    )
    assert len(requests) == 1
    assert final.stop_reason == "tool_use"
    assert [line for line in log if line.startswith("run ")] == [
        "run get_weather(Paris)",
        "run get_time(Oslo)",
    ]


def test_closing_the_runner_from_an_early_call_stops_at_the_next_step(
    emulator: Emulator,
) -> None:
    _script(emulator, SCENARIOS["mixed"])
    calls: list[str] = []
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:

        @beta_tool
        def get_weather(city: str) -> str:
            """The weather in a city."""
            calls.append(city)
            runner.close()
            return "sunny"

        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=[get_weather],
            messages=ASK,
            stream=True,
            run_tools_eagerly=True,
        )
        with pytest.warns(UserWarning, match="'get_time' not found"):
            texts = ["".join(stream.text_stream) for stream in runner]
    assert calls == ["Paris"]
    assert texts == ["Checking.One moment."]  # the reply read to its end, then no next turn
    assert len(emulator.journal()) == 1


def _async_tools(log: list[str]) -> list[Any]:
    async def get_weather(city: str) -> str:
        """The weather in a city."""
        log.append(f"run get_weather({city})")
        return f"sunny in {city}"

    async def get_time(city: str) -> str:
        """The local time in a city."""
        log.append(f"run get_time({city})")
        return f"noon in {city}"

    return [anthropic.beta_async_tool(get_weather), anthropic.beta_async_tool(get_time)]


async def test_async_runner_matches_the_official_one(emulator: Emulator) -> None:
    outcomes = []
    for client in (
        anthropic.AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
        AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
    ):
        emulator.reset()
        _script(emulator, SCENARIOS["mixed"])
        log: list[str] = []
        tools = _async_tools(log)
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=tools,
            messages=ASK,
            stream=True,
            run_tools_eagerly=True,
        )
        async for stream in runner:
            async for event in stream:
                log.append(event.type)
            log.append("loop body done")
        final = await runner.until_done()
        outcomes.append((log, [entry.body for entry in emulator.journal()], final.stop_reason))
        await client.close()
    assert outcomes[0] == outcomes[1]
    log = outcomes[1][0]
    assert log.index("run get_time(Oslo)") < log.index("loop body done")


async def test_async_runner_runs_sync_tools_early_in_a_worker_thread(emulator: Emulator) -> None:
    _script(emulator, SCENARIOS["calls_last"])
    log: list[str] = []
    async with AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=_tools(log),
            messages=ASK,
            stream=True,
            run_tools_eagerly=True,
        )
        async for stream in runner:
            async for text in stream.text_stream:
                log.append(f"text {text!r}")
            log.append("loop body done")
    assert log[:4] == [
        "text 'Checking.'",
        "run get_weather(Paris)",
        "run get_time(Oslo)",
        "loop body done",
    ]
    results = emulator.journal()[1].body["messages"][-1]["content"]
    assert [r["content"] for r in results] == ["sunny in Paris", "noon in Oslo"]


@pytest.mark.parametrize("stream", [False, None])
def test_eager_needs_stream_true_as_officially(emulator: Emulator, stream: bool | None) -> None:
    params: dict[str, Any] = {"stream": stream} if stream is not None else {}
    for client in (
        anthropic.AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
        AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
        AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
    ):
        with pytest.raises(ValueError, match="stream"):
            client.beta.messages.tool_runner(
                model=MODEL,
                max_tokens=256,
                tools=[],
                messages=ASK,
                run_tools_eagerly=True,
                **params,
            )
    assert emulator.journal() == []


def test_without_eager_defer_does_nothing_and_tools_wait_for_the_body(
    emulator: Emulator,
) -> None:
    _script(emulator, SCENARIOS["mixed"])
    log: list[str] = []
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=_tools(log), messages=ASK, stream=True
        )
        for stream in runner:
            for event in stream:
                if event.type == "content_block_start" and event.content_block.type == "tool_use":
                    runner.defer_tool_call(event.content_block.id)
            assert runner.deferred_tool_calls == []
            log.append("loop body done")
    assert log[:3] == ["loop body done", "run get_weather(Paris)", "run get_time(Oslo)"]


async def test_official_agent_toolset_file_tools_run_early(
    emulator: Emulator, tmp_path: Path
) -> None:
    """agent_toolset_20260401's tools are client-side function tools: they run on Foundry, in
    the async runner, early, as with the official client."""
    from anthropic.lib.tools.agent_toolset import AgentToolContext, beta_agent_toolset_20260401

    write = {"type": "tool_use", "name": "write", "input": {"file_path": "n.md", "content": "tea"}}
    read = {"type": "tool_use", "name": "read", "input": {"file_path": "n.md"}}
    outcomes = []
    for index, client in enumerate(
        (
            anthropic.AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
            AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url),
        )
    ):
        emulator.reset()
        emulator.add_script({"tool": "write", "replies": [{"content": [write, read]}, FINAL]})
        workdir = tmp_path / str(index)
        workdir.mkdir()
        context = AgentToolContext(workdir=str(workdir))
        # bash keeps a shell open that only the sessions runner closes; the file tools do not.
        tools = [tool for tool in beta_agent_toolset_20260401(context) if tool.name != "bash"]
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=tools,
            messages=[{"role": "user", "content": "Note that I like tea"}],
            stream=True,
            run_tools_eagerly=True,
        )
        async for stream in runner:
            await stream.get_final_message()
        await client.close()
        outcomes.append([entry.body for entry in emulator.journal()])
        assert (workdir / "n.md").read_text() == "tea"
    assert outcomes[0] == outcomes[1]
    results = outcomes[1][1]["messages"][-1]["content"]
    assert [result["content"] for result in results] == ["wrote 3 bytes to n.md", "tea"]


def _computer_toolset() -> Any:
    from anthropic.tools.computer import BetaAbstractComputerToolset20260801

    class Desktop(BetaAbstractComputerToolset20260801):
        def screenshot(self, context: Any, input: Any) -> str:
            return "png"

    return Desktop()


def _browser_toolset() -> Any:
    from anthropic.tools.browser import BetaAsyncAbstractBrowserToolset20260801

    class Browser(BetaAsyncAbstractBrowserToolset20260801):
        async def navigate(self, context: Any, input: Any) -> str:
            return "ok"

        async def _browser_state(self, context: Any) -> Any:
            return None

    return Browser()


async def test_browser_and_computer_toolsets_are_refused_before_anything_is_sent(
    emulator: Emulator,
) -> None:
    """Foundry does not support the browser and computer toolsets: the runner says so at once
    (the official client would send them and get a 400)."""
    sync_client = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)
    async_client = AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 256, "messages": ASK}
    with pytest.raises(NotSupportedOnFoundryError, match="computer toolset") as refused:
        sync_client.beta.messages.tool_runner(tools=[_computer_toolset()], **params)
    assert isinstance(refused.value, anthropic.AnthropicError)  # `except anthropic.X` still works
    assert "Foundry does not support the browser and computer toolsets" in str(refused.value)
    with pytest.raises(NotSupportedOnFoundryError, match="browser_toolset_20260801"):
        async_client.beta.messages.tool_runner(tools=[_browser_toolset()], stream=True, **params)
    runner = async_client.beta.messages.tool_runner(tools=_async_tools([]), **params)
    with pytest.raises(NotSupportedOnFoundryError, match="browser toolset"):
        runner.add_tools(_browser_toolset())
    sync_client.close()
    await async_client.close()
    assert emulator.journal() == []


def test_a_tool_added_mid_reply_runs_early_for_calls_already_in_it(emulator: Emulator) -> None:
    _script(emulator, SCENARIOS["mixed"])
    log: list[str] = []
    weather, time = _tools(log)
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=[weather],
            messages=ASK,
            stream=True,
            run_tools_eagerly=True,
        )
        for stream in runner:
            for event in stream:
                block = getattr(event, "content_block", None)
                if event.type == "content_block_start" and getattr(block, "name", "") == "get_time":
                    runner.add_tools(time)
            log.append("loop body done")
    assert log[:3] == ["run get_weather(Paris)", "run get_time(Oslo)", "loop body done"]
    results = emulator.journal()[1].body["messages"][-1]["content"]
    assert [r["content"] for r in results] == ["sunny in Paris", "noon in Oslo"]


@pytest.mark.parametrize("eager", [True, False])
def test_tool_response_asked_for_in_the_loop_body_is_the_current_replys(
    emulator: Emulator, eager: bool
) -> None:
    """generate_tool_call_response() in a streaming runner's loop body reads the reply to its
    end and answers it, as officially; the tools do not run again after the body."""

    def run(client: Any, log: list[str]) -> Any:
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=_tools(log),
            messages=ASK,
            stream=True,
            run_tools_eagerly=eager,
        )
        for _ in runner:
            response = runner.generate_tool_call_response()
            ids = None if response is None else [r["content"] for r in response["content"]]
            log.append(f"response {ids}")
        return runner.until_done()

    log, requests, _ = _compare(emulator, SCENARIOS["mixed"], run)
    assert log == [
        "run get_weather(Paris)",
        "run get_time(Oslo)",
        "response ['sunny in Paris', 'noon in Oslo']",
        "response None",
    ]
    assert len(requests) == 2


async def test_async_tool_response_asked_for_in_the_loop_body(emulator: Emulator) -> None:
    _script(emulator, SCENARIOS["mixed"])
    log: list[str] = []
    async with AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=_async_tools(log),
            messages=ASK,
            stream=True,
            run_tools_eagerly=True,
        )
        async for _ in runner:
            response = await runner.generate_tool_call_response()
            log.append(f"response {response is not None}")
    assert log == [
        "run get_weather(Paris)",
        "run get_time(Oslo)",
        "response True",
        "response False",
    ]
    assert len(emulator.journal()) == 2
