"""Server-sent events as the Messages API sends them: every event has an ``event:`` line.

The official clients skip an event without an ``event:`` line, so the name is never left out.

    >>> from claude_foundry.types import PingEvent
    >>> encode_event(PingEvent())
    b'event: ping\\ndata: {"type":"ping"}\\n\\n'
"""

from __future__ import annotations

from typing import Any

from ..types import StreamEvent, UnknownEvent, encode

__all__ = ["CONTENT_TYPE", "encode_event", "event_name"]

CONTENT_TYPE = b"text/event-stream; charset=utf-8"

_PREFIX_BY_CLASS: dict[type[Any], bytes] = {}


def event_name(event: StreamEvent) -> str:
    """The SSE event name of a stream event: its ``type`` tag."""
    if isinstance(event, UnknownEvent):
        return event.type
    tag = type(event).__struct_config__.tag
    return str(tag)


def encode_event(event: StreamEvent) -> bytes:
    """One SSE event: ``event: <type>``, ``data: <json>`` and the blank line that ends it."""
    cls = type(event)
    prefix = _PREFIX_BY_CLASS.get(cls)
    if prefix is None:
        prefix = b"event: " + event_name(event).encode() + b"\ndata: "
        if cls is not UnknownEvent:
            _PREFIX_BY_CLASS[cls] = prefix
    return prefix + encode(event) + b"\n\n"
