"""How ``claude-foundry batch`` shows progress; the only batch module that touches rich.

Modes, as pip's: ``auto`` (a live display on a terminal, plain lines otherwise), ``on``, ``off``,
``raw`` (one plain line at most every ``interval`` seconds, for CI logs). A resumed run starts
its bar at the count already finished.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Literal, TextIO

from ..batches import BatchProgress

__all__ = ["ProgressMode", "ProgressSink", "describe", "make_progress"]

ProgressMode = Literal["auto", "on", "off", "raw"]


def _rates(progress: BatchProgress) -> tuple[float, float, float | None]:
    """Requests per minute and tokens per minute of this run, and seconds left (None: unknown)."""
    minutes = max(progress.elapsed, 1e-6) / 60.0
    per_minute = progress.done_this_run / minutes
    tokens = (progress.input_tokens + progress.output_tokens) / minutes
    left = progress.total - progress.finished
    eta = left / (per_minute / 60.0) if per_minute > 0 else None
    return per_minute, tokens, eta


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def describe(progress: BatchProgress) -> str:
    per_minute, tokens, eta = _rates(progress)
    return (
        f"{progress.finished}/{progress.total} done ({progress.succeeded} succeeded, "
        f"{progress.errored} errored, {progress.canceled} canceled, {progress.expired} expired), "
        f"{progress.in_flight} in flight, {per_minute:,.0f} req/min, {tokens:,.0f} tok/min, "
        f"{progress.admission}, ETA {_clock(eta)}"
    )


class ProgressSink:
    """Receives :class:`BatchProgress` snapshots; the default shows nothing."""

    def __enter__(self) -> ProgressSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, progress: BatchProgress) -> None:
        return None


def _counts(progress: BatchProgress | None) -> tuple[object, ...]:
    """What a plain line reports besides the rates, which change on every update."""
    if progress is None:
        return ()
    return (
        progress.processing_status,
        progress.succeeded,
        progress.errored,
        progress.canceled,
        progress.expired,
        progress.in_flight,
    )


class _RawLines(ProgressSink):
    def __init__(self, stream: TextIO, interval: float) -> None:
        self.stream = stream
        self.interval = interval
        self._last: float | None = None  # the first update always prints
        self._latest: BatchProgress | None = None
        self._printed: BatchProgress | None = None  # the last state is printed once, not twice

    def update(self, progress: BatchProgress) -> None:
        self._latest = progress
        now = time.monotonic()
        if self._last is None or now - self._last >= self.interval:
            self._last = now
            self._printed = progress
            self.stream.write(describe(progress) + "\n")
            self.stream.flush()

    def __exit__(self, *exc_info: object) -> None:
        if self._latest is not None and _counts(self._latest) != _counts(self._printed):
            self.stream.write(describe(self._latest) + "\n")
            self.stream.flush()


class _Live(ProgressSink):
    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.completed}/{task.total}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[detail]}"),
            console=Console(file=stream),
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> ProgressSink:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def update(self, progress: BatchProgress) -> None:
        per_minute, tokens, eta = _rates(progress)
        detail = (
            f"[green]{progress.succeeded} ok[/] [red]{progress.errored} errored[/] "
            f"{progress.in_flight} in flight · {per_minute:,.0f} req/min · "
            f"{tokens:,.0f} tok/min · {progress.admission} · ETA {_clock(eta)}"
        )
        if self._task is None:
            # a resumed run starts at what was already finished
            self._task = self._progress.add_task(
                "batch", total=progress.total, completed=progress.resumed_from, detail=detail
            )
        self._progress.update(self._task, completed=progress.finished, detail=detail)


def make_progress(
    mode: ProgressMode, stream: TextIO | None = None, *, interval: float = 5.0
) -> ProgressSink:
    stream = stream if stream is not None else sys.stderr
    if mode == "off":
        return ProgressSink()
    if mode == "on" or (mode == "auto" and stream.isatty()):
        return _Live(stream)
    return _RawLines(stream, interval)
