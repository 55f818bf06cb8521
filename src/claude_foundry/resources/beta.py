"""``client.beta``: the Messages API with ``betas=[...]`` (sent as the ``anthropic-beta`` header).

The path stays ``/v1/messages``. Beta APIs that Foundry does not offer (batches, models, files,
skills) are :class:`~claude_foundry.resources.NotOnFoundry` stand-ins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, Literal, Required, Unpack, overload

from .._parse import parsed_message
from .._stream import AsyncMessageStreamManager, AsyncStream, MessageStreamManager, Stream
from .._tool_runner import (
    AsyncStreamingToolRunner,
    AsyncToolRunner,
    StreamingToolRunner,
    ToolRunner,
    make_runner,
)
from ..types import Message, MessageTokensCount, ParsedMessage
from . import ALTERNATIVES, THREAD_HELPER, UNAVAILABLE_ON_BETA, NotOnFoundry, stand_ins
from .messages import (
    AsyncMessages,
    BetaExtraParams,
    MessageCountTokensParams,
    MessageParseParams,
    Messages,
    MessageStreamParams,
    ResponseFormatT,
)

__all__ = ["AsyncBeta", "AsyncBetaMessages", "Beta", "BetaMessages"]


class BetaMessageStreamParams(MessageStreamParams, BetaExtraParams, total=False):
    pass


class BetaMessageParseParams(MessageParseParams, BetaExtraParams, total=False):
    pass


class BetaMessageCreateParamsNonStreaming(BetaMessageStreamParams, total=False):
    stream: Literal[False]


class BetaMessageCreateParamsStreaming(BetaMessageStreamParams, total=False):
    stream: Required[Literal[True]]


class BetaMessageCreateParams(BetaMessageStreamParams, total=False):
    stream: bool


class BetaMessageCountTokensParams(MessageCountTokensParams, total=False):
    betas: Iterable[str]
    billing_policy: Any
    compaction: Any


class BetaToolRunnerParams(BetaMessageStreamParams, total=False):
    max_iterations: int
    run_tools_eagerly: bool


_BETA_BATCHES = NotOnFoundry("client.beta.messages.batches", ALTERNATIVES["batches"])


class BetaMessages(Messages):
    _beta = True
    batches = _BETA_BATCHES
    thread = NotOnFoundry("client.beta.messages.thread", ALTERNATIVES["threads"], THREAD_HELPER)

    @overload
    def create(self, **params: Unpack[BetaMessageCreateParamsNonStreaming]) -> Message: ...
    @overload
    def create(self, **params: Unpack[BetaMessageCreateParamsStreaming]) -> Stream: ...
    @overload
    def create(self, **params: Unpack[BetaMessageCreateParams]) -> Message | Stream: ...
    def create(self, **params: Any) -> Message | Stream:
        result: Message | Stream = self._client._request(self._create_call(params))
        return result

    def stream(self, **params: Unpack[BetaMessageStreamParams]) -> MessageStreamManager:
        return self._manager(*self._stream_call(dict(params)))

    @overload
    def parse(
        self,
        *,
        output_format: type[ResponseFormatT],
        **params: Unpack[BetaMessageParseParams],
    ) -> ParsedMessage[ResponseFormatT]: ...
    @overload
    def parse(
        self,
        *,
        output_format: Mapping[str, Any] | None = None,
        **params: Unpack[BetaMessageParseParams],
    ) -> ParsedMessage[Any]: ...
    def parse(self, *, output_format: Any = None, **params: Any) -> ParsedMessage[Any]:
        call, resolved = self._parse_call({**params, "output_format": output_format})
        message: Message = self._client._request(call)
        return parsed_message(message, resolved)

    def count_tokens(self, **params: Unpack[BetaMessageCountTokensParams]) -> MessageTokensCount:
        result: MessageTokensCount = self._client._request(self._count_call(dict(params)))
        return result

    @overload
    def tool_runner(
        self, *, stream: Literal[True], **params: Unpack[BetaToolRunnerParams]
    ) -> StreamingToolRunner: ...
    @overload
    def tool_runner(
        self, *, stream: Literal[False] = False, **params: Unpack[BetaToolRunnerParams]
    ) -> ToolRunner: ...
    def tool_runner(self, **params: Any) -> ToolRunner | StreamingToolRunner:
        """Ask, run the tools the model calls (``@beta_tool`` functions or any object with
        ``to_dict()`` and ``call()``), and ask again until the model stops calling them.

        Iterate the runner for each reply (with ``stream=True``: each reply's open stream), or
        call ``until_done()`` for the last one. Each turn sends the whole conversation."""
        runner = make_runner(self, dict(params), is_async=False)
        assert isinstance(runner, ToolRunner | StreamingToolRunner)
        return runner


class AsyncBetaMessages(AsyncMessages):
    _beta = True
    batches = _BETA_BATCHES
    thread = NotOnFoundry("client.beta.messages.thread", ALTERNATIVES["threads"], THREAD_HELPER)

    @overload
    async def create(self, **params: Unpack[BetaMessageCreateParamsNonStreaming]) -> Message: ...
    @overload
    async def create(self, **params: Unpack[BetaMessageCreateParamsStreaming]) -> AsyncStream: ...
    @overload
    async def create(self, **params: Unpack[BetaMessageCreateParams]) -> Message | AsyncStream: ...
    async def create(self, **params: Any) -> Message | AsyncStream:
        result: Message | AsyncStream = await self._client._request(self._create_call(params))
        return result

    def stream(self, **params: Unpack[BetaMessageStreamParams]) -> AsyncMessageStreamManager:
        return self._manager(*self._stream_call(dict(params)))

    @overload
    async def parse(
        self,
        *,
        output_format: type[ResponseFormatT],
        **params: Unpack[BetaMessageParseParams],
    ) -> ParsedMessage[ResponseFormatT]: ...
    @overload
    async def parse(
        self,
        *,
        output_format: Mapping[str, Any] | None = None,
        **params: Unpack[BetaMessageParseParams],
    ) -> ParsedMessage[Any]: ...
    async def parse(self, *, output_format: Any = None, **params: Any) -> ParsedMessage[Any]:
        call, resolved = self._parse_call({**params, "output_format": output_format})
        message: Message = await self._client._request(call)
        return parsed_message(message, resolved)

    async def count_tokens(
        self, **params: Unpack[BetaMessageCountTokensParams]
    ) -> MessageTokensCount:
        result: MessageTokensCount = await self._client._request(self._count_call(dict(params)))
        return result

    @overload
    def tool_runner(
        self, *, stream: Literal[True], **params: Unpack[BetaToolRunnerParams]
    ) -> AsyncStreamingToolRunner: ...
    @overload
    def tool_runner(
        self, *, stream: Literal[False] = False, **params: Unpack[BetaToolRunnerParams]
    ) -> AsyncToolRunner: ...
    def tool_runner(self, **params: Any) -> AsyncToolRunner | AsyncStreamingToolRunner:
        """The async tool runner: ``async for message in runner``; tools may be
        ``@beta_async_tool`` coroutines or sync tools (run in a worker thread)."""
        runner = make_runner(self, dict(params), is_async=True)
        assert isinstance(runner, AsyncToolRunner | AsyncStreamingToolRunner)
        return runner


class _BetaBase:
    models = NotOnFoundry("client.beta.models", ALTERNATIVES["models"])
    files = NotOnFoundry("client.beta.files", ALTERNATIVES["files"])
    skills = NotOnFoundry("client.beta.skills", ALTERNATIVES["skills"])

    def __init__(self, client: Any) -> None:
        self._client = client

    @cached_property
    def with_raw_response(self) -> _BetaResponses:
        """``client.beta.with_raw_response.messages.create(...)``."""
        return _BetaResponses(self, "with_raw_response")

    @cached_property
    def with_streaming_response(self) -> _BetaResponses:
        """``client.beta.with_streaming_response.messages.create(...)``."""
        return _BetaResponses(self, "with_streaming_response")


stand_ins(_BetaBase, "client.beta", UNAVAILABLE_ON_BETA)


class _BetaResponses:
    models = NotOnFoundry("client.beta.<responses>.models", ALTERNATIVES["models"])
    files = NotOnFoundry("client.beta.<responses>.files", ALTERNATIVES["files"])
    skills = NotOnFoundry("client.beta.<responses>.skills", ALTERNATIVES["skills"])

    def __init__(self, beta: Any, kind: str) -> None:
        self._beta = beta
        self._kind = kind

    @property
    def messages(self) -> Any:
        return getattr(self._beta.messages, self._kind)


stand_ins(_BetaResponses, "client.beta.<responses>", UNAVAILABLE_ON_BETA)


class Beta(_BetaBase):
    @cached_property
    def messages(self) -> BetaMessages:
        return BetaMessages(self._client)


class AsyncBeta(_BetaBase):
    @cached_property
    def messages(self) -> AsyncBetaMessages:
        return AsyncBetaMessages(self._client)
