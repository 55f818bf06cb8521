"""Where quota pools keep their windows: the backend seam, and the in-memory backend.

A backend stores charges and decides admission atomically; everything else (which pool, how
much to charge, learned limits, priorities, waiting) is the governor's. Guarantees every
backend gives, which the shared test body checks:

- :meth:`QuotaBackend.reserve` charges all three budgets of a pool or none, atomically with
  respect to every other caller of the same store (threads, tasks, processes), under the rules of
  :mod:`claude_foundry.quota.window`; when it refuses it says how long until there is room.
- :meth:`QuotaBackend.adjust` adds a correction to the slot a charge went into, once per call,
  then moves the corrected charge up to ``shift`` seconds later (to when the reply came back),
  and does nothing when that slot has already left the window.
- Neither blocks longer than the backend's own timeout; a store that fails raises
  :class:`~claude_foundry.quota.QuotaBackendError` (the governor applies the outage policy).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from .window import Costs, Limits, RollingWindow

__all__ = ["MemoryBackend", "QuotaBackend", "Reservation", "WindowShape"]


@dataclass(frozen=True, slots=True)
class WindowShape:
    """How long charges are held and how finely they are summed, in seconds."""

    hold_s: float
    slot_s: float


@dataclass(slots=True)
class Reservation:
    """``slot`` is where the charge went (for :meth:`QuotaBackend.adjust`); ``None`` when
    refused, and then ``wait`` is the seconds until the ``binding`` budget (0 requests, 1 input
    tokens, 2 output tokens) has room."""

    slot: int | None
    wait: float = 0.0
    binding: int | None = None


class QuotaBackend(ABC):
    """The store under a governor. Subclasses implement the sync methods; the async ones call
    them unless the store has an async driver."""

    name = "backend"

    @abstractmethod
    def reserve(self, pool: str, costs: Costs, limits: Limits, shape: WindowShape) -> Reservation:
        """Charge ``costs`` to ``pool`` if every budget fits ``limits``; else charge nothing."""

    @abstractmethod
    def adjust(
        self,
        pool: str,
        slot: int,
        deltas: Costs,
        shape: WindowShape,
        shift: float = 0.0,
        charge: Costs = (0, 0, 0),
    ) -> None:
        """Correct a charge made into ``slot`` by ``deltas`` (negative refunds), then hold the
        corrected ``charge`` from ``shift`` seconds later than its slot's time."""

    @abstractmethod
    def usage(self, pool: str, shape: WindowShape) -> Costs:
        """What ``pool`` holds in its window now (reservations included)."""

    async def areserve(
        self, pool: str, costs: Costs, limits: Limits, shape: WindowShape
    ) -> Reservation:
        return self.reserve(pool, costs, limits, shape)

    async def aadjust(
        self,
        pool: str,
        slot: int,
        deltas: Costs,
        shape: WindowShape,
        shift: float = 0.0,
        charge: Costs = (0, 0, 0),
    ) -> None:
        self.adjust(pool, slot, deltas, shape, shift, charge)

    async def ausage(self, pool: str, shape: WindowShape) -> Costs:
        return self.usage(pool, shape)

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release connections (nothing for the memory backend)."""

    async def aclose(self) -> None:
        self.close()


class MemoryBackend(QuotaBackend):
    """Windows in this process: thread- and task-safe (one lock, held for microseconds, never
    across I/O), so every client of one process shares its pools. The default."""

    name = "memory"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, RollingWindow] = {}
        self._lock = threading.Lock()

    def _window(self, pool: str, shape: WindowShape) -> RollingWindow:
        window = self._windows.get(pool)
        if window is None or window.shape is not shape:
            if window is not None and window.shape == shape:
                window.shape = shape
                return window
            window = self._windows[pool] = RollingWindow(shape.hold_s, shape.slot_s)
            window.shape = shape
        return window

    def reserve(self, pool: str, costs: Costs, limits: Limits, shape: WindowShape) -> Reservation:
        with self._lock:
            window = self._windows.get(pool)
            if window is None or window.shape is not shape:
                window = self._window(pool, shape)
            slot, wait, binding = window.reserve(costs, limits, self._clock())
        return Reservation(slot, wait, binding)

    def adjust(
        self,
        pool: str,
        slot: int,
        deltas: Costs,
        shape: WindowShape,
        shift: float = 0.0,
        charge: Costs = (0, 0, 0),
    ) -> None:
        with self._lock:
            window = self._windows.get(pool)
            if window is not None:
                window.adjust(slot, deltas, shift, charge)

    def usage(self, pool: str, shape: WindowShape) -> Costs:
        with self._lock:
            window = self._windows.get(pool)
            if window is None:
                return (0, 0, 0)
            window.prune(self._clock())
            requests, input_tokens, output_tokens = window.totals
            return (requests, input_tokens, output_tokens)
