"""Health latency while the journal is read: the emulator keeps answering under a big journal.

    python benchmarks/journal_read.py                # 200 requests of 255 KiB, then measure
    python benchmarks/journal_read.py --requests 50  # a quicker run

The emulator runs in its own process. The script fills its journal with large requests (bodies
of ``{}`` entries, the shape that decodes to the most objects), then reads the whole journal
back again and again on one connection while another times ``GET /_emulator/health``. It prints
the health latencies (median, p95, max) against the target of 100 ms, the journal's size and the
emulator's RSS before and after. It asserts nothing: timing is measured here, not tested.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx2

MIB = 1024 * 1024
TARGET_MS = 100.0
_READER = textwrap.dedent(
    """
    import select, sys, time
    import httpx2

    with httpx2.Client(base_url=sys.argv[1], timeout=120) as reader:
        print("reading", flush=True)
        while not select.select([sys.stdin], [], [], 0)[0]:
            started = time.perf_counter()
            size = 0
            with reader.stream("GET", "/_emulator/journal") as response:
                for chunk in response.iter_bytes():
                    size += len(chunk)
            print(time.perf_counter() - started, size, flush=True)
    """
)
_SERVER = textwrap.dedent(
    """
    import sys
    from claude_foundry.emulator import Emulator

    with Emulator(api_key="bench-key") as emulator:
        print(emulator.port, flush=True)
        sys.stdin.readline()
    """
)


def big_body(size: int) -> bytes:
    head = b'{"model": "claude-haiku-4-5", "max_tokens": 8, '
    head += b'"messages": [{"role": "user", "content": "hi"}], "x": ['
    count = (size - len(head) - 2) // 3
    return head + b",".join([b"{}"] * count) + b"]}"


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return float("nan")
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def probe_health(url: str, probes: int) -> list[float]:
    """Latencies of ``GET /_emulator/health`` in milliseconds, sorted."""
    latencies: list[float] = []
    with httpx2.Client(base_url=url, timeout=120) as http:
        for _ in range(probes):
            started = time.perf_counter()
            http.get("/_emulator/health").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)
    return sorted(latencies)


def summary(latencies: list[float]) -> str:
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    return (
        f"median {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies[-1]:.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--body-kib", type=int, default=255)
    parser.add_argument("--health-probes", type=int, default=200)
    args = parser.parse_args(argv)

    src = Path(__file__).resolve().parent.parent / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), *sys.path])}
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        body = big_body(args.body_kib * 1024)
        headers = {"api-key": "bench-key", "content-type": "application/json"}
        rss_start = rss_mib(server.pid)
        with httpx2.Client(base_url=url, headers=headers, timeout=120) as http:
            for _ in range(args.requests):
                http.post("/anthropic/v1/messages", content=body).raise_for_status()
        rss_filled = rss_mib(server.pid)
        idle = probe_health(url, args.health_probes)  # the same probes with nobody reading

        # The reader runs in a process of its own, so that its work cannot delay the probes.
        reader = subprocess.Popen(
            [sys.executable, "-c", _READER, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert reader.stdout is not None
        reader.stdout.readline()  # the first read has begun
        latencies = probe_health(url, args.health_probes)
        output, _ = reader.communicate("\n", timeout=120)
        reads = [float(line.split()[0]) for line in output.splitlines() if line.strip()]
        journal_bytes = int(output.split()[1]) if reads else 0
        rss_end = rss_mib(server.pid)
    finally:
        server.communicate("\n", timeout=60)

    worst = latencies[-1]
    print(
        f"journal: {args.requests} requests of {args.body_kib} KiB; one read is "
        f"{journal_bytes / MIB:.1f} MiB, took {statistics.median(reads) * 1000:.0f} ms "
        f"(median of {len(reads)} reads)"
    )
    print(f"health, nobody reading the journal ({len(idle)} probes): {summary(idle)}")
    print(
        f"health while the journal is read ({len(latencies)} probes): {summary(latencies)} "
        f"(target ≤ {TARGET_MS:.0f} ms: {'met' if worst <= TARGET_MS else 'NOT met'})"
    )
    print(
        f"emulator RSS: {rss_start:.0f} MiB at start, {rss_filled:.0f} MiB after the requests, "
        f"{rss_end:.0f} MiB after the reads"
    )


if __name__ == "__main__":
    main()
