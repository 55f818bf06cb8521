"""The request journal: what each request to the emulator looked like and how it was answered.

Tests read it to prove what a client sent (retries via ``x-stainless-retry-count``, headers,
bodies, fields no handler read). Credentials never reach it: every credential header and query
parameter (by name pattern: key, token, secret, password, signature, ...) is replaced by
``[redacted]`` when an entry is built, whoever builds it. Bodies are the caller's content and are
kept as the bytes sent, within a byte budget (see :class:`Journal`).

Example::

    journal = Journal(maxlen=1000)
    journal.record(JournalEntry(method="POST", path="/anthropic/v1/messages",
                                headers={"api-key": "secret"}, status=200))
    journal.entries()[-1].headers  # {"api-key": "[redacted]"}
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import msgspec

from .._redact import REDACTED, is_secret_name

__all__ = [
    "BODY_LIMIT",
    "DEFAULT_MAX_BYTES",
    "HISTORY_LIMIT",
    "REDACTED",
    "Journal",
    "JournalEntry",
    "history_note",
    "is_credential_header",
    "omitted_note",
    "redact_headers",
    "redact_query",
]

_CREDENTIAL_HEADERS = frozenset(
    {
        "api-key",
        "x-api-key",
        "authorization",
        "proxy-authorization",
        "ocp-apim-subscription-key",
        "cookie",
        "set-cookie",
        "x-identity-header",
    }
)


def is_credential_header(name: str) -> bool:
    """Whether a header or query parameter called ``name`` holds a credential: one of the
    headers above, or a name the client also treats as secret (key, token, sig, ...)."""
    lowered = name.strip().lower()
    return lowered in _CREDENTIAL_HEADERS or is_secret_name(lowered)


def redact_headers(
    headers: Iterable[tuple[str | bytes, str | bytes]] | Mapping[str, str],
) -> dict[str, str]:
    """Headers as a dict with lower-case names and every credential value ``[redacted]``.

    Repeated headers are joined with ``", "``, as HTTP allows.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = _text(raw_name).lower()
        value = _text(raw_value)
        if is_credential_header(name):
            result[name] = REDACTED
        elif name in result:
            result[name] = f"{result[name]}, {value}"
        else:
            result[name] = value
    return result


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def redact_query(query: str) -> str:
    """A query string with credential parameters (``api-key``, ``sig``, ...) ``[redacted]``."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name = part.partition("=")[0]
        parts.append(f"{name}={REDACTED}" if _is_credential_key(unquote_plus(name)) else part)
    return "&".join(parts)


def _is_credential_key(key: str) -> bool:
    return is_credential_header(key)


_entry_ids = itertools.count(1)


def _new_entry_id() -> str:
    return f"j_{next(_entry_ids)}"


BODY_LIMIT = 256 * 1024
"""Larger request bodies are journalled as a note of their size."""
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""The request bodies (and thread histories) one journal keeps in all; older ones give way to a
note beyond it."""
HISTORY_LIMIT = 256 * 1024
"""Longer message-thread conversations are journalled as a note of their size."""


@dataclass
class JournalEntry:
    """One request and its outcome. Headers and query are redacted on construction.

    The request body is kept as the bytes that came in (``raw_body``), never as a decoded tree:
    a few hundred KiB of ``[{}, {}, ...]`` decode to objects many times their size. ``body``
    decodes it on each access (None if absent or not JSON; a note ``{"_omitted": ...}`` when
    it was too large to keep). ``retry_count`` comes from ``x-stainless-retry-count`` (None if
    absent or not a number); ``unknown_fields`` lists request fields no handler read;
    ``fault_id`` names the fault rule that fired, if any, and ``fault_kind`` its kind.
    ``status`` is None when no complete response was sent: the emulator dropped the connection
    (a ``disconnect`` fault, which ``fault_kind`` then names, or stopping or failing mid-reply)
    or the client left first. ``history`` is set for a request that
    continued a message thread: the whole conversation the reply was made from (the thread's
    turns, then the request's messages), kept as JSON bytes (``raw_history``) like the body,
    within ``HISTORY_LIMIT`` bytes and the journal's byte budget.
    """

    method: str = "POST"
    path: str = ""
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | None = field(default=None, repr=False)
    """The request body as sent, when it was a JSON object of at most ``BODY_LIMIT`` bytes."""
    body_note: str | None = None
    """Why the body is not kept, when it was not (too large, or pushed out by newer ones)."""
    status: int | None = None
    """The HTTP status answered; None when no complete response was sent."""
    deployment: str | None = None
    request_id: str | None = None
    apim_request_id: str | None = None
    stream: bool = False
    retry_count: int | None = None
    unknown_fields: list[str] = field(default_factory=list)
    fault_id: str | None = None
    fault_kind: str | None = None
    raw_history: bytes | None = field(default=None, repr=False)
    """The conversation a message-thread continue was answered from, as JSON."""
    history_note: str | None = None
    """Why the conversation is not kept, when it was not."""
    duration_ms: float = 0.0
    time: float = field(default_factory=time.time)
    id: str = field(default_factory=_new_entry_id)

    def __post_init__(self) -> None:
        self.headers = redact_headers(self.headers)
        self.query = redact_query(self.query)
        if self.retry_count is None:
            self.retry_count = _retry_count(self.headers.get("x-stainless-retry-count"))
        if self.raw_body is not None and len(self.raw_body) > BODY_LIMIT:
            self.body_note = omitted_note(len(self.raw_body))
            self.raw_body = None
        if self.raw_history is not None and len(self.raw_history) > HISTORY_LIMIT:
            self.history_note = history_note(len(self.raw_history))
            self.raw_history = None

    @property
    def body(self) -> Any:
        """The request body, decoded afresh on each access (so callers may change it)."""
        raw = self.raw_body  # read once: the journal may drop it from another thread
        if raw is not None:
            return msgspec.json.decode(raw)
        if self.body_note is not None:
            return {"_omitted": self.body_note}
        return None

    @property
    def history(self) -> Any:
        """The thread conversation, decoded afresh on each access; None for other requests."""
        raw = self.raw_history  # read once: the journal may drop it from another thread
        if raw is not None:
            return msgspec.json.decode(raw)
        if self.history_note is not None:
            return {"_omitted": self.history_note}
        return None

    @property
    def size(self) -> int:
        """Bytes of request body and thread history this entry holds."""
        return len(self.raw_body or b"") + len(self.raw_history or b"")

    def drop_body(self, reason: str) -> None:
        """Let go of the body and history bytes, keeping a note of their size."""
        if self.raw_body is not None:
            self.body_note = f"a request body of {len(self.raw_body)} bytes ({reason})"
            self.raw_body = None
        if self.raw_history is not None:
            self.history_note = f"a conversation of {len(self.raw_history)} bytes ({reason})"
            self.raw_history = None

    def _fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "status": self.status,
            "deployment": self.deployment,
            "request_id": self.request_id,
            "apim_request_id": self.apim_request_id,
            "stream": self.stream,
            "retry_count": self.retry_count,
            "unknown_fields": list(self.unknown_fields),
            "fault_id": self.fault_id,
            "fault_kind": self.fault_kind,
            "duration_ms": self.duration_ms,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (body and history are decoded afresh, not shared)."""
        return {**self._fields(), "body": self.body, "history": self.history}

    def to_json(self) -> bytes:
        """The entry as JSON, with the body's and history's bytes spliced in: no decoding.

        The kept body was accepted by a strict JSON decoder, and the history was encoded by the
        emulator, so both are valid JSON (and UTF-8).
        """
        head = msgspec.json.encode(self._fields())
        raw = self.raw_body  # read once: the journal may drop it from another thread
        body = raw if raw is not None else msgspec.json.encode(self.body)
        raw_history = self.raw_history
        history = raw_history if raw_history is not None else msgspec.json.encode(self.history)
        return b"".join((head[:-1], b',"body":', body, b',"history":', history, b"}"))

    def header(self, name: str) -> str | None:
        """One header's (redacted) value, looked up case-insensitively."""
        return self.headers.get(name.lower())


def omitted_note(size: int) -> str:
    return f"a request body of {size} bytes (the journal keeps bodies up to {BODY_LIMIT} bytes)"


def history_note(size: int) -> str:
    return (
        f"a conversation of about {size} bytes (the journal keeps conversations up to "
        f"{HISTORY_LIMIT} bytes)"
    )


def _retry_count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


class Journal:
    """The most recent ``maxlen`` entries, oldest first. Safe to use from several threads.

    Memory is bounded in bytes as well as entries: the kept request bodies and thread histories
    total at most ``max_bytes``; beyond it the oldest are replaced by a note of their size (their
    entries stay).

    ``generation`` counts clears. A request takes it when it arrives and is journalled only if no
    clear came in between: a slow request of one test, still in flight when the next test resets
    the emulator, must not appear in the next test's journal.
    """

    def __init__(self, maxlen: int = 1000, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1:
            raise ValueError(f"journal maxlen must be a whole number >= 1, not {maxlen!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"journal max_bytes must be a whole number >= 0, not {max_bytes!r}")
        self._entries: deque[JournalEntry] = deque()
        self._maxlen = maxlen
        self.max_bytes = max_bytes
        self._with_bodies: deque[JournalEntry] = deque()  # oldest first
        self._bytes = 0
        self._lock = threading.Lock()
        self.generation = 0

    @property
    def maxlen(self) -> int:
        return self._maxlen

    @property
    def body_bytes(self) -> int:
        """Bytes of request bodies and thread histories held now (at most ``max_bytes``)."""
        with self._lock:
            return self._bytes

    def record(self, entry: JournalEntry, *, generation: int | None = None) -> None:
        """Keep ``entry``, unless ``generation`` (the journal's when the request arrived) says a
        clear came since."""
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            self._entries.append(entry)
            if entry.size:
                self._with_bodies.append(entry)
                self._bytes += entry.size
            if len(self._entries) > self._maxlen:
                evicted = self._entries.popleft()
                self._bytes -= evicted.size
                evicted.drop_body("evicted from the journal")
            while self._bytes > self.max_bytes and self._with_bodies:
                oldest = self._with_bodies.popleft()
                self._bytes -= oldest.size
                oldest.drop_body(f"dropped: the journal keeps {self.max_bytes} bytes of bodies")
            while self._with_bodies and not self._with_bodies[0].size:
                self._with_bodies.popleft()  # evicted with their entries

    def entries(
        self, *, deployment: str | None = None, limit: int | None = None
    ) -> list[JournalEntry]:
        """Entries oldest first; ``deployment`` filters, ``limit`` keeps the newest ``limit``."""
        with self._lock:
            selected = [
                entry
                for entry in self._entries
                if deployment is None or entry.deployment == deployment
            ]
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must be >= 0, not {limit}")
            selected = selected[len(selected) - limit :] if limit else []
        return selected

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._with_bodies.clear()
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"Journal(entries={len(self)}, maxlen={self.maxlen}, body_bytes={self._bytes})"
