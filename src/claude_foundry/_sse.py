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
character or with a regex.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerSentEvent", "SSEDecoder"]

_BOM = b"\xef\xbb\xbf"


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

    __slots__ = ("_buffer", "_last_event_id", "_pending_cr", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._last_event_id: str | None = None
        # A chunk that ends in "\r" may be half of a "\r\n" pair; wait for the next byte.
        self._pending_cr = False
        self._started = False

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
        if not chunk:
            return []
        if not self._started:
            if len(self._buffer) + len(chunk) < len(_BOM) and _BOM.startswith(self._buffer + chunk):
                self._buffer += chunk
                return []
            chunk = self._buffer + chunk
            self._buffer = b""
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if b"\r" in chunk:
            if chunk[-1:] == b"\r":
                chunk = chunk[:-1]
                self._pending_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\n\n" not in buffer:
            self._buffer = buffer
            return []
        blocks = buffer.split(b"\n\n")
        self._buffer = blocks.pop()
        return blocks

    def _take_rest(self) -> list[bytes]:
        rest = self._buffer
        if self._pending_cr:
            rest += b"\n"
            self._pending_cr = False
        self._buffer = b""
        if not self._started and rest.startswith(_BOM):
            rest = rest[len(_BOM) :]
        return [rest] if rest.strip(b"\n") else []

    # --- fields ------------------------------------------------------------------------------

    def _events(self, blocks: list[bytes]) -> list[ServerSentEvent]:
        events = []
        for block in blocks:
            parsed = self._parse(block)
            if parsed is not None:
                name, data, retry = parsed
                text = data.decode("utf-8", "replace")
                events.append(ServerSentEvent(name, text, self._last_event_id, retry))
        return events

    def _pairs(self, blocks: list[bytes]) -> list[tuple[str | None, bytes]]:
        pairs: list[tuple[str | None, bytes]] = []
        for block in blocks:
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
