"""Connections the emulator does not keep for ever: header and keep-alive timeouts, and a server
that sheds idle connections instead of locking out real clients when file descriptors run out.

uvicorn closes a connection that stays idle *after* a response (keep-alive), but not one that
never sends a request, nor one that sends its headers a byte at a time: each arriving byte
cancels the timer. Hundreds of such sockets use up the process's file descriptors, and asyncio
then logs a traceback for every failed ``accept`` (thousands a second). Here:

* a request's headers must be complete within ``header_timeout_s`` of the connection opening
  (or of the first byte after a keep-alive pause), however slowly they trickle in; otherwise
  the connection is closed;
* a connection idle between requests is closed after ``keep_alive_s`` (uvicorn's timer);
* when ``accept`` fails for want of descriptors, the condition is logged once (with what to do)
  rather than per attempt, and connections that have waited a while for a request are closed
  at once, so that the next attempt (asyncio retries after a second) lets a real client in.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import weakref
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ConnectionGuard"]

logger = logging.getLogger("claude_foundry.emulator")

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_SPARED_S = 0.5  # a connection this fresh is not shed: its request may be on the way


class ConnectionGuard:
    """The timeouts of one emulator's connections, and its accept-failure handling.

    :attr:`protocol` is the uvicorn HTTP protocol class to serve with; :meth:`handle_loop_error`
    is the event loop's exception handler.
    """

    def __init__(self, *, header_timeout_s: float, keep_alive_s: float) -> None:
        self.header_timeout_s = header_timeout_s
        self.keep_alive_s = keep_alive_s
        self.out_of_resources = False
        self.refused_accepts = 0
        """Accepts that failed for want of descriptors (reported once, counted here)."""
        self._connections: weakref.WeakSet[_GuardedH11Protocol] = weakref.WeakSet()
        guard = self

        class Protocol(_GuardedH11Protocol):
            _guard = guard

        self.protocol: type[H11Protocol] = Protocol

    def opened(self, connection: _GuardedH11Protocol) -> None:
        self._connections.add(connection)

    def closed(self, connection: _GuardedH11Protocol) -> None:
        self._connections.discard(connection)

    def shed_idle(self, loop: asyncio.AbstractEventLoop) -> int:
        """Close the connections that have waited a while for a request; returns how many.

        One that opened (or spoke) in the last moment is spared: it may be a real client whose
        request has not been read yet.
        """
        quiet_since = loop.time() - _SPARED_S
        idle = [
            connection
            for connection in self._connections
            if connection.waiting_for_request and connection.last_activity <= quiet_since
        ]
        for connection in idle:
            connection.close_idle()
        return len(idle)

    def handle_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_RESOURCES:
            # asyncio reports this once per accept attempt, thousands of times a second.
            self.refused_accepts += 1
            shed = self.shed_idle(loop)
            if not self.out_of_resources:
                self.out_of_resources = True
                logger.error(
                    "the emulator ran out of file descriptors (%s) and could not accept a "
                    "connection. It closes idle connections to make room (%d now) and after "
                    "%g s without a request; it keeps serving. If this recurs, open fewer "
                    "connections at once or raise the open-files limit (ulimit -n). Logged once.",
                    exc.strerror or exc,
                    shed,
                    self.header_timeout_s,
                )
            return
        handle = context.get("handle")
        callback = getattr(getattr(handle, "_callback", None), "__name__", "")
        if callback == "_start_serving" and isinstance(exc, ValueError):
            # asyncio's retries of a failed accept, firing after the server has closed.
            return
        loop.default_exception_handler(context)


class _GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for complete request headers."""

    _guard: ConnectionGuard

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self._guard.keep_alive_s  # type: ignore[assignment]
        self._header_timer: asyncio.TimerHandle | None = None
        self.last_activity = self.loop.time()

    @property
    def waiting_for_request(self) -> bool:
        """No request is being served: the connection waits for (the rest of) one's headers."""
        idle_cycle = self.cycle is None or self.cycle.response_complete
        return idle_cycle and self.conn.their_state is h11.IDLE

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.last_activity = self.loop.time()
        self._guard.opened(self)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        self.last_activity = self.loop.time()
        super().data_received(data)
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            self._cancel_header_timer()  # the headers are in (or the connection is done)
        elif self._header_timer is None:
            self._arm_header_timer()  # the first bytes of a request after a keep-alive pause

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._guard.closed(self)
        super().connection_lost(exc)

    def close_idle(self) -> None:
        self._cancel_header_timer()
        if not self.transport.is_closing():
            # A peer mid-request cannot be told politely; closing is all that is left.
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(
            self._guard.header_timeout_s, self._header_timeout
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.waiting_for_request:
            self.close_idle()
