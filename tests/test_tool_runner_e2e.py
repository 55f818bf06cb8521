"""client.beta.messages.tool_runner against the emulator over loopback HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry, beta_async_tool, beta_tool
from claude_foundry.emulator import Emulator
from claude_foundry.testing import TEST_API_KEY

MODEL = "claude-sonnet-4-6"
ASK = [{"role": "user", "content": "What is the weather in Paris and in Oslo?"}]


@beta_tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city name
    """
    return json.dumps({"city": city, "sky": "sunny"})


@beta_tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"12:00 in {city}"


def _script_two_tools(emulator: Emulator) -> None:
    """Turn 1 calls both tools, turn 2 answers from their results."""
    emulator.add_script(
        {
            "tool": "get_weather",
            "replies": [
                {
                    "content": [
                        {"type": "tool_use", "name": "get_weather", "input": {"city": "Paris"}},
                        {"type": "tool_use", "name": "get_time", "input": {"city": "Oslo"}},
                    ]
                },
                {"text": "Sunny in Paris; noon in Oslo."},
            ],
        }
    )


def _client(emulator: Emulator) -> AnthropicFoundry:
    return AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)


def _async_client(emulator: Emulator) -> AsyncAnthropicFoundry:
    return AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)


def _check_results(conversation: list[Any]) -> None:
    roles = [message["role"] for message in conversation]
    assert roles == ["user", "assistant", "user"]
    results = conversation[2]["content"]
    assert [r["type"] for r in results] == ["tool_result", "tool_result"]
    assert json.loads(results[0]["content"]) == {"city": "Paris", "sky": "sunny"}
    assert results[1]["content"] == "12:00 in Oslo"


def _assert_full_history(emulator: Emulator) -> None:
    first, second = emulator.journal()[-2:]
    assert first.body["messages"] == ASK
    assert "thread" not in first.body
    assert "thread" not in second.body
    _check_results(second.body["messages"])
    assert second.body["tools"] == [get_weather.to_dict(), get_time.to_dict()]


def _assert_threaded_history(emulator: Emulator) -> None:
    """The first turn creates a thread with the whole conversation; the second sends only the
    tool results, and the emulator answers it from the whole conversation."""
    first, second = emulator.journal()[-2:]
    assert first.body["thread"] == {"type": "create"}
    assert first.body["messages"] == ASK
    assert [tool["name"] for tool in first.body["tools"]] == ["get_weather", "get_time"]
    assert "message-threads-2026-08-12" in first.headers["anthropic-beta"]
    assert second.body["thread"]["type"] == "continue"
    assert second.body["thread"]["previous_message_id"].startswith("msg_")
    assert "tools" not in second.body
    assert "system" not in second.body
    assert [m["role"] for m in second.body["messages"]] == ["user"]
    _check_results(second.history)


def test_sync_runner_threads_two_tools_by_default(emulator: Emulator) -> None:
    _script_two_tools(emulator)
    with _client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK
        )
        replies = list(runner)
    assert [reply.stop_reason for reply in replies] == ["tool_use", "end_turn"]
    assert replies[-1].content[0].text == "Sunny in Paris; noon in Oslo."
    _assert_threaded_history(emulator)
    second = emulator.journal()[-1]
    assert second.body["thread"]["previous_message_id"] == replies[0].id
    assert [block["id"] for block in second.history[1]["content"]] == [
        block.id for block in replies[0].content
    ]


def test_thread_false_sends_the_whole_conversation(emulator: Emulator) -> None:
    _script_two_tools(emulator)
    with _client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK, thread=False
        )
        assert runner.until_done().content[0].text == "Sunny in Paris; noon in Oslo."
    _assert_full_history(emulator)
    assert "anthropic-beta" not in emulator.journal()[-1].headers


def test_until_done_and_generate_tool_call_response(emulator: Emulator) -> None:
    _script_two_tools(emulator)
    with _client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK
        )
        first = next(iter(runner))
        assert first.stop_reason == "tool_use"
        response = runner.generate_tool_call_response()
        assert response is not None
        assert runner.generate_tool_call_response() is response  # cached: tools ran once
        final = runner.until_done()
    assert final.content[0].text == "Sunny in Paris; noon in Oslo."
    assert len(emulator.journal()) == 2


def test_streaming_runner(emulator: Emulator) -> None:
    _script_two_tools(emulator)
    with _client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK, stream=True
        )
        texts = []
        for stream in runner:
            texts.append("".join(stream.text_stream))
        final = runner.until_done()
    assert texts[-1] == "Sunny in Paris; noon in Oslo."
    assert final.stop_reason == "end_turn"
    _assert_threaded_history(emulator)


async def test_async_runner_with_async_and_sync_tools(emulator: Emulator) -> None:
    _script_two_tools(emulator)

    @beta_async_tool
    async def get_weather(city: str) -> str:
        """The weather in a city."""
        return json.dumps({"city": city, "sky": "sunny"})

    async with _async_client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK
        )
        stops = [message.stop_reason async for message in runner]
    assert stops == ["tool_use", "end_turn"]
    _assert_threaded_history(emulator)


async def test_async_streaming_runner(emulator: Emulator) -> None:
    _script_two_tools(emulator)
    async with _async_client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK, stream=True
        )
        async for stream in runner:
            await stream.get_final_message()
        final = await runner.until_done()
    assert final.content[0].text == "Sunny in Paris; noon in Oslo."


def test_official_tool_objects_run_in_our_runner(emulator: Emulator) -> None:
    """Tools made with the official SDK's decorator (as its MCP helpers make them) run too."""
    _script_two_tools(emulator)

    @anthropic.beta_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return json.dumps({"city": city, "sky": "sunny"})

    with _client(emulator) as client:
        final = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK
        ).until_done()
    assert final.stop_reason == "end_turn"
    assert emulator.journal()[0].body["tools"][0] == get_weather.to_dict()


def test_official_memory_tool_in_our_runner(emulator: Emulator, tmp_path: Path) -> None:
    from anthropic.tools import BetaLocalFilesystemMemoryTool

    memory = BetaLocalFilesystemMemoryTool(base_path=str(tmp_path))
    emulator.add_script(
        {
            "tool": "memory",
            "replies": [
                {
                    "content": [
                        {
                            "type": "tool_use",
                            "name": "memory",
                            "input": {
                                "command": "create",
                                "path": "/memories/tea.md",
                                "file_text": "likes tea",
                            },
                        }
                    ]
                },
                {"text": "Noted."},
            ],
        }
    )
    with _client(emulator) as client:
        final = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=[memory],
            messages=[{"role": "user", "content": "Remember that I like tea"}],
            betas=["context-management-2025-06-27"],
        ).until_done()
    assert final.content[0].text == "Noted."
    assert (tmp_path / "memories" / "tea.md").read_text() == "likes tea"
    created, continued = emulator.journal()
    assert created.body["tools"] == [memory.to_dict()]
    assert "tools" not in continued.body
    assert "context-management-2025-06-27" in continued.headers["anthropic-beta"]


def test_failing_tool_reports_an_error_result(emulator: Emulator) -> None:
    @beta_tool
    def get_weather(city: str) -> str:
        """Always fails."""
        raise RuntimeError("weather service down")

    _script_two_tools(emulator)
    with _client(emulator) as client:
        client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather, get_time], messages=ASK
        ).until_done()
    result = emulator.journal()[-1].body["messages"][0]["content"][0]
    assert result["is_error"] is True
    assert "weather service down" in result["content"]


def test_max_iterations_and_emulator_default_tool_call(emulator: Emulator) -> None:
    with _client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=[get_weather],
            messages=[{"role": "user", "content": "Call get_weather for Paris"}],
            max_iterations=1,
        )
        replies = list(runner)
    assert [reply.stop_reason for reply in replies] == ["tool_use"]
    assert len(emulator.journal()) == 1


def test_sync_runner_refuses_async_tools(emulator: Emulator) -> None:
    @beta_async_tool
    async def slow(x: int) -> str:
        """Slow."""
        return str(x)

    with (
        _client(emulator) as client,
        pytest.raises(TypeError, match="AsyncAnthropicFoundry"),
    ):
        client.beta.messages.tool_runner(model=MODEL, max_tokens=10, tools=[slow], messages=ASK)


def test_tool_objects_in_create_become_definitions(emulator: Emulator) -> None:
    with _client(emulator) as client:
        client.messages.create(model=MODEL, max_tokens=32, tools=[get_weather], messages=ASK)
        client.messages.count_tokens(model=MODEL, tools=[get_weather], messages=ASK)
    for entry in emulator.journal():
        assert entry.body["tools"] == [get_weather.to_dict()]


def test_path_and_file_objects_as_base64_data(emulator: Emulator, tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4 fake")
    blocks: list[Any] = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": pdf.open("rb")},
        },
        {"type": "text", "text": "Describe both."},
    ]
    with _client(emulator) as client:
        client.messages.create(
            model=MODEL, max_tokens=32, messages=[{"role": "user", "content": blocks}]
        )
    sent = emulator.journal()[-1].body["messages"][0]["content"]
    assert sent[0]["source"]["data"] == "iVBORw0KGgpmYWtl"
    assert sent[1]["source"]["data"] == "JVBERi0xLjQgZmFrZQ=="
    assert blocks[0]["source"]["data"] == image  # the caller's dicts are left alone


def test_official_client_same_request_bytes_for_paths(emulator: Emulator, tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(b"png-bytes")
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image}}
    ]
    messages: Any = [{"role": "user", "content": content}]
    official = anthropic.AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)
    official.messages.create(model=MODEL, max_tokens=16, messages=messages)
    with _client(emulator) as client:
        client.messages.create(model=MODEL, max_tokens=16, messages=messages)
    theirs, ours = emulator.journal()[-2:]
    assert theirs.body["messages"] == ours.body["messages"]


def _weather_runner(client: Any, **params: Any) -> Any:
    return client.beta.messages.tool_runner(
        model=MODEL, max_tokens=256, tools=[get_weather], messages=ASK, **params
    )


@pytest.mark.parametrize("stream", [False, True])
def test_a_lost_thread_is_replayed_whole(emulator: Emulator, stream: bool) -> None:
    """The server forgets the thread between turns (here: the emulator is reset): the continue is
    refused with thread_not_found and the runner sends the whole conversation under a new one."""
    with _client(emulator) as client:
        runner = _weather_runner(client, stream=stream)
        for index, reply in enumerate(runner):
            if stream:
                reply.until_done()
            if index == 0:
                emulator.reset()
        final = runner.until_done()
    assert final.stop_reason == "end_turn"
    refused, replay = emulator.journal()
    assert refused.status == 404
    assert refused.body["thread"]["type"] == "continue"
    assert replay.status == 200
    assert replay.body["thread"] == {"type": "create"}
    assert [m["role"] for m in replay.body["messages"]] == ["user", "assistant", "user"]
    assert replay.body["messages"][2]["content"][0]["type"] == "tool_result"


async def test_async_runner_falls_back_when_a_deployment_cannot_thread(
    emulator: Emulator,
) -> None:
    emulator.configure(deployments={MODEL: {"unavailable_features": ["message_threads"]}})
    async with _async_client(emulator) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[get_weather], messages=ASK
        )
        final = await runner.until_done()
    assert final.stop_reason == "end_turn"
    refused, first, second = emulator.journal()
    assert refused.status == 400
    assert refused.body["thread"] == {"type": "create"}
    assert "thread" not in first.body
    assert "thread" not in second.body
    assert [m["role"] for m in second.body["messages"]] == ["user", "assistant", "user"]


def test_add_and_remove_tools_between_turns(emulator: Emulator) -> None:
    def run(client: AnthropicFoundry) -> None:
        runner = _weather_runner(client)
        for reply in runner:
            if reply.stop_reason == "tool_use":
                runner.add_tools(get_time)
                runner.remove_tools("get_weather")  # stops running at once, as officially
        runner.until_done()

    with _client(emulator) as client, pytest.warns(UserWarning, match="'get_weather' not found"):
        run(client)
    first, second = emulator.journal()
    assert second.body["messages"][2]["content"][0]["is_error"] is True
    assert [t["name"] for t in first.body["tools"]] == ["get_weather"]
    # New tools: a new thread, sent whole with them.
    assert second.body["thread"] == {"type": "create"}
    assert [t["name"] for t in second.body["tools"]] == ["get_time"]
    assert len(second.body["messages"]) == 3
