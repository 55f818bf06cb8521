"""Which tool call of a streamed reply may run before the reply is complete (``run_tools_eagerly``).

The rule is the official runner's, so code written for it behaves the same here: a call runs once
the model has *moved on* from it, which is when the next content block starts or the reply stops
with ``tool_use``. Its own ``content_block_stop`` is not enough, because a reply cut off by
``max_tokens`` closes its last call too. The call then runs when the reader asks for the event
after the one that showed the move, so code that holds a call (``runner.defer_tool_call()``) can do
so while it handles any event up to and including that one. After a ``fallback`` block no call
runs early: the refusal that led to it may have cut off the call before it.

No I/O here: the runner's stream wrapper tells :class:`EagerCalls` each event it passes on
(:meth:`EagerCalls.saw`) and, before passing on the next one, asks which call is due
(:meth:`EagerCalls.take_due`). The :class:`~claude_foundry._tool_loop.ToolLoop` decides whether
the due call runs and keeps its result for the tool response, in the model's order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .types import ContentBlockStartEvent, ContentBlockStopEvent, Message, MessageDeltaEvent

__all__ = ["EagerCalls", "tool_use_id"]


def tool_use_id(tool_use: Any) -> str:
    """The id of a call given as its ``tool_use`` block (ours, the official SDK's, a dict) or id."""
    if isinstance(tool_use, str):
        return tool_use
    if isinstance(tool_use, dict):
        return str(tool_use["id"])
    return str(tool_use.id)


class EagerCalls:
    """The tool calls of one streamed reply.

    ``snapshot`` returns the message accumulated so far. Blocks are looked up in it by index when
    needed, because a call's input is complete only once the reader has taken its
    ``content_block_stop``, after this object saw it.
    """

    def __init__(self, snapshot: Callable[[], Message | None]) -> None:
        self._snapshot = snapshot
        self.results: dict[str, Any] = {}
        """The ``tool_result`` block of each call that has run, by ``tool_use`` id."""
        self._tool_use_indexes: set[int] = set()
        self._finished: list[int] = []
        """The indexes of the ``tool_use`` blocks that have finished streaming, in order."""
        self._held: set[str] = set()
        self._closed: int | None = None
        """The last ``tool_use`` block to close, until the model moves on from it."""
        self._moved_on_from: int | None = None
        self._fallback = False

    def saw(self, event: Any) -> None:
        """Follow the reply: ``event`` is about to be handed to the reader."""
        kind = type(event)
        if kind is ContentBlockStopEvent:
            if event.index in self._tool_use_indexes:
                self._finished.append(event.index)
                self._closed = None if self._fallback else event.index
            return
        if kind is ContentBlockStartEvent:
            block_type = getattr(event.content_block, "type", None)
            if block_type == "tool_use":
                self._tool_use_indexes.add(event.index)
            if block_type == "fallback":
                self._fallback = True
                self._closed = None
                return
            self._moved_on_from, self._closed = self._closed, None
            return
        if kind is MessageDeltaEvent and event.delta.stop_reason == "tool_use":
            self._moved_on_from, self._closed = self._closed, None

    def take_due(self) -> Any | None:
        """The ``tool_use`` block the model has moved on from, once: the reader has asked for
        the event after the one that showed it. ``None`` if there is none, or it is held."""
        index, self._moved_on_from = self._moved_on_from, None
        if index is None:
            return None
        block = self._block(index)
        if block is None or block.id in self._held or block.id in self.results:
            return None
        return block

    def hold(self, tool_use: Any) -> None:
        """Keep a call from running before the tool response (``defer_tool_call``)."""
        call_id = tool_use_id(tool_use)
        if call_id not in self.results:
            self._held.add(call_id)

    def held(self) -> list[Any]:
        """The held calls that have finished streaming, in the model's order."""
        blocks = [self._block(index) for index in self._finished]
        return [block for block in blocks if block is not None and block.id in self._held]

    def record(self, tool_use: Any, result: Any) -> None:
        self._held.discard(tool_use.id)
        self.results[tool_use.id] = result

    def _block(self, index: int) -> Any | None:
        message = self._snapshot()
        if message is None or index >= len(message.content):
            return None
        block = message.content[index]
        return block if getattr(block, "type", None) == "tool_use" else None
