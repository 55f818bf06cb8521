"""Answers no real endpoint should give, from a raw socket server on loopback.

Each case must end in a typed error with a clear message, never a hang or a raw httpx2 error.
The server speaks just enough HTTP/1.1 to read a request and write canned bytes.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from claude_foundry import (
    AnthropicFoundry,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncAnthropicFoundry,
    AuthenticationError,
    InternalServerError,
)

MESSAGE = (
    b'{"id":"msg_1","type":"message","role":"assistant","model":"d","content":'
    b'[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,'
    b'"usage":{"input_tokens":3,"output_tokens":1}}'
)
MESSAGE_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",'
    b'"type":"message","role":"assistant","model":"d","content":[],"stop_reason":null,'
    b'"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
)
TEXT_START = (
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
)
TEXT_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
)
HI = [{"role": "user", "content": "hi"}]

Reply = Callable[[socket.socket], None]


def http(status: str, headers: dict[str, str], body: bytes, *, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers.items()]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawServer:
    """Answers every request with ``reply(conn)``; counts the requests it read."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.reply: Reply = lambda conn: None
        self.requests = 0
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/anthropic/"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            while self._read_request(conn):
                self.requests += 1
                self.reply(conn)

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return False
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True

    def close(self) -> None:
        self.release.set()
        self.sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    raw = RawServer()
    yield raw
    raw.close()


@pytest.fixture
def raw(server: RawServer) -> RawServer:
    server.requests = 0
    server.release.clear()
    return server


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def call(kind: str, server: RawServer, *, stream: bool = False, **options: Any) -> Any:
    """Create a message (and drain the stream) with the sync or async client."""
    options.setdefault("max_retries", 0)
    cls = AnthropicFoundry if kind == "sync" else AsyncAnthropicFoundry
    client = cls(api_key="k", base_url=server.base_url, **options)
    try:
        result = client.messages.create(model="d", max_tokens=8, messages=HI, stream=stream)
        if inspect.isawaitable(result):
            result = await result
        if not stream:
            return result
        if kind == "sync":
            return list(result)
        return [event async for event in result]
    finally:
        closing = client.close()
        if inspect.isawaitable(closing):
            await closing


def send(payload: bytes, *, close: bool = False) -> Reply:
    def reply(conn: socket.socket) -> None:
        conn.sendall(payload)
        if close:
            conn.shutdown(socket.SHUT_RDWR)

    return reply


async def test_html_login_page(kind: str, raw: RawServer) -> None:
    raw.reply = send(http("200 OK", {"Content-Type": "text/html"}, b"<html>Sign in</html>"))
    with pytest.raises(APIResponseValidationError, match="not JSON") as info:
        await call(kind, raw, max_retries=2)
    assert "Sign in" in str(info.value)
    assert raw.requests == 1


async def test_invalid_json(kind: str, raw: RawServer) -> None:
    raw.reply = send(http("200 OK", {"Content-Type": "application/json"}, b'{"id": "msg'))
    with pytest.raises(APIResponseValidationError, match="invalid JSON"):
        await call(kind, raw)


async def test_missing_content_type_is_tolerated(kind: str, raw: RawServer) -> None:
    raw.reply = send(http("200 OK", {}, MESSAGE))
    message = await call(kind, raw)
    assert message.content[0].text == "Hi"


async def test_json_where_a_stream_was_asked_for(kind: str, raw: RawServer) -> None:
    raw.reply = send(http("200 OK", {"Content-Type": "application/json"}, MESSAGE))
    with pytest.raises(APIResponseValidationError, match="not an event stream"):
        await call(kind, raw, stream=True)


async def test_stream_closed_before_message_stop(kind: str, raw: RawServer) -> None:
    headers = {"Content-Type": "text/event-stream", "Connection": "close"}
    body = MESSAGE_START + TEXT_START + TEXT_DELTA
    raw.reply = send(http("200 OK", headers, body, length=False), close=True)
    with pytest.raises(APIConnectionError, match="message_stop"):
        await call(kind, raw, stream=True, max_retries=2)
    assert raw.requests == 1  # content had arrived: the stream is the caller's now


async def test_stream_closed_before_any_content_is_retried(kind: str, raw: RawServer) -> None:
    headers = {"Content-Type": "text/event-stream", "Connection": "close"}
    raw.reply = send(http("200 OK", headers, MESSAGE_START + TEXT_START, length=False), close=True)
    with pytest.raises(APIConnectionError, match="message_stop") as info:
        await call(kind, raw, stream=True, max_retries=1)
    assert raw.requests == 2
    assert "gave up after 2 attempts" in "".join(info.value.__notes__)


async def test_connection_closed_without_an_answer(kind: str, raw: RawServer) -> None:
    raw.reply = lambda conn: conn.shutdown(socket.SHUT_RDWR)
    with pytest.raises(APIConnectionError) as info:
        await call(kind, raw, max_retries=1)
    assert "127.0.0.1" in str(info.value)
    assert raw.requests == 2


async def test_no_answer_times_out(kind: str, raw: RawServer) -> None:
    raw.reply = lambda conn: raw.release.wait(5)
    with pytest.raises(APITimeoutError, match="timed out"):
        await call(kind, raw, timeout=0.2)


async def test_stream_stalls_after_first_event(kind: str, raw: RawServer) -> None:
    headers = {"Content-Type": "text/event-stream", "Connection": "close"}

    def reply(conn: socket.socket) -> None:
        conn.sendall(http("200 OK", headers, MESSAGE_START, length=False))
        raw.release.wait(5)

    raw.reply = reply
    with pytest.raises(APITimeoutError):
        await call(kind, raw, stream=True, timeout=0.3)


async def test_gateway_html_error(kind: str, raw: RawServer) -> None:
    raw.reply = send(http("502 Bad Gateway", {"Content-Type": "text/html"}, b"<h1>502</h1>"))
    with pytest.raises(InternalServerError) as info:
        await call(kind, raw)
    assert info.value.status_code == 502
    assert info.value.body == "<h1>502</h1>"


async def test_azure_shaped_401(kind: str, raw: RawServer) -> None:
    body = (
        b'{"error":{"code":"401","message":"Access denied due to invalid subscription key or '
        b'wrong API endpoint."}}'
    )
    raw.reply = send(
        http(
            "401 Unauthorized", {"Content-Type": "application/json", "apim-request-id": "a1"}, body
        )
    )
    with pytest.raises(AuthenticationError) as info:
        await call(kind, raw, max_retries=2)
    error = info.value
    assert error.code == "401"
    assert error.api_message is not None
    assert error.api_message.startswith("Access denied")
    assert error.apim_request_id == "a1"
    assert "a1" in str(error)
    assert raw.requests == 1


async def test_cancelled_stream_open_releases_the_connection(raw: RawServer) -> None:
    closed = threading.Event()
    headers = {"Content-Type": "text/event-stream"}

    def reply(conn: socket.socket) -> None:
        conn.sendall(http("200 OK", headers, b": keep-alive\n\n", length=False))
        try:
            while conn.recv(1024):  # returns b"" once the client closes its end
                pass
        except OSError:
            pass
        closed.set()

    raw.reply = reply
    client = AsyncAnthropicFoundry(api_key="k", base_url=raw.base_url, max_retries=0)
    opening = client.messages.create(model="d", max_tokens=8, messages=HI, stream=True)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(opening, 0.3)
    assert await asyncio.to_thread(closed.wait, 5)
    await client.close()


async def test_redirect_is_not_followed(kind: str, raw: RawServer) -> None:
    target = "https://example-resource.services.ai.azure.com/anthropic/v1/messages"
    raw.reply = send(http("301 Moved Permanently", {"Location": target}, b""))
    with pytest.raises(APIStatusError, match="redirected to https://example-resource") as info:
        await call(kind, raw, max_retries=2)
    assert info.value.status_code == 301
    assert raw.requests == 1
