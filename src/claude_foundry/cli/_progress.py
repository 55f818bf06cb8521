"""What ``chat`` shows on stderr while it waits: a spinner on a terminal, and every retry.

The client logs each retry on the ``claude_foundry`` logger ("retrying v1/messages in 0.50 s
(attempt 2 of 3): OverloadedError"); a handler installed for the duration of one command prints
those lines, so the client core knows nothing about the command line. The spinner runs only when
stderr is a terminal, so piped output stays clean; retries are printed either way.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import Any

import click

from ._boundary import redact

__all__ = ["Waiting"]

_CLIENT_LOGGER = "claude_foundry"


class _EchoRetries(logging.Handler):
    def __init__(self, waiting: Waiting) -> None:
        super().__init__(logging.INFO)
        self._waiting = waiting

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._waiting.note(redact(record.getMessage()))
        except Exception:
            self.handleError(record)


class Waiting:
    """``with Waiting("claude-sonnet-5"): ...``; call :meth:`reply_started` before printing."""

    def __init__(self, label: str, *, spinner: bool | None = None) -> None:
        self._label = label
        self._spinner = sys.stderr.isatty() if spinner is None else spinner
        self._status: Any = None
        self._console: Any = None
        self._handler = _EchoRetries(self)
        self._logger = logging.getLogger(_CLIENT_LOGGER)
        self._level = self._logger.level

    def __enter__(self) -> Waiting:
        if self._logger.getEffectiveLevel() > logging.INFO:
            self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._handler)
        if self._spinner:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
            self._status = self._console.status(f"waiting for {self._label}…")
            self._status.start()
        return self

    def note(self, text: str) -> None:
        """A line on stderr that does not tear the spinner."""
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(text, style="yellow"))
        else:
            click.echo(text, err=True)

    def reply_started(self) -> None:
        """Stop the spinner: the reply is about to be printed."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.reply_started()
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)
