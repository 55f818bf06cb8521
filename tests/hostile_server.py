"""A raw loopback HTTP server that misbehaves on purpose: it trickles, redirects, echoes.

Each connection reads one request, sends ``prefix`` at once, then ``drip`` one byte every
``interval`` seconds (cycling through it for ever) until the client hangs up or the server stops.
The requests it received are kept (method, target, headers) for tests to inspect.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Received:
    target: str
    headers: dict[str, str]


@dataclass
class HostileServer:
    prefix: bytes
    drip: bytes = b""
    interval: float = 1.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/anthropic/"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    body += chunk
                self.received.append(Received(lines[0].split(" ")[1], headers))
                conn.sendall(self.prefix)
                position = 0
                while self.drip and not self._stop.wait(self.interval):
                    conn.sendall(self.drip[position : position + 1])
                    position = (position + 1) % len(self.drip)
            except OSError:
                return  # the client hung up: what a trickle ends in

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


@contextmanager
def hostile_server(
    prefix: bytes, drip: bytes = b"", interval: float = 1.0
) -> Iterator[HostileServer]:
    server = HostileServer(prefix, drip, interval)
    try:
        yield server
    finally:
        server.close()
