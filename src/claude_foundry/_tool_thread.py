"""Where the tool runner's conversation stands on a server-held message thread.

Foundry serves message threads (the ``message-threads-2026-08-12`` beta; the message-threads
documentation lists "Microsoft Foundry: beta"), and the official runner threads by default. The
first turn sends the whole conversation with ``thread: {"type": "create"}``; each later turn sends
only the messages since the last reply with ``{"type": "continue", "previous_message_id": ...}``
and leaves out ``system`` and ``tools``, which the server keeps. A thread is best-effort, so the
runner keeps the whole conversation itself and recovers as the official client does:

* ``thread_not_found``, ``thread_already_continued``, ``thread_continue_in_flight`` on a continue:
  the turn is sent again with the whole conversation under a new thread; a thread lost again right
  after such a replay stops threading;
* ``thread_unsupported_request``: the turn and every later one go without a thread;
* a refused reply, or one a fallback model wrote, is not continued: the next turn starts a new
  thread. So does a change of ``system`` or ``tools``, or replaced messages.

No I/O here: the runner asks :meth:`ConversationThread.shape` for what goes out, and reports the
reply or the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

__all__ = ["MESSAGE_THREADS_BETA", "ConversationThread"]

MESSAGE_THREADS_BETA = "message-threads-2026-08-12"
# A continue takes these from the thread; the server refuses a continue that sends them.
CREATE_ONLY_FIELDS = ("system", "tools")
REPLAY_ERROR_CODES = frozenset(
    {"thread_not_found", "thread_already_continued", "thread_continue_in_flight"}
)

Mode = Literal["off", "new", "continue", "unthreaded"]


class ConversationThread:
    """``off``: created with ``thread=False``; ``unthreaded``: threading stopped after a refusal
    by the server. Both send the whole conversation with no ``thread`` field."""

    def __init__(self, *, enabled: bool) -> None:
        self.mode: Mode = "new" if enabled else "off"
        self.previous_message_id: str | None = None
        self.held = 0
        """How many messages of the conversation the server holds (the last reply included)."""
        self._created_with: dict[str, Any] = {}
        self._in_flight: Literal["create", "continue"] | None = None
        self._replaying_lost = False
        self._continue_replaces_lost = False

    @property
    def threading(self) -> bool:
        return self.mode in ("new", "continue")

    def shape(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request to send for ``request`` (which holds the whole conversation)."""
        if not self.threading:
            self._in_flight = None
            return request
        kept = {name: request.get(name) for name in CREATE_ONLY_FIELDS}
        if self.mode == "continue" and kept != self._created_with:
            # The server keeps the fields a thread was created with; new ones need a new thread.
            self.restart()
        betas = list(request.get("betas") or ())
        if MESSAGE_THREADS_BETA not in betas:
            betas.append(MESSAGE_THREADS_BETA)
        if self.mode == "continue":
            out = {k: v for k, v in request.items() if k not in CREATE_ONLY_FIELDS}
            out["messages"] = list(request["messages"][self.held :])
            out["thread"] = {"type": "continue", "previous_message_id": self.previous_message_id}
            self._in_flight = "continue"
        else:
            self._created_with = kept
            out = {**request, "thread": {"type": "create"}}
            self._in_flight = "create"
        out["betas"] = betas
        return out

    def unthreaded_request(self) -> None:
        """The next request goes out whole and without a thread (a compaction request)."""
        self._in_flight = None

    def record_reply(self, message: Any, conversation_length: int) -> None:
        """``message`` answered the request in flight; the conversation, reply included, now has
        ``conversation_length`` messages."""
        sent, self._in_flight = self._in_flight, None
        if sent is None or not self.threading:
            return
        if message.stop_reason == "refusal" or _written_by_fallback(message):
            # The server keeps no turn to continue from: a new thread with the whole conversation.
            self.restart()
            return
        self._continue_replaces_lost = sent == "create" and self._replaying_lost
        self._replaying_lost = False
        self.mode = "continue"
        self.previous_message_id = message.id
        self.held = conversation_length

    def restart(self) -> None:
        """The next turn sends the whole conversation under a new thread."""
        if self.threading:
            self.mode = "new"
            self.previous_message_id = None
            self.held = 0

    def recovers_from(self, error: BaseException) -> bool:
        """Whether the request that raised ``error`` should be sent again, now shaped anew."""
        sent, self._in_flight = self._in_flight, None
        code = getattr(error, "error_code", None)
        if sent is None or not isinstance(code, str):
            return False
        if code in REPLAY_ERROR_CODES and sent == "continue":
            if code == "thread_not_found" and self._continue_replaces_lost:
                # Lost again right after a replay: the server may be unable to keep it at all.
                self.mode = "unthreaded"
            else:
                self.restart()
                self._replaying_lost = code == "thread_not_found"
            return True
        if code == "thread_unsupported_request":
            self.mode = "unthreaded"
            return True
        return False


def _written_by_fallback(message: Any) -> bool:
    iterations: Sequence[Any] = getattr(getattr(message, "usage", None), "iterations", None) or ()
    return any(getattr(iteration, "type", None) == "fallback_message" for iteration in iterations)
