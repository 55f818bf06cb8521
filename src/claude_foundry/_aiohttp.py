"""``DefaultAioHttpClient``: the async client's HTTP client with aiohttp moving the bytes.

The official SDK offers it for many concurrent requests; here it is an ``httpx2.AsyncClient``
(what ``AsyncAnthropicFoundry(http_client=...)`` takes) whose transport is
:class:`AiohttpTransport`, with the same defaults as :class:`DefaultAsyncHttpxClient`. It needs
aiohttp (``pip install 'claude-foundry[aiohttp]'``).

The transport keeps what the client relies on from httpx2's own: each operation's timeout from
the request (``connect``, ``read``), shortened to the time left of the call's deadline
(:func:`claude_foundry._deadline.within`), aiohttp's failures raised as the httpx2 errors the
client maps (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``, ...), no redirects, and
bodies passed on undecoded so that httpx2 decodes them as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx2

from ._deadline import time_left
from ._http_clients import DEFAULT_CONNECTION_LIMITS, with_defaults

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport", "DefaultAioHttpClient"]

_CHUNK = 64 * 1024


def _import_aiohttp() -> Any:
    try:
        import aiohttp
    except ImportError:
        raise ImportError(
            "DefaultAioHttpClient needs aiohttp: pip install 'claude-foundry[aiohttp]' (or use "
            "DefaultAsyncHttpxClient, which needs nothing more)."
        ) from None
    return aiohttp


@contextlib.contextmanager
def _mapped_errors(request: httpx2.Request, *, connecting: bool) -> Iterator[None]:
    aiohttp = _import_aiohttp()
    try:
        yield
    except TimeoutError as exc:  # asyncio's (the deadline), aiohttp's connect and socket reads
        reading = isinstance(exc, aiohttp.SocketTimeoutError) or not connecting
        kind = httpx2.ReadTimeout if reading else httpx2.ConnectTimeout
        raise kind(str(exc) or "timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx2.ConnectError(str(exc), request=request) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
        raise httpx2.RemoteProtocolError(str(exc), request=request) from exc
    except (aiohttp.ClientError, OSError) as exc:
        error = httpx2.ConnectError if connecting else httpx2.ReadError
        raise error(str(exc), request=request) from exc


def _http_version(response: aiohttp.ClientResponse) -> bytes:
    version = response.version
    return b"HTTP/1.1" if version is None else f"HTTP/{version.major}.{version.minor}".encode()


def _ssl_option(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext | bool:
    if isinstance(verify, str):  # a CA bundle, as httpx2 takes it
        return ssl.create_default_context(cafile=verify)
    return verify


class _AiohttpBody(httpx2.AsyncByteStream):
    def __init__(
        self, response: aiohttp.ClientResponse, request: httpx2.Request, read: float | None
    ) -> None:
        self._response = response
        self._request = request
        self._read = read

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            with _mapped_errors(self._request, connecting=False):
                async with asyncio.timeout(time_left(self._read, httpx2.ReadTimeout)):
                    chunk = await content.readany()
            if not chunk:
                return
            yield chunk

    async def aclose(self) -> None:
        self._response.close()


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport over one ``aiohttp.ClientSession`` (opened on first use, in the
    running event loop)."""

    def __init__(
        self,
        *,
        limits: httpx2.Limits = DEFAULT_CONNECTION_LIMITS,
        verify: ssl.SSLContext | str | bool = True,
        trust_env: bool = True,
    ) -> None:
        _import_aiohttp()
        self._limits = limits
        self._ssl = _ssl_option(verify)
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        aiohttp = _import_aiohttp()
        if self._session is None or self._session.closed:
            limit = self._limits.max_connections or 0
            connector = aiohttp.TCPConnector(limit=limit, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=self._trust_env, auto_decompress=False
            )
        return self._session

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        aiohttp = _import_aiohttp()
        session = self._open_session()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connect = time_left(timeouts.get("connect"), httpx2.ConnectTimeout)
        read = timeouts.get("read")
        body = await request.aread()
        with _mapped_errors(request, connecting=True):
            response = await session.request(
                request.method,
                str(request.url),
                headers=[(name, value) for name, value in request.headers.multi_items()],
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=connect,
                    sock_read=time_left(read, httpx2.ReadTimeout),
                ),
            )
        return httpx2.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_AiohttpBody(response, request, read),
            request=request,
            extensions={"http_version": _http_version(response)},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class DefaultAioHttpClient(httpx2.AsyncClient):
    """``httpx2.AsyncClient`` with the async Foundry client's defaults over
    :class:`AiohttpTransport`; takes httpx2's arguments (a ``transport`` given replaces it)."""

    def __init__(self, **options: Any) -> None:
        options = with_defaults(options)
        if options.get("transport") is None:
            options["transport"] = AiohttpTransport(
                limits=options["limits"],
                verify=options.get("verify", True),
                trust_env=options.get("trust_env", True),
            )
        super().__init__(**options)
