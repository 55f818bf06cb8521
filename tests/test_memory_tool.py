"""A memory tool subclassed from ``claude_foundry.lib.tools`` runs in our tool runner as the
official one runs in the official runner: same tool definition, same tool results, against the
emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import anthropic.lib.tools as official_tools
import pytest

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry, ToolError
from claude_foundry.emulator import Emulator
from claude_foundry.lib.tools import (
    BetaAbstractMemoryTool,
    BetaAsyncAbstractMemoryTool,
    BetaBuiltinFunctionTool,
)
from claude_foundry.testing import TEST_API_KEY

MODEL = "claude-sonnet-4-6"
ASK = [{"role": "user", "content": "Remember that I like tea and live in Oslo."}]


def _use(**command: Any) -> dict[str, Any]:
    return {"type": "tool_use", "name": "memory", "input": command}


# Every command once, and failures a memory backend reports with ToolError.
CALLS = [
    _use(command="create", path="/memories/notes.md", file_text="likes tea\nlives in Oslo\n"),
    _use(command="str_replace", path="/memories/notes.md", old_str="tea", new_str="coffee"),
    _use(command="insert", path="/memories/notes.md", insert_line=1, insert_text="works at night"),
    _use(command="view", path="/memories/notes.md", view_range=[1, 2]),
    _use(command="rename", old_path="/memories/notes.md", new_path="/memories/about.md"),
    _use(command="view", path="/memories"),
    _use(command="str_replace", path="/memories/gone.md", old_str="a", new_str="b"),
    _use(command="delete", path="/memories/about.md"),
    _use(command="view", path="/memories/about.md"),
]


class DictMemory:
    """A memory backend in a dict, written once and mixed into both SDKs' base classes: it reads
    the command objects only through their attributes, as user code does."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, str] = {}
        self.seen: list[str] = []

    def _text(self, path: str) -> str:
        if path not in self.files:
            raise self.error(f"The path {path} does not exist.")
        return self.files[path]

    def error(self, message: str) -> Exception:
        raise NotImplementedError

    def view(self, command: Any) -> str:
        self.seen.append(command.command)
        if command.path == "/memories":
            return "\n".join(sorted(self.files))
        lines = self._text(command.path).splitlines()
        if command.view_range is not None:
            first, last = command.view_range
            lines = lines[first - 1 : last]
        return "\n".join(lines)

    def create(self, command: Any) -> str:
        self.seen.append(command.command)
        self.files[command.path] = command.file_text
        return f"File created successfully at: {command.path}"

    def str_replace(self, command: Any) -> str:
        self.seen.append(command.command)
        text = self._text(command.path)
        self.files[command.path] = text.replace(command.old_str, command.new_str, 1)
        return "The memory file has been edited."

    def insert(self, command: Any) -> str:
        self.seen.append(command.command)
        lines = self._text(command.path).splitlines()
        lines.insert(command.insert_line, command.insert_text)
        self.files[command.path] = "\n".join(lines) + "\n"
        return f"The file {command.path} has been edited."

    def delete(self, command: Any) -> str:
        self.seen.append(command.command)
        self._text(command.path)
        del self.files[command.path]
        return f"Successfully deleted {command.path}"

    def rename(self, command: Any) -> str:
        self.seen.append(command.command)
        self.files[command.new_path] = self._text(command.old_path)
        del self.files[command.old_path]
        return f"Successfully renamed {command.old_path} to {command.new_path}"


class OurMemory(DictMemory, BetaAbstractMemoryTool):
    def error(self, message: str) -> Exception:
        return ToolError(message)


class OfficialMemory(DictMemory, official_tools.BetaAbstractMemoryTool):
    def error(self, message: str) -> Exception:
        return official_tools.ToolError(message)


def _script(emulator: Emulator, calls: list[dict[str, Any]]) -> None:
    emulator.add_script({"tool": "memory", "replies": [{"content": calls}, {"text": "Noted."}]})


def _exchange(emulator: Emulator) -> tuple[Any, list[Any]]:
    """The tools sent first, and every tool_result block sent, in order."""
    journal = emulator.journal()
    results = [
        block
        for entry in journal
        for message in entry.body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    return journal[0].body["tools"], results


def test_our_memory_tool_runs_as_the_official_one_does(emulator: Emulator) -> None:
    official_memory = OfficialMemory()
    _script(emulator, CALLS)
    with anthropic.AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as sdk:
        official_final = sdk.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[official_memory], messages=ASK
        ).until_done()
    official = _exchange(emulator)

    emulator.reset()
    ours_memory = OurMemory()
    _script(emulator, CALLS)
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        final = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[ours_memory], messages=ASK
        ).until_done()
    ours = _exchange(emulator)

    assert final.content[0].text == official_final.content[0].text == "Noted."
    assert ours == official
    tools, results = ours
    assert tools == [{"type": "memory_20250818", "name": "memory"}]
    assert ours_memory.seen == official_memory.seen == [call["input"]["command"] for call in CALLS]
    assert ours_memory.files == official_memory.files == {}
    by_result = [(r["content"], r.get("is_error", False)) for r in results]
    assert by_result[3] == ("likes coffee\nworks at night", False)
    assert by_result[5] == ("/memories/about.md", False)
    assert by_result[6] == ("The path /memories/gone.md does not exist.", True)
    assert by_result[8] == ("The path /memories/about.md does not exist.", True)


def test_cache_control_goes_into_the_definition() -> None:
    ours = OurMemory.__new__(OurMemory)
    BetaAbstractMemoryTool.__init__(ours, cache_control={"type": "ephemeral"})
    official = OfficialMemory.__new__(OfficialMemory)
    official_tools.BetaAbstractMemoryTool.__init__(official, cache_control={"type": "ephemeral"})
    assert ours.to_dict() == official.to_dict()
    assert ours.name == official.name == "memory"
    assert isinstance(ours, BetaBuiltinFunctionTool)


def test_bad_input_is_a_tool_error_the_model_reads(emulator: Emulator) -> None:
    memory = OurMemory()
    _script(emulator, [_use(command="create", path="/memories/x.md"), _use(command="zap")])
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[memory], messages=ASK
        ).until_done()
    _, (missing_field, unknown) = _exchange(emulator)
    assert missing_field["is_error"]
    assert unknown["is_error"]
    assert "missing required field `file_text`" in missing_field["content"]
    assert "Unknown command: zap" in unknown["content"]
    assert memory.files == {}


def test_an_abstract_memory_tool_must_implement_every_command() -> None:
    class OnlyView(BetaAbstractMemoryTool):
        def view(self, command: Any) -> str:
            return ""

    with pytest.raises(TypeError, match="abstract"):
        OnlyView()  # type: ignore[abstract]
    with pytest.raises(NotImplementedError):
        OurMemory().clear_all_memory()


class AsyncDictMemory(BetaAsyncAbstractMemoryTool):
    """The async base: each command is awaited."""

    def __init__(self) -> None:
        super().__init__()
        self.sync = OurMemory()

    async def view(self, command: Any) -> str:
        await asyncio.sleep(0)
        return self.sync.view(command)

    async def create(self, command: Any) -> str:
        return self.sync.create(command)

    async def str_replace(self, command: Any) -> str:
        return self.sync.str_replace(command)

    async def insert(self, command: Any) -> str:
        return self.sync.insert(command)

    async def delete(self, command: Any) -> str:
        return self.sync.delete(command)

    async def rename(self, command: Any) -> str:
        return self.sync.rename(command)


async def test_the_async_memory_tool_in_the_async_runner(emulator: Emulator) -> None:
    _script(emulator, CALLS)
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[OurMemory()], messages=ASK
        ).until_done()
    sync_exchange = _exchange(emulator)

    emulator.reset()
    memory = AsyncDictMemory()
    _script(emulator, CALLS)
    async with AsyncAnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        final = await client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[memory], messages=ASK
        ).until_done()
    assert final.content[0].text == "Noted."
    assert _exchange(emulator) == sync_exchange


def test_the_sync_runner_refuses_the_async_memory_tool(emulator: Emulator) -> None:
    with (
        AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client,
        pytest.raises(TypeError, match="async"),
    ):
        client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[AsyncDictMemory()], messages=ASK
        )
