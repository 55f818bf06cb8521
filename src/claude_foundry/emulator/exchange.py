"""One request's exchange with the emulator: its ids and what the journal records, the errors
that end it, and the low-level moves on its connection (reading the body, pausing, dropping)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..types import encode
from .bodies import BodyTimeout, BodyTooLarge, read_body
from .journal import JournalEntry
from .state import EmulatorState
from .threads import ThreadTurn

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]

_PAUSE_SLICE_S = 0.1  # how soon a paused request notices that the emulator is stopping


def error_body(error_type: str, message: str, request_id: str) -> bytes:
    return encode(
        {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": request_id,
        }
    )


class Refusal(Exception):
    """Ends request handling with an error response."""

    def __init__(
        self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []


class Stopping(Exception):
    """The emulator is stopping: end the request by closing its connection."""


class Exchange:
    """One request/response: ids, what the journal records, and whether bytes went out."""

    __slots__ = (
        "apim_request_id",
        "deployment",
        "dropped",
        "fault_id",
        "fault_kind",
        "headers",
        "history_note",
        "journal_generation",
        "message_id",
        "raw_body",
        "raw_history",
        "recorded",
        "request_id",
        "response_headers",
        "scope",
        "started",
        "status",
        "stream",
        "thread_turn",
        "unknown_fields",
    )

    def __init__(self, state: EmulatorState, scope: Scope) -> None:
        self.started = time.perf_counter()
        self.journal_generation = state.journal.generation
        self.scope = scope
        self.recorded = False
        self.request_id, self.apim_request_id, self.message_id = state.next_ids()
        region = state.config.region
        self.response_headers: list[tuple[bytes, bytes]] = [
            (b"request-id", self.request_id.encode()),
            (b"apim-request-id", self.apim_request_id.encode()),
        ]
        if region:
            self.response_headers.append((b"x-ms-region", region.encode()))
        self.headers: dict[str, str] = {}
        self.raw_body: bytes | None = None
        self.deployment: str | None = None
        self.fault_id: str | None = None
        self.fault_kind: str | None = None
        self.status = 0  # of the response started; 0 until then
        self.dropped = False  # the connection was closed before the response was complete
        self.stream = False
        self.unknown_fields: list[str] = []
        self.thread_turn: ThreadTurn | None = None
        self.raw_history: bytes | None = None
        self.history_note: str | None = None

    def refuse(self, status: int, error_type: str, message: str) -> Refusal:
        return Refusal(status, error_body(error_type, message, self.request_id))


def record_exchange(state: EmulatorState, ex: Exchange) -> None:
    """Journal the exchange once, before its last byte goes out, so that a client that has
    read the whole response always finds it in the journal. A response that was never
    started, or whose connection was dropped, is journalled without a status: whatever
    status line went out, the client got no answer it could use."""
    if ex.recorded:
        return
    ex.recorded = True
    scope = ex.scope
    query: bytes = scope.get("query_string", b"")
    entry = JournalEntry(
        method=scope["method"],
        path=scope["path"],
        query=query.decode("latin-1"),
        headers=ex.headers,
        raw_body=ex.raw_body,
        status=None if ex.dropped or not ex.status else ex.status,
        deployment=ex.deployment,
        request_id=ex.request_id,
        apim_request_id=ex.apim_request_id,
        stream=ex.stream,
        unknown_fields=ex.unknown_fields,
        fault_id=ex.fault_id,
        fault_kind=ex.fault_kind,
        raw_history=ex.raw_history,
        history_note=ex.history_note,
        duration_ms=(time.perf_counter() - ex.started) * 1000,
    )
    state.journal.record(entry, generation=ex.journal_generation)


async def read_request_body(
    ex: Exchange, receive: Receive, limit: int, timeout_s: float
) -> bytes | None:
    try:
        return await read_body(receive, limit, ex.headers.get("content-length"), timeout_s)
    except BodyTooLarge:
        raise too_large(ex, limit) from None
    except BodyTimeout as exc:
        raise ex.refuse(408, "timeout_error", str(exc)) from None


def too_large(ex: Exchange, limit: int) -> Refusal:
    return ex.refuse(
        413, "request_too_large", f"Request exceeds the maximum allowed number of bytes ({limit})."
    )


def body_chunk(data: bytes) -> ASGIMessage:
    return {"type": "http.response.body", "body": data, "more_body": True}


async def pause(state: EmulatorState, seconds: float, receive: Receive | None = None) -> bool:
    """Wait ``seconds``; False as soon as the server is stopping or the client has gone.

    Waits in short slices so that stopping the emulator never has to cancel a sleeping request.
    With ``receive`` (only once the request body has been read, when it can return nothing but a
    disconnect) a client that leaves is noticed too.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not state.closing:
        left = deadline - loop.time()
        if left <= 0:
            return True
        step = min(left, _PAUSE_SLICE_S)
        if receive is None:
            await asyncio.sleep(step)
            continue
        try:
            message = await asyncio.wait_for(receive(), step)
        except TimeoutError:
            continue
        if message["type"] == "http.disconnect":
            return False
        receive = None
    return False


def drop_connection(send: Send) -> bool:
    """Close the TCP connection under a half-sent response, as a network failure would.

    ASGI has no message for this, so the server's transport is closed directly (uvicorn keeps it
    on the object whose bound ``send`` we hold). Buffered bytes are flushed first.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    return True


async def drop_connection_soon(send: Send) -> None:
    if not drop_connection(send):
        raise ConnectionAbortedError("dropping the connection (disconnect fault)")
    # Let the server notice the closed connection before the app returns, so it does not
    # report an incomplete response.
    for _ in range(3):
        await asyncio.sleep(0)
