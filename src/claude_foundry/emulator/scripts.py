"""Scripted replies: fixture files that say what the emulator answers to which request.

A script file is TOML or JSON holding a list of rules under ``scripts`` (a JSON file may also be a
bare list). The first rule whose conditions all hold answers the request; a rule with no
conditions answers everything. Example (TOML)::

    [[scripts]]
    name = "weather round trip"          # optional label, shown in listings
    deployment = "claude-sonnet-5"       # the request's deployment (its "model" field)
    contains = "weather"                 # case-insensitive substring of the last user text
    # regex = "weather in (\\w+)"        # or a Python regular expression (re.search)
    # tool = "get_weather"               # the request offers a tool of this name
    # tool_result = "get_weather"        # the last user turn returns a result of this tool
    [[scripts.replies]]                  # one reply per matching call; the last one repeats
    content = [{ type = "tool_use", name = "get_weather", input = { city = "Paris" } }]
    [[scripts.replies]]
    text = "It is sunny in Paris."

A reply (``reply = {...}`` for one, ``replies = [...]`` for a sequence) has:

* ``text``: the reply's text block, or ``content``: a list of content blocks in wire form
  (``tool_use`` blocks may omit ``id``, which is then generated, and ``input``, default ``{}``);
* ``thinking`` (optional): a thinking block put first, with a generated signature;
* ``stop_reason`` / ``stop_sequence`` (optional). Without ``stop_reason`` the reply is treated as
  generated output: ``max_tokens`` and ``stop_sequences`` cut its text like any other reply, and
  the stop reason is ``tool_use`` when it holds a ``tool_use`` block, else ``end_turn``. With an
  explicit ``stop_reason`` the reply is returned exactly as written;
* ``usage`` (optional): fields that replace the computed usage, e.g. ``{output_tokens = 7}``; any
  field of ``Usage``: the four token counts, ``cache_creation``, ``server_tool_use`` and
  ``output_tokens_details`` (tables of counts), ``service_tier``, ``inference_geo``, ``speed``.

Retries: the reply given to a request is remembered by the hash of its body, so an identical
request (an SDK retry) gets the same reply again without advancing the sequence.
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..types import MessageCreateRequest, RequestMessage
from .files import read_regular_file

__all__ = [
    "ScriptBook",
    "ScriptedReply",
    "last_user_message",
    "last_user_text",
    "tool_results_in_last_turn",
]

_RULE_KEYS = frozenset(
    {"id", "name", "deployment", "contains", "regex", "tool", "tool_result", "reply", "replies"}
)
_REPLY_KEYS = frozenset({"text", "thinking", "content", "stop_reason", "stop_sequence", "usage"})
_USAGE_COUNTS = frozenset(
    {"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}
)
# Usage fields that hold a table of counts, with the counts each may hold.
_USAGE_TABLES = {
    "cache_creation": frozenset({"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"}),
    "server_tool_use": frozenset({"web_search_requests", "web_fetch_requests"}),
    "output_tokens_details": frozenset({"thinking_tokens"}),
}
_USAGE_LABELS = frozenset({"service_tier", "inference_geo", "speed"})
_USAGE_KEYS = _USAGE_COUNTS | _USAGE_TABLES.keys() | _USAGE_LABELS
_MEMO_SIZE = 1024


# --- reading a request ----------------------------------------------------------------------


def last_user_message(request: MessageCreateRequest) -> RequestMessage | None:
    for message in reversed(request.messages):
        if message.role == "user":
            return message
    return None


def last_user_text(request: MessageCreateRequest) -> str:
    """The text of the last user turn: a string, or its text blocks joined by a space."""
    message = last_user_message(request)
    if message is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts = [
        str(block.get("text", ""))
        for block in message.content
        if isinstance(block, Mapping) and block.get("type") == "text"
    ]
    return " ".join(parts)


def tool_results_in_last_turn(
    request: MessageCreateRequest,
) -> list[tuple[str, Mapping[str, Any]]]:
    """``(tool name, tool_result block)`` for each tool result in the last user turn.

    The name comes from the matching ``tool_use`` block of an earlier assistant turn; an unknown
    id gives the name ``"unknown tool"``.
    """
    message = last_user_message(request)
    if message is None or isinstance(message.content, str):
        return []
    names: dict[str, str] = {}
    for turn in request.messages:
        if turn.role == "assistant" and not isinstance(turn.content, str):
            for block in turn.content:
                if isinstance(block, Mapping) and block.get("type") == "tool_use":
                    names[str(block.get("id"))] = str(block.get("name", ""))
    return [
        (names.get(str(block.get("tool_use_id")), "unknown tool"), block)
        for block in message.content
        if isinstance(block, Mapping) and block.get("type") == "tool_result"
    ]


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedReply:
    """One scripted answer, as validated from a rule's ``reply`` / ``replies``."""

    text: str | None = None
    thinking: str | None = None
    content: tuple[Mapping[str, Any], ...] | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    rule_id: str = ""


@dataclass
class _Rule:
    id: str
    name: str | None
    deployment: str | None
    contains: str | None
    regex: re.Pattern[str] | None
    tool: str | None
    tool_result: str | None
    replies: list[ScriptedReply]
    calls: int = 0

    def matches(self, request: MessageCreateRequest, deployment: str) -> bool:
        if self.deployment is not None and self.deployment != deployment:
            return False
        if self.contains is not None or self.regex is not None:
            text = last_user_text(request)
            if self.contains is not None and self.contains.casefold() not in text.casefold():
                return False
            if self.regex is not None and self.regex.search(text) is None:
                return False
        if self.tool is not None:
            offered = {str(t.get("name")) for t in request.tools or [] if isinstance(t, Mapping)}
            if self.tool not in offered:
                return False
        if self.tool_result is not None:
            returned = {name for name, _ in tool_results_in_last_turn(request)}
            if self.tool_result not in returned:
                return False
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "deployment": self.deployment,
            "contains": self.contains,
            "regex": self.regex.pattern if self.regex is not None else None,
            "tool": self.tool,
            "tool_result": self.tool_result,
            "replies": len(self.replies),
            "calls": self.calls,
        }


def _optional_str(rule: Mapping[str, Any], key: str, where: str) -> str | None:
    value = rule.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}: `{key}` must be a string, got {value!r}")
    return value


def _parse_reply(data: Any, where: str, rule_id: str) -> ScriptedReply:
    if isinstance(data, str):
        data = {"text": data}
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: a reply must be a table/object or a string, got {data!r}")
    unknown = sorted(set(data) - _REPLY_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown reply key(s) {unknown}; allowed: {sorted(_REPLY_KEYS)}")
    text = _optional_str(data, "text", where)
    thinking = _optional_str(data, "thinking", where)
    stop_reason = _optional_str(data, "stop_reason", where)
    stop_sequence = _optional_str(data, "stop_sequence", where)
    raw_content = data.get("content")
    if (text is None) == (raw_content is None):
        raise ValueError(f"{where}: give exactly one of `text` or `content`")
    content: tuple[Mapping[str, Any], ...] | None = None
    if raw_content is not None:
        if not isinstance(raw_content, list) or not raw_content:
            raise ValueError(f"{where}: `content` must be a non-empty list of content blocks")
        blocks = []
        for position, block in enumerate(raw_content):
            if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
                raise ValueError(
                    f"{where}: content[{position}] must be an object with a string `type`"
                )
            if block["type"] == "tool_use" and not isinstance(block.get("name"), str):
                raise ValueError(f"{where}: content[{position}] (tool_use) needs a string `name`")
            blocks.append(dict(block))
        content = tuple(blocks)
    usage_data = data.get("usage")
    if usage_data is None:
        usage_data = {}
    _check_usage(usage_data, where)
    return ScriptedReply(
        text=text,
        thinking=thinking,
        content=content,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        usage=dict(usage_data),  # checked above: a mapping
        rule_id=rule_id,
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_usage(usage: object, where: str) -> None:
    """Every field of ``usage`` is one :class:`~claude_foundry.types.Usage` has, of its kind."""
    if not isinstance(usage, Mapping):
        raise ValueError(f"{where}: `usage` must be a table/object of usage fields")
    for key, value in usage.items():
        if key in _USAGE_COUNTS:
            if not _is_count(value):
                raise ValueError(f"{where}: usage.{key} must be a non-negative integer")
        elif key in _USAGE_TABLES:
            allowed = _USAGE_TABLES[key]
            if not isinstance(value, Mapping):
                raise ValueError(
                    f"{where}: usage.{key} must be a table/object with {sorted(allowed)}"
                )
            for inner, count in value.items():
                if inner not in allowed:
                    raise ValueError(
                        f"{where}: unknown field usage.{key}.{inner}; allowed: {sorted(allowed)}"
                    )
                if not _is_count(count):
                    raise ValueError(f"{where}: usage.{key}.{inner} must be a non-negative integer")
        elif key in _USAGE_LABELS:
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}: usage.{key} must be a non-empty string")
        else:
            raise ValueError(
                f"{where}: unknown usage field {key!r}; allowed: {sorted(_USAGE_KEYS)}"
            )


def _parse_rule(data: Any, rule_id: str) -> _Rule:
    where = f"script rule {rule_id}"
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: a rule must be a table/object, got {data!r}")
    name = _optional_str(data, "name", where)
    if name:
        where = f"script rule {rule_id} ({name!r})"
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_RULE_KEYS)}")
    if ("reply" in data) == ("replies" in data):
        raise ValueError(f"{where}: give exactly one of `reply` (one reply) or `replies` (a list)")
    if "reply" in data:
        raw_replies = [data["reply"]]
    else:
        raw_replies = data["replies"]
        if not isinstance(raw_replies, list) or not raw_replies:
            raise ValueError(f"{where}: `replies` must be a non-empty list")
    pattern = _optional_str(data, "regex", where)
    try:
        regex = re.compile(pattern) if pattern is not None else None
    except re.error as exc:
        raise ValueError(f"{where}: `regex` {pattern!r} does not compile: {exc}") from None
    return _Rule(
        id=rule_id,
        name=name,
        deployment=_optional_str(data, "deployment", where),
        contains=_optional_str(data, "contains", where),
        regex=regex,
        tool=_optional_str(data, "tool", where),
        tool_result=_optional_str(data, "tool_result", where),
        replies=[
            _parse_reply(reply, f"{where}, reply {index}", rule_id)
            for index, reply in enumerate(raw_replies)
        ],
    )


class ScriptBook:
    """An ordered set of script rules, safe to use from the server thread and the test thread.

    >>> book = ScriptBook()
    >>> book.add({"contains": "ping", "reply": {"text": "pong"}})["id"]
    'script_1'
    """

    def __init__(self, rules: Iterable[Mapping[str, Any]] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._memo: OrderedDict[str, ScriptedReply] = OrderedDict()
        self._next_id = 1
        for rule in rules or ():
            self.add(rule)

    def load(self, path: str | Path) -> list[dict[str, Any]]:
        """Add every rule of a TOML or JSON script file; returns the added rules.

        Raises :class:`ValueError` naming the file and the problem when it cannot be used.
        """
        file = Path(path)
        kind = "JSON" if file.suffix.lower() == ".json" else "TOML"
        try:
            raw = read_regular_file(file, what="script file").decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"script file {str(file)!r} is not UTF-8 text; save it as UTF-8 {kind}"
            ) from None
        try:
            data: Any = json.loads(raw) if kind == "JSON" else tomllib.loads(raw)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"script file {str(file)!r} is not valid {kind}: {exc}") from None
        try:
            return self.load_data(data)
        except ValueError as exc:
            raise ValueError(f"script file {str(file)!r}: {exc}") from None

    def load_data(self, data: Any) -> list[dict[str, Any]]:
        """Add rules from parsed data: ``{"scripts": [...]}``, a list of rules, or one rule."""
        if isinstance(data, Mapping) and "scripts" in data:
            extra = sorted(set(data) - {"scripts"})
            if extra:
                raise ValueError(f"unknown top-level key(s) {extra}; expected only `scripts`")
            data = data["scripts"]
        if isinstance(data, Mapping):
            data = [data]
        if not isinstance(data, list):
            raise ValueError("expected a list of script rules (TOML: [[scripts]] tables)")
        with self._lock:  # ids are numbered from a shared counter
            parsed = [self._parse_next(rule, offset) for offset, rule in enumerate(data)]
            taken = {rule.id for rule in self._rules}
            for rule in parsed:
                if rule.id in taken:
                    raise ValueError(f"script rule id {rule.id!r} already exists; pick another")
                taken.add(rule.id)
            self._rules.extend(parsed)
            self._next_id += len(parsed)
        return [rule.describe() for rule in parsed]

    def _parse_next(self, data: Any, offset: int) -> _Rule:
        rule_id = data.get("id") if isinstance(data, Mapping) else None
        if rule_id is None:
            rule_id = f"script_{self._next_id + offset}"
        elif not isinstance(rule_id, str) or not rule_id:
            raise ValueError(f"script rule id must be a non-empty string, got {rule_id!r}")
        return _parse_rule(data, rule_id)

    def add(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and append one rule; returns its description (with ``id``)."""
        return self.load_data([rule])[0]

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            for key in [k for k, reply in self._memo.items() if reply.rule_id == rule_id]:
                del self._memo[key]
        return removed

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._memo.clear()
            self._next_id = 1

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def __len__(self) -> int:
        return len(self._rules)

    def match(
        self, request: MessageCreateRequest, deployment: str, body_hash: str
    ) -> ScriptedReply | None:
        """The scripted reply for ``request``, or None when no rule matches.

        A body hash seen before gets the reply it got then, so a retried request is answered the
        same way and does not advance a sequence.
        """
        with self._lock:
            remembered = self._memo.get(body_hash)
            if remembered is not None:
                self._memo.move_to_end(body_hash)
                return remembered
            for rule in self._rules:
                if rule.matches(request, deployment):
                    reply = rule.replies[min(rule.calls, len(rule.replies) - 1)]
                    rule.calls += 1
                    self._memo[body_hash] = reply
                    if len(self._memo) > _MEMO_SIZE:
                        self._memo.popitem(last=False)
                    return reply
        return None
