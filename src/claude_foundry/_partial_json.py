"""A best-effort parser for JSON that arrives in pieces (tool input, structured output).

It imports nothing of this package, so the wire types (``TextEvent.parsed_snapshot``) and the
stream accumulator can both use it.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["PartialJSON"]

_decode_json = msgspec.json.decode


class PartialJSON:
    """Incremental best-effort parser for a JSON document that arrives in pieces.

    Each :meth:`feed` scans only the new piece, tracking strings, escapes and open containers, and
    remembers the last point where the text so far can be closed into valid JSON (after an opening
    bracket or a complete value). :meth:`snapshot` closes the text there and decodes it with
    msgspec. A number or literal still being written at the end is kept when it already parses
    (``{"a": 12`` → ``{"a": 12}``); an unfinished string, key or literal is left out
    (``{"a": 1, "b": "Par`` → ``{"a": 1}``), as the official SDK's partial mode does.
    """

    __slots__ = (
        "_cached",
        "_cached_key",
        "_closers",
        "_escape",
        "_expect_key",
        "_in_string",
        "_safe",
        "_safe_closers",
        "_scalar_start",
        "_string_is_key",
        "_text",
    )

    def __init__(self) -> None:
        self._text = ""
        self._closers = ""  # what closes every open container, innermost first
        self._expect_key = False
        self._in_string = False
        self._string_is_key = False
        self._escape = False
        self._scalar_start = -1
        self._safe = -1
        self._safe_closers = ""
        self._cached_key: tuple[int, int] | None = None
        self._cached: Any = None

    @property
    def text(self) -> str:
        return self._text

    def feed(self, piece: str) -> None:
        text = self._text + piece
        self._text = text
        i = len(text) - len(piece)
        n = len(text)
        while i < n:
            if self._escape:
                self._escape = False
                i += 1
                continue
            if self._in_string:
                quote = text.find('"', i)
                backslash = text.find("\\", i, quote if quote >= 0 else n)
                if backslash >= 0:
                    self._escape = True
                    i = backslash + 1
                    continue
                if quote < 0:
                    break
                i = quote + 1
                self._in_string = False
                if self._string_is_key:
                    self._expect_key = False
                else:
                    self._value_ends(i)
                continue
            char = text[i]
            if char in " \t\r\n,:}]":
                if self._scalar_start >= 0:
                    self._scalar_start = -1
                    self._value_ends(i)
                if char == ",":
                    self._expect_key = self._closers[:1] == "}"
                elif char == "}" or char == "]":
                    self._closers = self._closers[1:]
                    self._value_ends(i + 1)
            elif char == '"':
                self._in_string = True
                self._string_is_key = self._expect_key
            elif char == "{":
                self._closers = "}" + self._closers
                self._expect_key = True
                self._safe, self._safe_closers = i + 1, self._closers
            elif char == "[":
                self._closers = "]" + self._closers
                self._expect_key = False
                self._safe, self._safe_closers = i + 1, self._closers
            elif self._scalar_start < 0:
                self._scalar_start = i
            i += 1

    def _value_ends(self, end: int) -> None:
        self._safe, self._safe_closers = end, self._closers

    def snapshot(self, default: Any) -> Any:
        """The document parsed as far as it goes; ``default`` while nothing is parseable yet."""
        text = self._text
        trailing_scalar = self._scalar_start >= 0 and not self._in_string
        key = (self._safe, len(text) if trailing_scalar else -1)
        if key == self._cached_key:
            return self._cached
        value = default
        found = False
        if trailing_scalar:
            try:
                value, found = _decode_json(text + self._closers), True
            except msgspec.DecodeError:
                found = False
        if not found and self._safe >= 0:
            try:
                value = _decode_json(text[: self._safe] + self._safe_closers)
            except msgspec.DecodeError:
                value = default
        self._cached_key, self._cached = key, value
        return value

    def snapshot_with_trailing_string(self, default: Any) -> Any:
        """As :meth:`snapshot`, but a string value still being written is kept as far as it
        goes (``{"a": "Par`` → ``{"a": "Par"}``), as ``parsed_snapshot()`` shows it."""
        if self._in_string and not self._string_is_key:
            text = self._text[:-1] if self._escape else self._text
            try:
                return _decode_json(text + '"' + self._closers)
            except msgspec.DecodeError:
                pass
        return self.snapshot(default)
