"""The real stores the backend tests run against: memory always; Redis at 127.0.0.1:6379.

A store that is unreachable skips its tests with the reason, unless ``CI`` is set: the CI machine
runs the servers, so there a missing one fails the tests instead of hiding them.
"""

from __future__ import annotations

import os
import socket

import pytest

REDIS_URL = os.environ.get("CLAUDE_FOUNDRY_TEST_REDIS", "redis://127.0.0.1:6379/15")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_redis() -> str:
    if not reachable("127.0.0.1", 6379):
        message = "Redis is not reachable at 127.0.0.1:6379"
        if os.environ.get("CI"):
            pytest.fail(f"{message}, and CI must run the Redis tests")
        pytest.skip(message)
    return REDIS_URL
