"""Idle and slow connections are closed, and running out of descriptors neither locks real
clients out for long nor floods the log."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import httpx2
import pytest

from claude_foundry.emulator import Emulator, EmulatorConfig, EmulatorConfigError

WAIT_S = 15.0  # generous: how long a test waits for the server to close a connection


@pytest.fixture(scope="module")
def quick() -> Iterator[Emulator]:
    config = EmulatorConfig.from_mapping(
        {"header_timeout_s": 0.5, "keep_alive_s": 0.5, "body_timeout_s": 0.5}
    )
    with Emulator(config) as emulator:
        yield emulator


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes ``sock`` (False if it is still open after WAIT_S)."""
    sock.settimeout(WAIT_S)
    try:
        while sock.recv(4096):  # whatever the server still sends, then the end
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_a_connection_that_sends_nothing_is_closed(quick: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        assert closed_by_server(sock)


def test_headers_trickling_in_are_cut_off(quick: Emulator) -> None:
    request = b"GET /_emulator/health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        deadline = time.monotonic() + WAIT_S
        for byte in request:  # one byte every 50 ms: each byte used to restart the clock
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.05)
            if time.monotonic() > deadline:
                break
        assert closed_by_server(sock)


def test_a_keep_alive_connection_idle_after_a_response_is_closed(quick: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        sock.settimeout(WAIT_S)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert closed_by_server(sock)


def test_idle_sockets_do_not_keep_real_clients_out(quick: Emulator) -> None:
    idle = [socket.create_connection(("127.0.0.1", quick.port)) for _ in range(300)]
    try:
        with httpx2.Client(base_url=quick.url, timeout=WAIT_S) as http:
            assert http.get("/_emulator/health").status_code == 200
        assert all(closed_by_server(sock) for sock in idle[:5])
    finally:
        for sock in idle:
            sock.close()


def test_headers_that_never_end_are_not_buffered_without_bound(quick: Emulator) -> None:
    head = b"GET /_emulator/health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * 100_000
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        # The server may answer and close before all of it is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        sock.settimeout(WAIT_S)
        assert sock.recv(4096).startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize(
    ("path", "status_type"),
    [("/anthropic/v1/messages", b"timeout_error"), ("/_emulator/faults", b"timeout")],
)
def test_a_body_that_never_arrives_in_full_gets_408(
    quick: Emulator, path: str, status_type: bytes
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\napi-key: {quick.api_key}\r\n"
        "content-type: application/json\r\ncontent-length: 100\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", quick.port)) as sock:
        sock.sendall(head.encode() + b'{"model": ')
        sock.settimeout(WAIT_S)
        reply = b""
        while b"\r\n\r\n" not in reply or status_type not in reply:
            data = sock.recv(4096)
            if not data:
                break
            reply += data
    assert reply.startswith(b"HTTP/1.1 408")
    assert status_type in reply


@pytest.mark.parametrize("value", [0, -1, "5", float("inf"), 10_000, True])
def test_timeouts_are_validated(value: object) -> None:
    with pytest.raises(EmulatorConfigError, match="header_timeout_s"):
        EmulatorConfig.from_mapping({"header_timeout_s": value})


_SERVER = textwrap.dedent(
    """
    import logging, resource, sys, time
    from claude_foundry.emulator import Emulator, EmulatorConfig

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, hard))
    # A long header timeout: only shedding can free descriptors within the test.
    config = EmulatorConfig.from_mapping({"header_timeout_s": 300})
    with Emulator(config) as emulator:
        print(emulator.port, flush=True)
        sys.stdin.readline()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_running_out_of_descriptors_is_logged_once_and_recovers() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    idle: list[socket.socket] = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
        time.sleep(1.5)  # the accept loop runs out of descriptors on these
        statuses = []
        for _ in range(5):  # a real client gets in once idle connections are shed
            try:
                with httpx2.Client(timeout=WAIT_S) as http:
                    statuses.append(
                        http.get(f"http://127.0.0.1:{port}/_emulator/health").status_code
                    )
                break
            except httpx2.TransportError:
                statuses.append(0)
        assert statuses[-1] == 200, statuses
    finally:
        for sock in idle:
            sock.close()
        _, stderr = server.communicate("\n", timeout=30)
    assert stderr.count("ran out of file descriptors") == 1, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "out of system resource" not in stderr
