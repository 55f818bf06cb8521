"""Time limits on whole calls, not only on each network operation.

``httpx2.Timeout`` limits each operation: one connect, one write, one read. A server that sends
one byte a second never trips a read limit of 3 s, so a call could last for ever. This module
adds the limits a caller means by ``timeout=3``:

* a call that is not streamed must finish within the timeout: connecting, sending, and reading
  the headers and the whole body (:func:`attempt_limit`);
* a stream must receive its headers within the same limit, then each event within ``read``
  seconds of the previous one, and, when :class:`Timeout` gives a ``stream_total``, its last
  event within that many seconds of the request (:class:`StreamLimits`).

How the limit reaches the socket: a flow step carries a deadline, the client runs the step inside
``within(deadline)``, which sets a context variable, and the network streams of the client's
connection pools (wrapped once by :func:`enforce_deadlines`) shorten each operation's own timeout
to the time left, or fail it with the operation's timeout error once none is left. A context
variable belongs to one thread or one task, so concurrent calls keep their own deadlines, and
outside a call nothing changes.

    >>> attempt_limit(httpx2.Timeout(600.0, connect=5.0))
    600.0
    >>> attempt_limit(httpx2.Timeout(None, connect=5.0)) is None
    True
"""

from __future__ import annotations

import dataclasses
import ssl
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

import httpcore2
import httpx2

__all__ = [
    "BODY_DEADLINE",
    "StreamLimits",
    "Timeout",
    "attempt_limit",
    "enforce_deadlines",
    "stream_total",
    "time_left",
    "within",
]

BODY_DEADLINE = "claude_foundry.body_deadline"
"""The key, in an unread response's ``extensions``, of the deadline its body must arrive by."""

READ_DEADLINE: ContextVar[float | None] = ContextVar("claude_foundry_deadline", default=None)
"""The deadline (on :func:`time.monotonic`'s scale) of the call running in this thread or task."""


@dataclasses.dataclass(init=False, repr=False)
class Timeout(httpx2.Timeout):
    """``httpx2.Timeout`` with a limit on a stream's whole length.

    ``Timeout(60.0, connect=5.0, stream_total=900.0)``: a call that is not streamed must finish
    within 60 s; a stream must start within 60 s, go no more than 60 s without an event, and end
    within 900 s. Without ``stream_total`` a stream may last as long as events keep coming.
    """

    stream_total: float | None

    def __init__(self, *args: Any, stream_total: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if stream_total is None and args and isinstance(args[0], Timeout):
            stream_total = args[0].stream_total
        if stream_total is not None and (
            isinstance(stream_total, bool)
            or not isinstance(stream_total, int | float)
            or not stream_total > 0
        ):
            raise ValueError(
                f"stream_total must be a number of seconds > 0, or None for no limit on a "
                f"stream's length; got {stream_total!r}."
            )
        self.stream_total = stream_total

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, stream_total={self.stream_total})"


def attempt_limit(timeout: httpx2.Timeout) -> float | None:
    """Seconds one attempt may take in all: the largest of ``timeout``'s limits (so no phase is
    cut short of its own), or ``None`` when reads are unlimited (``timeout=None``)."""
    if timeout.read is None:
        return None
    return max(
        limit
        for limit in (timeout.connect, timeout.read, timeout.write, timeout.pool)
        if limit is not None
    )


def stream_total(timeout: httpx2.Timeout) -> float | None:
    return getattr(timeout, "stream_total", None)


class StreamLimits:
    """When a stream's next event is due: ``idle`` seconds after the last one (or after the
    headers), and never after ``total_at``. ``deadline`` is ``None`` when neither limit is set."""

    __slots__ = ("_clock", "_events_seen", "deadline", "idle", "total", "total_at")

    def __init__(
        self,
        *,
        idle: float | None,
        total: float | None,
        started: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle = idle
        self.total = total
        self.total_at = None if total is None else started + total
        self._clock = clock
        self._events_seen = 0
        self.deadline: float | None = None
        self.restart()

    def restart(self) -> None:
        """An event arrived (or the headers did): the idle limit counts from now."""
        idle_at = None if self.idle is None else self._clock() + self.idle
        total_at = self.total_at
        if idle_at is None or (total_at is not None and total_at < idle_at):
            self.deadline = total_at
        else:
            self.deadline = idle_at

    def saw(self, events_received: int) -> None:
        """Note the decoder's count of events received; a new event restarts the idle limit."""
        if events_received != self._events_seen:
            self._events_seen = events_received
            self.restart()

    def expired(self) -> str | None:
        """Which limit ran out, in words, or ``None`` if neither has."""
        now = self._clock()
        if self.total_at is not None and now >= self.total_at:
            return f"the stream ran past its stream_total of {self.total:g} s"
        if self.deadline is not None and now >= self.deadline:
            return f"no event arrived within the read timeout of {self.idle:g} s"
        return None


class within:  # a context manager, named for how it reads: `with within(deadline):`
    """Run the I/O in the block under ``deadline`` (no limit when it is ``None``)."""

    __slots__ = ("_deadline", "_token")

    def __init__(self, deadline: float | None) -> None:
        self._deadline = deadline
        self._token: Token[float | None] | None = None

    def __enter__(self) -> None:
        self._token = READ_DEADLINE.set(self._deadline)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None
        READ_DEADLINE.reset(self._token)


def time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to the current call's time left; ``expired`` once none is left."""
    deadline = READ_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the call's time limit ran out")
    return left if timeout is None or left < timeout else timeout


# --- the network layer: httpcore2 streams and backends that honour the deadline ----------------


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, stream: httpcore2.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, time_left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, time_left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        limit = time_left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncDeadlineStream(httpcore2.AsyncNetworkStream):
    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max_bytes, time_left(timeout, httpcore2.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, time_left(timeout, httpcore2.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        limit = time_left(timeout, httpcore2.ConnectTimeout)
        tls = await self._stream.start_tls(ssl_context, server_hostname, limit)
        return _AsyncDeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self, backend: httpcore2.NetworkBackend) -> None:
        self.backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        limit = time_left(timeout, httpcore2.ConnectTimeout)
        stream = self.backend.connect_tcp(host, port, limit, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        limit = time_left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self.backend.connect_unix_socket(path, limit, socket_options))

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


class _AsyncDeadlineBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self, backend: httpcore2.AsyncNetworkBackend) -> None:
        self.backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        limit = time_left(timeout, httpcore2.ConnectTimeout)
        stream = await self.backend.connect_tcp(host, port, limit, local_address, socket_options)
        return _AsyncDeadlineStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        limit = time_left(timeout, httpcore2.ConnectTimeout)
        stream = await self.backend.connect_unix_socket(path, limit, socket_options)
        return _AsyncDeadlineStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


_WRAPPERS = (_DeadlineBackend, _AsyncDeadlineBackend)


def enforce_deadlines(http: httpx2.Client | httpx2.AsyncClient) -> bool:
    """Wrap the network backend of every connection pool of ``http`` (its transport and its
    mounts, proxies included) so that deadlines reach each read and write. Connections opened
    before the call keep their unwrapped streams. Returns whether every pool could be wrapped;
    a transport that is not httpcore2's (a mock, a custom transport) is left as it is."""
    transports: list[Any] = [http._transport, *http._mounts.values()]
    complete = True
    while transports:
        transport = transports.pop()
        if transport is None:
            continue
        shards = getattr(transport, "shards", None)
        if isinstance(shards, tuple):
            transports.extend(shards)
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            complete = False
        elif not isinstance(backend, _WRAPPERS):
            if isinstance(backend, httpcore2.AsyncNetworkBackend):
                pool._network_backend = _AsyncDeadlineBackend(backend)  # type: ignore[union-attr]
            else:
                pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return complete
