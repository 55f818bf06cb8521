"""Remembered token counts: the same ``count_tokens`` request answered once per ``ttl``.

Editors and agents count the same prompt again and again (one extension sends 40 to 50
``count_tokens`` calls a second at start-up), and on Foundry each of them spends a request of the
deployment's per-minute quota. A count depends only on what is sent and where, so a client given a
:class:`CountTokensCache` answers a repeat from memory: no request, no quota, no ledger row (the
ledger records calls that reached the service). Off unless asked for.

The key is a BLAKE2b digest of the endpoint, the query, the headers that can change a count
(``anthropic-version``, ``anthropic-beta``) and the request body, so neither a prompt nor a
credential is kept. Only successful counts are kept; errors always reach the service again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

import msgspec

from ._pipeline import Call
from ._responses import parse_token_count
from .types import MessageTokensCount

__all__ = ["CountTokensCache", "count_cache_from"]

# Headers that select how the service counts; any other header leaves a count unchanged.
_COUNTING_HEADERS = ("anthropic-version", "anthropic-beta")


class CountTokensCache:
    """Token counts remembered per request, for ``AnthropicFoundry(count_tokens_cache=...)``.

    ``max_entries`` (default 4,096) bounds memory: past it the least recently used count goes.
    ``ttl`` (seconds, default 600) bounds how stale a count may be, should a deployment move to
    another model version. One cache may be shared by several clients and threads; ``hits`` and
    ``misses`` count what it saved and what it passed on.
    """

    def __init__(
        self,
        *,
        max_entries: int = 4096,
        ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive whole number, not {max_entries!r}")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < float("inf"):
            raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
        self.max_entries = max_entries
        self.ttl = float(ttl)
        self._clock = clock
        self._counts: OrderedDict[bytes, tuple[float, MessageTokensCount]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return (
            f"CountTokensCache({len(self)}/{self.max_entries} entries, ttl={self.ttl:g} s, "
            f"hits={self.hits}, misses={self.misses})"
        )

    def __len__(self) -> int:
        return len(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def key(self, call: Call, base_headers: Mapping[str, str], url: object) -> bytes | None:
        """The key of ``call``, or ``None`` when it is not a plain count (a raw or streamed
        response is the caller's to read, so it always goes out)."""
        if call.parse is not parse_token_count or call.unread:
            return None
        digest = hashlib.blake2b(digest_size=16)
        digest.update(str(url).encode())
        if call.extra_query:
            query = sorted((str(name), str(value)) for name, value in call.extra_query.items())
            digest.update(msgspec.json.encode(query))
        extra = {str(name).lower(): value for name, value in (call.extra_headers or {}).items()}
        for name in _COUNTING_HEADERS:
            digest.update(f"\n{name}: {extra.get(name, base_headers.get(name))}".encode())
        digest.update(b"\n\n")
        digest.update(call.body)
        return digest.digest()

    def get(self, key: bytes) -> MessageTokensCount | None:
        """The remembered count, as a new object (a caller may change what it gets)."""
        now = self._clock()
        with self._lock:
            entry = self._counts.get(key)
            if entry is not None and entry[0] > now:
                self._counts.move_to_end(key)
                self.hits += 1
                return msgspec.structs.replace(entry[1])
            if entry is not None:
                del self._counts[key]
            self.misses += 1
            return None

    def put(self, key: bytes, counted: object) -> None:
        if type(counted) is not MessageTokensCount:
            return
        with self._lock:
            self._counts[key] = (self._clock() + self.ttl, msgspec.structs.replace(counted))
            self._counts.move_to_end(key)
            while len(self._counts) > self.max_entries:
                self._counts.popitem(last=False)


def count_cache_from(value: object) -> CountTokensCache | None:
    """A client's ``count_tokens_cache`` argument: a cache, ``True`` for a new one with the
    defaults, or ``None``/``False`` for none."""
    if value is None or value is False:
        return None
    if value is True:
        return CountTokensCache()
    if isinstance(value, CountTokensCache):
        return value
    raise TypeError(
        f"count_tokens_cache must be a CountTokensCache, True or None; got {type(value).__name__}"
    )
