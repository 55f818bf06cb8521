"""The quota governor: admit each attempt into its pool's budgets, or say how long to wait.

    >>> from claude_foundry.quota import PoolLimits, QuotaGovernor
    >>> governor = QuotaGovernor(pools={"sonnet": PoolLimits(rpm=60, input_tpm=40_000,
    ...                                                      output_tpm=8_000)},
    ...                          deployments={"claude-sonnet-4-6": "sonnet"})
    >>> governor.pool_for("claude-sonnet-4-6")
    'sonnet'
    >>> governor.headroom("claude-sonnet-4-6", input_tokens=1_000, max_tokens=1_000)
    8

Hand it to a client (``AnthropicFoundry(..., governor=governor)``) and every message call
reserves, before each attempt, one request, its estimated uncached input and ``max_tokens`` of
output in the deployment's pool; a call without room waits (the flow sleeps) and raises
:class:`~claude_foundry.quota.QuotaWaitTimeout` rather than wait past ``max_wait``. After the
reply the charge is reconciled with the real usage: unused output comes back, the input estimate
is corrected, and the request stays counted even when the attempt failed.

Priorities: ``interactive`` calls may use a whole budget; ``background`` calls (the batch runner)
only ``background_share`` of it, so interactive traffic always finds the rest free.

Pools: Foundry meters quota per subscription, model and deployment type, not per deployment
(every Global Standard deployment of one model shares one pool across regions). ``deployments``
maps the names sent as ``model`` to pool names; a name it does not list is a pool of its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._admission import ROOM_ELSEWHERE, AdmissionAsk, Outcome, Priority, Verdict
from .._errors import ConfigurationError
from .backend import MemoryBackend, QuotaBackend, Reservation, WindowShape
from .errors import QuotaBackendError, QuotaLimitError, QuotaPoolFull, QuotaWaitTimeout
from .estimate import InputEstimator
from .learning import LearnedLimit
from .limits import PoolLimits
from .line import WaitingLine
from .window import Costs, Limits

__all__ = ["Grant", "PoolStatus", "QuotaGovernor"]

_SLOTS_PER_WINDOW = 120
_RECHECK_FRACTION = 0.01
"""While requests of the pool are in flight, a waiting call asks again after this share of the
window at most: their refunds may make room long before the oldest charge ages out."""


@dataclass(slots=True)
class Grant:
    """An admitted attempt: what was charged where, for :meth:`QuotaGovernor.settle`."""

    pool: str
    slot: int | None
    costs: Costs
    model: str
    body_size: int
    backend: QuotaBackend | None
    admitted_at: float = 0.0
    settled: bool = False


_UNGOVERNED = object()
"""The grant of a call whose pool has no limits: settling it does nothing."""


@dataclass
class PoolStatus:
    """One pool as the governor sees it: for ``claude-foundry deployments`` and dashboards."""

    pool: str
    configured: PoolLimits
    learned_factor: float
    effective: Limits
    used: Costs
    in_flight: int
    paused_for: float
    rate_limited: int


@dataclass
class _PoolState:
    learned: LearnedLimit = field(default_factory=LearnedLimit)
    line: WaitingLine = field(default_factory=WaitingLine)
    in_flight: int = 0
    rate_limited: int = 0
    full_until: float = 0.0
    """Until when the store last said the pool has no room (this process's view, for routing)."""
    # Effective limits per priority, recomputed when the learned factor moves (hot path).
    limits_factor: float = -1.0
    limits: dict[str, Limits] = field(default_factory=dict)


class QuotaGovernor:
    """Admission into quota pools; see the module docstring. Safe to share between threads,
    tasks, and sync and async clients."""

    def __init__(
        self,
        pools: Mapping[str, PoolLimits | Mapping[str, int | None]] | None = None,
        deployments: Mapping[str, str] | None = None,
        *,
        default_limits: PoolLimits | None = None,
        backend: QuotaBackend | None = None,
        window_s: float = 60.0,
        window_margin_s: float | None = None,
        background_share: float = 0.8,
        max_wait: float | None = None,
        background_max_wait: float | None = None,
        on_outage: str = "fail-open",
        outage_share: float = 0.25,
        outage_retry_s: float = 5.0,
        learn: bool = True,
        estimator: InputEstimator | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (math.isfinite(window_s) and window_s > 0):
            raise ConfigurationError(f"window_s must be a positive number, not {window_s!r}")
        if not 0 < background_share <= 1:
            raise ConfigurationError(
                f"background_share must be in (0, 1], not {background_share!r}"
            )
        if not 0 < outage_share <= 1:
            raise ConfigurationError(f"outage_share must be in (0, 1], not {outage_share!r}")
        if on_outage not in ("fail-open", "fail-closed"):
            raise ConfigurationError(
                f"on_outage must be 'fail-open' or 'fail-closed', not {on_outage!r}"
            )
        for name, value in (("max_wait", max_wait), ("background_max_wait", background_max_wait)):
            if value is not None and not (value >= 0):
                raise ConfigurationError(f"{name} must be >= 0 seconds, not {value!r}")
        self.pools: dict[str, PoolLimits] = {
            name: limits
            if isinstance(limits, PoolLimits)
            else PoolLimits.from_mapping(dict(limits), f"pools[{name!r}]")
            for name, limits in (pools or {}).items()
        }
        self.deployments = dict(deployments or {})
        self.default_limits = default_limits
        self.backend: QuotaBackend = backend or MemoryBackend(clock)
        margin = window_margin_s if window_margin_s is not None else max(0.25, window_s / 200)
        self.window_s = window_s
        self.shape = WindowShape(hold_s=window_s + margin, slot_s=window_s / _SLOTS_PER_WINDOW)
        self.background_share = background_share
        # By default a call waits as long as room can take to appear: one window (and a pause
        # a 429 asked for); longer only when the caller says so.
        longest = self.shape.hold_s + 1.0
        self.max_wait: dict[str, float] = {
            "interactive": longest if max_wait is None else max_wait,
            "background": 10 * longest if background_max_wait is None else background_max_wait,
        }
        self.on_outage = on_outage
        self.outage_share = outage_share
        self.outage_retry_s = outage_retry_s
        """After the store failed, the local policy serves this long before the store is asked
        again: an unreachable store costs one timeout per ``outage_retry_s``, not one per call."""
        self.learn = learn
        self.estimator = estimator or InputEstimator()
        self._clock = clock
        self._state: dict[str, _PoolState] = {}
        self._lock = threading.Lock()
        self._fallback: MemoryBackend | None = None
        self._store_error: QuotaBackendError | None = None
        self._store_down_until = 0.0
        self.outages = 0
        """Reservations the shared store failed to answer (then served by the outage policy)."""

    def __repr__(self) -> str:
        return f"QuotaGovernor(pools={sorted(self.pools)}, backend={self.backend.name!r})"

    # --- configuration ------------------------------------------------------------------------

    def pool_for(self, model: str) -> str:
        """The pool a deployment name (what calls send as ``model``) draws from."""
        return self.deployments.get(model, model)

    def limits_for(self, pool: str) -> PoolLimits | None:
        return self.pools.get(pool, self.default_limits)

    def _pool_state(self, pool: str) -> _PoolState:
        state = self._state.get(pool)
        if state is None:
            with self._lock:
                state = self._state.setdefault(pool, _PoolState())
        return state

    def _effective(
        self, pool: str, configured: PoolLimits, priority: Priority, state: _PoolState | None = None
    ) -> Limits:
        state = state or self._pool_state(pool)
        learned = state.learned
        if state.limits_factor != learned.factor:
            rpm, itpm, otpm = configured.as_tuple()
            state.limits = {
                name: (
                    learned.scale(rpm, share),
                    learned.scale(itpm, share),
                    learned.scale(otpm, share),
                )
                for name, share in (("interactive", 1.0), ("background", self.background_share))
            }
            state.limits_factor = learned.factor
        return state.limits[priority]

    # --- admission (the AdmissionGate protocol) ----------------------------------------------

    def _plan(self, ask: AdmissionAsk) -> tuple[str, Costs, Limits, _PoolState] | Verdict:
        """Everything before the store: which pool, what to charge, against which limits; or a
        verdict without asking the store (ungoverned, paused)."""
        pool = ask.pool or self.deployments.get(ask.model, ask.model)
        configured = self.pools.get(pool, self.default_limits)
        if configured is None:
            return Verdict(grant=_UNGOVERNED)
        rpm, itpm, otpm = configured.rpm, configured.input_tpm, configured.output_tpm
        if rpm == 0 or itpm == 0 or otpm == 0:
            raise QuotaLimitError(
                f"Quota pool {pool!r} allows no requests (a limit of 0). Request a quota for this "
                "model in the Azure portal, or route to another deployment.",
                pool=pool,
            )
        if otpm is not None and ask.max_tokens > otpm:
            raise QuotaLimitError(
                f"max_tokens ({ask.max_tokens}) exceeds quota pool {pool!r}'s whole limit of "
                f"{otpm} output tokens per minute, so the request could never be admitted. "
                "Lower max_tokens or request a quota increase.",
                pool=pool,
            )
        state = self._state.get(pool) or self._pool_state(pool)
        now = self._clock()
        paused_for = state.learned.paused_until - now
        if paused_for > 0:
            return self._wait(pool, state, ask, paused_for)
        if state.line.entries:
            with self._lock:
                behind = state.line.ahead(ask, now)
            if behind is not None:
                return self._wait(pool, state, ask, behind)
        estimate = self.estimator.estimate(ask.model, ask.body_size)
        if itpm is not None:
            estimate = min(estimate, itpm)
        costs = (1, estimate, ask.max_tokens)
        if state.limits_factor == state.learned.factor:
            limits = state.limits[ask.priority]  # the hot path: nothing learned since
        else:
            limits = self._effective(pool, configured, ask.priority, state)
        return pool, costs, limits, state

    def _conclude(
        self,
        pool: str,
        state: _PoolState,
        costs: Costs,
        ask: AdmissionAsk,
        reservation: Reservation,
        backend: Any,
    ) -> Verdict:
        if reservation.slot is None:
            wait = reservation.wait
            if state.in_flight and reservation.binding != 0:
                # Token budgets come back early when replies in flight are settled.
                wait = min(wait, self.window_s * _RECHECK_FRACTION)
            state.full_until = self._clock() + wait
            return self._wait(pool, state, ask, wait)
        if state.full_until:
            state.full_until = 0.0
        with self._lock:
            if state.line.entries:
                state.line.leave(ask)
            state.in_flight += 1
        return Verdict(
            grant=Grant(
                pool, reservation.slot, costs, ask.model, ask.body_size, backend, self._clock()
            )
        )

    def _wait(self, pool: str, state: _PoolState, ask: AdmissionAsk, wait: float) -> Verdict:
        """Wait in line, or raise when the wait would pass the caller's patience (or when the
        router has another pool for a call that has not waited yet)."""
        if not ask.waited and ROOM_ELSEWHERE.get():
            raise QuotaPoolFull(
                f"Quota pool {pool!r} has no room now ({wait:.1f} s to wait); trying another.",
                pool=pool,
                wait=wait,
            )
        patience = self.max_wait[ask.priority]
        with self._lock:
            if ask.waited + wait <= patience:
                state.line.join(ask, wait, self._clock())
                return Verdict(wait=wait)
            state.line.leave(ask)
        raise QuotaWaitTimeout(
            f"Quota pool {pool!r} has no room for this {ask.priority} request within "
            f"max_wait ({patience:g} s; it needs {wait:.1f} s more after {ask.waited:.1f} s "
            "of waiting); nothing was sent. Raise max_wait, send less, or route to a "
            "deployment in another pool.",
            pool=pool,
            wait=wait,
        )

    def reserve(self, ask: AdmissionAsk) -> Verdict:
        plan = self._plan(ask)
        if isinstance(plan, Verdict):
            return plan
        pool, costs, limits, state = plan
        down = None if self._store_error is None else self._store_down()
        if down is None:
            try:
                reservation = self.backend.reserve(pool, costs, limits, self.shape)
                return self._conclude(pool, state, costs, ask, reservation, self.backend)
            except QuotaBackendError as exc:
                down = self._store_failed(exc)
        return self._reserve_in_outage(pool, state, costs, limits, ask, down)

    async def areserve(self, ask: AdmissionAsk) -> Verdict:
        plan = self._plan(ask)
        if isinstance(plan, Verdict):
            return plan
        pool, costs, limits, state = plan
        down = None if self._store_error is None else self._store_down()
        if down is None:
            try:
                reservation = await self.backend.areserve(pool, costs, limits, self.shape)
                return self._conclude(pool, state, costs, ask, reservation, self.backend)
            except QuotaBackendError as exc:
                down = self._store_failed(exc)
        return self._reserve_in_outage(pool, state, costs, limits, ask, down)

    def _reserve_in_outage(
        self,
        pool: str,
        state: _PoolState,
        costs: Costs,
        limits: Limits,
        ask: AdmissionAsk,
        down: QuotaBackendError,
    ) -> Verdict:
        """The shared store is down: the outage policy decides (a local window, or raise)."""
        backend = self._outage_backend(down)
        reservation = backend.reserve(pool, costs, self._outage_limits(limits), self.shape)
        return self._conclude(pool, state, costs, ask, reservation, backend)

    def _store_failed(self, error: QuotaBackendError) -> QuotaBackendError:
        """Remember that the shared store failed, so calls skip it for ``outage_retry_s``."""
        with self._lock:
            self._store_error = error
            self._store_down_until = self._clock() + self.outage_retry_s
        return error

    def _store_down(self) -> QuotaBackendError | None:
        """The store's last error while it is presumed down, else None (ask the store)."""
        error = self._store_error
        if error is None or self._clock() >= self._store_down_until:
            return None
        # A fresh exception per caller: one object raised in several threads shares a traceback.
        return QuotaBackendError(str(error))

    def _outage_backend(self, error: QuotaBackendError) -> MemoryBackend:
        """The shared store failed: fail closed (raise) or admit from a local window at
        ``outage_share`` of the limits (this process's share of the pool, as configured)."""
        self.outages += 1
        return self._fallback_backend(error)

    def _fallback_backend(self, error: QuotaBackendError) -> MemoryBackend:
        if self.on_outage == "fail-closed":
            raise error
        if self._fallback is None:
            self._fallback = MemoryBackend(self._clock)
        return self._fallback

    def _outage_limits(self, limits: Limits) -> Limits:
        return tuple(  # type: ignore[return-value]
            None if limit is None else max(1, math.floor(limit * self.outage_share))
            for limit in limits
        )

    # --- reconciliation ---------------------------------------------------------------------

    def _reconcile(
        self, grant: object, outcome: Outcome
    ) -> tuple[Grant, Costs, float, Costs] | None:
        """Learn from the outcome; the correction for the store: deltas, and how much later to
        hold the corrected charge (the reply's delay, at most a tenth of the window)."""
        if not isinstance(grant, Grant) or grant.settled:
            return None
        grant.settled = True
        state = self._state.get(grant.pool) or self._pool_state(grant.pool)
        learned = state.learned
        if not outcome.sent:
            # Never sent: the service saw nothing, so nothing is learned and nothing is owed.
            with self._lock:
                state.in_flight -= 1
            if grant.slot is None:
                return None
            requests, charged_input, reserved_output = grant.costs
            return grant, (-requests, -charged_input, -reserved_output), 0.0, (0, 0, 0)
        with self._lock:
            state.in_flight -= 1
            if outcome.status == 429:
                state.rate_limited += 1
                if self.learn:
                    learned.on_rate_limited(self._clock(), outcome.retry_after, self.window_s)
            elif learned.factor < 1.0 and outcome.status is None and outcome.reached and self.learn:
                configured = self.limits_for(grant.pool) or PoolLimits()
                learned.on_success(configured.rpm)
        requests, charged_input, reserved_output = grant.costs
        input_delta = output_delta = 0
        if outcome.input_tokens is not None:
            input_delta = outcome.input_tokens - charged_input
            self.estimator.observe(grant.model, grant.body_size, outcome.input_tokens)
        if outcome.output_tokens is not None:
            output_delta = outcome.output_tokens - reserved_output
        if grant.slot is None:
            return None
        charge = (requests, charged_input + input_delta, reserved_output + output_delta)
        shift = min(self._clock() - grant.admitted_at, self.window_s / 10)
        if shift < self.shape.slot_s:
            shift = 0.0  # too little to move the charge out of its slot
        return grant, (0, input_delta, output_delta), shift, charge

    def _correction(
        self, grant: object, outcome: Outcome
    ) -> tuple[Grant, Costs, float, Costs] | None:
        """What :meth:`settle` sends the store, or None: nothing to correct, or the store is
        presumed down (then the charge stays as reserved: conservative, and its key expires)."""
        correction = self._reconcile(grant, outcome)
        if (
            correction is not None
            and self._store_error is not None
            and correction[0].backend is self.backend
            and self._store_down() is not None
        ):
            return None
        return correction

    def release(self, grant: object) -> None:
        """An abandoned attempt: no longer in flight; its charge stays as reserved (the service
        may have received it) and ages out with the window."""
        if isinstance(grant, Grant) and not grant.settled:
            grant.settled = True
            state = self._pool_state(grant.pool)
            with self._lock:
                state.in_flight -= 1

    def settle(self, grant: object, outcome: Outcome) -> None:
        correction = self._correction(grant, outcome)
        if correction is None:
            return
        done, deltas, shift, charge = correction
        assert done.slot is not None
        assert done.backend is not None
        try:
            done.backend.adjust(done.pool, done.slot, deltas, self.shape, shift, charge)
        except QuotaBackendError as exc:
            self._store_failed(exc)

    async def asettle(self, grant: object, outcome: Outcome) -> None:
        correction = self._correction(grant, outcome)
        if correction is None:
            return
        done, deltas, shift, charge = correction
        assert done.slot is not None
        assert done.backend is not None
        try:
            await done.backend.aadjust(done.pool, done.slot, deltas, self.shape, shift, charge)
        except QuotaBackendError as exc:
            self._store_failed(exc)

    # --- questions ----------------------------------------------------------------------------

    def _headroom(
        self,
        pool: str,
        used: Costs | None,
        priority: Priority,
        input_tokens: int,
        max_tokens: int,
    ) -> int:
        """``used``: the shared store's answer, or None when it is down (then the outage
        policy's local window answers, at ``outage_share`` of the limits)."""
        configured = self.limits_for(pool)
        if configured is None:
            return 1_000_000
        if self._pool_state(pool).learned.paused_until > self._clock():
            return 0
        limits = self._effective(pool, configured, priority)
        if used is None:
            down = self._store_down() or QuotaBackendError("the quota store is down")
            fallback = self._fallback_backend(down)
            used = fallback.usage(pool, self.shape)
            limits = self._outage_limits(limits)
        room = [
            1_000_000 if limit is None else max(0, limit - use) // max(cost, 1)
            for limit, use, cost in zip(limits, used, (1, input_tokens, max_tokens), strict=True)
        ]
        return min(room)

    def headroom(
        self,
        model: str,
        *,
        priority: Priority = "interactive",
        input_tokens: int = 0,
        max_tokens: int = 1,
        pool: str | None = None,
    ) -> int:
        """How many more requests of this size the pool of ``model`` (or ``pool``) would
        admit now (1,000,000 for a pool without limits)."""
        pool = pool or self.pool_for(model)
        used: Costs | None = None
        if self._store_down() is None:
            try:
                used = self.backend.usage(pool, self.shape)
            except QuotaBackendError as exc:
                self._store_failed(exc)
        return self._headroom(pool, used, priority, input_tokens, max_tokens)

    async def aheadroom(
        self,
        model: str,
        *,
        priority: Priority = "interactive",
        input_tokens: int = 0,
        max_tokens: int = 1,
        pool: str | None = None,
    ) -> int:
        pool = pool or self.pool_for(model)
        used: Costs | None = None
        if self._store_down() is None:
            try:
                used = await self.backend.ausage(pool, self.shape)
            except QuotaBackendError as exc:
                self._store_failed(exc)
        return self._headroom(pool, used, priority, input_tokens, max_tokens)

    def seems_roomy(self, pool: str) -> bool:
        """Whether ``pool`` looks to have room, from what this process last saw (not paused by
        a 429, nobody waiting in line, not refused lately); no round trip to the store. The
        router orders deployments by it; the reservation itself decides."""
        state = self._state.get(pool)
        if state is None:
            return True
        now = self._clock()
        return (
            state.learned.paused_until <= now and state.full_until <= now and not state.line.entries
        )

    def in_flight(self, model: str) -> int:
        """Admitted, not yet settled, in this process, in the pool of ``model``."""
        state = self._state.get(self.pool_for(model))
        return state.in_flight if state else 0

    def status(self) -> list[PoolStatus]:
        """Every configured or used pool: limits configured and learned, use, pauses."""
        now = self._clock()
        names = sorted(set(self.pools) | set(self._state))
        result = []
        for pool in names:
            configured = self.limits_for(pool)
            if configured is None:
                continue
            state = self._pool_state(pool)
            result.append(
                PoolStatus(
                    pool=pool,
                    configured=configured,
                    learned_factor=state.learned.factor,
                    effective=self._effective(pool, configured, "interactive"),
                    used=self.backend.usage(pool, self.shape),
                    in_flight=state.in_flight,
                    paused_for=max(0.0, state.learned.paused_until - now),
                    rate_limited=state.rate_limited,
                )
            )
        return result

    def close(self) -> None:
        self.backend.close()

    async def aclose(self) -> None:
        await self.backend.aclose()
