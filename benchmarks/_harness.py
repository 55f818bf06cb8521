"""Timing, interleaving, statistics and the results table.

On a shared, noisy machine a figure means something only next to its baseline measured at the
same moment: contenders run in alternating rounds (the order rotates every round), and a ratio is
the median of the per-round ratios, so a slow spell hits both sides of one ratio alike.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

NOT_BUILT = "n/a (not built)"
PACKAGES = ("claude-foundry", "anthropic", "httpx2", "msgspec", "pydantic", "starlette", "uvicorn")


# --- statistics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median and interquartile range (p25-p75) of repeated measurements."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no measurements")
        if len(values) == 1:
            return cls(values[0], values[0], values[0], 1)
        low, _, high = statistics.quantiles(values, n=4, method="inclusive")
        return cls(statistics.median(values), low, high, len(values))


def paired_ratios(subject: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Per-round ratios of two interleaved series."""
    return [a / b for a, b in zip(subject, baseline, strict=True) if b]


# --- interleaving ------------------------------------------------------------------------------


def _rotated(names: list[str], round_index: int) -> list[str]:
    shift = round_index % len(names)
    return names[shift:] + names[:shift]


def interleave(
    rounds: int, contenders: dict[str, Callable[[], float]], *, warmup: int = 1
) -> dict[str, list[float]]:
    """Run each contender once per round, order rotating; each call returns one measurement."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    results: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        for name in _rotated(names, round_index):
            gc.collect()
            results[name].append(contenders[name]())
    return results


async def interleave_async(
    rounds: int, contenders: dict[str, Callable[[], Awaitable[float]]], *, warmup: int = 1
) -> dict[str, list[float]]:
    """:func:`interleave` for coroutines, all rounds on one event loop."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            await contenders[name]()
    results: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        for name in _rotated(names, round_index):
            gc.collect()
            results[name].append(await contenders[name]())
    return results


# --- units -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """How a raw measurement (seconds, bytes, 1/s) is shown."""

    suffix: str
    scale: float = 1.0
    digits: int = 0
    higher_is_better: bool = False

    def show(self, value: float) -> str:
        return f"{value * self.scale:,.{self.digits}f} {self.suffix}".strip()

    def show_spread(self, spread: Spread) -> str:
        if spread.count == 1:
            return self.show(spread.median)
        low = f"{spread.low * self.scale:,.{self.digits}f}"
        high = f"{spread.high * self.scale:,.{self.digits}f}"
        return f"{self.show(spread.median)} [{low}-{high}]"


MICROSECONDS = Unit("µs", 1e6)
MILLISECONDS = Unit("ms", 1e3, 1)
PER_SECOND = Unit("req/s", higher_is_better=True)
MEGABYTES = Unit("MB", 1 / 2**20, 1)


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A bound on the ratio subject / baseline."""

    at_most: float | None = None
    at_least: float | None = None

    def met(self, ratio: float) -> bool:
        if self.at_most is not None and ratio > self.at_most:
            return False
        return not (self.at_least is not None and ratio < self.at_least)

    def __str__(self) -> str:
        if self.at_most is not None:
            return f"≤ {self.at_most:g}x"
        if self.at_least is not None:
            return f"≥ {self.at_least:g}x"
        return "—"


@dataclass
class Row:
    """One line of the table: a subject measured against one baseline (or alone)."""

    benchmark: str
    subject: str
    unit: Unit
    baseline: str = "—"
    subject_samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    target: Target | None = None
    target_text: str | None = None
    verdict_override: str | None = None
    status: str | None = None  # NOT_BUILT or an error; None when measured
    note: str = ""

    @property
    def ratio(self) -> Spread | None:
        if not self.subject_samples or not self.baseline_samples:
            return None
        ratios = paired_ratios(self.subject_samples, self.baseline_samples)
        return Spread.of(ratios) if ratios else None

    def cells(self) -> list[str]:
        target = self.target_text or (str(self.target) if self.target else "—")
        subject = self._figure(self.subject_samples)
        baseline = "—"
        if self.baseline != "—":
            baseline = f"{self.baseline}: {self._figure(self.baseline_samples)}"
        if self.status is not None:
            return [self.benchmark, self.status, baseline, "—", target, "—"]
        ratio = self.ratio
        ratio_text = "—"
        verdict = self.verdict_override or "—"
        if ratio is not None:
            ratio_text = f"{ratio.median:.2f}x [{ratio.low:.2f}-{ratio.high:.2f}]"
            if self.target is not None and self.verdict_override is None:
                verdict = "met" if self.target.met(ratio.median) else "MISSED"
        return [self.benchmark, subject, baseline, ratio_text, target, verdict]

    def _figure(self, samples: list[float]) -> str:
        return self.unit.show_spread(Spread.of(samples)) if samples else "—"


HEADER = ["benchmark", "ours", "baseline", "ratio", "target", "verdict"]


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in rows
    ]
    return "\n".join(lines)


def notes(rows: Sequence[Row]) -> list[str]:
    return [f"- **{row.benchmark}**: {row.note}" for row in rows if row.note]


# --- the machine -------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions() -> list[str]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return versions


def git_revision(repo: Path) -> str:
    """Short commit of HEAD, marked when the sources differ from it."""

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip()

    try:
        revision = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{revision} plus uncommitted changes under src/" if dirty else revision


def machine_description(repo: Path) -> list[str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- Date: {now}",
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores ({usable} usable)",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Load average at the end of the run (1/5/15 min): {load}",
        f"- Python: {platform.python_implementation()} {sys.version.split()[0]}",
        f"- Packages: {', '.join(package_versions())}",
        f"- Revision: {git_revision(repo)}",
    ]
