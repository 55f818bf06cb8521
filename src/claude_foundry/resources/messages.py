"""``client.messages``: create, stream and count_tokens, as in the official SDK.

Parameters are the Messages API's, keyword-only, plus the per-call options ``extra_headers``,
``extra_query``, ``extra_body`` and ``timeout``. Only the parameters given are sent. Turning the
arguments into a :class:`~claude_foundry._pipeline.Call` is done once here for both clients; the
sync and async classes only hand the call to their client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any, Literal, Required, TypedDict, TypeVar, Unpack, overload

import httpx2

from .._config import (
    DEFAULT_ANTHROPIC_VERSION,
    NOT_GIVEN,
    SAMPLING_PARAMS,
    SAMPLING_PARAMS_VERSION,
    SENTINEL_TYPE_NAMES,
    NotGiven,
    check_timeout,
)
from .._files import inline_file_data
from .._models import warn_if_deprecated
from .._parse import OutputFormat, parsed_message, resolve_output_format
from .._pipeline import AsyncRequester, Call, SyncRequester, parse_message, parse_token_count
from .._stream import (
    AsyncMessageStreamManager,
    AsyncStream,
    MessageStreamManager,
    Stream,
)
from .._tools import tool_definitions
from ..types import Message, MessageTokensCount, ParsedMessage, encode
from . import (
    ALTERNATIVES,
    AsyncRawResponse,
    AsyncStreamingResponse,
    AsyncStreamingResponseManager,
    NotOnFoundry,
    RawResponse,
    StreamingResponse,
    StreamingResponseManager,
    as_async_raw,
)

__all__ = [
    "AsyncMessages",
    "MessageCountTokensParams",
    "MessageCreateParams",
    "MessageCreateParamsNonStreaming",
    "MessageCreateParamsStreaming",
    "MessageParseParams",
    "MessageStreamParams",
    "Messages",
]

NONSTREAMING_GUARD_MESSAGE = (
    "Streaming is required for operations that may take longer than 10 minutes. See "
    "https://platform.claude.com/docs/en/cli-sdks-libraries/sdks/python#long-requests for more "
    "details"
)
# The official client's estimate is an hour per 128,000 output tokens; past this many a request
# would outlast its default 10-minute timeout, so it asks for streaming instead.
NONSTREAMING_MAX_TOKENS = 600 * 128_000 // 3600
Timeout = float | httpx2.Timeout | None | NotGiven
ResponseFormatT = TypeVar("ResponseFormatT")


class RequestOptions(TypedDict, total=False):
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, object] | None
    extra_body: Mapping[str, object] | None
    timeout: Timeout
    tags: Mapping[str, str] | None


class MessageParseParams(RequestOptions, total=False):
    """The parameters of ``messages.parse`` besides ``output_format``."""

    max_tokens: Required[int]
    messages: Required[Iterable[Any]]
    model: Required[str]
    cache_control: Any
    container: Any
    context_management: Any
    diagnostics: Any
    inference_geo: str | None
    mcp_servers: Iterable[Any]
    metadata: Mapping[str, Any]
    output_config: Mapping[str, Any]
    service_tier: str
    speed: str | None
    stop_sequences: Iterable[str]
    system: str | Iterable[Any]
    temperature: float
    thinking: Mapping[str, Any]
    tool_choice: Mapping[str, Any]
    tools: Iterable[Any]
    top_k: int
    top_p: float
    user_profile_id: str
    workspace_id: str


class MessageStreamParams(MessageParseParams, total=False):
    output_format: Any


class MessageCreateParamsNonStreaming(MessageStreamParams, total=False):
    stream: Literal[False]


class MessageCreateParamsStreaming(MessageStreamParams, total=False):
    stream: Required[Literal[True]]


class MessageCreateParams(MessageStreamParams, total=False):
    stream: bool


class MessageCountTokensParams(RequestOptions, total=False):
    messages: Required[Iterable[Any]]
    model: Required[str]
    cache_control: Any
    context_management: Any
    mcp_servers: Iterable[Any]
    output_config: Mapping[str, Any]
    output_format: Any
    speed: str | None
    system: str | Iterable[Any]
    thinking: Mapping[str, Any]
    tool_choice: Mapping[str, Any]
    tools: Iterable[Any]
    user_profile_id: str
    workspace_id: str


class BetaExtraParams(TypedDict, total=False):
    """What ``client.beta.messages`` takes beyond ``client.messages``."""

    betas: Iterable[str]
    billing_policy: Any
    compaction: Any
    fallback_credit_token: Any
    fallbacks: Any
    thread: Any


# Parameters that travel as headers, not in the body.
_HEADER_PARAMS = {
    "user_profile_id": "anthropic-user-profile-id",
    "workspace_id": "anthropic-workspace-id",
}
_STREAM_PARAMS = frozenset(MessageStreamParams.__annotations__) | {"stream"}
_COUNT_PARAMS = frozenset(MessageCountTokensParams.__annotations__)
BETA_EXTRA_PARAMS = frozenset(BetaExtraParams.__annotations__)
_LIST_PARAMS = ("messages", "tools", "stop_sequences", "mcp_servers", "system")
_HELPER_HEADERS = {"x-stainless-helper-method": "stream", "x-stainless-stream-helper": "messages"}
_PARSE_HEADERS = {"x-stainless-helper": "messages.parse"}
_BETA_PARSE_HEADERS = {"x-stainless-helper": "beta.messages.parse"}
_TOKEN_COUNTING_BETA = "token-counting-2024-11-01"


def _resolve_call_timeout(timeout: Any) -> httpx2.Timeout | None:
    if type(timeout).__name__ in SENTINEL_TYPE_NAMES:
        return None
    if timeout is not None and not isinstance(timeout, int | float | httpx2.Timeout):
        raise TypeError(
            f"timeout must be a number of seconds, an httpx2.Timeout or None, not "
            f"{type(timeout).__name__}"
        )
    return check_timeout(timeout)


class _MessagesCore:
    """Argument handling shared by the sync and async resources (no I/O)."""

    _beta = False

    def __init__(self, client: Any) -> None:
        self._client = client

    def _known(self, base: frozenset[str]) -> frozenset[str]:
        return base | BETA_EXTRA_PARAMS if self._beta else base

    def _build_call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        path: str,
        known: frozenset[str],
        required: tuple[str, ...],
        helper_headers: Mapping[str, str] | None = None,
        raw: bool = False,
    ) -> Call:
        unknown = params.keys() - known
        if unknown:
            name = sorted(unknown)[0]
            raise TypeError(
                f"{method}() got an unexpected keyword argument {name!r}. To send a parameter "
                f"this client does not know, pass extra_body={{{name!r}: ...}}."
            )
        for name in required:
            if name not in params:
                raise TypeError(f"{method}() missing required keyword argument: {name!r}")
        warn_if_deprecated(params["model"])
        for value in params.values():
            if type(value).__name__ in SENTINEL_TYPE_NAMES:
                params = {
                    k: v for k, v in params.items() if type(v).__name__ not in SENTINEL_TYPE_NAMES
                }
                break
        self._take_output_format(params)

        extra_headers = params.pop("extra_headers", None)
        extra_query = params.pop("extra_query", None)
        extra_body = params.pop("extra_body", None)
        tags = params.pop("tags", None)  # for the usage record; never sent
        timeout = _resolve_call_timeout(params.pop("timeout", NOT_GIVEN))
        headers: dict[str, Any] | None = None
        for param, header in _HEADER_PARAMS.items():
            if param in params:
                headers = headers or {}
                headers[header] = params.pop(param)
        counting = path.endswith("count_tokens")
        betas = params.pop("betas", None) if self._beta else None
        if counting and self._beta:
            betas = [*(betas or ()), _TOKEN_COUNTING_BETA]
        if betas:
            headers = headers or {}
            headers["anthropic-beta"] = ",".join(str(beta) for beta in betas)
        if helper_headers:
            headers = {**(headers or {}), **helper_headers}
        if not SAMPLING_PARAMS.isdisjoint(params) and self._uses_default_version():
            # temperature / top_p / top_k exist only under the older API version.
            headers = {**(headers or {}), "anthropic-version": SAMPLING_PARAMS_VERSION}
        if extra_headers:
            headers = {**(headers or {}), **extra_headers}

        stream = bool(params.get("stream"))
        if (
            not stream
            and timeout is None
            and not counting
            and self._client._uses_default_timeout
            and isinstance(params["max_tokens"], int)
            and params["max_tokens"] > NONSTREAMING_MAX_TOKENS
        ):
            raise ValueError(NONSTREAMING_GUARD_MESSAGE)

        for name in _LIST_PARAMS:
            value = params.get(name)
            if value is not None and not isinstance(value, list | tuple | str):
                params[name] = list(value)
        if "messages" in params:
            params["messages"] = inline_file_data(params["messages"])
        if "tools" in params:
            params["tools"] = tool_definitions(params["tools"])
        if extra_body:
            params.update(extra_body)
        parse: Callable[[httpx2.Response], Any] = parse_token_count if counting else parse_message
        if raw and not stream:
            inner = parse
            parse = lambda response: RawResponse(response, inner(response))  # noqa: E731
        model, max_tokens = params.get("model"), params.get("max_tokens")
        admitted = not counting and isinstance(model, str) and type(max_tokens) is int
        return Call(
            path=path,
            body=encode(params),
            stream=stream,
            extra_headers=headers,
            extra_query=extra_query,
            timeout=timeout,
            parse=parse,
            model=model if admitted else None,
            max_tokens=max_tokens if admitted else None,
            deployment=model if isinstance(model, str) else None,
            tags=tags,
        )

    def _uses_default_version(self) -> bool:
        version = self._client._pipeline.base_headers.get("anthropic-version")
        return bool(version == DEFAULT_ANTHROPIC_VERSION)

    def _take_output_format(self, params: dict[str, Any]) -> OutputFormat[Any] | None:
        """Pop ``output_format`` and send it as ``output_config.format``, as the official SDK
        does; the resolved format decodes the reply."""
        output_format = params.pop("output_format", None)
        if output_format is None or type(output_format).__name__ in SENTINEL_TYPE_NAMES:
            return None
        resolved = resolve_output_format(output_format)
        config = params.get("output_config")
        if config is None or type(config).__name__ in SENTINEL_TYPE_NAMES:
            config = {}
        if self._beta and config.get("format") is not None:
            raise TypeError(
                "Both output_format and output_config.format were given; pass only one of them."
            )
        params["output_config"] = {**config, "format": resolved.wire}
        return resolved

    def _parse_call(self, params: dict[str, Any]) -> tuple[Call, OutputFormat[Any] | None]:
        if "stream" in params:
            raise TypeError("parse() got an unexpected keyword argument 'stream'")
        output_format = self._take_output_format(params)
        call = self._build_call(
            "parse",
            params,
            path="v1/messages",
            known=self._known(_STREAM_PARAMS),
            required=("max_tokens", "messages", "model"),
            helper_headers=_BETA_PARSE_HEADERS if self._beta else _PARSE_HEADERS,
        )
        return call, output_format

    def _create_call(self, params: dict[str, Any], *, raw: bool = False) -> Call:
        return self._build_call(
            "create",
            params,
            path="v1/messages",
            known=self._known(_STREAM_PARAMS),
            required=("max_tokens", "messages", "model"),
            raw=raw,
        )

    def _stream_call(self, params: dict[str, Any]) -> tuple[Call, OutputFormat[Any] | None]:
        output_format = self._take_output_format(params)
        if "stream" in params:
            raise TypeError("stream() got an unexpected keyword argument 'stream'")
        params["stream"] = True
        call = self._build_call(
            "stream",
            params,
            path="v1/messages",
            known=self._known(_STREAM_PARAMS),
            required=("max_tokens", "messages", "model"),
            helper_headers=_HELPER_HEADERS,
        )
        return call, output_format

    def _count_call(self, params: dict[str, Any], *, raw: bool = False) -> Call:
        return self._build_call(
            "count_tokens",
            params,
            path="v1/messages/count_tokens",
            known=self._known(_COUNT_PARAMS),
            required=("messages", "model"),
            raw=raw,
        )

    batches = NotOnFoundry("client.messages.batches", ALTERNATIVES["batches"])


class Messages(_MessagesCore):
    """``client.messages`` of :class:`~claude_foundry.AnthropicFoundry`."""

    _client: SyncRequester

    @overload
    def create(self, **params: Unpack[MessageCreateParamsNonStreaming]) -> Message: ...
    @overload
    def create(self, **params: Unpack[MessageCreateParamsStreaming]) -> Stream: ...
    @overload
    def create(self, **params: Unpack[MessageCreateParams]) -> Message | Stream: ...
    def create(self, **params: Any) -> Message | Stream:
        """Create a message; with ``stream=True`` return the raw event :class:`Stream`."""
        result: Message | Stream = self._client._request(self._create_call(params))
        return result

    def stream(self, **params: Unpack[MessageStreamParams]) -> MessageStreamManager:
        """Stream a message with the helper: ``with client.messages.stream(...) as stream:``.

        With ``output_format``, ``get_final_message()`` returns a :class:`ParsedMessage`."""
        return self._manager(*self._stream_call(dict(params)))

    def _manager(
        self, call: Call, output_format: OutputFormat[Any] | None = None
    ) -> MessageStreamManager:
        client = self._client
        return MessageStreamManager(lambda: client._request(call), finish=_finisher(output_format))

    @overload
    def parse(
        self,
        *,
        output_format: type[ResponseFormatT],
        **params: Unpack[MessageParseParams],
    ) -> ParsedMessage[ResponseFormatT]: ...
    @overload
    def parse(
        self,
        *,
        output_format: Mapping[str, Any] | None = None,
        **params: Unpack[MessageParseParams],
    ) -> ParsedMessage[Any]: ...
    def parse(self, *, output_format: Any = None, **params: Any) -> ParsedMessage[Any]:
        """Create a message and decode its text into ``output_format`` (structured outputs).

        ``output_format`` is a pydantic model, a msgspec Struct, a dataclass, a TypedDict or a
        JSON schema dict; it is sent as ``output_config.format``. The value is
        ``message.parsed_output``; :class:`~claude_foundry.OutputParseError` when the text does
        not match. Deployments hosted on Azure refuse structured outputs (400).
        """
        call, resolved = self._parse_call({**params, "output_format": output_format})
        message: Message = self._client._request(call)
        return parsed_message(message, resolved)

    def count_tokens(self, **params: Unpack[MessageCountTokensParams]) -> MessageTokensCount:
        """Count the input tokens of a request without creating a message."""
        result: MessageTokensCount = self._client._request(self._count_call(dict(params)))
        return result

    @cached_property
    def with_raw_response(self) -> MessagesWithRawResponse:
        return MessagesWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> MessagesWithStreamingResponse:
        return MessagesWithStreamingResponse(self)


class AsyncMessages(_MessagesCore):
    """``client.messages`` of :class:`~claude_foundry.AsyncAnthropicFoundry`."""

    _client: AsyncRequester

    @overload
    async def create(self, **params: Unpack[MessageCreateParamsNonStreaming]) -> Message: ...
    @overload
    async def create(self, **params: Unpack[MessageCreateParamsStreaming]) -> AsyncStream: ...
    @overload
    async def create(self, **params: Unpack[MessageCreateParams]) -> Message | AsyncStream: ...
    async def create(self, **params: Any) -> Message | AsyncStream:
        """Create a message; with ``stream=True`` return the raw event :class:`AsyncStream`."""
        result: Message | AsyncStream = await self._client._request(self._create_call(params))
        return result

    def stream(self, **params: Unpack[MessageStreamParams]) -> AsyncMessageStreamManager:
        """Stream a message: ``async with client.messages.stream(...) as stream:``."""
        return self._manager(*self._stream_call(dict(params)))

    def _manager(
        self, call: Call, output_format: OutputFormat[Any] | None = None
    ) -> AsyncMessageStreamManager:
        client = self._client

        async def open_stream() -> AsyncStream:
            stream: AsyncStream = await client._request(call)
            return stream

        return AsyncMessageStreamManager(open_stream, finish=_finisher(output_format))

    @overload
    async def parse(
        self,
        *,
        output_format: type[ResponseFormatT],
        **params: Unpack[MessageParseParams],
    ) -> ParsedMessage[ResponseFormatT]: ...
    @overload
    async def parse(
        self,
        *,
        output_format: Mapping[str, Any] | None = None,
        **params: Unpack[MessageParseParams],
    ) -> ParsedMessage[Any]: ...
    async def parse(self, *, output_format: Any = None, **params: Any) -> ParsedMessage[Any]:
        """Create a message and decode its text into ``output_format``; see
        :meth:`Messages.parse`."""
        call, resolved = self._parse_call({**params, "output_format": output_format})
        message: Message = await self._client._request(call)
        return parsed_message(message, resolved)

    async def count_tokens(self, **params: Unpack[MessageCountTokensParams]) -> MessageTokensCount:
        """Count the input tokens of a request without creating a message."""
        result: MessageTokensCount = await self._client._request(self._count_call(dict(params)))
        return result

    @cached_property
    def with_raw_response(self) -> AsyncMessagesWithRawResponse:
        return AsyncMessagesWithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> AsyncMessagesWithStreamingResponse:
        return AsyncMessagesWithStreamingResponse(self)


def _finisher(
    output_format: OutputFormat[Any] | None,
) -> Callable[[Message], Message] | None:
    if output_format is None:
        return None
    return lambda message: parsed_message(message, output_format)


def _raw_parse_call(messages: _MessagesCore, params: dict[str, Any]) -> Call:
    call, resolved = messages._parse_call(dict(params))
    inner = call.parse
    call.parse = lambda response: RawResponse(response, parsed_message(inner(response), resolved))
    return call


def _raw(result: RawResponse | Stream | AsyncStream) -> RawResponse:
    # A raw call's parse wraps a message; a stream is wrapped here, once the client has built it.
    if isinstance(result, RawResponse):
        return result
    return RawResponse(result.response, result)


class MessagesWithRawResponse:
    """``client.messages.with_raw_response``: the same methods, returning :class:`RawResponse`."""

    batches = NotOnFoundry("client.messages.with_raw_response.batches", ALTERNATIVES["batches"])

    def __init__(self, messages: Messages) -> None:
        self._messages = messages

    def create(self, **params: Any) -> RawResponse:
        messages = self._messages
        return _raw(messages._client._request(messages._create_call(params, raw=True)))

    def count_tokens(self, **params: Any) -> RawResponse:
        messages = self._messages
        result: RawResponse = messages._client._request(messages._count_call(params, raw=True))
        return result

    def parse(self, **params: Any) -> RawResponse:
        messages = self._messages
        result: RawResponse = messages._client._request(_raw_parse_call(messages, params))
        return result


class AsyncMessagesWithRawResponse:
    """``client.messages.with_raw_response`` of the async client: :class:`AsyncRawResponse`,
    whose ``parse()`` is awaited as the official ``AsyncAPIResponse``'s."""

    batches = NotOnFoundry("client.messages.with_raw_response.batches", ALTERNATIVES["batches"])

    def __init__(self, messages: AsyncMessages) -> None:
        self._messages = messages

    async def create(self, **params: Any) -> AsyncRawResponse:
        messages = self._messages
        call = messages._create_call(params, raw=True)
        return as_async_raw(_raw(await messages._client._request(call)))

    async def count_tokens(self, **params: Any) -> AsyncRawResponse:
        messages = self._messages
        call = messages._count_call(params, raw=True)
        result: RawResponse = await messages._client._request(call)
        return as_async_raw(result)

    async def parse(self, **params: Any) -> AsyncRawResponse:
        messages = self._messages
        result: RawResponse = await messages._client._request(_raw_parse_call(messages, params))
        return as_async_raw(result)


class MessagesWithStreamingResponse:
    """``client.messages.with_streaming_response``: the response before its body is read."""

    batches = NotOnFoundry(
        "client.messages.with_streaming_response.batches", ALTERNATIVES["batches"]
    )

    def __init__(self, messages: Messages) -> None:
        self._messages = messages

    def _manager(self, call: Call) -> StreamingResponseManager:
        call.unread = True
        client = self._messages._client

        def open_response() -> StreamingResponse:
            return StreamingResponse(client._request(call), call.parse, call.stream)

        return StreamingResponseManager(open_response)

    def create(self, **params: Any) -> StreamingResponseManager:
        return self._manager(self._messages._create_call(params))

    def count_tokens(self, **params: Any) -> StreamingResponseManager:
        return self._manager(self._messages._count_call(params))


class AsyncMessagesWithStreamingResponse:
    """``client.messages.with_streaming_response`` of the async client."""

    batches = NotOnFoundry(
        "client.messages.with_streaming_response.batches", ALTERNATIVES["batches"]
    )

    def __init__(self, messages: AsyncMessages) -> None:
        self._messages = messages

    def _manager(self, call: Call) -> AsyncStreamingResponseManager:
        call.unread = True
        client = self._messages._client

        async def open_response() -> AsyncStreamingResponse:
            return AsyncStreamingResponse(await client._request(call), call.parse, call.stream)

        return AsyncStreamingResponseManager(open_response)

    def create(self, **params: Any) -> AsyncStreamingResponseManager:
        return self._manager(self._messages._create_call(params))

    def count_tokens(self, **params: Any) -> AsyncStreamingResponseManager:
        return self._manager(self._messages._count_call(params))
