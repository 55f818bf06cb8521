"""The journal is bounded in bytes: many large requests leave the emulator's memory flat, and
reading the journal back does not build it all at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from claude_foundry.emulator.journal import DEFAULT_MAX_BYTES

MIB = 1024 * 1024
REQUESTS = 200
BODY_BYTES = 255 * 1024

_SERVER = textwrap.dedent(
    """
    import sys
    from claude_foundry.emulator import Emulator

    with Emulator(api_key="memory-key") as emulator:
        print(emulator.port, flush=True)
        sys.stdin.readline()
    """
)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def big_body() -> bytes:
    """A valid request whose unknown field holds ~255 KiB of `{}` entries (each decodes to a
    dict many times its 3 bytes)."""
    head = b'{"model": "claude-haiku-4-5", "max_tokens": 8, '
    head += b'"messages": [{"role": "user", "content": "hi"}], "x": ['
    count = (BODY_BYTES - len(head) - 2) // 3
    return head + b",".join([b"{}"] * count) + b"]}"


@pytest.fixture
def server() -> Iterator[tuple[int, int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.pid, int(process.stdout.readline())
    finally:
        process.communicate("\n", timeout=30)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_memory_stays_flat_under_many_large_requests(server: tuple[int, int]) -> None:
    pid, port = server
    body = big_body()
    assert len(body) <= BODY_BYTES
    url = f"http://127.0.0.1:{port}"
    with httpx2.Client(base_url=url, headers={"api-key": "memory-key"}, timeout=60) as http:
        for _ in range(5):  # warm up: imports, first allocations
            http.post("/anthropic/v1/messages", content=body, headers=_JSON).raise_for_status()
        before = rss_bytes(pid)
        for _ in range(REQUESTS):
            http.post("/anthropic/v1/messages", content=body, headers=_JSON).raise_for_status()
        after_requests = rss_bytes(pid)
        health = http.get("/_emulator/health").json()
        received = 0
        with http.stream("GET", "/_emulator/journal") as journal:
            assert journal.status_code == 200
            for chunk in journal.iter_bytes():
                received += len(chunk)
        after_reading = rss_bytes(pid)
    assert health["journal"] == REQUESTS + 5
    assert health["journal_bytes"] <= DEFAULT_MAX_BYTES
    assert received > DEFAULT_MAX_BYTES // 2  # the kept bodies came back
    assert after_requests - before < 64 * MIB, (before, after_requests)
    assert after_reading - before < 64 * MIB, (before, after_reading)


_JSON = {"content-type": "application/json"}
