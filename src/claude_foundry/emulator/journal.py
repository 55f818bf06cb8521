"""The request journal: what each request to the emulator looked like and how it was answered.

Tests read it to prove what a client sent (retries via ``x-stainless-retry-count``, headers,
bodies, fields no handler read). Credentials never reach it: every credential header and query
parameter is replaced by ``[redacted]`` when an entry is built, whoever builds it. Bodies are
the caller's content and are kept as sent.

Example::

    journal = Journal(maxlen=1000)
    journal.record(JournalEntry(method="POST", path="/anthropic/v1/messages",
                                headers={"api-key": "secret"}, status=200))
    journal.entries()[-1].headers  # {"api-key": "[redacted]"}
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import msgspec

__all__ = [
    "HISTORY_LIMIT",
    "REDACTED",
    "Journal",
    "JournalEntry",
    "history_note",
    "is_credential_header",
    "redact_headers",
    "redact_query",
]

REDACTED = "[redacted]"

_CREDENTIAL_HEADERS = frozenset(
    {
        "api-key",
        "x-api-key",
        "authorization",
        "proxy-authorization",
        "ocp-apim-subscription-key",
        "cookie",
        "set-cookie",
    }
)
_CREDENTIAL_HEADER_PREFIXES = ("x-ms-token-",)
# Query parameters that carry credentials in Azure and OAuth URLs (SAS signatures included).
_CREDENTIAL_QUERY_KEYS = frozenset(
    {
        "api-key",
        "api_key",
        "apikey",
        "key",
        "subscription-key",
        "access_token",
        "token",
        "code",
        "sig",
        "client_secret",
    }
)


def is_credential_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _CREDENTIAL_HEADERS or lowered.startswith(_CREDENTIAL_HEADER_PREFIXES)


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
    return key.strip().lower() in _CREDENTIAL_QUERY_KEYS


HISTORY_LIMIT = 256 * 1024
"""Longer thread conversations are journalled as a note of their size."""


def history_note(size: int) -> dict[str, str]:
    return {
        "_omitted": f"a conversation of about {size} bytes (the journal keeps conversations up "
        f"to {HISTORY_LIMIT} bytes)"
    }


_entry_ids = itertools.count(1)


def _new_entry_id() -> str:
    return f"j_{next(_entry_ids)}"


@dataclass
class JournalEntry:
    """One request and its outcome. Headers and query are redacted on construction.

    ``body`` is the parsed JSON request body (None if absent or not JSON); ``retry_count`` comes
    from ``x-stainless-retry-count`` (None if absent or not a number); ``unknown_fields`` lists
    request fields no handler read; ``fault_id`` names the fault rule that fired, if any.
    ``history`` is set for a request that continued a message thread: the whole conversation the
    reply was made from (the thread's turns, then the request's messages). It is kept as JSON
    bytes (``raw_history``), decoded on each access, and replaced by a note of its size beyond
    ``HISTORY_LIMIT`` bytes.
    """

    method: str = "POST"
    path: str = ""
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    status: int = 0
    deployment: str | None = None
    request_id: str | None = None
    apim_request_id: str | None = None
    stream: bool = False
    retry_count: int | None = None
    unknown_fields: list[str] = field(default_factory=list)
    fault_id: str | None = None
    raw_history: bytes | None = field(default=None, repr=False)
    duration_ms: float = 0.0
    time: float = field(default_factory=time.time)
    id: str = field(default_factory=_new_entry_id)

    def __post_init__(self) -> None:
        self.headers = redact_headers(self.headers)
        self.query = redact_query(self.query)
        if self.retry_count is None:
            self.retry_count = _retry_count(self.headers.get("x-stainless-retry-count"))
        if self.raw_history is not None and len(self.raw_history) > HISTORY_LIMIT:
            self.raw_history = msgspec.json.encode(history_note(len(self.raw_history)))

    @property
    def history(self) -> Any:
        """The conversation a message-thread continue was answered from, decoded afresh on each
        access (so callers may change it); None for any other request."""
        return msgspec.json.decode(self.raw_history) if self.raw_history is not None else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (the body is copied, not shared)."""
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "body": copy.deepcopy(self.body),
            "status": self.status,
            "deployment": self.deployment,
            "request_id": self.request_id,
            "apim_request_id": self.apim_request_id,
            "stream": self.stream,
            "retry_count": self.retry_count,
            "unknown_fields": list(self.unknown_fields),
            "fault_id": self.fault_id,
            "history": self.history,
            "duration_ms": self.duration_ms,
        }

    def header(self, name: str) -> str | None:
        """One header's (redacted) value, looked up case-insensitively."""
        return self.headers.get(name.lower())


def _retry_count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


class Journal:
    """The most recent ``maxlen`` entries, oldest first. Safe to use from several threads."""

    def __init__(self, maxlen: int = 1000) -> None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1:
            raise ValueError(f"journal maxlen must be a whole number >= 1, not {maxlen!r}")
        self._entries: deque[JournalEntry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    @property
    def maxlen(self) -> int:
        return self._entries.maxlen or 0

    def record(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

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
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"Journal(entries={len(self)}, maxlen={self.maxlen})"
