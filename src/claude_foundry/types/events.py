"""The stream: deltas, the server-sent events of ``stream=True``, and the events the stream
helper derives from them.

The official names of the wire events start with ``Raw`` (``RawContentBlockDeltaEvent``); they
are aliases of the classes here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from ._base import UnknownBlock, UnknownEvent, WireModel
from .blocks import ContentBlock, TextCitation
from .errors import ErrorDetail, error_object
from .message import Container, Message, MessageDeltaUsage, RefusalStopDetails, StopReason

# --- stream deltas ------------------------------------------------------------------------------


class TextDelta(WireModel, tag_field="type", tag="text_delta"):
    text: str


class InputJSONDelta(WireModel, tag_field="type", tag="input_json_delta"):
    partial_json: str


class ThinkingDelta(WireModel, tag_field="type", tag="thinking_delta"):
    thinking: str


class SignatureDelta(WireModel, tag_field="type", tag="signature_delta"):
    signature: str


class CitationsDelta(WireModel, tag_field="type", tag="citations_delta"):
    citation: TextCitation


KnownDelta: TypeAlias = TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta
if TYPE_CHECKING:
    Delta: TypeAlias = KnownDelta | UnknownBlock
else:
    Delta = KnownDelta


class MessageDelta(WireModel):
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    stop_details: RefusalStopDetails | None = None
    container: Container | None = None


# --- stream events ------------------------------------------------------------------------------


class MessageStartEvent(WireModel, tag_field="type", tag="message_start"):
    message: Message


class ContentBlockStartEvent(WireModel, tag_field="type", tag="content_block_start"):
    index: int
    content_block: ContentBlock


class ContentBlockDeltaEvent(WireModel, tag_field="type", tag="content_block_delta"):
    index: int
    delta: Delta


class ContentBlockStopEvent(WireModel, tag_field="type", tag="content_block_stop"):
    index: int


class MessageDeltaEvent(WireModel, tag_field="type", tag="message_delta"):
    delta: MessageDelta
    usage: MessageDeltaUsage


class MessageStopEvent(WireModel, tag_field="type", tag="message_stop"):
    pass


class PingEvent(WireModel, tag_field="type", tag="ping"):
    pass


class ErrorEvent(WireModel, tag_field="type", tag="error"):
    error: ErrorDetail

    def __post_init__(self) -> None:
        self.error = error_object(self.error)


StreamEvent: TypeAlias = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
    | PingEvent
    | ErrorEvent
    | UnknownEvent
)

# The official names of the same wire types.
RawMessageStartEvent = MessageStartEvent
RawMessageDeltaEvent = MessageDeltaEvent
RawMessageStopEvent = MessageStopEvent
RawContentBlockStartEvent = ContentBlockStartEvent
RawContentBlockDeltaEvent = ContentBlockDeltaEvent
RawContentBlockStopEvent = ContentBlockStopEvent
RawContentBlockDelta: TypeAlias = Delta
RawMessageStreamEvent: TypeAlias = StreamEvent
MessageStreamEvent: TypeAlias = StreamEvent


# --- events derived by the stream helper (not on the wire) --------------------------------------


class TextEvent(WireModel, tag_field="type", tag="text"):
    """Emitted after each ``text_delta``: the new text and the block's text so far."""

    text: str
    snapshot: str

    def parsed_snapshot(self) -> Any:
        """The text so far decoded as partial JSON, for structured outputs (``{}`` before the
        first brace); a string still being written is kept as far as it goes."""
        from .._partial_json import PartialJSON

        partial = PartialJSON()
        partial.feed(self.snapshot)
        return partial.snapshot_with_trailing_string({})


class ThinkingEvent(WireModel, tag_field="type", tag="thinking"):
    thinking: str
    snapshot: str


class SignatureEvent(WireModel, tag_field="type", tag="signature"):
    signature: str


class InputJsonEvent(WireModel, tag_field="type", tag="input_json"):
    """Emitted after each ``input_json_delta``; ``snapshot`` is the partially parsed input."""

    partial_json: str
    snapshot: Any


class CitationEvent(WireModel, tag_field="type", tag="citation"):
    citation: TextCitation
    snapshot: list[TextCitation]


class ParsedContentBlockStopEvent(WireModel, tag_field="type", tag="content_block_stop"):
    """``content_block_stop`` as the stream helper yields it, with the finished block."""

    index: int
    content_block: ContentBlock


class ParsedMessageStopEvent(WireModel, tag_field="type", tag="message_stop"):
    """``message_stop`` as the stream helper yields it, with the finished message."""

    message: Message
