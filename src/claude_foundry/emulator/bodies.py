"""Reading request bodies: one size limit for every route, checked before and while reading.

The Foundry routes, the control API and the apps mounted under it (Entra ID) all read bodies
through :func:`read_body`, so ``max_body_bytes`` bounds them alike: a declared
``content-length`` beyond the limit is refused before a byte is read, and a body that grows past
it while arriving stops being read at once. A body must also arrive within ``body_timeout_s``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyTimeout", "BodyTooLarge", "is_json_content_type", "read_body", "replay"]

ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]


class BodyTimeout(Exception):
    """The request body did not arrive in full within the time allowed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The request body did not arrive within {seconds:g} seconds; send it at once."
        )
        self.seconds = seconds


class BodyTooLarge(Exception):
    """The request body is, or says it is, larger than ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request exceeds the maximum allowed number of bytes ({limit}).")
        self.limit = limit


async def read_body(
    receive: Receive, limit: int, declared: str | None = None, timeout_s: float | None = None
) -> bytes | None:
    """The whole body, at most ``limit`` bytes; None if the client went away while sending.

    ``declared`` is the request's ``content-length`` header, if any. ``timeout_s`` bounds the
    whole read (:class:`BodyTimeout`), so a body trickling in cannot hold a request for ever.
    """
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    if timeout_s is None:
        return await _read(receive, limit)
    try:
        async with asyncio.timeout(timeout_s):
            return await _read(receive, limit)
    except TimeoutError:
        raise BodyTimeout(timeout_s) from None


async def _read(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over an already read ``body``, then defers to ``receive``."""
    sent = False

    async def replayed() -> ASGIMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def is_json_content_type(value: str | None) -> bool:
    """``application/json`` or a ``+json`` type, parameters allowed."""
    if value is None:
        return False
    media = value.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
