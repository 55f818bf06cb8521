"""The async client's default HTTP transport: httpx2's pools, sharded, with a cheaper idle check.

Two costs of httpcore2's connection pool grow with the number of requests in flight, and at a
few hundred in flight they outweigh the request itself:

* Before every request and after every response, the pool walks all its connections and all its
  queued requests (``_assign_requests_to_connections``). :class:`ShardedTransport` splits the
  client's connection limits over a few independent pools, so each walk covers a fraction of the
  connections. Each request goes to the pool with the fewest requests in flight, so a request
  waits for a connection only when every pool is full, that is when the client as a whole has
  ``max_connections`` requests in flight, as with one pool. The idle connections kept open are
  capped per pool at a share of ``max_keepalive_connections``, so the total cap is unchanged.
* For each idle connection that walk asks whether the server closed it
  (``get_extra_info("is_readable")``). The anyio stream answers by rebuilding its table of extra
  attributes on every call. :class:`_SocketStream` looks the socket up once per connection and
  answers the same question from it.

Only clients this package creates use this (:class:`FoundryAsyncClient`); an ``http_client``
passed in keeps its own transport (only its network backend is wrapped, by
:func:`claude_foundry._deadline.enforce_deadlines`, so a call's time limit reaches its sockets).
Clients created here also close their pools when garbage collected (:func:`close_when_collected`).
Proxies from the environment keep httpx2's own transports. If httpx2's internals change shape,
the stock pieces are used unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import httpx2

__all__ = [
    "FoundryAsyncClient",
    "ShardedTransport",
    "async_transport",
    "close_when_collected",
    "sharded_transport",
]


def async_transport(limits: httpx2.Limits, **options: Any) -> httpx2.AsyncHTTPTransport:
    """``httpx2.AsyncHTTPTransport(limits=limits, **options)`` with the cheaper idle check."""
    transport = httpx2.AsyncHTTPTransport(limits=limits, **options)
    backend = _socket_backend()
    pool = getattr(transport, "_pool", None)
    if backend is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = backend  # type: ignore[union-attr]
    return transport


# At 200 requests in flight on this package's benchmark, client CPU per request was 1,206 us with
# one pool, 921 with 4 and 841 with 8; 16 and 32 gained nothing clear. Requests go to the least
# loaded pool, so more pools do not mean more connections, but an idle connection in one pool
# cannot serve a request sent to another, and each pool keeps only its share of the keep-alive
# cap (100 // 8 = 12 here): past a few pools that starts to cost reuse.
DEFAULT_SHARDS = 8


def sharded_transport(
    limits: httpx2.Limits, *, shards: int = DEFAULT_SHARDS, **options: Any
) -> httpx2.AsyncBaseTransport:
    """A :class:`ShardedTransport` over ``shards`` pools that together keep ``limits``.

    ``options`` are those of ``httpx2.AsyncHTTPTransport`` (``verify``, ``cert``, ``trust_env``,
    ``http2``, ...). With limits too small to share out, it is one pool.
    """
    count = _shard_count(limits, shards)
    if count == 1:
        return async_transport(limits, **options)
    # One TLS context for every pool: built once (loading the CA bundle is slow) and with one
    # session cache.
    verify = options.pop("verify", True)
    cert = options.pop("cert", None)
    if not isinstance(verify, ssl.SSLContext) or cert is not None:
        trust_env = options.get("trust_env", True)
        verify = httpx2.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
    return ShardedTransport(
        [
            async_transport(
                httpx2.Limits(
                    max_connections=_share(limits.max_connections, count, index),
                    max_keepalive_connections=_share(
                        limits.max_keepalive_connections, count, index
                    ),
                    keepalive_expiry=limits.keepalive_expiry,
                ),
                verify=verify,
                **options,
            )
            for index in range(count)
        ]
    )


def _shard_count(limits: httpx2.Limits, wanted: int) -> int:
    count = max(1, wanted)
    for cap in (limits.max_connections, limits.max_keepalive_connections):
        if cap is not None:
            count = min(count, max(1, cap))
    return count


def _share(total: int | None, count: int, index: int) -> int | None:
    if total is None:
        return None
    return total // count + (1 if index < total % count else 0)


class ShardedTransport(httpx2.AsyncBaseTransport):
    """Several connection pools behind one transport; closing it closes all of them.

    Each request goes to the first pool with the fewest requests in flight (queued, being sent,
    or with a response not yet closed), read from the httpcore2 pool. Requests made one at a
    time therefore all use the first pool and its kept-alive connection, and with many in flight
    the pools fill evenly; a request waits for a connection only when every pool is full. Pools
    whose load cannot be read are taken in turn.
    """

    def __init__(self, shards: Sequence[httpx2.AsyncBaseTransport]) -> None:
        if not shards:
            raise ValueError("ShardedTransport needs at least one transport to send requests on")
        self._shards = tuple(shards)
        pools = tuple(getattr(shard, "_pool", None) for shard in self._shards)
        loads_readable = all(isinstance(getattr(pool, "_requests", None), list) for pool in pools)
        self._pools: tuple[Any, ...] | None = pools if loads_readable else None
        self._turn = 0

    @property
    def shards(self) -> tuple[httpx2.AsyncBaseTransport, ...]:
        return self._shards

    def _pick(self) -> httpx2.AsyncBaseTransport:
        pools = self._pools
        if pools is None:
            self._turn = (self._turn + 1) % len(self._shards)
            return self._shards[self._turn]
        best, best_load = 0, len(pools[0]._requests)
        for index in range(1, len(pools)):
            load = len(pools[index]._requests)
            if load < best_load:
                best, best_load = index, load
        return self._shards[best]

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._pick().handle_async_request(request)

    async def aclose(self) -> None:
        failure: BaseException | None = None
        for shard in self._shards:
            try:
                await shard.aclose()
            except BaseException as exc:  # close the others first, then report it
                failure = failure or exc
        if failure is not None:
            raise failure


_HTTPX_DEFAULT_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20)


class FoundryAsyncClient(httpx2.AsyncClient):
    """``httpx2.AsyncClient`` whose own transport is :func:`sharded_transport`.

    Only the transport httpx2 would build itself is replaced: TLS options, ``trust_env``
    (``SSL_CERT_FILE``, and the proxy variables, which keep httpx2's own proxy transports) and
    limits reach it as they would reach the stock one.
    """

    def _init_transport(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx2.Limits = _HTTPX_DEFAULT_LIMITS,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> httpx2.AsyncBaseTransport:
        if transport is not None:
            return transport
        return sharded_transport(
            limits, verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2
        )


def close_when_collected(http: httpx2.Client | httpx2.AsyncClient) -> None:
    """Close ``http``'s connection pools when it is garbage collected, as the official client
    does, so a client that is never closed leaves no socket open (no ``ResourceWarning``).

    The finalizer holds the transports, not ``http``, so it does not keep ``http`` alive; a
    client that is closed first finds nothing left to close. An async client is closed in a task
    of the event loop running when it is collected; with no loop running nothing can be awaited,
    and the sockets go with the loop.
    """
    transports = [t for t in (http._transport, *http._mounts.values()) if t is not None]
    if isinstance(http, httpx2.Client):
        weakref.finalize(http, _close_transports, transports)
    else:
        weakref.finalize(http, _close_async_transports, transports).atexit = False


def _close_transports(transports: list[httpx2.BaseTransport]) -> None:
    for transport in transports:
        with contextlib.suppress(Exception):  # at interpreter exit, anything may be half gone
            transport.close()


_CLOSING: set[asyncio.Task[None]] = set()  # strong references, so the tasks run to the end


def _close_async_transports(transports: list[httpx2.AsyncBaseTransport]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return

    async def close_all() -> None:
        for transport in transports:
            with contextlib.suppress(Exception):
                await transport.aclose()

    task = loop.create_task(close_all())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def _socket_backend() -> Any:
    try:
        import anyio.abc
        from httpcore2._backends.anyio import AnyIOBackend, AnyIOStream
        from httpcore2._utils import is_socket_readable
    except ImportError:  # pragma: no cover - a differently built httpx2
        return None

    raw_socket = anyio.abc.SocketAttribute.raw_socket

    class _SocketStream(AnyIOStream):
        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self._socket = stream.extra(raw_socket, None)

        def get_extra_info(self, info: str) -> Any:
            if info == "is_readable":
                return is_socket_readable(self._socket)
            return super().get_extra_info(info)

        async def start_tls(
            self,
            ssl_context: ssl.SSLContext,
            server_hostname: str | None = None,
            timeout: float | None = None,  # noqa: ASYNC109  (httpcore2 interface)
        ) -> Any:
            tls = await super().start_tls(ssl_context, server_hostname, timeout)
            return _SocketStream(tls._stream)  # type: ignore[attr-defined]

    class _SocketBackend(AnyIOBackend):
        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,  # noqa: ASYNC109  (httpcore2 interface)
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> Any:
            stream = await super().connect_tcp(
                host, port, timeout=timeout, local_address=local_address,
                socket_options=socket_options,
            )  # fmt: skip
            return _SocketStream(stream._stream)  # type: ignore[attr-defined]

    return _SocketBackend()
