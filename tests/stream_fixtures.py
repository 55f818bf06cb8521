"""Canned Messages API event streams for the stream tests, as SSE bytes."""

from __future__ import annotations

import json
from typing import Any

from claude_foundry._accumulate import MessageAccumulator
from claude_foundry._events import EventDecoder
from claude_foundry.types import StreamEvent


def sse(name: str, data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return f"event: {name}\ndata: {text}\n\n".encode()


def message_start(**usage: int) -> bytes:
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1, **usage},
    }
    return sse("message_start", {"type": "message_start", "message": message})


def block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def delta(index: int, **body: Any) -> bytes:
    return sse(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": body}
    )


def block_stop(index: int) -> bytes:
    return sse("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(usage: dict[str, Any], stop_reason: str = "end_turn") -> bytes:
    body = {"stop_reason": stop_reason, "stop_sequence": None}
    return sse("message_delta", {"type": "message_delta", "delta": body, "usage": usage})


MESSAGE_STOP = sse("message_stop", {"type": "message_stop"})
PING = sse("ping", {"type": "ping"})

TEXT = [
    message_start(),
    block_start(0, {"type": "text", "text": ""}),
    PING,
    delta(0, type="text_delta", text="Hello"),
    delta(0, type="text_delta", text=", world"),
    block_stop(0),
    message_delta({"output_tokens": 5}),
    MESSAGE_STOP,
]

MIXED = [
    message_start(),
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, type="thinking_delta", thinking="Let me "),
    delta(0, type="thinking_delta", thinking="think."),
    delta(0, type="signature_delta", signature="sig=="),
    block_stop(0),
    block_start(1, {"type": "text", "text": ""}),
    delta(1, type="text_delta", text="Checking"),
    delta(1, type="citations_delta", citation={"type": "char_location", "cited_text": "x"}),
    delta(1, type="text_delta", text=" the weather."),
    block_stop(1),
    block_start(2, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}),
    delta(2, type="input_json_delta", partial_json=""),
    delta(2, type="input_json_delta", partial_json='{"city": "Par'),
    delta(2, type="input_json_delta", partial_json='is", "days": 3'),
    delta(2, type="input_json_delta", partial_json="}"),
    block_stop(2),
    message_delta({"output_tokens": 42, "cache_read_input_tokens": 7}, "tool_use"),
    MESSAGE_STOP,
]


def decode(chunks: list[bytes], **ids: str | None) -> list[StreamEvent]:
    decoder = EventDecoder(
        response=None, request_id=ids.get("request_id"), apim_request_id=ids.get("apim")
    )
    events: list[StreamEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.end()


def accumulate(chunks: list[bytes]) -> tuple[list[Any], MessageAccumulator]:
    accumulator = MessageAccumulator(request_id="req_1", apim_request_id="apim_1")
    out: list[Any] = []
    for event in decode(chunks):
        out += accumulator.feed(event)
    return out, accumulator
