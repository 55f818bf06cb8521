"""Per-deployment quota simulation: requests, input tokens and output tokens per rolling minute.

Foundry meters three things per deployment (really per model pool): requests per minute (RPM),
uncached input tokens per minute (ITPM: input after the last cache breakpoint plus cache
creation; cache reads are free) and output tokens per minute (OTPM). A request over any of them
gets HTTP 429.

:class:`QuotaBook` charges a request at admission: one request, its uncached input tokens, and
``max_tokens`` of output as a reservation, because the output is not known yet. When the reply is
done, :meth:`QuotaBook.settle` replaces the reservation by the real output, which frees budget
early. A refused :class:`Admission` says which limit bound and how long until enough budget frees
(``retry_after``), which the app sends as ``retry-after`` (whole seconds, at least 1) and
``retry-after-ms`` (exact). Nothing here does I/O; the clock is injectable for tests.

Example::

    book = QuotaBook()
    limits = QuotaLimits(rpm=40, input_tpm=40_000, output_tpm=8_000)
    admission = book.admit("claude-sonnet", limits, input_tokens=1200, max_tokens=1024)
    if not admission.admitted:
        ...  # 429 with admission.headers() and admission.message
    book.settle(admission.ticket, output_tokens=321)
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Admission", "LimitName", "QuotaBook", "QuotaLimits", "uncached_input_tokens"]

LimitName = Literal["rpm", "input_tpm", "output_tpm"]

_SLOTS_PER_WINDOW = 600
"""Charges are summed per 1/600 of the window (0.1 s for a minute) so memory stays bounded
under any request rate; a slot expires with its latest charge, so limits are never overshot."""

_SWEEP_ABOVE_KEYS = 256
"""Past this many tracked keys, windows that have emptied are dropped."""

_UNITS: dict[str, str] = {
    "rpm": "requests",
    "input_tpm": "input tokens",
    "output_tpm": "output tokens",
}


def uncached_input_tokens(
    input_tokens: int, cache_creation_input_tokens: int = 0, cache_read_input_tokens: int = 0
) -> int:
    """The input that counts toward ITPM: uncached input plus cache writes; cache reads are free."""
    del cache_read_input_tokens
    return input_tokens + cache_creation_input_tokens


@dataclass(frozen=True)
class QuotaLimits:
    """Per-minute limits for one deployment (or shared pool); None means unlimited."""

    rpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "input_tpm", "output_tpm"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"quota {name!r} must be a whole number >= 0 (or null for unlimited), "
                    f"not {value!r}"
                )

    @property
    def unlimited(self) -> bool:
        return self.rpm is None and self.input_tpm is None and self.output_tpm is None


@dataclass
class _Slot:
    time: float
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    pending: int = 0
    expired: bool = False


@dataclass
class _Ticket:
    """A charge whose output reservation can be replaced by the real output once."""

    key: str
    slot: _Slot
    reserved: int
    input_charged: int
    settled: bool = False


@dataclass
class _Window:
    slots: deque[tuple[int, _Slot]] = field(default_factory=deque)
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    pending: int = 0


@dataclass(frozen=True)
class Admission:
    """The verdict on one request.

    ``retry_after`` is the exact number of seconds until the request would fit (0 when admitted,
    and 0 when it can never fit: ``permanent``). ``limit`` names the binding limit.
    """

    admitted: bool
    retry_after: float = 0.0
    limit: LimitName | None = None
    ticket: object | None = None
    message: str | None = None
    permanent: bool = False

    @property
    def retry_after_seconds(self) -> int:
        """The ``retry-after`` header value: whole seconds, rounded up, at least 1."""
        return max(1, math.ceil(self.retry_after))

    @property
    def retry_after_ms(self) -> int:
        """The ``retry-after-ms`` header value: the exact wait, rounded up to a millisecond."""
        return max(1, math.ceil(self.retry_after * 1000))

    def headers(self) -> dict[str, str]:
        """Retry headers for the 429; none for a request that can never fit, since no wait helps."""
        if self.admitted or self.permanent:
            return {}
        return {
            "retry-after": str(self.retry_after_seconds),
            "retry-after-ms": str(self.retry_after_ms),
        }


_ADMITTED_UNLIMITED = Admission(admitted=True)


class QuotaBook:
    """Rolling-window usage per deployment key. Safe to call from several threads.

    The key is normally the deployment name; pass a pool name to make several deployments
    share one quota, as Global Standard deployments of one model do in a subscription.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, window_s: float = 60.0) -> None:
        if not (isinstance(window_s, int | float) and math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"window_s must be a positive number of seconds, not {window_s!r}")
        self._clock = clock
        self._window_s = float(window_s)
        self._slot_s = self._window_s / _SLOTS_PER_WINDOW
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    @property
    def window_s(self) -> float:
        return self._window_s

    def admit(
        self, deployment: str, limits: QuotaLimits, *, input_tokens: int, max_tokens: int
    ) -> Admission:
        """Charge one request, its uncached input and a ``max_tokens`` output reservation.

        ``input_tokens`` must already exclude cache reads (see :func:`uncached_input_tokens`).
        A refusal charges nothing. With no limits set nothing is tracked.
        """
        if input_tokens < 0 or max_tokens < 0:
            raise ValueError("input_tokens and max_tokens must be >= 0")
        if limits.unlimited:
            return _ADMITTED_UNLIMITED
        costs: dict[LimitName, int] = {
            "rpm": 1,
            "input_tpm": input_tokens,
            "output_tpm": max_tokens,
        }
        never = _never_fits(deployment, limits, costs)
        if never is not None:
            return never
        with self._lock:
            now = self._clock()
            if len(self._windows) > _SWEEP_ABOVE_KEYS:
                self._sweep(now)
            window = self._windows.setdefault(deployment, _Window())
            self._prune(window, now)
            waits: list[tuple[float, LimitName]] = []
            for name, cost in costs.items():
                limit = getattr(limits, name)
                if limit is None:
                    continue
                wait = self._wait_for(window, name, limit - cost, now)
                if wait > 0:
                    waits.append((wait, name))
            if waits:
                wait, name = max(waits)
                return Admission(
                    admitted=False,
                    retry_after=wait,
                    limit=name,
                    message=_refusal_message(deployment, name, getattr(limits, name), wait),
                )
            slot = self._slot_for(window, now)
            slot.requests += 1
            slot.input_tokens += input_tokens
            slot.output_tokens += max_tokens
            slot.pending += 1
            window.requests += 1
            window.input_tokens += input_tokens
            window.output_tokens += max_tokens
            window.pending += 1
            return Admission(
                admitted=True, ticket=_Ticket(deployment, slot, max_tokens, input_tokens)
            )

    def settle(
        self, ticket: object, *, output_tokens: int, input_tokens: int | None = None
    ) -> None:
        """Replace a ticket's output reservation by the tokens really produced (once; then no-op).

        ``input_tokens``, when given, corrects the input charge too: the uncached input once the
        reply knows how much came from the prompt cache. ``None`` as the ticket (what an
        unlimited admission carries) is accepted and ignored.
        """
        if ticket is None:
            return
        if not isinstance(ticket, _Ticket):
            raise TypeError(f"not a quota ticket: {type(ticket).__name__}")
        if output_tokens < 0 or (input_tokens is not None and input_tokens < 0):
            raise ValueError("output_tokens and input_tokens must be >= 0")
        with self._lock:
            if ticket.settled:
                return
            ticket.settled = True
            delta = output_tokens - ticket.reserved
            input_delta = 0 if input_tokens is None else input_tokens - ticket.input_charged
            ticket.slot.output_tokens += delta
            ticket.slot.input_tokens += input_delta
            ticket.slot.pending -= 1
            window = self._windows.get(ticket.key)
            if window is None or ticket.slot.expired:
                return  # the charge already left the window
            window.output_tokens += delta
            window.input_tokens += input_delta
            window.pending -= 1

    def snapshot(self, deployment: str) -> dict[str, int]:
        """Usage in the current window: requests, input_tokens, output_tokens (reservations
        included) and pending (admitted requests not yet settled)."""
        with self._lock:
            window = self._windows.get(deployment)
            if window is None:
                return {"requests": 0, "input_tokens": 0, "output_tokens": 0, "pending": 0}
            self._prune(window, self._clock())
            return {
                "requests": window.requests,
                "input_tokens": window.input_tokens,
                "output_tokens": window.output_tokens,
                "pending": window.pending,
            }

    def reset(self) -> None:
        with self._lock:
            for window in self._windows.values():
                for _, slot in window.slots:
                    slot.expired = True
            self._windows.clear()

    # --- internals (call with the lock held) -----------------------------------------------------

    def _slot_for(self, window: _Window, now: float) -> _Slot:
        index = math.floor(now / self._slot_s)
        if window.slots and window.slots[-1][0] == index:
            slot = window.slots[-1][1]
            slot.time = max(slot.time, now)
            return slot
        slot = _Slot(time=now)
        window.slots.append((index, slot))
        return slot

    def _prune(self, window: _Window, now: float) -> None:
        horizon = now - self._window_s
        slots = window.slots
        while slots and slots[0][1].time <= horizon:
            _, slot = slots.popleft()
            slot.expired = True
            window.requests -= slot.requests
            window.input_tokens -= slot.input_tokens
            window.output_tokens -= slot.output_tokens
            window.pending -= slot.pending

    def _sweep(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            self._prune(window, now)
            if not window.slots:
                del self._windows[key]

    def _wait_for(self, window: _Window, name: LimitName, allowed: int, now: float) -> float:
        """Seconds until the window's usage of ``name`` drops to ``allowed`` or below."""
        used = _usage(window, name)
        if used <= allowed:
            return 0.0
        for _, slot in window.slots:
            used -= _usage(slot, name)
            if used <= allowed:
                frees_at = slot.time + self._window_s
                wait = max(frees_at - now, 0.0)
                while now + wait < frees_at:  # float rounding must not make the wait too short
                    wait = math.nextafter(wait, math.inf)
                return wait
        return self._window_s  # unreachable while allowed >= 0; a safe upper bound


def _usage(counts: _Window | _Slot, name: LimitName) -> int:
    """What ``counts`` (a whole window or one slot of it) holds against the limit ``name``."""
    if name == "rpm":
        return counts.requests
    return counts.input_tokens if name == "input_tpm" else counts.output_tokens


def _never_fits(
    deployment: str, limits: QuotaLimits, costs: dict[LimitName, int]
) -> Admission | None:
    for name, cost in costs.items():
        limit = getattr(limits, name)
        if limit is None or cost <= limit:
            continue
        if name == "rpm":
            detail = (
                f"Deployment {deployment!r} has a quota of 0 requests per minute. "
                "Request a quota increase for this model in the Azure portal."
            )
        else:
            field_name = "max_tokens" if name == "output_tpm" else "The request's uncached input"
            what = "" if name == "output_tpm" else " tokens"
            detail = (
                f"{field_name} ({cost}{what}) exceeds deployment {deployment!r}'s whole limit of "
                f"{limit} {_UNITS[name]} per minute, so it can never be admitted. "
                + (
                    "Lower max_tokens or request a quota increase."
                    if name == "output_tpm"
                    else "Send less input or request a quota increase."
                )
            )
        return Admission(admitted=False, limit=name, message=detail, permanent=True)
    return None


def _refusal_message(deployment: str, name: LimitName, limit: int, wait: float) -> str:
    seconds = max(1, math.ceil(wait))
    return (
        f"Requests to deployment {deployment!r} have exceeded the limit of {limit} "
        f"{_UNITS[name]} per minute. Please retry after {seconds} "
        f"second{'s' if seconds != 1 else ''}."
    )
