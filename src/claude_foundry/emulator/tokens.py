"""Token estimates for the emulator: one documented heuristic, used for every count.

The emulator has no tokenizer, so it estimates. The rules, all in this module:

* Text: ``ceil(len(text) / 4)`` tokens (about four characters per token, the usual rule of thumb
  for English); the empty string is 0 tokens, any other text at least 1. The responder cuts
  generated text with the same rule, so ``max_tokens=N`` leaves at most ``4 * N`` characters.
* Each message costs :data:`MESSAGE_OVERHEAD_TOKENS` (3) for its role framing, plus its blocks.
* An image block costs :data:`IMAGE_TOKENS` (1,600: roughly a 1,092 x 1,092 picture at
  ``width * height / 750``). A document block costs :data:`DOCUMENT_TOKENS` (2,000), except a
  plain-text document (``source.type == "text"``), which costs its text.
* ``tool_use`` blocks cost their name and JSON input; ``tool_result`` blocks cost their content
  (text by the text rule, images and documents as above). Thinking blocks in earlier turns cost
  nothing (the API drops them from the context). Any other block costs its JSON encoding.
* System: the text of a string or of each text block.
* Tools: :data:`TOOLS_PREAMBLE_TOKENS` (250, the hidden tool-use instructions) once when any tool
  is given, plus each tool definition's JSON encoding (without ``cache_control``) by the text rule.

``count_input_tokens`` is what ``count_tokens`` returns and what ``usage`` reports as the total
input (``input_tokens + cache_creation_input_tokens + cache_read_input_tokens``), so the two always
agree.

Prompt caching: :func:`cache_breakpoints` walks the request in the API's cache order (tools,
system, messages) and reports, for every block carrying ``cache_control``, the tokens of the
prefix up to and including it and a hash of that prefix. The responder turns those into the
``cache_creation_input_tokens`` / ``cache_read_input_tokens`` split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..types import CountTokensRequest, MessageCreateRequest, encode

__all__ = [
    "CHARS_PER_TOKEN",
    "DOCUMENT_TOKENS",
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "TOOLS_PREAMBLE_TOKENS",
    "CacheBreakpoint",
    "cache_breakpoints",
    "count_input_tokens",
    "estimate_tokens",
    "text_for_tokens",
]

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 3
IMAGE_TOKENS = 1600
DOCUMENT_TOKENS = 2000
TOOLS_PREAMBLE_TOKENS = 250

_Request = MessageCreateRequest | CountTokensRequest


def estimate_tokens(text: str) -> int:
    """Tokens in ``text``: ``ceil(len(text) / 4)``; 0 only for the empty string.

    >>> estimate_tokens(""), estimate_tokens("hi"), estimate_tokens("Hello, world")
    (0, 1, 3)
    """
    return -(-len(text) // CHARS_PER_TOKEN)


def text_for_tokens(tokens: int) -> int:
    """The most characters that still fit in ``tokens`` tokens (the inverse of the text rule)."""
    return max(0, tokens) * CHARS_PER_TOKEN


def _json_tokens(value: Any) -> int:
    return estimate_tokens(encode(value).decode())


def _without_cache_control(block: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if key != "cache_control"}


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return estimate_tokens(block)
    if not isinstance(block, Mapping):
        return _json_tokens(block)
    kind = block.get("type")
    if kind == "text":
        return estimate_tokens(str(block.get("text", "")))
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        source = block.get("source")
        if isinstance(source, Mapping) and source.get("type") == "text":
            return estimate_tokens(str(source.get("data", "")))
        return DOCUMENT_TOKENS
    if kind in ("thinking", "redacted_thinking"):
        return 0
    if kind in ("tool_use", "server_tool_use"):
        return estimate_tokens(str(block.get("name", ""))) + _json_tokens(block.get("input", {}))
    if kind == "tool_result":
        content = block.get("content")
        if content is None:
            return 0
        if isinstance(content, list):
            return sum(_block_tokens(part) for part in content)
        return _block_tokens(content)
    return _json_tokens(_without_cache_control(block))


class _Unit(NamedTuple):
    """One cacheable piece of the prompt, in cache order."""

    tokens: int
    marker: bytes  # the role, on a message's first unit
    source: Any  # the tool, system text or block the prefix hash covers
    cache_control: Mapping[str, Any] | None


def _units(request: _Request) -> Iterator[_Unit]:
    tools = request.tools or []
    for position, tool in enumerate(tools):
        preamble = TOOLS_PREAMBLE_TOKENS if position == 0 else 0
        body = _without_cache_control(tool) if isinstance(tool, Mapping) else tool
        yield _Unit(preamble + _json_tokens(body), b"", tool, _cache_control_of(tool))
    system = request.system
    if isinstance(system, str):
        if system:
            yield _Unit(estimate_tokens(system), b"", system, None)
    elif system:
        for block in system:
            yield _Unit(_block_tokens(block), b"", block, _cache_control_of(block))
    for message in request.messages:
        marker = _ROLE_MARKERS.get(message.role) or encode(message.role)
        content = message.content
        if isinstance(content, str):
            tokens = MESSAGE_OVERHEAD_TOKENS + estimate_tokens(content)
            yield _Unit(tokens, marker, content, None)
            continue
        if not content:
            yield _Unit(MESSAGE_OVERHEAD_TOKENS, marker, None, None)
            continue
        for position, block in enumerate(content):
            overhead = MESSAGE_OVERHEAD_TOKENS if position == 0 else 0
            yield _Unit(
                overhead + _block_tokens(block),
                marker if position == 0 else b"",
                block,
                _cache_control_of(block),
            )


_ROLE_MARKERS = {role: encode(role) for role in ("user", "assistant")}


def _identity(block: Any) -> bytes:
    return encode(_without_cache_control(block) if isinstance(block, Mapping) else block)


def _cache_control_of(block: Any) -> Mapping[str, Any] | None:
    if isinstance(block, Mapping):
        control = block.get("cache_control")
        if isinstance(control, Mapping):
            return control
    return None


def count_input_tokens(request: MessageCreateRequest | CountTokensRequest) -> int:
    """The estimated input tokens of a request: tools, system and messages, by the module rules."""
    return sum(unit.tokens for unit in _units(request))


@dataclass(frozen=True)
class CacheBreakpoint:
    """A ``cache_control`` mark: the prompt prefix up to and including the marked block."""

    tokens: int  # tokens of the whole prefix
    prefix_hash: str  # covers the deployment and every block of the prefix
    ttl: str  # "5m" or "1h"


def cache_breakpoints(request: MessageCreateRequest | CountTokensRequest) -> list[CacheBreakpoint]:
    """Every cache breakpoint of ``request``, in prompt order (shortest prefix first)."""
    units = list(_units(request))
    if all(unit.cache_control is None for unit in units):
        return []  # the common case: no hashing at all
    digest = hashlib.sha256(encode(request.model))
    total = 0
    marks: list[CacheBreakpoint] = []
    for unit in units:
        total += unit.tokens
        identity = unit.marker + _identity(unit.source)
        digest.update(len(identity).to_bytes(8, "big"))
        digest.update(identity)
        if unit.cache_control is not None:
            ttl = "1h" if unit.cache_control.get("ttl") == "1h" else "5m"
            marks.append(CacheBreakpoint(total, digest.copy().hexdigest(), ttl))
    return marks
