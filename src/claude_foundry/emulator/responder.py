"""What the emulator answers: deterministic replies and their usage.

Sans-IO: a :class:`Responder` turns a validated request into a
:class:`~claude_foundry.types.Message`; :func:`stream_events` (from :mod:`.events`, re-exported
here) turns a message into its stream events; the HTTP app does the rest.

The default reply, derived from the request alone so tests can predict it:

* Text: ``You said: "<snippet>". This is a deterministic reply from the Foundry emulator.``
  where the snippet is the last user turn's text with whitespace collapsed, cut to 200 characters
  (``...`` appended when cut); image and document blocks appear as ``[image]`` / ``[document]``
  and an empty turn as ``(no text)``. :func:`default_reply_text` computes it.
* Tool use: ``tool_choice`` ``{"type": "tool", "name": N}`` gives a ``tool_use`` block for N;
  ``{"type": "any"}`` for the offered tool that best matches the prompt, else the first offered
  tool. With ``auto`` (or no ``tool_choice``) the reply runs a tool loop (:mod:`.tool_loop`): it
  calls the offered tool that best matches the prompt (the last user text that is not only tool
  results) and has not been called since that prompt, as ``I will call the <tool> tool.``
  followed by the ``tool_use`` block. ``none`` never uses a tool. The input holds every required
  property of the tool's ``input_schema`` with a deterministic value (:func:`example_input`); the
  id is ``toolu_01`` plus 22 characters derived from the message id.
* Tool results: when no tool is left to call, the reply reports every result returned since the
  prompt, in order: ``The <tool> tool returned: "<snippet>".`` (``reported an error`` when
  ``is_error``), joined by a space.
* Thinking: ``{"type": "enabled", "budget_tokens": N}`` or ``{"type": "adaptive"}`` puts a
  thinking block first (``The user wrote: "<snippet>". ...``, cut to N tokens) with a
  deterministic signature.
* Structured outputs: with ``output_config.format`` (or the older ``output_format``) of type
  ``json_schema``, the final text block is instead the compact JSON of :func:`example_input` for
  the schema (``tool_use`` blocks are unaffected). Deployments hosted on Azure never get here:
  the app refuses the feature with 400 first.
* Limits: output is generated block by block against ``max_tokens`` (token rule of
  :mod:`.tokens`); text is cut to the remaining budget with ``stop_reason`` ``"max_tokens"``, and
  before the first stop sequence with ``"stop_sequence"`` when that sequence ends within the budget.
* Usage: ``input_tokens`` from :func:`.tokens.count_input_tokens`; ``output_tokens`` the tokens of
  the returned content. With ``cache_control`` breakpoints, a prefix of at least
  ``min_cacheable_tokens`` (1,024) is written on first sight (``cache_creation_input_tokens``)
  and read afterwards (``cache_read_input_tokens``) for 5 minutes (1 hour with ``ttl: "1h"``),
  refreshed on each read; ``input_tokens`` is then the rest. With both TTLs the write is split
  as billed: up to the last 1-hour breakpoint ``ephemeral_1h_input_tokens``, the rest
  ``ephemeral_5m_input_tokens``. Without breakpoints both are 0.

Scripted replies (:mod:`.scripts`) win over all of the above.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import msgspec

from ..types import (
    CacheCreation,
    ContentBlock,
    Message,
    MessageCreateRequest,
    RedactedThinkingBlock,
    ServerToolUseBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
    Usage,
    encode,
)
from .conversation import ConversationError, check_conversation
from .events import stream_events
from .schema import example_input
from .scripts import ScriptBook, ScriptedReply, last_user_message
from .tokens import cache_breakpoints, count_input_tokens, estimate_tokens, text_for_tokens
from .tool_loop import best_tool, custom_tools, loop_prompt, loop_results, tools_called_in_loop

__all__ = [
    "InvalidRequestError",
    "Responder",
    "check_request",
    "default_reply_text",
    "example_input",
    "output_tokens_of",
    "stream_events",
    "thinking_signature",
]

SNIPPET_CHARS = 200
MIN_CACHEABLE_TOKENS = 1024
MIN_THINKING_BUDGET = 1024
_CACHE_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class InvalidRequestError(ValueError):
    """The request is well-formed JSON but the API would refuse it (HTTP 400,
    ``invalid_request_error``); the message says what to change."""

    error_type = "invalid_request_error"
    status = 400


# --- text the emulator writes ---------------------------------------------------------------


def _snippet(text: str) -> str:
    collapsed = " ".join(text.split())
    if not collapsed:
        return "(no text)"
    if len(collapsed) > SNIPPET_CHARS:
        return collapsed[:SNIPPET_CHARS].rstrip() + "..."
    return collapsed


def _turn_text(request: MessageCreateRequest) -> str:
    message = last_user_message(request)
    if message is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts: list[str] = []
    for block in message.content:
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind in ("image", "document"):
            parts.append(f"[{kind}]")
    return " ".join(parts)


def default_reply_text(request: MessageCreateRequest) -> str:
    """The text the emulator answers ``request`` with when no script or tool applies."""
    snippet = _snippet(_turn_text(request))
    return f'You said: "{snippet}". This is a deterministic reply from the Foundry emulator.'


def _tool_result_text(name: str, block: Mapping[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        content = " ".join(
            str(part.get("text", "")) if part.get("type") == "text" else f"[{part.get('type')}]"
            for part in content
            if isinstance(part, Mapping)
        )
    snippet = _snippet(str(content) if content is not None else "")
    verb = "reported an error" if block.get("is_error") else "returned"
    return f'The {name} tool {verb}: "{snippet}".'


def thinking_signature(thinking: str) -> str:
    """A deterministic stand-in for the opaque signature the API puts on thinking blocks."""
    digest = hashlib.sha256(b"claude-foundry-emulator:" + thinking.encode()).digest()
    return base64.b64encode(b"\x12" + digest * 3).decode()


def _thinking_block(thinking: str) -> ThinkingBlock:
    return ThinkingBlock(thinking=thinking, signature=thinking_signature(thinking))


def _tool_use_id(message_id: str, position: int) -> str:
    number = int.from_bytes(hashlib.sha256(f"{message_id}/{position}".encode()).digest(), "big")
    chars = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "toolu_01" + "".join(chars)


# --- choosing what to say -------------------------------------------------------------------


def _thinking_mode(request: MessageCreateRequest) -> str | None:
    thinking = request.thinking
    if not thinking:
        return None
    kind = thinking.get("type")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise InvalidRequestError("thinking.budget_tokens: an integer is required")
        if budget < MIN_THINKING_BUDGET:
            raise InvalidRequestError(
                f"thinking.budget_tokens: must be at least {MIN_THINKING_BUDGET}, got {budget}"
            )
        if budget >= request.max_tokens:
            raise InvalidRequestError(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                "documentation at https://docs.claude.com/en/docs/build-with-claude/"
                "extended-thinking#max-tokens-and-context-window-size"
            )
        return "enabled"
    if kind in ("adaptive", "disabled"):
        return None if kind == "disabled" else "adaptive"
    raise InvalidRequestError(
        f"thinking.type: expected 'enabled', 'adaptive' or 'disabled', got {kind!r}"
    )


def _forced_tool(request: MessageCreateRequest) -> Mapping[str, Any] | None:
    choice = request.tool_choice or {}
    kind = choice.get("type", "auto")
    if kind in ("auto", "none"):
        return None
    tools = custom_tools(request)
    if kind == "tool":
        name = choice.get("name")
        for tool in tools:
            if tool["name"] == name:
                return tool
        offered = [str(tool["name"]) for tool in tools]
        raise InvalidRequestError(
            f"tool_choice names the tool {name!r}, which is not among the request's tools "
            f"{offered}; add it to `tools` or name one of those"
        )
    if kind == "any":
        if not tools:
            raise InvalidRequestError(
                "tool_choice {'type': 'any'} needs at least one tool in `tools`"
            )
        return best_tool(tools, loop_prompt(request)) or tools[0]
    raise InvalidRequestError(
        f"tool_choice.type: expected 'auto', 'any', 'tool' or 'none', got {kind!r}"
    )


def check_request(request: MessageCreateRequest, *, context_window: int | None = None) -> None:
    """Raise :class:`InvalidRequestError` when the API would refuse ``request``.

    Checks ``thinking`` (type, a ``budget_tokens`` of at least 1,024 and below ``max_tokens``),
    ``tool_choice`` (type, a named tool among ``tools``, tools for ``any``), the two together,
    the conversation as a whole (:func:`.conversation.check_conversation`) and the prompt
    against ``context_window``.
    """
    if _thinking_mode(request) is not None and _forced_tool(request) is not None:
        raise InvalidRequestError(
            "Thinking may not be enabled when tool_choice forces tool use; use tool_choice "
            "'auto' or disable thinking"
        )
    try:
        check_conversation(request)
    except ConversationError as exc:
        raise InvalidRequestError(str(exc)) from None
    if context_window is not None:
        prompt = count_input_tokens(request)
        if prompt > context_window:
            raise InvalidRequestError(
                f"prompt is too long: {prompt} tokens > {context_window} maximum"
            )


def _tool_use(tool: Mapping[str, Any], message_id: str, position: int) -> ToolUseBlock:
    schema = tool.get("input_schema")
    value = example_input(schema if isinstance(schema, Mapping) else {})
    if not isinstance(value, dict):
        value = {}  # tool input is always an object, whatever the schema says
    return ToolUseBlock(id=_tool_use_id(message_id, position), name=str(tool["name"]), input=value)


def _default_plan(request: MessageCreateRequest, message_id: str) -> list[ContentBlock]:
    thinking = _thinking_mode(request)
    forced = _forced_tool(request)
    blocks: list[ContentBlock] = []
    snippet = _snippet(_turn_text(request))
    if thinking is not None:
        text = f'The user wrote: "{snippet}". I will acknowledge it and quote it back.'
        budget = (request.thinking or {}).get("budget_tokens")
        if isinstance(budget, int):
            text = text[: text_for_tokens(budget)]
        blocks.append(_thinking_block(text))
    choice = (request.tool_choice or {}).get("type", "auto")
    if forced is not None:
        blocks.append(_tool_use(forced, message_id, len(blocks)))
        return blocks
    if choice != "none":
        chosen = best_tool(
            custom_tools(request), loop_prompt(request), exclude=tools_called_in_loop(request)
        )
        if chosen is not None:
            blocks.append(TextBlock(text=f"I will call the {chosen['name']} tool."))
            blocks.append(_tool_use(chosen, message_id, len(blocks)))
            return blocks
    results = loop_results(request)
    schema = _output_schema(request)
    if schema is not None:
        blocks.append(TextBlock(text=encode(example_input(schema)).decode()))
    elif results:
        acknowledgements = [_tool_result_text(name, block) for name, block in results]
        blocks.append(TextBlock(text=" ".join(acknowledgements)))
    else:
        blocks.append(TextBlock(text=default_reply_text(request)))
    return blocks


def _output_schema(request: MessageCreateRequest) -> Mapping[str, Any] | None:
    """The JSON schema the reply text must follow (structured outputs), or None."""
    config = request.output_config or {}
    output_format = config.get("format") or request.output_format
    if not isinstance(output_format, Mapping) or output_format.get("type") != "json_schema":
        return None
    schema = output_format.get("schema")
    return schema if isinstance(schema, Mapping) else {}


def _scripted_plan(reply: ScriptedReply, message_id: str) -> list[ContentBlock]:
    blocks: list[ContentBlock] = []
    if reply.thinking is not None:
        blocks.append(_thinking_block(reply.thinking))
    if reply.text is not None:
        blocks.append(TextBlock(text=reply.text))
    for raw in reply.content or ():
        data = dict(raw)
        if data["type"] in ("tool_use", "server_tool_use"):
            data.setdefault("id", _tool_use_id(message_id, len(blocks)))
            data.setdefault("input", {})
        if data["type"] == "thinking" and "signature" not in data:
            data["signature"] = thinking_signature(str(data.get("thinking", "")))
        blocks.append(_block_from_dict(data))
    return blocks


_KNOWN_BLOCK_TYPE: Any = ContentBlock


def _block_from_dict(data: dict[str, Any]) -> ContentBlock:
    try:
        return cast(ContentBlock, msgspec.convert(data, _KNOWN_BLOCK_TYPE))
    except msgspec.ValidationError as exc:
        if "Invalid value" in str(exc) and "`$.type`" in str(exc):
            return UnknownBlock(data)
        raise ValueError(f"scripted content block {data!r} is not valid: {exc}") from None


# --- fitting output to max_tokens and stop_sequences ----------------------------------------


def _block_tokens(block: ContentBlock) -> int:
    if isinstance(block, TextBlock):
        return estimate_tokens(block.text)
    if isinstance(block, ThinkingBlock):
        return estimate_tokens(block.thinking)
    if isinstance(block, ToolUseBlock | ServerToolUseBlock):
        return estimate_tokens(block.name) + estimate_tokens(encode(block.input).decode())
    if isinstance(block, RedactedThinkingBlock):
        return estimate_tokens(block.data)
    return estimate_tokens(encode(block).decode())


def output_tokens_of(content: list[ContentBlock]) -> int:
    """The output tokens ``content`` costs: the token rule applied to what each block holds."""
    return sum(_block_tokens(block) for block in content)


def _first_stop(text: str, sequences: list[str]) -> tuple[int, str] | None:
    best: tuple[int, str] | None = None
    for sequence in sequences:
        if not sequence:
            continue
        position = text.find(sequence)
        if position >= 0 and (best is None or position < best[0]):
            best = (position, sequence)
    return best


def _fit(
    blocks: list[ContentBlock], max_tokens: int, stop_sequences: list[str]
) -> tuple[list[ContentBlock], str, str | None]:
    budget = max_tokens
    kept: list[ContentBlock] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            limit = text_for_tokens(budget)
            stop = _first_stop(block.text, stop_sequences)
            if stop is not None and stop[0] + len(stop[1]) <= limit:
                if stop[0] > 0:
                    kept.append(TextBlock(text=block.text[: stop[0]], citations=block.citations))
                return kept, "stop_sequence", stop[1]
            if len(block.text) > limit:
                if limit > 0:
                    kept.append(TextBlock(text=block.text[:limit], citations=block.citations))
                return kept, "max_tokens", None
        elif isinstance(block, ThinkingBlock) and estimate_tokens(block.thinking) > budget:
            kept.append(_thinking_block(block.thinking[: text_for_tokens(budget)]))
            return kept, "max_tokens", None
        elif _block_tokens(block) > budget:
            if isinstance(block, ToolUseBlock | ServerToolUseBlock):
                # The model ran out mid-input: the call is there, its arguments are not.
                kept.append(msgspec.structs.replace(block, input={}))
            return kept, "max_tokens", None
        budget -= _block_tokens(block)
        kept.append(block)
    has_tool_use = any(isinstance(block, ToolUseBlock) for block in kept)
    return kept, ("tool_use" if has_tool_use else "end_turn"), None


# --- the responder --------------------------------------------------------------------------


class Responder:
    """Builds the emulator's replies; holds the scripts and the prompt-cache state.

    >>> from claude_foundry.types import MessageCreateRequest, RequestMessage
    >>> request = MessageCreateRequest(model="claude", max_tokens=100,
    ...     messages=[RequestMessage(role="user", content="Hello")])
    >>> Responder().reply(request, model="claude", message_id="msg_1").content[0].text
    'You said: "Hello". This is a deterministic reply from the Foundry emulator.'
    """

    def __init__(
        self,
        scripts: ScriptBook | None = None,
        *,
        min_cacheable_tokens: int = MIN_CACHEABLE_TOKENS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scripts = scripts if scripts is not None else ScriptBook()
        self.min_cacheable_tokens = min_cacheable_tokens
        self._clock = clock
        self._cache: dict[str, float] = {}  # prefix hash -> expiry on the clock
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget scripts and cached prompt prefixes."""
        self.scripts.clear()
        with self._lock:
            self._cache.clear()

    def reply(
        self,
        request: MessageCreateRequest,
        *,
        model: str,
        message_id: str,
        deployment: str | None = None,
        body_hash: str | None = None,
        context_window: int | None = None,
    ) -> Message:
        """The complete reply to ``request``.

        ``model`` fills ``Message.model``; ``deployment`` (default ``request.model``) and
        ``body_hash`` (default: a hash of the request) select scripted replies. Raises
        :class:`InvalidRequestError` for requests the API would refuse, including a prompt
        longer than ``context_window`` tokens when one is given.
        """
        check_request(request, context_window=context_window)
        deployment = request.model if deployment is None else deployment
        if body_hash is None:
            body_hash = hashlib.sha256(encode(request)).hexdigest()
        scripted = self.scripts.match(request, deployment, body_hash)
        stop_sequences = request.stop_sequences or []
        stop_sequence: str | None = None
        if scripted is None:
            planned = _default_plan(request, message_id)
            content, stop_reason, stop_sequence = _fit(planned, request.max_tokens, stop_sequences)
        else:
            planned = _scripted_plan(scripted, message_id)
            if scripted.stop_reason is not None:
                content, stop_reason = planned, scripted.stop_reason
                stop_sequence = scripted.stop_sequence
            else:
                content, stop_reason, stop_sequence = _fit(
                    planned, request.max_tokens, stop_sequences
                )
        usage = self._usage(request, output_tokens_of(content))
        if scripted is not None and scripted.usage:
            # Tables (server_tool_use, cache_creation, ...) arrive as dicts: convert them too.
            fields = {**msgspec.structs.asdict(usage), **scripted.usage}
            usage = msgspec.convert(fields, Usage, from_attributes=True)
        return Message(
            id=message_id,
            model=model,
            content=content,
            # A script may name a stop reason newer than the StopReason literals.
            stop_reason=cast("StopReason | None", stop_reason),
            stop_sequence=stop_sequence,
            usage=usage,
        )

    def _usage(self, request: MessageCreateRequest, output_tokens: int) -> Usage:
        total = count_input_tokens(request)
        read, created_1h, created_5m = self._cache_split(request)
        created = created_1h + created_5m
        creation = CacheCreation(
            ephemeral_5m_input_tokens=created_5m, ephemeral_1h_input_tokens=created_1h
        )
        return Usage(
            input_tokens=total - read - created,
            output_tokens=output_tokens,
            cache_creation_input_tokens=created,
            cache_read_input_tokens=read,
            cache_creation=creation,
            service_tier="standard",
        )

    def _cache_split(self, request: MessageCreateRequest) -> tuple[int, int, int]:
        """``(read, written for 1 hour, written for 5 minutes)`` as the service bills mixed
        TTLs: the longest cached prefix is read; what lies past it up to the last 1-hour
        breakpoint is a 1-hour write; the rest up to the last breakpoint a 5-minute write."""
        marks = [m for m in cache_breakpoints(request) if m.tokens >= self.min_cacheable_tokens]
        if not marks:
            return 0, 0, 0
        now = self._clock()
        with self._lock:
            read = max(
                (m.tokens for m in marks if self._cache.get(m.prefix_hash, -1.0) > now),
                default=0,
            )
            for mark in marks:
                self._cache[mark.prefix_hash] = now + _CACHE_TTL_SECONDS[mark.ttl]
            if len(self._cache) > 10_000:
                self._cache = {key: exp for key, exp in self._cache.items() if exp > now}
        one_hour_end = max(
            (m.tokens for m in marks if m.ttl == "1h" and m.tokens > read), default=read
        )
        return read, one_hour_end - read, marks[-1].tokens - one_hour_end
