"""Servers the benchmarks load, each run in its own process so its CPU never counts as the client's.

Run as a script, a server binds 127.0.0.1 on a free port, prints ``PORT <n>`` on its first stdout
line and serves until it is terminated:

    python benchmarks/_servers.py fixed --mode json      # canned Message, raw asyncio, keep-alive
    python benchmarks/_servers.py fixed --mode sse       # canned 5,000-delta SSE stream
    python benchmarks/_servers.py starlette              # bare Starlette JSON route under uvicorn
    python benchmarks/_servers.py emulator               # the emulator, same uvicorn settings

From Python, :func:`running` starts one and yields a :class:`ServerProcess`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HOST = "127.0.0.1"
API_KEY = "bench-key"
DEPLOYMENT = "claude-sonnet-4-6"
MESSAGES_PATH = "/anthropic/v1/messages"
STREAM_DELTAS = 5000

_READY_TIMEOUT_S = 30.0


# --- canned payloads -------------------------------------------------------------------------


def canned_message() -> dict[str, Any]:
    """A typical short non-streaming reply."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": DEPLOYMENT,
        "content": [
            {
                "type": "text",
                "text": "Hello! I'm Claude, an AI assistant. How can I help you today? "
                "I can answer questions, write and review code, or talk through an idea.",
            }
        ],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 36,
        },
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def canned_stream_events(deltas: int = STREAM_DELTAS) -> list[bytes]:
    """The SSE events of one streamed text reply with ``deltas`` text deltas, one item per event."""
    start = canned_message()
    start.update(content=[], stop_reason=None)
    start["usage"] = dict(start["usage"], output_tokens=1)
    words = ("Hello", " there", ", how", " are", " you", " doing", " today", "?\n")
    events = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _sse("ping", {"type": "ping"}),
    ]
    for i in range(deltas):
        delta = {"type": "text_delta", "text": words[i % len(words)]}
        events.append(
            _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": deltas},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    return events


def _head(status_line: str, headers: dict[str, str]) -> bytes:
    lines = [status_line, *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


_COMMON_HEADERS = {
    "request-id": "req_011CUbenchmarkfixedresponse",
    "apim-request-id": "6b1f5c4e-0000-4000-8000-000000000000",
    "anthropic-organization-id": "00000000-0000-0000-0000-000000000000",
}


def json_response_bytes() -> bytes:
    body = json.dumps(canned_message(), separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        **_COMMON_HEADERS,
    }
    return _head("HTTP/1.1 200 OK", headers) + body


def sse_response_bytes(deltas: int = STREAM_DELTAS) -> bytes:
    """A chunked SSE response, one chunk per event as a streaming server writes it."""
    headers = {
        "content-type": "text/event-stream; charset=utf-8",
        "transfer-encoding": "chunked",
        "cache-control": "no-cache",
        **_COMMON_HEADERS,
    }
    chunks = [b"%x\r\n%s\r\n" % (len(event), event) for event in canned_stream_events(deltas)]
    return _head("HTTP/1.1 200 OK", headers) + b"".join(chunks) + b"0\r\n\r\n"


# --- the fixed-response server -----------------------------------------------------------------


class _FixedResponseProtocol(asyncio.Protocol):
    """Answers every complete HTTP/1.1 request on a keep-alive connection with the same bytes."""

    def __init__(self, response: bytes) -> None:
        self._response = response
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            total = end + 4 + _content_length(bytes(self._buffer[:end]))
            if len(self._buffer) < total:
                return
            del self._buffer[:total]
            assert self._transport is not None
            self._transport.write(self._response)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def _serve_fixed(sock: socket.socket, response: bytes) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _FixedResponseProtocol(response), sock=sock)
    async with server:
        await server.serve_forever()


class _TrickleProtocol(asyncio.Protocol):
    """Answers a request with the canned message's headers, then its body one byte at a time,
    ``interval`` seconds apart: a server that is never silent long enough for a read timeout."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or len(self._buffer) < end + 4 + _content_length(bytes(self._buffer[:end])):
            return
        self._buffer.clear()
        response = json_response_bytes()
        head, _, body = response.partition(b"\r\n\r\n")
        assert self._transport is not None
        self._transport.write(head + b"\r\n\r\n")
        self._drip(body)

    def _drip(self, rest: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing() or not rest:
            return
        transport.write(rest[:1])
        asyncio.get_running_loop().call_later(self._interval, self._drip, rest[1:])

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def _serve_trickle(sock: socket.socket, interval: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _TrickleProtocol(interval), sock=sock)
    async with server:
        await server.serve_forever()


# --- uvicorn-served apps -----------------------------------------------------------------------


def bare_starlette_app() -> Any:
    """One JSON route: parse the body, return the canned message. No middleware, no checks."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = json.dumps(canned_message(), separators=(",", ":")).encode()

    async def messages(request: Request) -> Response:
        json.loads(await request.body())
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route(MESSAGES_PATH, messages, methods=["POST"])])


def emulator_app(event_delay_ms: int) -> Any:
    """The emulator's ASGI app: default deployments, the benchmark key, no quotas."""
    from claude_foundry.emulator import Emulator, EmulatorConfig

    config = EmulatorConfig.from_mapping(
        {"api_key": API_KEY, "stream_event_delay_ms": event_delay_ms}
    )
    # The app the Emulator would serve in its own thread, served here under the same uvicorn
    # settings as the bare app so the two stay comparable.
    return Emulator(config).app


def uvicorn_config(app: Any) -> Any:
    """The settings the emulator's own server uses (h11, no lifespan, no access log)."""
    import uvicorn

    return uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        http="h11",
        ws="none",
        interface="asgi3",
        timeout_graceful_shutdown=1,
        backlog=4096,
        server_header=False,
    )


async def _serve_uvicorn(sock: socket.socket, app: Any) -> None:
    import uvicorn

    await uvicorn.Server(uvicorn_config(app)).serve(sockets=[sock])


# --- process management ------------------------------------------------------------------------


@dataclass
class ServerProcess:
    kind: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/anthropic/"


@contextlib.contextmanager
def running(kind: str, *args: str) -> Iterator[ServerProcess]:
    """Start ``_servers.py kind *args`` in a subprocess; stop it on exit."""
    command = [sys.executable, str(Path(__file__).resolve()), kind, *args]
    # stderr goes to a file: a pipe nobody drains would stall a chatty server.
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
        try:
            port = _read_port(process, stderr)
            yield ServerProcess(kind, port, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _read_port(process: subprocess.Popen[bytes], stderr: IO[bytes]) -> int:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(_READY_TIMEOUT_S):
            raise RuntimeError(f"benchmark server did not start within {_READY_TIMEOUT_S:.0f} s")
    line = process.stdout.readline().decode().strip()
    if not line.startswith("PORT "):
        process.wait(timeout=5)
        stderr.seek(0)
        detail = stderr.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"benchmark server failed to start: {line!r}\n{detail}")
    return int(line.split()[1])


def rss_bytes(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process, from /proc."""
    current = peak = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return current, peak


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(2048)
    return sock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("kind", choices=["fixed", "starlette", "emulator", "trickle"])
    parser.add_argument("--mode", choices=["json", "sse"], default="json")
    parser.add_argument("--deltas", type=int, default=STREAM_DELTAS)
    parser.add_argument("--event-delay-ms", type=int, default=0)
    parser.add_argument("--interval", type=float, default=1.0, help="trickle: seconds per byte")
    options = parser.parse_args(argv)

    if options.kind == "fixed":
        response = (
            json_response_bytes() if options.mode == "json" else sse_response_bytes(options.deltas)
        )
    elif options.kind == "starlette":
        app = bare_starlette_app()
    elif options.kind == "emulator":
        app = emulator_app(options.event_delay_ms)
    sock = _listening_socket()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    with contextlib.suppress(KeyboardInterrupt):
        if options.kind == "fixed":
            asyncio.run(_serve_fixed(sock, response))
        elif options.kind == "trickle":
            asyncio.run(_serve_trickle(sock, options.interval))
        else:
            asyncio.run(_serve_uvicorn(sock, app))


if __name__ == "__main__":
    main()
