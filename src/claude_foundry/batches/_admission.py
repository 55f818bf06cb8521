"""How many requests a batch keeps in flight: the admission seam.

The runner asks :meth:`Admission.capacity` before it claims work and reports every attempt's
outcome to :meth:`Admission.observe`. Two implementations:

- :class:`AdaptiveLimit` (the default, for an ungoverned client): additive increase,
  multiplicative decrease on the concurrency, in the manner of TCP. Each success adds
  ``1 / limit``, so the limit grows by about one per round trip of a full window; a throttle
  (429, 529) cuts it to ``decrease`` of itself. It finds the rate the service allows without
  knowing it.
- :class:`GovernedAdmission`: the quota governor decides. Capacity is what the governor says a
  background request may have now (``in_flight + headroom``); each request still goes through
  the governed client, which waits for room, so the batch takes only what interactive traffic
  leaves.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

__all__ = ["AdaptiveLimit", "Admission", "GovernedAdmission"]


class Admission(Protocol):
    def capacity(self, in_flight: int, sample: dict[str, Any] | None) -> int:
        """How many requests may be in flight now (the runner starts the difference).
        ``sample`` is a request's params, for a governor that sizes by tokens."""

    def observe(self, *, throttled: bool) -> None:
        """One attempt ended: ``throttled`` for a 429 or 529, else any other answer."""

    def describe(self) -> str:
        """A short note for progress displays, e.g. ``"limit 12"``."""


class AdaptiveLimit:
    """AIMD concurrency between ``minimum`` and ``maximum``. Thread-safe."""

    def __init__(
        self,
        *,
        initial: int = 8,
        minimum: int = 1,
        maximum: int = 64,
        decrease: float = 0.7,
    ) -> None:
        if not 1 <= minimum <= initial <= maximum:
            raise ValueError("need 1 <= minimum <= initial <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self.decrease = decrease
        self._limit = float(initial)
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return int(self._limit)

    def capacity(self, in_flight: int, sample: dict[str, Any] | None) -> int:
        return self.limit

    def observe(self, *, throttled: bool) -> None:
        with self._lock:
            if throttled:
                self._limit = max(float(self.minimum), self._limit * self.decrease)
            else:
                self._limit = min(float(self.maximum), self._limit + 1.0 / self._limit)

    def describe(self) -> str:
        return f"concurrency {self.limit}"


class GovernedAdmission:
    """Capacity from a quota governor (``claude_foundry.quota.QuotaGovernor``) at background
    priority, capped at ``maximum``; the governed client enforces the quota on every attempt."""

    def __init__(self, governor: Any, *, maximum: int = 256) -> None:
        self.governor = governor
        self.maximum = maximum
        self._last = 1

    def capacity(self, in_flight: int, sample: dict[str, Any] | None) -> int:
        if sample is None:
            return max(1, min(self.maximum, in_flight + 1))
        model = str(sample.get("model", ""))
        max_tokens = int(sample.get("max_tokens", 0))
        headroom = int(
            self.governor.headroom(
                model,
                priority="background",
                input_tokens=_rough_input_tokens(sample),
                max_tokens=max_tokens,
            )
        )
        self._last = max(1, min(self.maximum, in_flight + headroom))
        return self._last

    def observe(self, *, throttled: bool) -> None:
        pass  # the governed client reconciles each call with the governor itself

    def describe(self) -> str:
        """The busiest budget of the busiest pool, e.g. ``quota 92% rpm``."""
        busiest, name = 0.0, ""
        for status in self.governor.status():
            for used, limit, budget in zip(
                status.used, status.effective, ("rpm", "input tpm", "output tpm"), strict=True
            ):
                if limit and used / limit > busiest:
                    busiest, name = used / limit, budget
        if not name:
            return f"quota: room for {self._last}"
        return f"quota {busiest:.0%} {name}"


def _rough_input_tokens(params: dict[str, Any]) -> int:
    # About four characters a token; the governor settles with the real usage afterwards.
    size = len(str(params.get("messages", ""))) + len(str(params.get("system", "")))
    return max(1, size // 4)
