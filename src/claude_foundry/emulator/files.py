"""Reading the files a configuration names: regular files only, bounded in size, never a hang.

A path from a configuration or the control API may name anything: a FIFO (opening it for reading
waits for a writer, forever), ``/dev/zero`` (reading it never ends), a directory, or a file of
gigabytes. :func:`read_regular_file` opens without blocking, refuses what is not a regular file,
and reads at most ``limit`` bytes, so a wrong path costs an error message, not the process.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "UnreadableFile", "read_regular_file"]

MAX_FILE_BYTES = 8 * 1024 * 1024
"""The largest configuration or script file read (far beyond any hand-written one)."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class UnreadableFile(ValueError):
    """The file cannot be used; the message names it and says why."""


def read_regular_file(path: str | Path, *, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, or :class:`UnreadableFile`.

    ``what`` names the file in messages (``"script file"``).
    """
    name = str(path)
    try:
        # Non-blocking, so that opening a FIFO with no writer returns at once.
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise UnreadableFile(f"cannot read {what} {name!r}: it does not exist") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read {what} {name!r}: {exc.strerror}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(
                f"{what} {name!r} is not a regular file (a directory, FIFO or device cannot be "
                "read as one); name a file on disk"
            )
        if info.st_size > limit:
            raise UnreadableFile(_too_large(what, name, limit))
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(limit + 1)  # the file may have grown since fstat
    if len(data) > limit:
        raise UnreadableFile(_too_large(what, name, limit))
    return data


def _too_large(what: str, name: str, limit: int) -> str:
    return f"{what} {name!r} is larger than {limit} bytes; split it or trim it"
