"""Learned limits: a pool's effective limit follows what the service accepts (AIMD).

Configured limits may be wrong (a quota changed, another application shares the subscription's
pool, the documented default is not this subscription's). The service says so only with 429s,
so the governor learns:

- **Multiplicative decrease**: a 429 cuts the pool's factor (effective = configured x factor) by
  ``decrease`` (default 0.7), once per burst (429s within a tenth of a window of the first count
  once: they are the same overshoot seen by several requests in flight), down to ``floor``.
  The pool also pauses for the ``retry-after`` the 429 asked (capped at one window).
- **Additive increase**: each success adds ``increase`` / configured RPM, so a window of traffic
  at the limit wins back ``increase`` (default 10 %) of the configured limit, never above it.

Why AIMD: it is the rule that converges when several independent senders share one capacity
without talking (TCP's congestion control), which is exactly several applications on one
subscription pool; a cut reacts within one 429, the slow climb probes without oscillating.
A gradient or PID rule would need a signal between "accepted" and "refused", which Foundry does
not give (its ``x-ratelimit-*`` headers are ``-1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LearnedLimit"]


@dataclass(slots=True)
class LearnedLimit:
    factor: float = 1.0
    paused_until: float = -math.inf
    last_cut: float = -math.inf
    cuts: int = 0
    last_retry_after: float | None = None

    def on_rate_limited(
        self,
        now: float,
        retry_after: float | None,
        window_s: float,
        *,
        decrease: float = 0.7,
        floor: float = 0.1,
    ) -> None:
        if now - self.last_cut > window_s / 10:
            self.factor = max(floor, self.factor * decrease)
            self.last_cut = now
            self.cuts += 1
        pause = retry_after if retry_after is not None and retry_after > 0 else window_s / 60
        self.last_retry_after = retry_after
        self.paused_until = max(self.paused_until, now + min(pause, window_s))

    def on_success(self, configured_rpm: int | None, *, increase: float = 0.1) -> None:
        if self.factor < 1.0:
            per_request = increase / configured_rpm if configured_rpm else increase / 500
            self.factor = min(1.0, self.factor + per_request)

    def scale(self, limit: int | None, share: float = 1.0) -> int | None:
        if limit is None:
            return None
        return max(1, math.floor(limit * self.factor * share))
