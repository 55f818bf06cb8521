"""The SSE event sequence that delivers a :class:`~claude_foundry.types.Message`.

Sans-IO and lazy: :func:`stream_events` yields typed events one at a time, so a thousand open
streams cost a thousand small generators. The order is the Messages API's, as the official
clients accumulate it:

* ``message_start``: the message with empty ``content``, ``stop_reason`` and ``stop_sequence``
  null, and ``output_tokens`` 1;
* per block: ``content_block_start`` (text ``""``; thinking ``""`` with signature ``""``;
  ``tool_use`` / ``server_tool_use`` with input ``{}``; any other block whole), its deltas and
  ``content_block_stop``; a ``ping`` follows the first block start, where the API sends it;
* text as ``text_delta`` pieces of ``chunk_chars`` characters, then one ``citations_delta`` per
  citation; thinking as ``thinking_delta`` pieces, then ``signature_delta`` just before the
  block's stop; tool input as ``input_json_delta`` pieces of its JSON (one empty piece for
  ``{}``);
* ``message_delta`` with the stop reason, stop sequence and cumulative usage, then
  ``message_stop``.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from ..types import (
    CitationsDelta,
    ContentBlock,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    InputJSONDelta,
    Message,
    MessageDelta,
    MessageDeltaEvent,
    MessageDeltaUsage,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    ServerToolUseBlock,
    SignatureDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
    encode,
)

__all__ = ["stream_events"]


def _pieces(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _block_events(index: int, block: ContentBlock, chunk_chars: int) -> Iterator[StreamEvent]:
    if isinstance(block, TextBlock):
        yield ContentBlockStartEvent(index=index, content_block=TextBlock(text=""))
        for piece in _pieces(block.text, chunk_chars):
            yield ContentBlockDeltaEvent(index=index, delta=TextDelta(text=piece))
        for citation in block.citations or []:
            yield ContentBlockDeltaEvent(index=index, delta=CitationsDelta(citation=citation))
    elif isinstance(block, ThinkingBlock):
        start = ThinkingBlock(thinking="", signature="")
        yield ContentBlockStartEvent(index=index, content_block=start)
        for piece in _pieces(block.thinking, chunk_chars):
            yield ContentBlockDeltaEvent(index=index, delta=ThinkingDelta(thinking=piece))
        yield ContentBlockDeltaEvent(index=index, delta=SignatureDelta(signature=block.signature))
    elif isinstance(block, ToolUseBlock | ServerToolUseBlock):
        empty = msgspec.structs.replace(block, input={})
        yield ContentBlockStartEvent(index=index, content_block=empty)
        arguments = "" if block.input == {} else encode(block.input).decode()
        for piece in _pieces(arguments, chunk_chars) if arguments else iter(("",)):
            yield ContentBlockDeltaEvent(index=index, delta=InputJSONDelta(partial_json=piece))
    else:
        yield ContentBlockStartEvent(index=index, content_block=block)
    yield ContentBlockStopEvent(index=index)


def stream_events(
    message: Message, *, chunk_chars: int = 16, ping: bool = True
) -> Iterator[StreamEvent]:
    """The SSE events that deliver ``message``, in the API's order, produced lazily.

    ``message_start`` (no content, no stop reason, ``output_tokens`` 1), then per block
    ``content_block_start`` / deltas / ``content_block_stop`` with a ``ping`` after the first
    block start (where the API sends it), then ``message_delta`` (stop reason, cumulative usage)
    and ``message_stop``. Text and thinking arrive in ``chunk_chars`` pieces, a thinking block's
    ``signature_delta`` just before its stop, tool input as ``input_json_delta`` pieces.
    """
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be at least 1, got {chunk_chars}")
    usage = message.usage
    start_usage = msgspec.structs.replace(usage, output_tokens=min(1, usage.output_tokens))
    yield MessageStartEvent(
        message=msgspec.structs.replace(
            message, content=[], stop_reason=None, stop_sequence=None, usage=start_usage
        )
    )
    pinged = not ping
    for index, block in enumerate(message.content):
        for event in _block_events(index, block, chunk_chars):
            yield event
            if not pinged:
                pinged = True
                yield PingEvent()
    if not pinged:
        yield PingEvent()
    yield MessageDeltaEvent(
        delta=MessageDelta(
            stop_reason=message.stop_reason,
            stop_sequence=message.stop_sequence,
            stop_details=message.stop_details,
            container=message.container,
        ),
        usage=MessageDeltaUsage(
            output_tokens=usage.output_tokens,
            input_tokens=usage.input_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
            server_tool_use=usage.server_tool_use,
            output_tokens_details=usage.output_tokens_details,
        ),
    )
    yield MessageStopEvent()
