"""Fail loudly unless the servers the backend tests need answer: Redis and PostgreSQL on loopback.

Run by ``.ci/run`` before the tests, so that a CI machine without them fails here instead of
skipping the Redis and PostgreSQL tests. Standard library only (it runs before any install).
"""

from __future__ import annotations

import socket
import sys

SERVERS = {
    "Redis": ("127.0.0.1", 6379, b"PING\r\n", b"+PONG"),
    "PostgreSQL": ("127.0.0.1", 5432, None, None),
}


def check(name: str, host: str, port: int, ask: bytes | None, answer: bytes | None) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=3.0) as sock:
            if ask is not None and answer is not None:
                sock.settimeout(3.0)
                sock.sendall(ask)
                reply = sock.recv(64)
                if not reply.startswith(answer):
                    return f"{name} at {host}:{port} answered {reply!r}, not {answer!r}"
    except OSError as exc:
        return f"{name} is not reachable at {host}:{port} ({exc})"
    return None


def main() -> int:
    problems = [p for name, spec in SERVERS.items() if (p := check(name, *spec))]
    for problem in problems:
        print(f"check-servers: {problem}", file=sys.stderr)
    if problems:
        print(
            "check-servers: the backend tests need these servers; start them (e.g. "
            "`redis-server`, `pg_ctlcluster ... start`) before running CI.",
            file=sys.stderr,
        )
        return 1
    print("check-servers: Redis and PostgreSQL answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
