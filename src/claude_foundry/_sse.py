"""An incremental Server-Sent Events decoder: bytes in, events out.

Sans-IO: feed it chunks as they arrive, in any split, and it returns the events completed so far.
It follows the WHATWG event-stream rules the Messages API relies on: events end at a blank
line (``\\n\\n``, ``\\r\\r`` or ``\\r\\n\\r\\n``), lines starting with ``:`` are comments, several
``data:`` lines join with ``\\n``, one space after the colon is dropped, ``id`` persists across
events and ``retry`` belongs to the event that carries it.

    >>> decoder = SSEDecoder()
    >>> decoder.feed(b"event: ping\\ndata: {}\\n")
    []
    >>> decoder.feed(b"\\n")
    [ServerSentEvent(event='ping', data='{}', id=None, retry=None)]

This is the hot path of every stream, so it works on whole byte blocks: line endings are normalised
with ``bytes.replace`` and blocks are cut with ``bytes.split`` (both in C), never character by
character or with a regex. An unfinished event is kept as a list of its chunks and joined once,
when its blank line arrives, so its cost stays linear in its size however finely it is split.

An event may be at most ``max_event_size`` bytes (16 MiB unless given): a stream that never sends
a blank line would otherwise grow the buffer without bound. A longer one raises
:class:`EventTooLargeError` once the events before it have been returned, wherever the chunks
were cut, and so does every later call.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_EVENT_SIZE", "EventTooLargeError", "SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"
MAX_EVENT_SIZE = 16 * 1024 * 1024
"""The largest event, in bytes (line endings normalised), that :class:`SSEDecoder` accepts."""


class EventTooLargeError(ValueError):
    """An event went on past the size limit without the blank line that ends it."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"An event of the stream went on past {limit} bytes without the blank line that "
            "ends an event; reading stopped there to bound memory. This is not a Messages API "
            "event stream: check that the base URL reaches the service and not a proxy."
        )
        self.limit = limit


@dataclass(slots=True)
class ServerSentEvent:
    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns a byte stream into :class:`ServerSentEvent` objects.

    :meth:`feed` returns the events that a chunk completed; :meth:`end` flushes an event that the
    stream ended without a trailing blank line. :meth:`feed_raw` is the allocation-light variant the
    stream decoder uses: ``(event name, data bytes)`` pairs, with no ``str`` decoding of the data.
    """

    __slots__ = (
        "_failure",
        "_head",
        "_last_event_id",
        "_max_event_size",
        "_parts",
        "_pending_cr",
        "_size",
        "_started",
    )

    def __init__(self, *, max_event_size: int = MAX_EVENT_SIZE) -> None:
        self._max_event_size = max_event_size
        # The unfinished event: normalised chunks, joined only once its blank line arrives.
        self._parts: list[bytes] = []
        self._size = 0
        self._head = b""  # the first bytes, while they may still be a split byte order mark
        self._last_event_id: str | None = None
        # A chunk that ends in "\r" may be half of a "\r\n" pair; wait for the next byte.
        self._pending_cr = False
        self._started = False
        self._failure: EventTooLargeError | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        return self._events(self._take_blocks(chunk))

    def end(self) -> list[ServerSentEvent]:
        return self._events(self._take_rest())

    def feed_raw(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        return self._pairs(self._take_blocks(chunk))

    def end_raw(self) -> list[tuple[str | None, bytes]]:
        return self._pairs(self._take_rest())

    # --- framing -----------------------------------------------------------------------------

    def _take_blocks(self, chunk: bytes) -> list[bytes]:
        """Append a chunk and cut off every complete block (the text between blank lines)."""
        if self._failure is not None:
            raise self._failure
        if not chunk:
            return []
        if not self._started:
            head = self._head + chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._head = head
                return []
            self._head = b""
            self._started = True
            chunk = head[len(_BOM) :] if head.startswith(_BOM) else head
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if b"\r" in chunk:
            if chunk[-1:] == b"\r":
                chunk = chunk[:-1]
                self._pending_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        parts = self._parts
        if parts:
            # The blank line may straddle what was kept and what arrived.
            if b"\n\n" not in chunk and not (parts[-1][-1:] == b"\n" and chunk[:1] == b"\n"):
                if chunk:
                    parts.append(chunk)
                    self._size += len(chunk)
                    self._check_unfinished(parts[-1])
                return []
            parts.append(chunk)
            buffer = b"".join(parts)
            parts.clear()
        elif b"\n\n" in chunk:
            buffer = chunk
        else:
            if chunk:
                parts.append(chunk)
                self._size = len(chunk)
                self._check_unfinished(chunk)
            return []
        blocks = buffer.split(b"\n\n")
        rest = blocks.pop()
        self._size = len(rest)
        if rest:
            parts.append(rest)
            if self._size > self._max_event_size:
                self._fail(bool(blocks))
        return blocks

    def _check_unfinished(self, last: bytes) -> None:
        # A final "\n" may be the first half of the blank line: not part of the event.
        size = self._size - 1 if last[-1:] == b"\n" else self._size
        if size > self._max_event_size:
            self._fail(False)

    def _fail(self, defer: bool) -> None:
        """Stop at an event that is too large: now, or (``defer``) after the events completed
        by the same call are returned, so the result does not depend on the chunking."""
        self._parts.clear()
        self._size = 0
        self._failure = EventTooLargeError(self._max_event_size)
        if not defer:
            raise self._failure

    def _take_rest(self) -> list[bytes]:
        if self._failure is not None:
            raise self._failure
        rest = b"".join(self._parts) if self._parts else self._head
        self._parts.clear()
        self._size = 0
        if self._pending_cr:
            rest += b"\n"
            self._pending_cr = False
        if not self._started:
            self._head = b""
            if rest.startswith(_BOM):
                rest = rest[len(_BOM) :]
        return [rest] if rest.strip(b"\n") else []

    # --- fields ------------------------------------------------------------------------------

    def _events(self, blocks: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        limit = self._max_event_size
        for block in blocks:
            if len(block) > limit:
                self._fail(bool(events))
                break
            parsed = self._parse(block)
            if parsed is not None:
                name, data, retry = parsed
                text = data.decode("utf-8", "replace")
                events.append(ServerSentEvent(name, text, self._last_event_id, retry))
        return events

    def _pairs(self, blocks: list[bytes]) -> list[tuple[str | None, bytes]]:
        pairs: list[tuple[str | None, bytes]] = []
        limit = self._max_event_size
        for block in blocks:
            if len(block) > limit:
                self._fail(bool(pairs))
                break
            # The shape every Messages API event has: "event: NAME\ndata: JSON". Taken without
            # splitting into lines; anything else goes through the general parser.
            if block[:7] == b"event: ":
                newline = block.find(b"\n")
                if (
                    newline > 0
                    and block[newline + 1 : newline + 7] == b"data: "
                    and block.find(b"\n", newline + 1) < 0
                ):
                    pairs.append((_event_name(block[7:newline]), block[newline + 7 :]))
                    continue
            parsed = self._parse(block)
            if parsed is not None:
                pairs.append((parsed[0], parsed[1]))
        return pairs

    def _parse(self, block: bytes) -> tuple[str | None, bytes, int | None] | None:
        """The fields of one block, or ``None`` if it has none (only comments or blank lines)."""
        name: str | None = None
        retry: int | None = None
        data: list[bytes] = []
        has_fields = False
        for line in block.split(b"\n"):
            if not line or line[0] == 58:  # blank (from "\n\n\n") or ":" comment
                continue
            field, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                data.append(value)
                has_fields = True
            elif field == b"event":
                name = _event_name(value)
                has_fields = True
            elif field == b"id":
                if b"\0" not in value:
                    self._last_event_id = value.decode("utf-8", "replace")
                has_fields = True
            elif field == b"retry":
                if value.isdigit():
                    retry = int(value)
                has_fields = True
        if not has_fields:
            return None
        return name, data[0] if len(data) == 1 else b"\n".join(data), retry


# The names the Messages API sends, looked up by their bytes: every event then shares one str
# per name instead of decoding a new one.
_KNOWN_NAMES: dict[bytes, str] = {
    name.encode(): name
    for name in (
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    )
}


def _event_name(value: bytes) -> str | None:
    # An empty `event:` field means "unnamed", as in the official decoder.
    name = _KNOWN_NAMES.get(value)
    if name is None:
        name = value.decode("utf-8", "replace") or None
    return name
