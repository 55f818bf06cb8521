"""Message threads: conversations the emulator holds between turns, as Foundry does.

With the beta ``message-threads-2026-08-12`` a request carries ``thread``. ``{"type": "create"}``
sends the whole conversation with ``system`` and ``tools``; the service keeps it, with the reply,
under the reply's ``id``. ``{"type": "continue", "previous_message_id": ID}`` sends only the
messages since that reply and leaves ``system`` and ``tools`` out; the service answers from the
rebuilt conversation. The official tool runner threads by default, so a service that ignored
``thread`` would answer a continued turn with no history at all.

What is emulated (the facts and their sources are in the fidelity table of ``docs/emulator.md``):

* a thread lives 5 minutes after the last reply it stored; it is best-effort, and the emulator
  also forgets the least recently used threads beyond a count and a byte budget;
* only the newest reply of a thread can be continued, once, and one request at a time;
* a reply is stored only when it went out whole (a cut stream stores nothing);
* errors carry ``error.details.error_code``, which the official SDK replays on:

  ==========================  ======  ===============================================
  ``error_code``              status  when
  ==========================  ======  ===============================================
  thread_not_found            404     unknown, expired or forgotten previous reply
  thread_already_continued    400     the reply was continued already (not the newest)
  thread_continue_in_flight   400     another request is continuing from it right now
  thread_fingerprint_mismatch 400     ``model`` differs from the thread's
  thread_unsupported_request  400     the deployment lists ``message_threads`` among its
                                      ``unavailable_features``
  ==========================  ======  ===============================================

Sans-IO apart from a lock: the app calls :meth:`ThreadStore.begin` with the parsed body, answers
from :attr:`ThreadTurn.data`, and calls :meth:`ThreadStore.settle` just before the reply's last
byte goes out (so the client can continue from it at once), or when it did not go out whole.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ..types import Message, encode

__all__ = [
    "THREADS_BETA",
    "THREADS_FEATURE",
    "ThreadError",
    "ThreadStore",
    "ThreadTurn",
]

THREADS_BETA = "message-threads-2026-08-12"
THREADS_FEATURE = "message_threads"
"""The name a deployment's ``unavailable_features`` uses to turn threads off."""
THREAD_TTL_S = 300.0
MAX_THREADS = 1000
MAX_THREAD_BYTES = 64 * 1024 * 1024
# The create-only fields: a continue takes them from the thread and must not send them.
_KEPT_BY_THREAD = ("system", "tools")


class ThreadError(Exception):
    """A request the service refuses because of its ``thread``; maps onto an error response."""

    def __init__(
        self, status: int, error_type: str, message: str, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.error_code = error_code

    def body(self, request_id: str) -> dict[str, Any]:
        """The error body, ``details.error_code`` included when there is one."""
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.error_code is not None:
            error["details"] = {"error_code": self.error_code}
        return {"type": "error", "error": error, "request_id": request_id}


class _Thread:
    """One conversation: its messages up to the newest reply, and what it was created with."""

    __slots__ = (
        "expires",
        "in_flight",
        "kept",
        "latest_id",
        "messages",
        "model",
        "reply_ids",
        "size",
    )

    def __init__(self, model: str, kept: dict[str, Any]) -> None:
        self.model = model
        self.kept = kept  # `system` and `tools` of the create request
        self.messages: list[Any] = []
        self.latest_id = ""
        self.reply_ids: list[str] = []
        self.in_flight = False
        self.expires = 0.0
        self.size = 0


class ThreadTurn:
    """One request that creates or continues a thread, from its arrival until it is settled.

    ``data`` is the body the reply is made from: for a continue, the thread's conversation
    followed by the new messages, with the thread's ``system`` and ``tools``; never ``thread``.
    ``history`` is that conversation for a continue (what the journal shows), else None.
    """

    __slots__ = ("continued", "data", "history", "reply", "settled", "size", "thread")

    def __init__(
        self,
        data: dict[str, Any],
        thread: _Thread | None,
        *,
        size: int,
        continued: bool,
    ) -> None:
        self.data = data
        self.thread = thread
        self.size = size
        self.continued = continued
        self.history: Any = data.get("messages") if continued else None
        self.reply: Message | None = None
        self.settled = False

    @property
    def history_size(self) -> int:
        """About how many bytes :attr:`history` takes as JSON: the thread's bodies and replies
        plus this request's body, so that nothing is encoded again to find out."""
        return self.size + (self.thread.size if self.thread is not None else 0)

    def answered(self, reply: Message) -> None:
        """``reply`` answers the turn: :meth:`ThreadStore.settle` stores it if it goes out
        whole."""
        self.reply = reply


class ThreadStore:
    """The threads of one emulator. Safe to use from the server thread and the test thread."""

    def __init__(
        self,
        *,
        ttl_s: float = THREAD_TTL_S,
        max_threads: int = MAX_THREADS,
        max_bytes: int = MAX_THREAD_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_threads = max_threads
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._threads: OrderedDict[str, _Thread] = OrderedDict()  # newest reply id -> thread
        self._by_reply: dict[str, _Thread] = {}  # every stored reply id -> its thread
        self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._threads)

    def clear(self) -> None:
        with self._lock:
            self._threads.clear()
            self._by_reply.clear()
            self._bytes = 0

    def begin(
        self,
        data: dict[str, Any],
        headers: Mapping[str, str],
        *,
        deployment: str,
        model: str,
        unavailable: bool = False,
        size: int = 0,
    ) -> ThreadTurn | None:
        """The turn ``data`` starts, or None when it has no ``thread``.

        ``unavailable``: the deployment does not offer threads. ``size`` is the body's length in
        bytes (what the thread will hold). Raises :class:`ThreadError` for a request the service
        refuses; nothing is held then.
        """
        if "thread" not in data:
            return None
        param = data["thread"]
        body = {key: value for key, value in data.items() if key != "thread"}
        if param is None:
            return ThreadTurn(body, None, size=size, continued=False)
        kind = _thread_kind(param)
        if THREADS_BETA not in _betas(headers):
            raise _invalid(
                f"thread: message threads are in beta; send the header "
                f"`anthropic-beta: {THREADS_BETA}` with a request that has `thread`."
            )
        if unavailable:
            raise ThreadError(
                400,
                "invalid_request_error",
                f"Message threads are not available on deployment '{deployment}' ({model}). "
                "Send the full conversation without `thread`.",
                "thread_unsupported_request",
            )
        if kind == "create":
            return ThreadTurn(body, None, size=size, continued=False)
        for field in _KEPT_BY_THREAD:
            if field in body:
                raise _invalid(
                    f"{field}: leave `system` and `tools` out of a request that continues a "
                    "thread; the thread keeps those of the request that created it. To change "
                    'them, send the whole conversation again with `thread: {"type": "create"}`.'
                )
        previous_id = param["previous_message_id"]
        with self._lock:
            thread = self._live_thread(previous_id)
            if thread.latest_id != previous_id:
                raise ThreadError(
                    400,
                    "invalid_request_error",
                    f"The response {previous_id} has already been continued, and each response "
                    "can be continued only once. Continue from the thread's most recent "
                    f"response id ({thread.latest_id}).",
                    "thread_already_continued",
                )
            if thread.in_flight:
                raise ThreadError(
                    400,
                    "invalid_request_error",
                    f"Another request is still continuing from {previous_id}. Wait for it to "
                    "complete and continue from its response id, or send the whole conversation "
                    'again with `thread: {"type": "create"}`.',
                    "thread_continue_in_flight",
                )
            if body.get("model") != thread.model:
                raise ThreadError(
                    400,
                    "invalid_request_error",
                    f"model: {body.get('model')!r} differs from the value stored with the thread "
                    f"({thread.model!r}). Send the stored value, or send the whole conversation "
                    'again with `thread: {"type": "create"}` to change it.',
                    "thread_fingerprint_mismatch",
                )
            thread.in_flight = True
            full = {**body, **thread.kept}
            new_messages = body.get("messages")
            if isinstance(new_messages, list):  # anything else is refused by the body checks
                full["messages"] = [*thread.messages, *new_messages]
        return ThreadTurn(full, thread, size=size, continued=True)

    def settle(self, turn: ThreadTurn, *, whole: bool = True) -> None:
        """End ``turn`` (once; later calls do nothing): store its reply when it has one and
        ``whole`` says it went out whole, else just release what the turn held."""
        with self._lock:
            if turn.settled:
                return
            turn.settled = True
            thread = turn.thread
            if thread is not None:
                thread.in_flight = False
            if not whole or turn.reply is None:
                return
            if thread is None:
                kept = {field: turn.data[field] for field in _KEPT_BY_THREAD if field in turn.data}
                thread = _Thread(str(turn.data.get("model")), kept)
            self._store(thread, turn)

    # --- inside the lock ------------------------------------------------------------------

    def _live_thread(self, reply_id: str) -> _Thread:
        thread = self._by_reply.get(reply_id)
        if thread is not None and thread.expires <= self._clock():
            self._forget(thread)
            thread = None
        if thread is None:
            raise ThreadError(
                404,
                "not_found_error",
                "No thread state was found for the requested previous_message_id.",
                "thread_not_found",
            )
        return thread

    def _store(self, thread: _Thread, turn: ThreadTurn) -> None:
        reply = turn.reply
        assert reply is not None
        if thread.latest_id:
            self._threads.pop(thread.latest_id, None)
        thread.messages = [*turn.data["messages"], _as_message_param(reply)]
        thread.latest_id = reply.id
        thread.reply_ids.append(reply.id)
        thread.expires = self._clock() + self.ttl_s
        self._bytes -= thread.size
        thread.size += turn.size + len(encode(reply))
        self._bytes += thread.size
        self._threads[reply.id] = thread
        self._by_reply[reply.id] = thread
        self._evict()

    def _evict(self) -> None:
        now = self._clock()
        # Threads are kept in the order of their last stored reply, so the expired ones lead.
        while self._threads:
            oldest = next(iter(self._threads.values()))
            if oldest.expires > now:
                break
            self._forget(oldest)
        while self._threads and (
            len(self._threads) > self.max_threads or self._bytes > self.max_bytes
        ):
            oldest = next(iter(self._threads.values()))
            self._forget(oldest)

    def _forget(self, thread: _Thread) -> None:
        self._threads.pop(thread.latest_id, None)
        for reply_id in thread.reply_ids:
            self._by_reply.pop(reply_id, None)
        self._bytes -= thread.size
        thread.size = 0


def _invalid(message: str) -> ThreadError:
    return ThreadError(400, "invalid_request_error", message)


def _thread_kind(param: object) -> str:
    if not isinstance(param, dict):
        raise _invalid("thread: Input should be an object")
    kind = param.get("type")
    if kind == "create":
        return "create"
    if kind == "continue":
        previous_id = param.get("previous_message_id")
        if previous_id is None:
            raise _invalid("thread.continue.previous_message_id: Field required")
        if not isinstance(previous_id, str) or not previous_id:
            raise _invalid("thread.continue.previous_message_id: Input should be a valid string")
        return "continue"
    raise _invalid(f"thread.type: Input should be 'create' or 'continue', not {kind!r}")


def _betas(headers: Mapping[str, str]) -> set[str]:
    return {beta.strip() for beta in headers.get("anthropic-beta", "").split(",")}


def _as_message_param(reply: Message) -> dict[str, Any]:
    """The reply as the assistant turn of the conversation, in wire form."""
    content = msgspec.json.decode(encode(reply.content))
    return {"role": "assistant", "content": content}
