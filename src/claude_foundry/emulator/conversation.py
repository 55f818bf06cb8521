"""Checks the Messages API makes on a conversation as a whole, in the service's own words.

Sans-IO: a validated :class:`~claude_foundry.types.MessageCreateRequest` in, nothing or a
:class:`ConversationError` (HTTP 400 ``invalid_request_error``) out. The per-field checks of the
body live in :mod:`.validation`; these need several messages or fields at once:

* every ``tool_result`` answers a ``tool_use`` of the assistant message right before it;
* every ``tool_use`` of an assistant message is answered by a ``tool_result`` in the next message;
* with thinking on, ``temperature`` is unset or 1;
* with thinking on, an assistant ``tool_use`` turn whose results end the conversation is sent back
  starting with its thinking block.

The messages are the ones the API returns, reported by users (see the fidelity table in
``docs/emulator.md``), so code written against the emulator handles the real ones.

    >>> from claude_foundry.types import RequestMessage
    >>> check_conversation(MessageCreateRequest(model="m", max_tokens=8, messages=[
    ...     RequestMessage(role="user", content=[
    ...         {"type": "tool_result", "tool_use_id": "toolu_1", "content": "4"}])]))
    Traceback (most recent call last):
    ...
    claude_foundry.emulator.conversation.ConversationError: messages.0.content.0: unexpected \
`tool_use_id` found in `tool_result` blocks: toolu_1. Each `tool_result` block must have a \
corresponding `tool_use` block in the previous message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..types import MessageCreateRequest, RequestMessage

__all__ = ["ConversationError", "check_conversation", "thinking_is_on"]

_EXTENDED_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
_THINKING_TYPES = ("thinking", "redacted_thinking")


class ConversationError(ValueError):
    """The API refuses the conversation with 400 ``invalid_request_error``; the text is its
    message."""


def thinking_is_on(request: MessageCreateRequest) -> bool:
    """Whether the request asks for thinking (``enabled`` or ``adaptive``)."""
    thinking = request.thinking
    return isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")


def check_conversation(request: MessageCreateRequest) -> None:
    """Raise :class:`ConversationError` when the API would refuse ``request`` as a whole."""
    thinking = thinking_is_on(request)
    temperature = request.temperature
    if thinking and temperature is not None and temperature != 1:
        raise ConversationError(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
            f"documentation at {_EXTENDED_THINKING_DOCS}"
            "#important-considerations-when-using-extended-thinking"
        )
    messages = request.messages
    for index, message in enumerate(messages):
        if message.role == "assistant":
            _check_answered(messages, index)
        else:
            _check_results(messages, index)
    if thinking:
        _check_thinking_kept(messages)


def _blocks(message: RequestMessage) -> list[Mapping[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}]
    return [block for block in message.content if isinstance(block, Mapping)]


def _tool_use_ids(message: RequestMessage) -> list[str]:
    return [str(b.get("id")) for b in _blocks(message) if b.get("type") == "tool_use"]


def _check_answered(messages: Sequence[RequestMessage], index: int) -> None:
    """The assistant message at ``index`` has every ``tool_use`` answered in the next message.

    A final assistant message (a prefill) has no next message and is not checked.
    """
    if index + 1 >= len(messages):
        return
    wanted = _tool_use_ids(messages[index])
    if not wanted:
        return
    following = messages[index + 1]
    answered = (
        {str(b.get("tool_use_id")) for b in _blocks(following) if b.get("type") == "tool_result"}
        if following.role == "user"
        else set()
    )
    missing = [tool_use_id for tool_use_id in wanted if tool_use_id not in answered]
    if missing:
        raise ConversationError(
            f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
            "corresponding `tool_result` block in the next message."
        )


def _check_results(messages: Sequence[RequestMessage], index: int) -> None:
    """Every ``tool_result`` of the user message at ``index`` answers a ``tool_use`` of the
    assistant message right before it."""
    previous = messages[index - 1] if index > 0 else None
    offered = (
        set(_tool_use_ids(previous))
        if previous is not None and previous.role == "assistant"
        else set()
    )
    for position, block in enumerate(_blocks(messages[index])):
        if block.get("type") != "tool_result":
            continue
        tool_use_id = str(block.get("tool_use_id"))
        if tool_use_id not in offered:
            raise ConversationError(
                f"messages.{index}.content.{position}: unexpected `tool_use_id` found in "
                f"`tool_result` blocks: {tool_use_id}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )


def _check_thinking_kept(messages: Sequence[RequestMessage]) -> None:
    """With thinking on, the assistant turn whose tool results end the conversation starts with
    its thinking block: the model goes on from that thinking."""
    if len(messages) < 2:
        return
    last, before = messages[-1], messages[-2]
    if last.role != "user" or before.role != "assistant":
        return
    if not any(block.get("type") == "tool_result" for block in _blocks(last)):
        return
    if not _tool_use_ids(before):
        return
    first = _blocks(before)[0].get("type") if _blocks(before) else None
    if first in _THINKING_TYPES:
        return
    raise ConversationError(
        f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
        f"`redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final "
        "`assistant` message must start with a thinking block (preceeding the lastmost set of "
        "`tool_use` and `tool_result` blocks). We recommend you include thinking blocks from "
        "previous turns. To avoid this requirement, disable `thinking`. Please consult our "
        f"documentation at {_EXTENDED_THINKING_DOCS}"
    )
