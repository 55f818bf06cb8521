"""API resources of the Foundry clients, and stand-ins for the APIs Foundry does not offer."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, NoReturn, TypeVar

import httpx2

from .._deadline import BODY_DEADLINE, within
from .._errors import NotSupportedOnFoundryError
from .._responses import event_decoder
from .._stream import AsyncStream, Stream

__all__ = [
    "UNAVAILABLE_ON_BETA",
    "UNAVAILABLE_ON_CLIENT",
    "AsyncRawResponse",
    "AsyncStreamingResponse",
    "AsyncStreamingResponseManager",
    "NotOnFoundry",
    "RawResponse",
    "StreamingResponse",
    "StreamingResponseManager",
    "as_async_raw",
    "parsed_value",
]

_T = TypeVar("_T")
_END: Any = object()  # what a drained iterator gives in place of a next part

_MODELS_ALTERNATIVE = (
    "List your deployments in the Foundry portal (Build > Models) or with Azure Resource "
    "Manager (`az cognitiveservices account deployment list`); pass a deployment name as `model`."
)
_BATCHES_ALTERNATIVE = (
    "Run the requests yourself: loop (or gather, with AsyncAnthropicFoundry) over "
    "messages.create with bounded concurrency, or use a local batch runner."
)

THREAD_HELPER = (
    "is not offered by this client, though Foundry serves message threads (the "
    "message-threads-2026-08-12 beta)"
)

ALTERNATIVES: dict[str, str] = {
    "models": _MODELS_ALTERNATIVE,
    "batches": _BATCHES_ALTERNATIVE,
    "completions": "Use messages.create; the legacy Text Completions API is not on Foundry.",
    "files": "Send documents and images inline (base64) in the message content.",
    "skills": "Agent Skills are not available for deployments on Foundry.",
    "admin": "Manage access with Azure RBAC and keys in the Azure portal.",
    "agents": (
        "Claude Managed Agents are not offered on Foundry: run the agent loop in your own "
        "process with client.beta.messages.tool_runner(...) and @beta_tool functions."
    ),
    "threads": (
        "client.beta.messages.tool_runner(...) threads its conversation by default; or send "
        'thread={"type": "create"} and then {"type": "continue", "previous_message_id": ...} '
        'to client.beta.messages.create with betas=["message-threads-2026-08-12"].'
    ),
    "webhooks": "Foundry sends no Anthropic webhooks; poll your own state or use Azure Monitor.",
    "memory_stores": (
        "Keep memory on your side, e.g. the official memory tool "
        "(anthropic.lib.tools.BetaLocalFilesystemMemoryTool) with the tool runner."
    ),
    "raw_http": (
        "Foundry serves only v1/messages and v1/messages/count_tokens: use client.messages "
        "(extra_body, extra_headers and extra_query reach anything else on those routes)."
    ),
    "auth_token": (
        "The Foundry client takes api_key=, azure_ad_token_provider= or credential= "
        "(an azure-identity credential); it has no Anthropic auth_token or credentials."
    ),
    "open_telemetry": (
        "Instrument the HTTP client you pass as http_client= with OpenTelemetry, or wrap calls in "
        "middleware= to record spans."
    ),
}

# Official-client attributes with no Foundry counterpart, by where they hang, with the
# ALTERNATIVES key naming what to use instead (tests compare this with the official client).
UNAVAILABLE_ON_CLIENT: dict[str, str] = {
    "auth_headers": "auth_token",
    "auth_token": "auth_token",
    "credentials": "auth_token",
    "custom_auth": "auth_token",
    "platform_headers": "auth_token",
    "delete": "raw_http",
    "get": "raw_http",
    "get_api_list": "raw_http",
    "patch": "raw_http",
    "post": "raw_http",
    "put": "raw_http",
    "request": "raw_http",
    "qs": "raw_http",
    "open_telemetry": "open_telemetry",
}
UNAVAILABLE_ON_BETA: dict[str, str] = {
    "agents": "agents",
    "deployment_runs": "agents",
    "deployments": "agents",
    "dreams": "agents",
    "environments": "agents",
    "sessions": "agents",
    "tunnels": "agents",
    "vaults": "agents",
    "memory_stores": "memory_stores",
    "organization": "admin",
    "user_profiles": "admin",
    "webhooks": "webhooks",
}


def stand_ins(cls: type, prefix: str, unavailable: dict[str, str]) -> None:
    """Give ``cls`` a :class:`NotOnFoundry` attribute for each name in ``unavailable``."""
    for name, alternative in unavailable.items():
        setattr(cls, name, NotOnFoundry(f"{prefix}.{name}", ALTERNATIVES[alternative]))


class NotOnFoundry:
    """Stands where the official client has ``None`` for an API Foundry does not offer.

    Any use (an attribute such as ``.list``, or a call) raises
    :class:`~claude_foundry.NotSupportedOnFoundryError` naming the alternative, instead of
    ``AttributeError: 'NoneType' object has no attribute 'list'``. It is falsy, like ``None``.
    """

    __slots__ = ("_alternative", "_name", "_reason")

    def __init__(self, name: str, alternative: str, reason: str | None = None) -> None:
        """``reason``: why it is missing, when the service does offer it (default: it does not)."""
        self._name = name
        self._alternative = alternative
        self._reason = reason or (
            "is not available on Microsoft Foundry: the service does not offer this API"
        )

    def _raise(self, what: str) -> NoReturn:
        raise NotSupportedOnFoundryError(f"{what} {self._reason}. {self._alternative}")

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self._raise(f"{self._name}.{attribute}")

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._raise(self._name)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{self._name}: not available on Microsoft Foundry>"


class _ResponseFacts:
    """What every wrapped response tells without reading its body, both ids included."""

    __slots__ = ()
    http_response: httpx2.Response

    @property
    def headers(self) -> httpx2.Headers:
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def url(self) -> httpx2.URL:
        return self.http_response.url

    @property
    def request_id(self) -> str | None:
        return self.http_response.headers.get("request-id")

    @property
    def apim_request_id(self) -> str | None:
        return self.http_response.headers.get("apim-request-id")

    @property
    def workspace_id(self) -> str | None:
        """Always ``None`` on Foundry, which has no Anthropic workspaces (an official field)."""
        return self.http_response.headers.get("anthropic-workspace-id")

    @property
    def http_request(self) -> httpx2.Request:
        return self.http_response.request

    @property
    def method(self) -> str:
        return self.http_response.request.method

    @property
    def http_version(self) -> str:
        return self.http_response.http_version

    @property
    def elapsed(self) -> datetime.timedelta:
        return self.http_response.elapsed

    @property
    def is_closed(self) -> bool:
        return self.http_response.is_closed


class _ReadResponse(_ResponseFacts):
    """A response whose body has been read (or, for a stream, handed to the stream)."""

    __slots__ = ("_parsed", "http_response")

    def __init__(self, http_response: httpx2.Response, parsed: Any) -> None:
        self.http_response = http_response
        self._parsed = parsed

    @property
    def content(self) -> bytes:
        return self.http_response.content

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}] {self.url}>"


class RawResponse(_ReadResponse):
    """What the sync client's ``with_raw_response`` methods return (the official
    ``APIResponse``): the HTTP response and the parsed value.

    ``headers``, ``status_code``, ``url``, ``http_response``, ``request_id`` and
    ``apim_request_id`` are read from the response; :meth:`parse` returns the ``Message`` (or
    the stream); ``read()``, ``text()`` and ``json()`` give the body.
    """

    __slots__ = ()

    def read(self) -> bytes:
        return self.http_response.read()

    def text(self) -> str:
        return self.http_response.text

    def json(self) -> Any:
        return self.http_response.json()

    def parse(self) -> Any:
        return self._parsed

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self.http_response.iter_bytes(chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        return self.http_response.iter_text(chunk_size)

    def iter_lines(self) -> Iterator[str]:
        return self.http_response.iter_lines()

    def close(self) -> None:
        self.http_response.close()


class AsyncRawResponse(_ReadResponse):
    """What the async client's ``with_raw_response`` methods return (the official
    ``AsyncAPIResponse``): as :class:`RawResponse`, with ``await response.parse()`` and the
    reading methods coroutines."""

    __slots__ = ()

    async def read(self) -> bytes:
        return await self.http_response.aread()

    async def text(self) -> str:
        await self.read()
        return self.http_response.text

    async def json(self) -> Any:
        await self.read()
        return self.http_response.json()

    async def parse(self) -> Any:
        return self._parsed

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return self.http_response.aiter_bytes(chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        return self.http_response.aiter_text(chunk_size)

    def iter_lines(self) -> AsyncIterator[str]:
        return self.http_response.aiter_lines()

    async def close(self) -> None:
        await self.http_response.aclose()


def parsed_value(response: RawResponse | AsyncRawResponse) -> Any:
    """What ``parse()`` gives, without awaiting."""
    return response._parsed


def as_async_raw(response: RawResponse) -> AsyncRawResponse:
    return AsyncRawResponse(response.http_response, response._parsed)


class _StreamingResponseBase(_ResponseFacts):
    """A response whose body has not been read yet (``with_streaming_response``).

    The body of a call that is not streamed must still arrive within the call's timeout, read
    how it may: each read runs under the attempt's deadline, so a server that trickles it cannot
    keep the caller waiting."""

    __slots__ = ("_deadline", "_parse", "_stream", "http_response")

    def __init__(
        self, http_response: httpx2.Response, parse: Callable[[httpx2.Response], Any], stream: bool
    ) -> None:
        self.http_response = http_response
        self._parse = parse
        self._stream = stream
        self._deadline: float | None = http_response.extensions.get(BODY_DEADLINE)


class StreamingResponse(_StreamingResponseBase):
    """The sync client's unread response: read it, iterate it, or :meth:`parse` it."""

    __slots__ = ()

    def read(self) -> bytes:
        with within(self._deadline):
            return self.http_response.read()

    def text(self) -> str:
        self.read()
        return self.http_response.text

    def json(self) -> Any:
        self.read()
        return self.http_response.json()

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self._bounded(self.http_response.iter_bytes(chunk_size))

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        return self._bounded(self.http_response.iter_text(chunk_size))

    def iter_lines(self) -> Iterator[str]:
        return self._bounded(self.http_response.iter_lines())

    def _bounded(self, parts: Iterator[_T]) -> Iterator[_T]:
        while True:
            with within(self._deadline):
                part = next(parts, _END)
            if part is _END:
                return
            yield part

    def parse(self) -> Any:
        """The ``Message`` (reading the body), or for ``stream=True`` the event :class:`Stream`."""
        response = self.http_response
        if self._stream:
            return Stream(
                response=response, decoder=event_decoder(response), chunks=response.iter_bytes()
            )
        self.read()
        return self._parse(response)

    def close(self) -> None:
        self.http_response.close()


class AsyncStreamingResponse(_StreamingResponseBase):
    """The async client's unread response; the reading methods are coroutines."""

    __slots__ = ()

    async def read(self) -> bytes:
        with within(self._deadline):
            return await self.http_response.aread()

    async def text(self) -> str:
        await self.read()
        return self.http_response.text

    async def json(self) -> Any:
        await self.read()
        return self.http_response.json()

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return self._bounded(self.http_response.aiter_bytes(chunk_size))

    def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        return self._bounded(self.http_response.aiter_text(chunk_size))

    def iter_lines(self) -> AsyncIterator[str]:
        return self._bounded(self.http_response.aiter_lines())

    async def _bounded(self, parts: AsyncIterator[_T]) -> AsyncIterator[_T]:
        while True:
            with within(self._deadline):
                part = await anext(parts, _END)
            if part is _END:
                return
            yield part

    async def parse(self) -> Any:
        response = self.http_response
        if self._stream:
            return AsyncStream(
                response=response, decoder=event_decoder(response), chunks=response.aiter_bytes()
            )
        await self.read()
        return self._parse(response)

    async def close(self) -> None:
        await self.http_response.aclose()


class StreamingResponseManager:
    """``with client.messages.with_streaming_response.create(...) as response:``"""

    def __init__(self, open_response: Callable[[], StreamingResponse]) -> None:
        self._open = open_response
        self._response: StreamingResponse | None = None

    def __enter__(self) -> StreamingResponse:
        self._response = self._open()
        return self._response

    def __exit__(self, *exc_info: object) -> None:
        if self._response is not None:
            self._response.close()


class AsyncStreamingResponseManager:
    """``async with client.messages.with_streaming_response.create(...) as response:``"""

    def __init__(self, open_response: Callable[[], Awaitable[AsyncStreamingResponse]]) -> None:
        self._open = open_response
        self._response: AsyncStreamingResponse | None = None

    async def __aenter__(self) -> AsyncStreamingResponse:
        self._response = await self._open()
        return self._response

    async def __aexit__(self, *exc_info: object) -> None:
        if self._response is not None:
            await self._response.close()
