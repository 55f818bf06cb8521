"""The waiting line of one pool in this process: who asks the store next.

Without a line, callers that wait for room all wake when a charge ages out and race for it; a
caller can lose many races in a row and time out while newer ones get through. The line keeps
order instead: interactive callers before background ones, then first come first served. A
caller behind someone is told to wait until the one ahead is due to ask again; the one at the
head asks the store. A caller that stops asking (cancelled, gave up) leaves the line when its
turn has passed by ``grace`` seconds, so the line never stalls on it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .._admission import AdmissionAsk

__all__ = ["WaitingLine"]

_POLL = 0.005
"""The wait suggested behind a caller who is due now (its answer is a moment away)."""


@dataclass(slots=True)
class _Entry:
    ask: AdmissionAsk  # held so that id(ask) stays unique while it waits
    rank: int
    order: int
    due: float


class WaitingLine:
    """Not locked: the governor holds its lock around each call."""

    __slots__ = ("_orders", "entries", "grace")

    def __init__(self, grace: float = 1.0) -> None:
        self.entries: dict[int, _Entry] = {}
        self._orders = itertools.count()
        self.grace = grace

    def __len__(self) -> int:
        return len(self.entries)

    def ahead(self, ask: AdmissionAsk, now: float) -> float | None:
        """The wait to suggest when someone waits ahead of ``ask``; ``None`` when it may try."""
        for key in [k for k, e in self.entries.items() if e.due + self.grace < now]:
            del self.entries[key]
        mine = self.entries.get(id(ask))
        rank = _rank(ask)
        for key, entry in self.entries.items():
            if key == id(ask):
                continue
            if entry.rank < rank or (
                entry.rank == rank and (mine is None or entry.order < mine.order)
            ):
                return max(entry.due - now, _POLL)
        return None

    def join(self, ask: AdmissionAsk, wait: float, now: float) -> None:
        entry = self.entries.get(id(ask))
        if entry is None:
            self.entries[id(ask)] = _Entry(ask, _rank(ask), next(self._orders), now + wait)
        else:
            entry.due = now + wait

    def leave(self, ask: AdmissionAsk) -> None:
        self.entries.pop(id(ask), None)


def _rank(ask: AdmissionAsk) -> int:
    return 0 if ask.priority == "interactive" else 1
