"""Which tool the emulator's default reply calls, so that a tool loop runs as it would on Claude.

A *loop* starts at the prompt, the last user message that is more than tool results, and goes on
through every assistant ``tool_use`` turn and user ``tool_result`` turn after it. With tools
offered and ``tool_choice`` ``auto``, each reply in the loop calls the offered tool that best
matches the prompt and has not been called in the loop yet; when no such tool is left, the reply
is text that reports every result of the loop.

A tool matches by the words it shares with the prompt: 100 points when the prompt names it as a
whole word, 3 for each word of its name, 1 for each word of its description. Words are compared in
lower case without a plural ``s``; short words (under 3 letters) and common ones ("the", "what",
"get", "please", ...) do not count. A tool that scores 0 is never called; ties go to the tool
offered first. Sans-IO and deterministic.

    >>> weather = {"name": "get_weather", "description": "Current weather for a city."}
    >>> time = {"name": "get_time", "description": "The local time in a city."}
    >>> best_tool([time, weather], "What is the weather in Paris?")["name"]
    'get_weather'
    >>> best_tool([time, weather], "Hello!") is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..types import MessageCreateRequest, RequestMessage

__all__ = ["best_tool", "custom_tools", "loop_prompt", "loop_results", "tools_called_in_loop"]

_NAMED = 100
_NAME_WORD = 3
_DESCRIPTION_WORD = 1
# Words that say nothing about which tool fits (a str.split literal keeps the list readable).
_COMMON_WORDS = frozenset(
    """
    the and for you your are was were what when where which who why how can could would should
    will shall may might must does did has have had this that these those there here with from
    into onto about over under then than them they their its our out all any some get set use
    using call run tool tools please tell give show want need like just also now not but
    let lets make find look know
    """.split()  # noqa: SIM905
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    found = set()
    for word in _WORD.findall(_CAMEL.sub(" ", text).lower()):
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if len(word) >= 3 and word not in _COMMON_WORDS:
            found.add(word)
    return found


def _score(tool: Mapping[str, Any], prompt: str, prompt_words: set[str]) -> int:
    name = str(tool.get("name", ""))
    score = 0
    if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", prompt, re.IGNORECASE):
        score += _NAMED
    score += _NAME_WORD * len(_words(name) & prompt_words)
    description = tool.get("description")
    if isinstance(description, str):
        score += _DESCRIPTION_WORD * len(_words(description) & prompt_words)
    return score


def best_tool(
    tools: Iterable[Mapping[str, Any]], prompt: str, *, exclude: Collection[str] = ()
) -> Mapping[str, Any] | None:
    """The tool that matches ``prompt`` best, leaving out the names in ``exclude``; None when
    none matches at all."""
    prompt_words = _words(prompt)
    best: Mapping[str, Any] | None = None
    best_score = 0
    for tool in tools:
        if tool.get("name") in exclude:
            continue
        score = _score(tool, prompt, prompt_words)
        if score > best_score:
            best, best_score = tool, score
    return best


def custom_tools(request: MessageCreateRequest) -> list[Mapping[str, Any]]:
    """The tools the caller runs: server tools (web search, code execution, ...) have a versioned
    ``type`` and no input schema, and are left out."""
    return [
        tool
        for tool in request.tools or []
        if isinstance(tool, Mapping)
        and isinstance(tool.get("name"), str)
        and tool.get("type") in (None, "custom")
    ]


def _blocks(message: RequestMessage) -> list[Mapping[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}]
    return [block for block in message.content if isinstance(block, Mapping)]


def _only_results(message: RequestMessage) -> bool:
    blocks = _blocks(message)
    return bool(blocks) and all(block.get("type") == "tool_result" for block in blocks)


def _prompt_index(request: MessageCreateRequest) -> int | None:
    for index in range(len(request.messages) - 1, -1, -1):
        message = request.messages[index]
        if message.role == "user" and not _only_results(message):
            return index
    return None


def loop_prompt(request: MessageCreateRequest) -> str:
    """The text of the loop's prompt: its text blocks joined by a space ("" without one)."""
    index = _prompt_index(request)
    if index is None:
        return ""
    return " ".join(
        str(block.get("text", ""))
        for block in _blocks(request.messages[index])
        if block.get("type") == "text"
    )


def _loop_messages(request: MessageCreateRequest) -> list[RequestMessage]:
    index = _prompt_index(request)
    return request.messages[(index if index is not None else -1) + 1 :]


def tools_called_in_loop(request: MessageCreateRequest) -> set[str]:
    """Names of the tools the assistant called since the loop's prompt."""
    return {
        str(block.get("name"))
        for message in _loop_messages(request)
        if message.role == "assistant"
        for block in _blocks(message)
        if block.get("type") == "tool_use"
    }


def loop_results(request: MessageCreateRequest) -> list[tuple[str, Mapping[str, Any]]]:
    """``(tool name, tool_result block)`` for every result returned since the loop's prompt, in
    order; a result whose call is not in the conversation is named ``"unknown tool"``."""
    names: dict[str, str] = {}
    results: list[tuple[str, Mapping[str, Any]]] = []
    for message in request.messages:
        for block in _blocks(message):
            if block.get("type") == "tool_use":
                names[str(block.get("id"))] = str(block.get("name", ""))
    for message in _loop_messages(request):
        if message.role != "user":
            continue
        for block in _blocks(message):
            if block.get("type") == "tool_result":
                name = names.get(str(block.get("tool_use_id")), "unknown tool")
                results.append((name, block))
    return results
