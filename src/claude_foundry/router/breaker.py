"""A circuit breaker per deployment, as an explicit state machine (one table, as h11 does).

    CLOSED ──failure x threshold──▶ OPEN ──cooldown over──▶ HALF_OPEN ──success──▶ CLOSED
       │                           ▲  └──failure (cooldown doubles)──┘
       └──config_error──▶ DISABLED ┘ (any state)          reset ──▶ CLOSED

- ``CLOSED``: traffic flows; failures in a row are counted, a success clears the count.
- ``OPEN``: no traffic until the cooldown is over. Each trip doubles the cooldown (up to
  ``max_cooldown``) and a trip never shortens a deadline already set. A failure reported while
  open (a call in flight at the trip) extends the deadline by the current cooldown, without
  doubling it.
- ``HALF_OPEN``: one probe may go; its success closes the breaker, its failure opens it again.
- ``DISABLED``: a configuration error (401, 403, 404): no traffic until :meth:`reset`, because
  waiting does not fix a wrong key or deployment name.

An event the table does not allow in the current state (a success reported for a deployment
that was open, say) raises :class:`BreakerStateError` and changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum

__all__ = ["TRANSITIONS", "BreakerEvent", "BreakerState", "BreakerStateError", "CircuitBreaker"]


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"
    DISABLED = "disabled"


class BreakerEvent(Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    TRIP = "trip"  # a failure that reached the threshold
    COOLDOWN_OVER = "cooldown-over"
    CONFIG_ERROR = "config-error"
    RESET = "reset"


S, E = BreakerState, BreakerEvent

TRANSITIONS: dict[BreakerState, dict[BreakerEvent, BreakerState]] = {
    S.CLOSED: {
        E.SUCCESS: S.CLOSED,
        E.FAILURE: S.CLOSED,
        E.TRIP: S.OPEN,
        E.CONFIG_ERROR: S.DISABLED,
        E.RESET: S.CLOSED,
    },
    S.OPEN: {
        E.FAILURE: S.OPEN,  # a call sent before it opened came back failed: extends, not shortens
        E.TRIP: S.OPEN,
        E.COOLDOWN_OVER: S.HALF_OPEN,
        E.CONFIG_ERROR: S.DISABLED,
        E.RESET: S.CLOSED,
    },
    S.HALF_OPEN: {
        E.SUCCESS: S.CLOSED,
        E.TRIP: S.OPEN,
        E.CONFIG_ERROR: S.DISABLED,
        E.RESET: S.CLOSED,
    },
    S.DISABLED: {E.RESET: S.CLOSED},
}


class BreakerStateError(RuntimeError):
    """An event the state table does not allow in the current state; nothing changed."""


class CircuitBreaker:
    """Thread-safe. ``clock`` is injectable for tests."""

    def __init__(
        self,
        *,
        threshold: int = 3,
        cooldown: float = 5.0,
        max_cooldown: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.trips = 0
        self.open_until = 0.0
        self.reason: str | None = None
        self._probing = False

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.state.value}, failures={self.failures}, trips={self.trips})"

    def _move(self, event: BreakerEvent) -> None:
        allowed = TRANSITIONS[self.state]
        if event not in allowed:
            raise BreakerStateError(
                f"event {event.value!r} is not allowed in state {self.state.value!r}"
            )
        self.state = allowed[event]

    def handle(self, event: BreakerEvent, reason: str | None = None) -> BreakerState:
        """Apply ``event`` (raising :class:`BreakerStateError` if illegal); the new state."""
        with self._lock:
            self._handle(event, reason)
            return self.state

    def _handle(self, event: BreakerEvent, reason: str | None) -> None:
        before = self.state
        self._move(event)
        now = self._clock()
        if event is E.SUCCESS:
            self.failures = 0
            if before is S.HALF_OPEN:
                self.trips = 0
                self.reason = None
            self._probing = False
        elif event in (E.FAILURE, E.TRIP):
            self.failures += 1
            self.reason = reason or self.reason
            if self.state is S.OPEN:
                self._probing = False
                if before is not S.OPEN:
                    self.trips += 1  # a new trip: the cooldown doubles
                # A failure while open (a call sent before the trip came back late) extends
                # the deadline by the current cooldown, never doubles it: calls in flight when
                # a region fails all come back failed, and counting each as a trip would hold
                # the deployment out for minutes after it returned.
                cooldown = min(self.base_cooldown * 2 ** (self.trips - 1), self.max_cooldown)
                self.open_until = max(self.open_until, now + cooldown)
        elif event is E.COOLDOWN_OVER:
            self._probing = False
        elif event is E.CONFIG_ERROR:
            self.reason = reason
        elif event is E.RESET:
            self.failures = self.trips = 0
            self.open_until = 0.0
            self.reason = None
            self._probing = False

    # --- what the router calls ---------------------------------------------------------------

    def allows(self) -> bool:
        """May a request go now? In HALF_OPEN one probe at a time."""
        with self._lock:
            if self.state is S.OPEN and self._clock() >= self.open_until:
                self._move(E.COOLDOWN_OVER)
            if self.state is S.CLOSED:
                return True
            if self.state is S.HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def may_allow(self) -> bool:
        """Whether :meth:`allows` would let a request through now, without taking the probe."""
        with self._lock:
            if self.state is S.OPEN:
                return self._clock() >= self.open_until
            return self.state is S.CLOSED or (self.state is S.HALF_OPEN and not self._probing)

    def reopens_in(self) -> float | None:
        """Seconds until an open breaker lets a probe through (0 when it would now), ``None``
        when it is not open (closed, half-open, or taken out until reset)."""
        with self._lock:
            if self.state is not S.OPEN:
                return None
            return max(0.0, self.open_until - self._clock())

    def success(self) -> None:
        with self._lock:
            if self.state in (S.CLOSED, S.HALF_OPEN):
                self._handle(E.SUCCESS, None)

    def failure(self, reason: str | None = None) -> None:
        with self._lock:
            if self.state is S.DISABLED:
                return
            trip = self.state is S.HALF_OPEN or (
                self.state is S.CLOSED and self.failures + 1 >= self.threshold
            )
            self._handle(E.TRIP if trip else E.FAILURE, reason)

    def hold(self, seconds: float, reason: str | None = None) -> None:
        """The deployment asked not to be called for ``seconds`` (a 429's ``retry-after``): keep
        it out at least that long, capped at ``max_cooldown``. Only ever extends: a shorter
        request later never brings it back sooner."""
        with self._lock:
            if self.state is S.DISABLED or seconds <= 0:
                return
            if self.state is not S.OPEN:
                self._move(E.TRIP)
                self._probing = False
                self.failures += 1
                self.reason = reason or self.reason
            until = self._clock() + min(seconds, self.max_cooldown)
            self.open_until = max(self.open_until, until)

    def config_error(self, reason: str) -> None:
        with self._lock:
            if self.state is not S.DISABLED:
                self._handle(E.CONFIG_ERROR, reason)

    def reset(self) -> None:
        with self._lock:
            self._handle(E.RESET, None)
