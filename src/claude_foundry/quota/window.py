"""The budget arithmetic, sans-IO: one pool's charges over a rolling window, in slots.

A pool has three budgets (requests, uncached input tokens, output tokens per minute). Charges
are kept for ``hold_s`` seconds (the quota minute plus a small margin for the time a request
takes to reach the service), summed per slot so memory stays bounded; a slot leaves the window
when its *latest* charge is ``hold_s`` old, so nothing leaves early. Budget comes back
continuously as charges age out, not at the turn of a calendar minute.

Why a rolling window and not a token bucket with the limit as its burst: a client that never
puts more than L into any window of W seconds is also accepted by a server that runs a token
bucket of capacity L refilled at L/W (the bucket's deficit over any interval of length T is at
most L*(floor(T/W)+1) - L*T/W <= L), while a token-bucket client may put 2L into one window (a full
bucket, then a window of refill) and meet 429s from a server that counts rolling windows. The
rolling window is safe against both; both reach the same long-run rate.

Admission rule per budget: ``used + cost <= limit``, or the budget is unused (a request larger
than a shrunken learned limit may still go alone). :meth:`RollingWindow.reserve` charges all
three budgets or none, and when it refuses says how long until enough ages out.

The Redis backend runs the same rules in ``reserve.lua``; the tests run one body against both.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["Costs", "Limits", "RollingWindow", "fits", "wait_for"]

Costs = tuple[int, int, int]
"""Requests, uncached input tokens, output tokens."""
Limits = tuple[int | None, int | None, int | None]
"""The same three, per window; ``None`` is unlimited."""


@dataclass(slots=True)
class _Slot:
    index: int
    time: float  # the latest charge in the slot
    counts: list[int]


def fits(used: int, cost: int, limit: int | None) -> bool:
    return limit is None or used == 0 or used + cost <= limit


def wait_for(needed: int, charges: list[tuple[float, int]], hold_s: float, now: float) -> float:
    """Seconds until ``needed`` units of ``charges`` (oldest first: time, amount) age out."""
    freed = 0
    for time, amount in charges:
        freed += amount
        if freed >= needed:
            return max(time + hold_s - now, 0.0)
    return hold_s


class RollingWindow:
    """One pool's charges. Not locked: the memory backend holds a lock around each call."""

    __slots__ = ("_slots", "hold_s", "shape", "slot_s", "totals")

    def __init__(self, hold_s: float, slot_s: float) -> None:
        if not (math.isfinite(hold_s) and hold_s > 0 and 0 < slot_s <= hold_s):
            raise ValueError(f"bad window: hold_s={hold_s!r}, slot_s={slot_s!r}")
        self.hold_s = hold_s
        self.slot_s = slot_s
        self._slots: deque[_Slot] = deque()
        self.totals = [0, 0, 0]
        self.shape: object = None
        """The backend's note of the shape this window was made for."""

    def prune(self, now: float) -> None:
        slots, totals = self._slots, self.totals
        while slots and slots[0].time + self.hold_s <= now:
            counts = slots.popleft().counts
            for budget in range(3):
                totals[budget] -= counts[budget]

    def reserve(
        self, costs: Costs, limits: Limits, now: float
    ) -> tuple[int | None, float, int | None]:
        """Charge ``costs`` and return ``(slot, 0.0, None)``, or charge nothing and return
        ``(None, wait, binding)``: the seconds until the binding budget (0 requests, 1 input,
        2 output) has room."""
        slots = self._slots
        if slots and slots[0].time + self.hold_s <= now:
            self.prune(now)
        totals = self.totals
        wait = -1.0
        binding = None
        for budget in (0, 1, 2):
            used = totals[budget]
            limit = limits[budget]
            if limit is None or used == 0 or used + costs[budget] <= limit:
                continue
            cost = costs[budget]
            assert limit is not None
            needed = min(used, used + cost - limit)
            charges = [(slot.time, slot.counts[budget]) for slot in self._slots]
            until = wait_for(needed, charges, self.hold_s, now)
            if until > wait:
                wait, binding = until, budget
        if wait >= 0:
            return None, max(wait, 1e-3), binding
        index = int(now // self.slot_s)
        if slots and slots[-1].index >= index:
            slot = slots[-1]
            if now > slot.time:
                slot.time = now
        else:
            slot = _Slot(index, now, [0, 0, 0])
            slots.append(slot)
        counts = slot.counts
        requests, input_tokens, output_tokens = costs
        counts[0] += requests
        counts[1] += input_tokens
        counts[2] += output_tokens
        totals[0] += requests
        totals[1] += input_tokens
        totals[2] += output_tokens
        return slot.index, 0.0, None

    def adjust(
        self, slot_index: int, deltas: Costs, shift: float = 0.0, charge: Costs = (0, 0, 0)
    ) -> None:
        """Add ``deltas`` to the slot a charge went into; then move ``charge`` (the charge as
        corrected) ``shift`` seconds later. Nothing if the slot already aged out.

        The move exists because the service counts a request when it arrives, which may be
        well after admission (a queue at the service, a slow client): holding the charge from
        the time the reply came back (at most ``shift`` later) keeps the two windows aligned."""
        slots = self._slots
        for position in range(len(slots) - 1, -1, -1):
            slot = slots[position]
            if slot.index < slot_index:
                return
            if slot.index != slot_index:
                continue
            for budget in (0, 1, 2):
                slot.counts[budget] += deltas[budget]
                self.totals[budget] += deltas[budget]
            if shift > 0 and any(charge):
                self._move(position, shift, charge)
            return

    def _move(self, position: int, shift: float, charge: Costs) -> None:
        slots = self._slots
        source = slots[position]
        when = source.time + shift
        index = int(when // self.slot_s)
        if index <= source.index:
            return
        for budget in (0, 1, 2):
            source.counts[budget] -= charge[budget]
        target = None
        at = position + 1
        while at < len(slots) and slots[at].index <= index:
            if slots[at].index == index:
                target = slots[at]
                break
            at += 1
        if target is None:
            target = _Slot(index, when, [0, 0, 0])
            slots.insert(at, target)
        elif when > target.time:
            target.time = when
        for budget in (0, 1, 2):
            target.counts[budget] += charge[budget]

    @property
    def empty(self) -> bool:
        return not self._slots
