"""Decoding replies and stream events: fast into structs, lenient where the API is newer.

The fast path decodes straight into structs in C. When a body holds something this version does
not model (a new block type, a new citation or error-object variant, a new top-level field), the
slow path keeps it readable instead of failing: an unknown block becomes an
:class:`UnknownBlock`, an unknown value inside a known block stays plain JSON.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import msgspec

from ._base import UnknownBlock, UnknownEvent, WireModel
from .blocks import KnownContentBlock
from .events import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    ErrorEvent,
    KnownDelta,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    StreamEvent,
)
from .message import Message

_message_decoder = msgspec.json.Decoder(Message)
_KNOWN_BLOCKS: dict[str, type[WireModel]] = {
    cls.__struct_config__.tag: cls for cls in KnownContentBlock.__args__
}
_KNOWN_DELTAS: dict[str, type[WireModel]] = {
    cls.__struct_config__.tag: cls for cls in KnownDelta.__args__
}
_MESSAGE_FIELDS = frozenset(Message.__struct_fields__)


def _lenient_value(value: Any, annotation: Any) -> Any:
    """``value`` converted to ``annotation``; what does not convert stays plain JSON, item by item
    in a list."""
    try:
        return msgspec.convert(value, annotation)
    except msgspec.ValidationError:
        pass
    for option in typing.get_args(annotation) or (annotation,):
        if isinstance(value, list) and typing.get_origin(option) is list:
            (item_type,) = typing.get_args(option)
            return [_lenient_value(item, item_type) for item in value]
        if isinstance(value, dict) and isinstance(option, type) and issubclass(option, WireModel):
            tag = option.__struct_config__.tag
            if tag is None or tag == value.get("type"):
                try:
                    return _lenient_struct(value, option)
                except msgspec.ValidationError:
                    continue
    return value


@functools.cache
def _field_types(cls: type[WireModel]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _lenient_struct(data: dict[str, Any], cls: type[WireModel]) -> WireModel:
    """``data`` as ``cls``, keeping a field whose value this version cannot type as plain JSON.
    A missing required field is still an error."""
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as exc:
        error = exc
    hints = _field_types(cls)
    values = {
        field.name: _lenient_value(data[field.encode_name], hints[field.name])
        for field in msgspec.structs.fields(cls)
        if field.encode_name in data
    }
    try:
        return cls(**values)
    except TypeError:
        raise error from None


def _lenient_block(data: Any, known_types: dict[str, type[WireModel]]) -> Any:
    """A content block or delta: its struct when its ``type`` is known, else an UnknownBlock."""
    if not isinstance(data, dict):
        raise msgspec.ValidationError(f"expected a content block or delta object, got {data!r}")
    cls = known_types.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        return UnknownBlock(data)
    return _lenient_struct(data, cls)


def _lenient_message(data: Any) -> Message:
    if not isinstance(data, dict):
        raise msgspec.ValidationError("expected a message object")
    content = data.get("content")
    if not isinstance(content, list):
        raise msgspec.ValidationError("expected `content` to be a list")
    fields = {k: v for k, v in data.items() if k in _MESSAGE_FIELDS and k != "content"}
    message = _lenient_struct({**fields, "content": []}, Message)
    assert isinstance(message, Message)
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
    event_class: type[WireModel] = _KNOWN_EVENT_DECODERS[event_type].type  # type: ignore[assignment]
    result: StreamEvent = _lenient_struct(raw, event_class)  # type: ignore[assignment]
    return result
