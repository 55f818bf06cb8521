"""Sans-IO stream accumulation: raw stream events in, the helper's events and a message out.

:class:`MessageAccumulator` is the one place that knows how a message is built from its stream;
:class:`~claude_foundry._stream.MessageStream` and its async twin only move events through it.

    >>> acc = MessageAccumulator()
    >>> for event in raw_events:  # doctest: +SKIP
    ...     for out in acc.feed(event):  # the raw event, then its derived events
    ...         ...
    >>> acc.message  # doctest: +SKIP

Rules (the official SDK's, so code ports over): the first content event must be ``message_start``;
``text_delta`` and ``thinking_delta`` append; ``signature_delta`` sets; ``citations_delta`` appends;
``input_json_delta`` pieces are concatenated, partially parsed for each :class:`InputJsonEvent`
and fully parsed at ``content_block_stop``; ``message_delta`` usage is cumulative (``output_tokens``
always overwrites, the other counts only when present). Unknown events, blocks and deltas pass
through and never break accumulation.
"""

from __future__ import annotations

from typing import Any, TypeAlias, cast

import httpx2
import msgspec

from ._errors import APIResponseValidationError, ids_suffix
from ._partial_json import PartialJSON
from .types import (
    CitationEvent,
    CitationsDelta,
    ContentBlock,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    InputJSONDelta,
    InputJsonEvent,
    Message,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    ParsedContentBlockStopEvent,
    ParsedMessageStopEvent,
    ServerToolUseBlock,
    SignatureDelta,
    SignatureEvent,
    StreamEvent,
    TextBlock,
    TextDelta,
    TextEvent,
    ThinkingBlock,
    ThinkingDelta,
    ThinkingEvent,
    ToolUseBlock,
    UnknownBlock,
    UnknownEvent,
)

__all__ = [
    "MessageAccumulator",
    "MessageStreamEvent",
    "PartialJSON",
    "StreamEventOrderError",
    "ToolInputJSONError",
]

MessageStreamEvent: TypeAlias = (
    StreamEvent
    | TextEvent
    | ThinkingEvent
    | SignatureEvent
    | InputJsonEvent
    | CitationEvent
    | ParsedContentBlockStopEvent
    | ParsedMessageStopEvent
)
"""What iterating a :class:`MessageStream` yields: raw events plus the derived ones."""


class StreamEventOrderError(APIResponseValidationError, RuntimeError):
    """The stream broke the Messages API's event order (e.g. a delta before ``message_start``).

    Also a :class:`RuntimeError`, which is what the official SDK raises here.
    """


class ToolInputJSONError(APIResponseValidationError, ValueError):
    """A tool's streamed input is not valid JSON.

    Also a :class:`ValueError`, which is what the official SDK raises here.
    """


_decode_json = msgspec.json.decode


_TOOL_INPUT_BLOCKS = (ToolUseBlock, ServerToolUseBlock)


class MessageAccumulator:
    """Builds the message snapshot from raw events and returns the events the helper yields.

    ``response`` and the request ids only serve error messages and the final message's ids.
    """

    __slots__ = ("_apim_request_id", "_json", "_message", "_request_id", "_response", "done")

    def __init__(
        self,
        *,
        response: httpx2.Response | None = None,
        request_id: str | None = None,
        apim_request_id: str | None = None,
    ) -> None:
        self._message: Message | None = None
        self._json: dict[int, PartialJSON] = {}
        self._response = response
        self._request_id = request_id
        self._apim_request_id = apim_request_id
        self.done = False
        """True once ``message_stop`` has been fed."""

    @property
    def message(self) -> Message | None:
        """The message so far; ``None`` before ``message_start``."""
        return self._message

    def feed(self, event: StreamEvent) -> list[MessageStreamEvent]:
        """Apply one raw event; return it followed by its derived events, in the official order."""
        cls = type(event)
        message = self._message
        if message is None:
            if cls is MessageStartEvent:
                self._message = self._start(event)  # type: ignore[arg-type]
                return [event]
            if cls is UnknownEvent:
                return [event]
            raise self._error(
                StreamEventOrderError,
                f"Unexpected event order: got {_event_type(event)!r} before 'message_start'. "
                "The stream did not come from the Messages API as expected; retry the request.",
            )
        if cls is ContentBlockDeltaEvent:
            return self._delta(message, event)  # type: ignore[arg-type]
        if cls is ContentBlockStartEvent:
            message.content.append(_copy_block(event.content_block))  # type: ignore[union-attr]
            return [event]
        if cls is ContentBlockStopEvent:
            index = event.index  # type: ignore[union-attr]
            block = self._block(message, index, "content_block_stop")
            json_buffer = self._json.pop(index, None)
            if json_buffer is not None and isinstance(block, _TOOL_INPUT_BLOCKS):
                block.input = self._parse_tool_input(block, json_buffer.text)
            return [ParsedContentBlockStopEvent(index=index, content_block=block)]
        if cls is MessageDeltaEvent:
            _apply_message_delta(message, event)  # type: ignore[arg-type]
            return [event]
        if cls is MessageStopEvent:
            self.done = True
            return [ParsedMessageStopEvent(message=message)]
        return [event]

    def absorb(self, event: StreamEvent) -> None:
        """Apply one raw event without building derived events: the lean path for ``text_stream``
        and ``until_done``. A tool's input is then parsed at its block's stop only."""
        message = self._message
        if message is not None and type(event) is ContentBlockDeltaEvent:
            block = self._block(message, event.index, "content_block_delta")
            delta = event.delta
            kind = type(delta)
            if kind is TextDelta and type(block) is TextBlock:
                block.text += cast(TextDelta, delta).text
                return
            if kind is ThinkingDelta and type(block) is ThinkingBlock:
                block.thinking += cast(ThinkingDelta, delta).thinking
                return
            if kind is InputJSONDelta and isinstance(block, _TOOL_INPUT_BLOCKS):
                self._tool_input(event.index).feed(cast(InputJSONDelta, delta).partial_json)
                return
        self.feed(event)

    def _start(self, event: MessageStartEvent) -> Message:
        # A copy, so the message_start event the caller already holds is not mutated under it.
        source = event.message
        message = msgspec.structs.replace(
            source,
            content=[_copy_block(block) for block in source.content],
            usage=msgspec.structs.replace(source.usage),
        )
        extra = source.__dict__.get("_extra_fields")
        if extra is not None:
            message.__dict__["_extra_fields"] = extra
        if self._request_id is not None:
            message.__dict__["_request_id"] = self._request_id
        if self._apim_request_id is not None:
            message.__dict__["_apim_request_id"] = self._apim_request_id
        return message

    def _delta(self, message: Message, event: ContentBlockDeltaEvent) -> list[MessageStreamEvent]:
        block = self._block(message, event.index, "content_block_delta")
        delta = event.delta
        kind = type(delta)
        if kind is TextDelta:
            if type(block) is TextBlock:
                text = cast(TextDelta, delta).text
                block.text += text
                return [event, TextEvent(text=text, snapshot=block.text)]
        elif kind is InputJSONDelta:
            if isinstance(block, _TOOL_INPUT_BLOCKS):
                buffer = self._tool_input(event.index)
                piece = cast(InputJSONDelta, delta).partial_json
                buffer.feed(piece)
                block.input = buffer.snapshot(block.input)
                return [event, InputJsonEvent(partial_json=piece, snapshot=block.input)]
        elif kind is ThinkingDelta:
            if type(block) is ThinkingBlock:
                thinking = cast(ThinkingDelta, delta).thinking
                block.thinking += thinking
                return [event, ThinkingEvent(thinking=thinking, snapshot=block.thinking)]
        elif kind is SignatureDelta:
            if type(block) is ThinkingBlock:
                block.signature = cast(SignatureDelta, delta).signature
                return [event, SignatureEvent(signature=block.signature)]
        elif kind is CitationsDelta and type(block) is TextBlock:
            citation = cast(CitationsDelta, delta).citation
            if block.citations is None:
                block.citations = []
            block.citations.append(citation)
            return [event, CitationEvent(citation=citation, snapshot=block.citations)]
        return [event]

    def _tool_input(self, index: int) -> PartialJSON:
        """The JSON streamed so far for the tool input of block ``index``."""
        buffer = self._json.get(index)
        if buffer is None:
            buffer = self._json[index] = PartialJSON()
        return buffer

    def _block(self, message: Message, index: int, event_type: str) -> ContentBlock:
        content = message.content
        if 0 <= index < len(content):
            return content[index]
        raise self._error(
            StreamEventOrderError,
            f"Unexpected event order: {event_type!r} for content block {index}, but only "
            f"{len(content)} block(s) were started. The stream is corrupt; retry the request.",
        )

    def _parse_tool_input(self, block: ToolUseBlock | ServerToolUseBlock, text: str) -> Any:
        if not text:
            return block.input
        try:
            return _decode_json(text)
        except msgspec.DecodeError as exc:
            excerpt = text if len(text) <= 200 else text[:200] + "..."
            raise self._error(
                ToolInputJSONError,
                f"Unable to parse tool parameter JSON from model for tool {block.name!r} "
                f"(tool_use id {block.id}): {exc}. JSON: {excerpt!r}. Retry the request or "
                "adjust the prompt or the tool's input_schema.",
            ) from exc

    def _error(
        self, cls: type[APIResponseValidationError], message: str
    ) -> APIResponseValidationError:
        return cls(message + ids_suffix(self._request_id, self._apim_request_id), self._response)


def _copy_block(block: ContentBlock) -> ContentBlock:
    if isinstance(block, UnknownBlock):
        return UnknownBlock(block.to_dict())
    copy = msgspec.structs.replace(block)
    if type(copy) is TextBlock and copy.citations is not None:
        copy.citations = list(copy.citations)
    return copy


def _apply_message_delta(message: Message, event: MessageDeltaEvent) -> None:
    delta = event.delta
    message.stop_reason = delta.stop_reason
    message.stop_sequence = delta.stop_sequence
    message.stop_details = delta.stop_details
    if delta.container is not None:
        message.container = delta.container
    # Usage on message_delta holds running totals, so it replaces rather than adds; counts that
    # do not apply are omitted and the message_start value stands.
    usage, update = message.usage, event.usage
    usage.output_tokens = update.output_tokens
    if update.input_tokens is not None:
        usage.input_tokens = update.input_tokens
    if update.cache_creation_input_tokens is not None:
        usage.cache_creation_input_tokens = update.cache_creation_input_tokens
    if update.cache_read_input_tokens is not None:
        usage.cache_read_input_tokens = update.cache_read_input_tokens
    if update.server_tool_use is not None:
        usage.server_tool_use = update.server_tool_use
    if update.output_tokens_details is not None:
        usage.output_tokens_details = update.output_tokens_details


def _event_type(event: StreamEvent) -> str:
    if isinstance(event, UnknownEvent):
        return event.type
    tag = type(event).__struct_config__.tag
    return tag if isinstance(tag, str) else type(event).__name__
