"""The async client's default HTTP transport: httpx2's, with a cheaper idle-connection check.

Before every request the connection pool asks each idle connection whether the server closed it
(``get_extra_info("is_readable")``). The anyio stream answers by rebuilding its table of extra
attributes on every call, so with a few hundred pooled connections that check costs more CPU
than the request itself. :class:`_SocketStream` looks the socket up once per connection and
answers the same question from it. Only transports this package creates use it; an
``http_client`` passed in is never touched. If httpx2's internals change shape, the stock
transport is used unchanged.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpx2

__all__ = ["async_transport"]


def async_transport(limits: httpx2.Limits, **options: Any) -> httpx2.AsyncHTTPTransport:
    """``httpx2.AsyncHTTPTransport(limits=limits, **options)`` with the cheaper idle check."""
    transport = httpx2.AsyncHTTPTransport(limits=limits, **options)
    backend = _socket_backend()
    pool = getattr(transport, "_pool", None)
    if backend is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = backend  # type: ignore[union-attr]
    return transport


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
