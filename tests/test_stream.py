"""Event decoding as a pure unit; Stream / MessageStream over a loopback server."""

from __future__ import annotations

import contextlib
import gc
import itertools
import socket
import socketserver
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_foundry import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    OverloadedError,
    RateLimitError,
)
from claude_foundry._stream import (
    AsyncMessageStream,
    AsyncMessageStreamManager,
    AsyncStream,
    EventDecoder,
    MessageStream,
    MessageStreamManager,
    Stream,
)
from claude_foundry.types import (
    StreamEvent,
    UnknownEvent,
)
from stream_fixtures import (
    MESSAGE_STOP,
    MIXED,
    PING,
    TEXT,
    block_start,
    block_stop,
    decode,
    delta,
    message_delta,
    message_start,
    sse,
)

# --- event decoding -------------------------------------------------------------------------


def test_decoder_skips_ping_unnamed_events_and_done() -> None:
    chunks = [
        message_start(),
        PING,
        b'data: {"type": "content_block_start"}\n\n',
        sse("message_start", {"type": "ping"}),
        sse("future", {"type": "future", "n": 1}),
        MESSAGE_STOP,
        b"data: [DONE]\n\n",
        b"event: done\ndata: [DONE]\n\n",
    ]
    events = decode(chunks)
    assert [e.type for e in events] == ["message_start", "future", "message_stop"]


@pytest.mark.parametrize(
    ("error_type", "cls", "status"),
    [
        ("overloaded_error", OverloadedError, 529),
        ("rate_limit_error", RateLimitError, 429),
        ("api_error", InternalServerError, 500),
    ],
)
def test_error_event_raises_the_classified_error(
    error_type: str, cls: type[APIStatusError], status: int
) -> None:
    body = {"type": "error", "error": {"type": error_type, "message": "Overloaded"}}
    with pytest.raises(cls) as info:
        decode([message_start(), sse("error", body)], request_id="req_7", apim="apim_7")
    err = info.value
    # Exactly cls (by name: with `anthropic` loaded it is cls's twin, see _compat.py).
    assert isinstance(err, cls)
    assert type(err).__name__ == cls.__name__
    assert (err.status_code, err.in_stream, err.type) == (status, True, error_type)
    assert (err.request_id, err.apim_request_id) == ("req_7", "apim_7")
    assert err.body == body


def test_error_event_with_non_json_data_still_raises_a_status_error() -> None:
    with pytest.raises(APIStatusError, match="in stream"):
        decode([sse("error", "upstream exploded")])


def test_malformed_json_names_the_event_and_shows_an_excerpt() -> None:
    with pytest.raises(APIResponseValidationError, match="content_block_delta") as info:
        decode([message_start(), sse("content_block_delta", '{"type": "content_block_delta", ')])
    assert '{"type": "content_block_delta"' in str(info.value)


def test_stream_cut_before_message_stop_says_so() -> None:
    with pytest.raises(APIConnectionError, match=r"before message_stop, after 3 event") as info:
        decode([message_start(), PING, block_start(0, {"type": "text", "text": ""})])
    assert not isinstance(info.value, APITimeoutError)


# --- a loopback server serving canned SSE bodies --------------------------------------------

DROP = object()  # close the socket mid-body
STALL = object()  # stop sending until the test run ends

SCENARIOS: dict[str, list[Any]] = {
    "/text": TEXT,
    "/mixed": MIXED,
    "/thinking-only": [
        message_start(),
        block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, type="thinking_delta", thinking="hm"),
        block_stop(0),
        message_delta({"output_tokens": 1}),
        MESSAGE_STOP,
    ],
    "/cut": TEXT[:4],
    "/drop": [*TEXT[:4], b"event: content_block_delta\nda", DROP],
    "/stall": [*TEXT[:3], STALL],
    "/malformed": [*TEXT[:3], sse("content_block_delta", "{not json")],
    "/overloaded": [
        *TEXT[:4],
        sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Over"}}),
    ],
    "/long": [TEXT[0], TEXT[1], *[delta(0, type="text_delta", text="x")] * 2000, *TEXT[5:]],
}


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        # OSError: the client closed early, as several tests do on purpose.
        with contextlib.suppress(OSError):
            self._serve()

    def _serve(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            piece = self.request.recv(65536)
            if not piece:
                return
            head += piece
        path = head.split(b" ", 2)[1].decode()
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\nrequest-id: req_loop\r\n"
            b"apim-request-id: apim_loop\r\nconnection: close\r\n\r\n"
        )
        for item in SCENARIOS[path]:
            if item is DROP:
                self.request.shutdown(socket.SHUT_RDWR)
                return
            if item is STALL:
                self.wfile.flush()
                self.server.stop.wait(30)
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(item), item))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    stop = threading.Event()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=httpx2.Timeout(5.0, read=0.3)) as client:
        yield client


@pytest.fixture
async def ahttp() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(5.0, read=0.3)) as client:
        yield client


def open_stream(http: httpx2.Client, url: str, pending: list[StreamEvent] | None = None) -> Stream:
    response = http.send(http.build_request("POST", url, json={"stream": True}), stream=True)
    decoder = EventDecoder(
        response=response,
        request_id=response.headers.get("request-id"),
        apim_request_id=response.headers.get("apim-request-id"),
    )
    return Stream(
        response=response, decoder=decoder, chunks=response.iter_bytes(), pending=pending or ()
    )


async def aopen_stream(http: httpx2.AsyncClient, url: str) -> AsyncStream:
    response = await http.send(http.build_request("POST", url, json={"stream": True}), stream=True)
    decoder = EventDecoder(
        response=response,
        request_id=response.headers.get("request-id"),
        apim_request_id=response.headers.get("apim-request-id"),
    )
    return AsyncStream(response=response, decoder=decoder, chunks=response.aiter_bytes())


def test_raw_stream_yields_events_and_closes(http: httpx2.Client, server_url: str) -> None:
    stream = open_stream(http, server_url + "/text")
    assert (stream.request_id, stream.apim_request_id) == ("req_loop", "apim_loop")
    assert [e.type for e in stream] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert stream.response.is_closed
    assert list(stream) == []  # a second loop finds the stream spent, without hanging
    stream.close()


def test_pending_events_come_first(http: httpx2.Client, server_url: str) -> None:
    pending: list[StreamEvent] = [UnknownEvent({"type": "early"})]
    events = list(open_stream(http, server_url + "/text", pending))
    assert events[0].type == "early"
    assert events[1].type == "message_start"


def test_breaking_out_of_a_with_block_closes(http: httpx2.Client, server_url: str) -> None:
    with open_stream(http, server_url + "/long") as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    assert stream.response.is_closed
    assert list(stream) == []
    stream.close()  # idempotent


def test_close_before_iterating(http: httpx2.Client, server_url: str) -> None:
    stream = open_stream(http, server_url + "/text")
    stream.close()
    assert stream.response.is_closed
    assert list(stream) == []


@pytest.mark.parametrize(
    ("path", "error", "match"),
    [
        ("/cut", APIConnectionError, r"ended before message_stop, after 4 event"),
        ("/drop", APIConnectionError, r"dropped mid-stream after 4 event"),
        ("/stall", APITimeoutError, r"stalled.*after 3 event"),
        ("/malformed", APIResponseValidationError, r"'content_block_delta'.*not json"),
        ("/overloaded", OverloadedError, r"overloaded_error"),
    ],
)
def test_broken_streams_raise_clear_errors_and_close(
    http: httpx2.Client, server_url: str, path: str, error: type[Exception], match: str
) -> None:
    stream = open_stream(http, server_url + path)
    received: list[StreamEvent] = []
    with pytest.raises(error, match=match) as info:
        received.extend(stream)
    assert stream.response.is_closed
    assert "req_loop" in str(info.value)
    if path == "/overloaded":
        err = info.value
        assert isinstance(err, OverloadedError)
        assert (err.status_code, err.in_stream, err.apim_request_id) == (529, True, "apim_loop")
        assert len(received) == 3


def test_message_stream_helpers(http: httpx2.Client, server_url: str) -> None:
    manager = MessageStreamManager(lambda: open_stream(http, server_url + "/mixed"))
    with manager as stream:
        assert stream.request_id == "req_loop"
        assert stream.apim_request_id == "apim_loop"
        assert list(stream.text_stream) == ["Checking", " the weather."]
        message = stream.get_final_message()
        assert stream.get_final_message() is message
        assert stream.get_final_text() == "Checking the weather."
        assert stream.current_message_snapshot is message
        assert message.request_id == "req_loop"
        assert message.apim_request_id == "apim_loop"
        assert message.content[2].input == {"city": "Paris", "days": 3}  # type: ignore[union-attr]
    assert stream.response.is_closed


def test_get_final_text_without_text_block(http: httpx2.Client, server_url: str) -> None:
    with MessageStreamManager(lambda: open_stream(http, server_url + "/thinking-only")) as stream:
        with pytest.raises(RuntimeError, match=r"needs a `text` content block.*thinking"):
            stream.get_final_text()
        stream.until_done()
        assert stream.get_final_message().content[0].type == "thinking"


def test_message_stream_closed_early(http: httpx2.Client, server_url: str) -> None:
    with MessageStreamManager(lambda: open_stream(http, server_url + "/long")) as stream:
        for event in stream:
            if event.type == "text":
                break
        stream.close()
        assert stream.response.is_closed
        assert stream.current_message_snapshot.content[0].text == "x"  # type: ignore[union-attr]
        with pytest.raises(RuntimeError, match="closed before 'message_stop'"):
            stream.get_final_message()


def test_message_stream_failure_is_raised_again(http: httpx2.Client, server_url: str) -> None:
    stream = MessageStream(open_stream(http, server_url + "/overloaded"))
    with pytest.raises(OverloadedError):
        stream.get_final_message()
    with pytest.raises(OverloadedError):
        stream.get_final_text()
    assert stream.response.is_closed


def test_manager_propagates_request_errors() -> None:
    def fail() -> Stream:
        raise RateLimitError("quota", status_code=429)

    with pytest.raises(RateLimitError), MessageStreamManager(fail):
        pass


# --- async twins ----------------------------------------------------------------------------


async def test_async_raw_stream(ahttp: httpx2.AsyncClient, server_url: str) -> None:
    async with await aopen_stream(ahttp, server_url + "/text") as stream:
        types = [event.type async for event in stream]
        assert types[0] == "message_start"
        assert types[-1] == "message_stop"
        assert [event async for event in stream] == []
    assert stream.response.is_closed


async def test_async_break_and_close(ahttp: httpx2.AsyncClient, server_url: str) -> None:
    stream = await aopen_stream(ahttp, server_url + "/long")
    async for event in stream:
        if event.type == "content_block_delta":
            break
    await stream.close()
    await stream.close()
    assert stream.response.is_closed


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/cut", APIConnectionError),
        ("/drop", APIConnectionError),
        ("/stall", APITimeoutError),
        ("/malformed", APIResponseValidationError),
        ("/overloaded", OverloadedError),
    ],
)
async def test_async_broken_streams(
    ahttp: httpx2.AsyncClient, server_url: str, path: str, error: type[Exception]
) -> None:
    stream = await aopen_stream(ahttp, server_url + path)
    with pytest.raises(error):
        async for _ in stream:
            pass
    assert stream.response.is_closed


async def test_async_message_stream(ahttp: httpx2.AsyncClient, server_url: str) -> None:
    async def opener() -> AsyncStream:
        return await aopen_stream(ahttp, server_url + "/mixed")

    async with AsyncMessageStreamManager(opener) as stream:
        assert isinstance(stream, AsyncMessageStream)
        texts = [text async for text in stream.text_stream]
        assert texts == ["Checking", " the weather."]
        assert await stream.get_final_text() == "Checking the weather."
        message = await stream.get_final_message()
        assert message.stop_reason == "tool_use"
    assert stream.response.is_closed


async def test_async_message_stream_events_and_failure(
    ahttp: httpx2.AsyncClient, server_url: str
) -> None:
    stream = AsyncMessageStream(await aopen_stream(ahttp, server_url + "/overloaded"))
    seen: list[str] = []

    async def consume() -> None:
        async for event in stream:
            seen.append(event.type)

    with pytest.raises(OverloadedError):
        await consume()
    assert seen[-1] == "text"
    with pytest.raises(OverloadedError):
        await stream.get_final_message()
    await stream.close()


def test_iteration_and_text_stream_share_one_position(http: httpx2.Client, server_url: str) -> None:
    with MessageStreamManager(lambda: open_stream(http, server_url + "/mixed")) as stream:
        for event in stream:
            if event.type == "text":
                assert event.snapshot == "Checking"
                break
        assert list(stream.text_stream) == [" the weather."]
        message = stream.get_final_message()
        assert message.content[1].text == "Checking the weather."  # type: ignore[union-attr]
        assert message.content[2].input == {"city": "Paris", "days": 3}  # type: ignore[union-attr]
        assert list(stream) == []


def test_a_dropped_stream_closes_its_response(http: httpx2.Client, server_url: str) -> None:
    stream = open_stream(http, server_url + "/long")
    next(iter(stream))
    response = stream.response
    del stream
    gc.collect()
    assert response.is_closed


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_event_decoding_does_not_depend_on_chunking(data: Any) -> None:
    body = b"".join(MIXED).replace(b"\n", data.draw(st.sampled_from([b"\n", b"\r\n", b"\r"])))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=30)))
    bounds = [0, *cuts, len(body)]
    chunks = [body[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode(chunks) == decode([b"".join(MIXED)])


def test_close_from_another_thread_ends_a_blocked_read(
    http: httpx2.Client, server_url: str
) -> None:
    stream = open_stream(http, server_url + "/stall")
    seen: list[str] = []
    outcome: list[BaseException] = []
    started = threading.Event()

    def read() -> None:
        try:
            for event in stream:
                seen.append(event.type)
                started.set()
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(10)
    stream.close()
    reader.join(10)
    assert not reader.is_alive()
    assert outcome == []
    assert seen[0] == "message_start"
    assert stream.response.is_closed
    assert [event.type for event in open_stream(http, server_url + "/text")][-1] == "message_stop"


async def test_close_from_another_task_ends_a_blocked_read(
    ahttp: httpx2.AsyncClient, server_url: str
) -> None:
    import asyncio

    stream = await aopen_stream(ahttp, server_url + "/stall")
    started = asyncio.Event()
    seen: list[str] = []

    async def read() -> None:
        async for event in stream:
            seen.append(event.type)
            started.set()

    reader = asyncio.create_task(read())
    await asyncio.wait_for(started.wait(), 10)
    await stream.close()
    await asyncio.wait_for(reader, 10)
    assert seen[0] == "message_start"
    assert stream.response.is_closed
