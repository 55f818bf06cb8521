"""The results file: JSONL appended durably, with at most one line per ``custom_id``.

The store records a result before it reaches this file, so after a crash the file can only lag
behind the store (a result recorded but not yet written), or end in a torn line (a write cut
short), or hold a line whose "written" mark did not reach the store. Opening the file repairs
all three: a torn last line is cut off, the ids already present are read back, and the exporter
writes only results whose ids are not there yet. Each append is flushed and ``fsync``-ed before
the store is told it was written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import msgspec

__all__ = ["ResultsFile", "ResultsFileError"]


class ResultsFileError(ValueError):
    """The results file cannot be used (unreadable, or not a results file of this batch)."""


class _IdOnly(msgspec.Struct):
    custom_id: str


_ID_DECODER = msgspec.json.Decoder(_IdOnly)


class ResultsFile:
    """Append-only results, opened with a repair pass. Not shared between processes: the CLI
    holds an exclusive lock on it while a run writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.present: set[str] = set()
        try:
            self._file = self.path.open("a+b")
        except OSError as exc:
            raise ResultsFileError(f"cannot open {self.path}: {exc.strerror}") from exc
        self._lock()
        self._repair()

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; one writer is the user's promise
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise ResultsFileError(
                f"{self.path} is being written by another run; wait for it or stop it"
            ) from None

    def _repair(self) -> None:
        self._file.seek(0)
        good_end = 0
        for number, line in enumerate(self._file, start=1):
            if not line.endswith(b"\n"):
                break  # a torn final line: cut below
            try:
                custom_id = _ID_DECODER.decode(line).custom_id
            except msgspec.DecodeError:
                if self._file.read(1):
                    raise ResultsFileError(
                        f"{self.path}, line {number}: not a batch result line; "
                        "choose another --output"
                    ) from None
                break  # a garbled final line is a torn write too
            self.present.add(custom_id)
            good_end += len(line)
        self._file.truncate(good_end)
        self._file.seek(0, os.SEEK_END)
        os.fsync(self._file.fileno())

    def append(self, lines: Iterable[tuple[str, bytes]]) -> list[str]:
        """Write the ``(custom_id, line)`` pairs whose id is not in the file yet; return every
        id that is now in the file (written here or before)."""
        chunk = bytearray()
        ids: list[str] = []
        for custom_id, line in lines:
            ids.append(custom_id)
            if custom_id not in self.present:
                chunk += line
                self.present.add(custom_id)
        if chunk:
            self._file.write(chunk)
            self._file.flush()
            os.fsync(self._file.fileno())
        return ids

    def close(self) -> None:
        self._file.close()
