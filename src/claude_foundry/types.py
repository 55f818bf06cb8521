"""The Anthropic Messages wire format, described once.

The client decodes responses with these types and the emulator encodes its responses with them.
Every struct is a :class:`msgspec.Struct`, decoded in C.

Forward compatibility: enumerations (``stop_reason``, ``role``, ...) are plain strings, unknown
fields are ignored by the fast decoder but stay readable through :meth:`Message.to_dict` and
attribute access on :class:`Message`, and a content block, delta or stream event of a type this
module does not know becomes an :class:`UnknownBlock` / :class:`UnknownEvent` that keeps its data.

    >>> message = decode_message(b'{"id": "msg_1", "type": "message", "role": "assistant", '
    ...     b'"model": "claude-sonnet-5", "content": [{"type": "text", "text": "Hi"}], '
    ...     b'"stop_reason": "end_turn", "stop_sequence": null, '
    ...     b'"usage": {"input_tokens": 3, "output_tokens": 1}}')
    >>> message.content[0].text
    'Hi'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

import msgspec

_ParsedT = TypeVar("_ParsedT")

__all__ = [
    "BashCodeExecutionToolResultBlock",
    "CacheCreation",
    "CitationEvent",
    "CitationsDelta",
    "CodeExecutionToolResultBlock",
    "ContainerUploadBlock",
    "ContentBlock",
    "ContentBlockDeltaEvent",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "CountTokensRequest",
    "Delta",
    "ErrorDetail",
    "ErrorEvent",
    "ErrorResponse",
    "InputJSONDelta",
    "InputJsonEvent",
    "Message",
    "MessageCreateRequest",
    "MessageDelta",
    "MessageDeltaEvent",
    "MessageDeltaUsage",
    "MessageParam",
    "MessageStartEvent",
    "MessageStopEvent",
    "MessageTokensCount",
    "OutputTokensDetails",
    "ParsedContentBlockStopEvent",
    "ParsedMessage",
    "ParsedMessageStopEvent",
    "ParsedTextBlock",
    "PingEvent",
    "RedactedThinkingBlock",
    "ServerToolUseBlock",
    "ServerToolUsage",
    "SignatureDelta",
    "STATUS_BY_ERROR_TYPE",
    "SignatureEvent",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "TextEditorCodeExecutionToolResultBlock",
    "TextEvent",
    "ThinkingBlock",
    "ThinkingDelta",
    "ThinkingEvent",
    "ToolSearchToolResultBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownEvent",
    "Usage",
    "WebFetchToolResultBlock",
    "WebSearchToolResultBlock",
    "decode_message",
    "decode_stream_event",
    "encode",
    "message_from_builtins",
]


class WireModel(msgspec.Struct, dict=True, kw_only=True):
    """Base of every wire struct.

    ``dict=True`` lets the client attach response metadata (request ids) without it becoming a
    wire field. The ``to_dict`` / ``model_dump`` family mirrors the official SDK's pydantic models
    so code that serialises responses keeps working.
    """

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = msgspec.to_builtins(self, enc_hook=_enc_hook)
        return result

    def to_json(self, *, indent: int | None = 2, **_: Any) -> str:
        """JSON text, indented by 2 as the official models' ``to_json()``; ``indent=None``
        for one line."""
        return _json_text(self, indent)

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return self.to_dict()

    def model_dump_json(self, *, indent: int | None = None, **_: Any) -> str:
        """JSON text, one line unless ``indent`` is given (as pydantic's)."""
        return _json_text(self, indent)

    @property
    def type(self) -> Any:
        """The wire ``type`` tag (``"text"``, ``"content_block_delta"``, ...), as in the official
        SDK.

        msgspec keeps a tag out of a struct's attributes; user code dispatches on ``x.type``.
        Structs with a real ``type`` field (``Message``, ``ErrorDetail``) override this.
        """
        return type(self).__struct_config__.tag


class UnknownBlock:
    """A content block or delta whose ``type`` this version does not know.

    Its fields are readable as attributes (``block.some_field``) and through :meth:`to_dict`, and
    it is sent back unchanged when passed in a later request.
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def type(self) -> str:
        return str(self._data.get("type", ""))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(
                f"{self.type!r} block has no field {name!r}; fields: {sorted(self._data)}"
            ) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnknownBlock) and other._data == self._data

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"UnknownBlock({self._data!r})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    model_dump = to_dict


class UnknownEvent(UnknownBlock):
    """A stream event of a type this version does not know; readable like :class:`UnknownBlock`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"UnknownEvent({self._data!r})"


def _enc_hook(value: Any) -> Any:
    if isinstance(value, UnknownBlock):
        return value.to_dict()
    raise NotImplementedError(
        f"cannot encode {type(value).__name__} as JSON. Pass JSON values (dict, list, str, int, "
        "float, bool, None) or this package's types; convert other objects first, e.g. with "
        "their to_dict() or model_dump()."
    )


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)


def encode(value: Any) -> bytes:
    """JSON-encode wire structs, plain Python values and unknown blocks alike."""
    return _encoder.encode(value)


def _json_text(value: Any, indent: int | None) -> str:
    compact = _encoder.encode(value)
    if not indent:
        return compact.decode()
    return msgspec.json.format(compact, indent=indent).decode()


# --- content blocks -----------------------------------------------------------------------------


class TextBlock(WireModel, tag_field="type", tag="text"):
    text: str
    citations: list[dict[str, Any]] | None = None


class ThinkingBlock(WireModel, tag_field="type", tag="thinking"):
    thinking: str
    signature: str = ""


class RedactedThinkingBlock(WireModel, tag_field="type", tag="redacted_thinking"):
    data: str


class ToolUseBlock(WireModel, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: Any


class ServerToolUseBlock(WireModel, tag_field="type", tag="server_tool_use"):
    id: str
    name: str
    input: Any


class _ToolResultBlock(WireModel, tag_field="type"):
    tool_use_id: str
    content: Any


class WebSearchToolResultBlock(_ToolResultBlock, tag="web_search_tool_result"):
    pass


class WebFetchToolResultBlock(_ToolResultBlock, tag="web_fetch_tool_result"):
    pass


class CodeExecutionToolResultBlock(_ToolResultBlock, tag="code_execution_tool_result"):
    pass


class BashCodeExecutionToolResultBlock(_ToolResultBlock, tag="bash_code_execution_tool_result"):
    pass


class TextEditorCodeExecutionToolResultBlock(
    _ToolResultBlock, tag="text_editor_code_execution_tool_result"
):
    pass


class ToolSearchToolResultBlock(_ToolResultBlock, tag="tool_search_tool_result"):
    pass


class ContainerUploadBlock(WireModel, tag_field="type", tag="container_upload"):
    file_id: str


KnownContentBlock: TypeAlias = (
    TextBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ToolUseBlock
    | ServerToolUseBlock
    | WebSearchToolResultBlock
    | WebFetchToolResultBlock
    | CodeExecutionToolResultBlock
    | BashCodeExecutionToolResultBlock
    | TextEditorCodeExecutionToolResultBlock
    | ToolSearchToolResultBlock
    | ContainerUploadBlock
)
# msgspec decodes only the known types; the lenient path fills in UnknownBlock. Type checkers see
# the full union so user code handles both.
if TYPE_CHECKING:
    ContentBlock: TypeAlias = KnownContentBlock | UnknownBlock
else:
    ContentBlock = KnownContentBlock


# --- usage --------------------------------------------------------------------------------------


class CacheCreation(WireModel):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class ServerToolUsage(WireModel):
    web_search_requests: int = 0
    web_fetch_requests: int = 0


class OutputTokensDetails(WireModel):
    thinking_tokens: int = 0


class Usage(WireModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None
    server_tool_use: ServerToolUsage | None = None
    service_tier: str | None = None
    inference_geo: str | None = None
    output_tokens_details: OutputTokensDetails | None = None
    speed: str | None = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields (beta-only usage fields read as None).
        if name in _OPTIONAL_USAGE_FIELDS:
            return None
        raise AttributeError(f"'Usage' object has no attribute {name!r}")


class MessageDeltaUsage(WireModel):
    """Usage on ``message_delta``: cumulative totals, not increments."""

    output_tokens: int
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    server_tool_use: ServerToolUsage | None = None
    output_tokens_details: OutputTokensDetails | None = None


# --- message ------------------------------------------------------------------------------------


class _ResponseBody(WireModel):
    """A response body that the client returns: it carries the correlation ids of the HTTP
    response that delivered it, set by the client and never sent on the wire."""

    @property
    def request_id(self) -> str | None:
        return self.__dict__.get("_request_id")

    @property
    def apim_request_id(self) -> str | None:
        return self.__dict__.get("_apim_request_id")


# Optional fields of the official (beta) message that the service leaves out unless a feature
# asked for them; they read as None, as on the official models.
_OPTIONAL_MESSAGE_FIELDS = frozenset({"context_management", "diagnostics", "input_transformations"})
_OPTIONAL_USAGE_FIELDS = frozenset({"fallback_credit", "iterations"})


class Message(_ResponseBody, kw_only=True):
    """A Messages API response.

    Besides the wire fields it carries the correlation ids of the HTTP response that delivered it,
    ``request_id`` (header ``request-id``) and ``apim_request_id`` (header ``apim-request-id``);
    support asks for both. A field that a newer API adds is readable as an attribute too.
    """

    id: str
    type: str = "message"
    role: str = "assistant"
    model: str
    content: list[ContentBlock]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    usage: Usage

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields: look in the raw body for fields that a newer
        # API added. Private names are never looked up there.
        extra = self.__dict__.get("_extra_fields") if not name.startswith("__") else None
        if extra is not None and name in extra:
            return extra[name]
        if name in _OPTIONAL_MESSAGE_FIELDS:
            return None
        raise AttributeError(f"'Message' object has no attribute {name!r}")


class ParsedTextBlock(TextBlock, Generic[_ParsedT]):
    """A text block of a ``messages.parse`` reply: ``parsed_output`` is its text decoded into the
    requested ``output_format``. It is not a wire field, so the block is sent back unchanged."""

    @property
    def parsed_output(self) -> _ParsedT | None:
        value: _ParsedT | None = self.__dict__.get("parsed_output")
        return value


class ParsedMessage(Message, Generic[_ParsedT]):
    """What ``messages.parse`` returns: a :class:`Message` whose text blocks are
    :class:`ParsedTextBlock`; ``parsed_output`` is the first one's value."""

    @property
    def parsed_output(self) -> _ParsedT | None:
        for block in self.content:
            if isinstance(block, ParsedTextBlock) and block.parsed_output is not None:
                value: _ParsedT = block.parsed_output
                return value
        return None


class MessageTokensCount(_ResponseBody):
    input_tokens: int


# --- errors -------------------------------------------------------------------------------------


class ErrorDetail(WireModel, omit_defaults=True):
    type: str
    message: str = ""
    details: Any = None


#: The HTTP status each Anthropic ``error.type`` stands for. The client maps an in-stream error to
#: its class with it; the emulator picks a status for an injected error type with it.
STATUS_BY_ERROR_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class ErrorResponse(WireModel):
    """The Anthropic error body: ``{"type": "error", "error": {...}, "request_id": ...}``."""

    error: ErrorDetail
    type: str = "error"
    request_id: str | None = None


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
    citation: dict[str, Any]


KnownDelta: TypeAlias = TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta
if TYPE_CHECKING:
    Delta: TypeAlias = KnownDelta | UnknownBlock
else:
    Delta = KnownDelta


class MessageDelta(WireModel):
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    container: dict[str, Any] | None = None


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


# --- events derived by the stream helper (not on the wire) --------------------------------------


class TextEvent(WireModel, tag_field="type", tag="text"):
    """Emitted after each ``text_delta``: the new text and the block's text so far."""

    text: str
    snapshot: str

    def parsed_snapshot(self) -> Any:
        """The text so far decoded as partial JSON, for structured outputs (``{}`` before the
        first brace); a string still being written is kept as far as it goes."""
        from ._partial_json import PartialJSON

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
    citation: dict[str, Any]
    snapshot: list[dict[str, Any]]


class ParsedContentBlockStopEvent(WireModel, tag_field="type", tag="content_block_stop"):
    """``content_block_stop`` as the stream helper yields it, with the finished block."""

    index: int
    content_block: ContentBlock


class ParsedMessageStopEvent(WireModel, tag_field="type", tag="message_stop"):
    """``message_stop`` as the stream helper yields it, with the finished message."""

    message: Message


# --- decoding -----------------------------------------------------------------------------------

_message_decoder = msgspec.json.Decoder(Message)
_KNOWN_BLOCKS: dict[str, type[WireModel]] = {
    cls.__struct_config__.tag: cls for cls in KnownContentBlock.__args__
}
_KNOWN_DELTAS: dict[str, type[WireModel]] = {
    cls.__struct_config__.tag: cls for cls in KnownDelta.__args__
}
_MESSAGE_FIELDS = frozenset(Message.__struct_fields__)


def _lenient_block(data: Any, known_types: dict[str, type[WireModel]]) -> Any:
    """A content block or delta: its struct when its ``type`` is known, else an UnknownBlock."""
    if not isinstance(data, dict):
        raise msgspec.ValidationError(f"expected a content block or delta object, got {data!r}")
    cls = known_types.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        return UnknownBlock(data)
    return msgspec.convert(data, cls)


def _lenient_message(data: Any) -> Message:
    if not isinstance(data, dict):
        raise msgspec.ValidationError("expected a message object")
    content = data.get("content")
    if not isinstance(content, list):
        raise msgspec.ValidationError("expected `content` to be a list")
    fields = {k: v for k, v in data.items() if k in _MESSAGE_FIELDS and k != "content"}
    message = msgspec.convert({**fields, "content": []}, Message)
    message.content = [_lenient_block(block, _KNOWN_BLOCKS) for block in content]
    extra = {k: v for k, v in data.items() if k not in _MESSAGE_FIELDS}
    if extra:
        message.__dict__["_extra_fields"] = extra
    return message


def decode_message(body: bytes | str) -> Message:
    """Decode a Messages response body.

    The fast path decodes straight into structs. When the body holds something this version does
    not model (a new block type, a new top-level field), the slow path keeps it readable instead of
    failing. Raises :class:`msgspec.DecodeError` for invalid JSON and
    :class:`msgspec.ValidationError` for a body that is not a message at all.
    """
    try:
        message = _message_decoder.decode(body)
    except msgspec.ValidationError:
        return _lenient_message(msgspec.json.decode(body))
    return message


def message_from_builtins(data: Any) -> Message:
    """Convert an already-parsed JSON object into a :class:`Message`, leniently."""
    try:
        return msgspec.convert(data, Message)
    except msgspec.ValidationError:
        return _lenient_message(data)


_KNOWN_EVENT_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    cls.__struct_config__.tag: msgspec.json.Decoder(cls)  # type: ignore[misc]
    for cls in (
        MessageStartEvent,
        ContentBlockStartEvent,
        ContentBlockDeltaEvent,
        ContentBlockStopEvent,
        MessageDeltaEvent,
        MessageStopEvent,
        PingEvent,
        ErrorEvent,
    )
}


def decode_stream_event(data: bytes | str, event_name: str | None = None) -> StreamEvent:
    """Decode the JSON ``data`` of one SSE event into a typed event.

    ``event_name`` is the SSE ``event:`` field; when it names a known event the data is decoded
    straight into that struct (the hot path). Otherwise the data's ``type`` field decides. Unknown
    event, block and delta types become :class:`UnknownEvent` / :class:`UnknownBlock` instead of
    failing. Raises :class:`msgspec.DecodeError` for invalid JSON and
    :class:`msgspec.ValidationError` when a known event lacks a required field.
    """
    decoder = _KNOWN_EVENT_DECODERS.get(event_name) if event_name is not None else None
    if decoder is not None:
        try:
            event: StreamEvent = decoder.decode(data)
            return event
        except msgspec.ValidationError:
            pass  # a new block/delta type or a mismatched name: take the slow path below
    raw = msgspec.json.decode(data)
    if not isinstance(raw, dict):
        raise msgspec.ValidationError(f"expected a JSON object as event data, got {raw!r}")
    event_type = raw.get("type")
    if not isinstance(event_type, str) or event_type not in _KNOWN_EVENT_DECODERS:
        return UnknownEvent(raw)
    try:
        event = msgspec.convert(raw, _KNOWN_EVENT_DECODERS[event_type].type)
    except msgspec.ValidationError:
        event = _lenient_event(raw)
    return event


def _lenient_event(raw: dict[str, Any]) -> StreamEvent:
    event_type = raw["type"]
    if event_type == "message_start":
        return MessageStartEvent(message=_lenient_message(raw.get("message")))
    if event_type == "content_block_start" and isinstance(raw.get("index"), int):
        block = _lenient_block(raw.get("content_block"), _KNOWN_BLOCKS)
        return ContentBlockStartEvent(index=raw["index"], content_block=block)
    if event_type == "content_block_delta" and isinstance(raw.get("index"), int):
        delta = _lenient_block(raw.get("delta"), _KNOWN_DELTAS)
        return ContentBlockDeltaEvent(index=raw["index"], delta=delta)
    result: StreamEvent = msgspec.convert(raw, _KNOWN_EVENT_DECODERS[event_type].type)
    return result


# --- request side (what the emulator validates; the client sends plain mappings) ---------------


class MessageParam(WireModel):
    """One turn of ``messages``: a string, or a list of content block objects."""

    role: str
    content: str | list[dict[str, Any]]


class MessageCreateRequest(WireModel, kw_only=True):
    """The body of ``POST /v1/messages``. Fields a newer API adds are tolerated by the decoder."""

    model: str
    max_tokens: int
    messages: list[MessageParam]
    system: str | list[dict[str, Any]] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None
    container: str | dict[str, Any] | None = None  # an id, or {"id", "skills"} (Agent Skills)
    mcp_servers: list[dict[str, Any]] | None = None
    output_format: dict[str, Any] | None = None
    output_config: dict[str, Any] | None = None
    context_management: dict[str, Any] | None = None
    inference_geo: str | None = None


class CountTokensRequest(WireModel, kw_only=True):
    """The body of ``POST /v1/messages/count_tokens``."""

    model: str
    messages: list[MessageParam]
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    context_management: dict[str, Any] | None = None
    output_format: dict[str, Any] | None = None
    mcp_servers: list[dict[str, Any]] | None = None
