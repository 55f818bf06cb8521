"""Client middleware: code that runs around every HTTP attempt, as the official ``middleware=``.

A middleware is an object with ``handle(request, call_next)`` (sync client) or
``async handle_async(request, call_next)`` (async client), or a plain function of the same
shape. It runs inside the retry loop, once per attempt: it may change the request
(``request.copy(body=..., headers=...)``), call ``call_next`` (the rest of the chain, then one
HTTP attempt) any number of times, and return a response. Every HTTP response comes back,
4xx/5xx included; the client raises its typed errors after the chain::

    def log_model(request, call_next):
        response = call_next(request)
        print(request.json["model"], response.status_code)
        return response

    client = AnthropicFoundry(..., middleware=[log_model])

The official SDK's middleware objects (subclasses of ``anthropic.Middleware``) are accepted and
get the same request and response views, which offer the documented surface (``method``,
``url``, ``headers``, ``json``, ``stream``, ``retries_taken``, ``copy()``; ``status_code``,
``http_response``, ``parse()``). The official ``BetaRefusalFallbackMiddleware`` reaches into the
official client's internals, so it is replaced by :class:`RefusalFallbackMiddleware` with the
same fallback chain.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx2
import msgspec

from ._redact import CredentialSafeRequest
from ._responses import event_decoder
from ._stream import AsyncStream, Stream
from .types import decode_message, encode

__all__ = [
    "AsyncCallNext",
    "AsyncMiddlewareCallable",
    "BetaRefusalFallbackMiddleware",
    "CallNext",
    "Middleware",
    "MiddlewareCallable",
    "MiddlewareInput",
    "MiddlewareRequest",
    "MiddlewareResponse",
    "RefusalFallbackMiddleware",
    "prepare_middleware",
    "send_async",
    "send_sync",
]

_UNSET: Any = object()
_MESSAGES_PATH_END = "/v1/messages"


class MiddlewareRequest:
    """One HTTP attempt as middleware sees it. Treat it as immutable; :meth:`copy` derives a
    changed one."""

    __slots__ = ("_http", "headers", "json", "method", "retries_taken", "stream", "url")

    def __init__(self, http_request: httpx2.Request, *, stream: bool, retries_taken: int) -> None:
        self._http = http_request
        self.method = http_request.method
        self.url = str(http_request.url)
        # Credentials stay in the HTTP request; the view shows the other headers.
        self.headers: dict[str, str] = {
            name: value
            for name, value in http_request.headers.items()
            if name.lower() not in ("x-api-key", "api-key", "authorization")
        }
        content = http_request.content
        self.json: Any = msgspec.json.decode(content) if content else None
        self.stream = stream
        self.retries_taken = retries_taken

    def copy(
        self,
        *,
        method: str = _UNSET,
        url: str = _UNSET,
        headers: Mapping[str, str] = _UNSET,
        params: Mapping[str, Any] = _UNSET,
        body: Any = _UNSET,
        timeout: Any = _UNSET,
    ) -> MiddlewareRequest:
        """A request with the given parts replaced (``headers`` are merged; a ``None`` value
        removes a header)."""
        original = self._http
        new_headers = httpx2.Headers(original.headers)
        if headers is not _UNSET:
            for name, value in headers.items():
                if value is None:
                    new_headers.pop(name, None)
                else:
                    new_headers[name] = value
        target = httpx2.URL(original.url if url is _UNSET else url)
        if params is not _UNSET:
            target = target.copy_merge_params(dict(params))
        content = original.content if body is _UNSET else encode(body)
        new_headers.pop("content-length", None)
        request = CredentialSafeRequest(
            original.method if method is _UNSET else method,
            target,
            headers=new_headers,
            content=content,
            extensions=dict(original.extensions),
        )
        return MiddlewareRequest(request, stream=self.stream, retries_taken=self.retries_taken)

    @property
    def http_request(self) -> httpx2.Request:
        return self._http

    def __repr__(self) -> str:
        return f"<MiddlewareRequest {self.method} {self.url}>"


class MiddlewareResponse:
    """The response of one attempt; ``parse()`` gives the message (or the event stream)."""

    __slots__ = ("http_response", "retries_taken", "stream")

    def __init__(self, http_response: httpx2.Response, *, stream: bool, retries_taken: int) -> None:
        self.http_response = http_response
        self.stream = stream
        self.retries_taken = retries_taken

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def is_success(self) -> bool:
        return self.http_response.is_success

    @property
    def headers(self) -> httpx2.Headers:
        return self.http_response.headers

    def read(self) -> bytes:
        return self.http_response.read()

    async def aread(self) -> bytes:
        return await self.http_response.aread()

    def close(self) -> None:
        self.http_response.close()

    async def aclose(self) -> None:
        await self.http_response.aclose()

    def parse(self) -> Any:
        """The decoded :class:`~claude_foundry.types.Message`; for a stream, the event stream
        (sync: :class:`Stream`; async responses: :class:`AsyncStream`)."""
        response = self.http_response
        if self.stream:
            if isinstance(response.stream, httpx2.AsyncByteStream):
                return AsyncStream(
                    response=response,
                    decoder=event_decoder(response),
                    chunks=response.aiter_bytes(),
                )
            return Stream(
                response=response, decoder=event_decoder(response), chunks=response.iter_bytes()
            )
        return decode_message(response.content)


CallNext = Callable[[MiddlewareRequest], MiddlewareResponse]
AsyncCallNext = Callable[[MiddlewareRequest], Awaitable[MiddlewareResponse]]
MiddlewareCallable = Callable[[MiddlewareRequest, CallNext], MiddlewareResponse]
AsyncMiddlewareCallable = Callable[
    [MiddlewareRequest, AsyncCallNext], Awaitable[MiddlewareResponse]
]


class Middleware:
    """Base class for middleware objects, as the official ``Middleware``: override
    :meth:`handle` (sync client) and/or :meth:`handle_async` (async client). The defaults pass
    the request on unchanged."""

    def handle(self, request: MiddlewareRequest, call_next: CallNext) -> MiddlewareResponse:
        return call_next(request)

    async def handle_async(
        self, request: MiddlewareRequest, call_next: AsyncCallNext
    ) -> MiddlewareResponse:
        return await call_next(request)


MiddlewareInput = Middleware | MiddlewareCallable | AsyncMiddlewareCallable


def _name(entry: object) -> str:
    return str(getattr(entry, "__name__", None) or type(entry).__name__)


def _is_async_callable(entry: object) -> bool:
    return inspect.iscoroutinefunction(entry) or inspect.iscoroutinefunction(
        getattr(entry, "__call__", None)  # noqa: B004
    )


def _translated(entry: Any) -> Any:
    """The official SDK's refusal-fallback middleware becomes ours (see the module docstring)."""
    if type(entry).__name__ == "BetaRefusalFallbackMiddleware" and not isinstance(
        entry, RefusalFallbackMiddleware
    ):
        fallbacks = getattr(entry, "_fallbacks", None)
        if isinstance(fallbacks, list | tuple):
            return RefusalFallbackMiddleware(list(fallbacks))
    return entry


def prepare_middleware(entries: Iterable[Any] | None, *, is_async: bool) -> tuple[Any, ...]:
    """Check ``entries`` for the client kind and translate the official fallback middleware."""
    if entries is None:
        return ()
    prepared = []
    for entry in (_translated(entry) for entry in entries):
        method = "handle_async" if is_async else "handle"
        handler = getattr(entry, method, None)
        if isinstance(entry, Middleware) and getattr(type(entry), method) is getattr(
            Middleware, method
        ):
            raise TypeError(
                f"middleware {_name(entry)} does not implement {method}(), which "
                f"{'AsyncAnthropicFoundry' if is_async else 'AnthropicFoundry'} calls."
            )
        if handler is not None:
            if inspect.iscoroutinefunction(handler) != is_async:
                kind = "an async" if is_async else "a sync"
                raise TypeError(
                    f"middleware {_name(entry)}: {method}() must be {kind} function for this "
                    "client."
                )
        elif not callable(entry):
            raise TypeError(f"middleware {_name(entry)} is neither callable nor has {method}()")
        elif _is_async_callable(entry) != is_async:
            needed = "an async function" if is_async else "a sync function"
            raise TypeError(
                f"middleware {_name(entry)} must be {needed} for "
                f"{'AsyncAnthropicFoundry' if is_async else 'AnthropicFoundry'}."
            )
        prepared.append(entry)
    return tuple(prepared)


def send_sync(
    middleware: tuple[Any, ...],
    http: httpx2.Client,
    request: httpx2.Request,
    *,
    stream: bool,
    retries_taken: int,
) -> httpx2.Response:
    """One attempt through the chain; the HTTP response the chain settled on."""

    def attempt(view: MiddlewareRequest) -> MiddlewareResponse:
        response = http.send(view.http_request, stream=stream, follow_redirects=False)
        return MiddlewareResponse(response, stream=stream, retries_taken=retries_taken)

    def call(index: int, view: MiddlewareRequest) -> MiddlewareResponse:
        if index == len(middleware):
            return attempt(view)
        entry = middleware[index]
        handler = getattr(entry, "handle", entry)
        result: MiddlewareResponse = handler(view, lambda next_view: call(index + 1, next_view))
        return result

    view = MiddlewareRequest(request, stream=stream, retries_taken=retries_taken)
    return call(0, view).http_response


async def send_async(
    middleware: tuple[Any, ...],
    http: httpx2.AsyncClient,
    request: httpx2.Request,
    *,
    stream: bool,
    retries_taken: int,
) -> httpx2.Response:
    async def attempt(view: MiddlewareRequest) -> MiddlewareResponse:
        response = await http.send(view.http_request, stream=stream, follow_redirects=False)
        return MiddlewareResponse(response, stream=stream, retries_taken=retries_taken)

    async def call(index: int, view: MiddlewareRequest) -> MiddlewareResponse:
        if index == len(middleware):
            return await attempt(view)
        entry = middleware[index]
        handler = getattr(entry, "handle_async", entry)
        result: MiddlewareResponse = await handler(
            view, lambda next_view: call(index + 1, next_view)
        )
        return result

    view = MiddlewareRequest(request, stream=stream, retries_taken=retries_taken)
    return (await call(0, view)).http_response


# --- client-side refusal fallback ---------------------------------------------------------------


def _stream_refused(body: bytes) -> bool:
    for line in body.splitlines():
        if not line.startswith(b"data:"):
            continue
        try:
            event = msgspec.json.decode(line[5:])
        except msgspec.DecodeError:
            continue
        if isinstance(event, dict) and event.get("type") == "message_delta":
            delta = event.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason") == "refusal":
                return True
    return False


class RefusalFallbackMiddleware(Middleware):
    """On a refusal (``stop_reason == "refusal"``), ask the next model in ``fallbacks``.

    Each fallback is a dict with ``model`` and any other request fields to replace for that
    model, as the official ``BetaRefusalFallbackMiddleware`` takes them (which this replaces when
    given to our client). Use it where the service lacks server-side fallbacks (Foundry does).
    A streamed reply is read whole before it is handed on, so a refused stream can be replaced;
    the reply that is handed on is the first that was not refused (or the last one).
    """

    def __init__(self, fallbacks: Iterable[Mapping[str, Any]]) -> None:
        self.fallbacks = [dict(fallback) for fallback in fallbacks]

    def _applies(self, request: MiddlewareRequest) -> bool:
        body = request.json
        return (
            bool(self.fallbacks)
            and request.method.upper() == "POST"
            and httpx2.URL(request.url).path.endswith(_MESSAGES_PATH_END)
            and isinstance(body, dict)
            and body.get("fallbacks") is None
        )

    def _hops(self, request: MiddlewareRequest) -> list[MiddlewareRequest]:
        return [request.copy(body={**request.json, **hop}) for hop in self.fallbacks]

    @staticmethod
    def _refused(response: MiddlewareResponse, body: bytes) -> bool:
        if not response.is_success:
            return False
        if response.stream:
            return _stream_refused(body)
        try:
            reply = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return False
        return isinstance(reply, dict) and reply.get("stop_reason") == "refusal"

    def handle(self, request: MiddlewareRequest, call_next: CallNext) -> MiddlewareResponse:
        if not self._applies(request):
            return call_next(request)
        response = call_next(request)
        for hop in self._hops(request):
            if not self._refused(response, response.read()):
                break
            response.close()
            response = call_next(hop)
        return response

    async def handle_async(
        self, request: MiddlewareRequest, call_next: AsyncCallNext
    ) -> MiddlewareResponse:
        if not self._applies(request):
            return await call_next(request)
        response = await call_next(request)
        for hop in self._hops(request):
            if not self._refused(response, await response.aread()):
                break
            await response.aclose()
            response = await call_next(hop)
        return response


class BetaRefusalFallbackMiddleware(RefusalFallbackMiddleware):
    """:class:`RefusalFallbackMiddleware` under the official name and signature.

    ``betas`` of the official class turn on Anthropic's fallback credit tokens, which Foundry
    does not issue: only ``None`` (the default) or an empty list is accepted. There is no
    ``BetaFallbackState`` pinning: each call starts at its own ``model``.
    """

    def __init__(
        self, fallbacks: Iterable[Mapping[str, Any]], *, betas: Iterable[str] | None = None
    ) -> None:
        if betas is not None and list(betas):
            raise ValueError(
                f"BetaRefusalFallbackMiddleware(betas={list(betas)!r}): Microsoft Foundry issues "
                "no fallback credit tokens, so there are no betas to send for them. Leave `betas` "
                "out; pass other betas to the call with `betas=[...]`."
            )
        super().__init__(fallbacks)
