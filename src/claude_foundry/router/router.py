"""Picking a deployment per attempt, and deciding what a failure means (no I/O here).

Per attempt, among the route's deployments: those that offer every feature the request uses,
whose breaker lets traffic through, that this call has not already failed on; the conversation's
last deployment first when the call is sticky (prompt caches live per deployment); then those
whose quota pool seems to have room before those that would wait; then by priority, and within
one priority in order (``ordered``) or drawn by weight (``weighted``).

Room is not asked of the store before picking: the pick and the reservation are one decision.
Whether a pool seems to have room is what this process last saw (a refusal, a 429's pause, calls
waiting); the attempt reserves in the pool picked, and a pool without room at that first ask
(while another pool of the route is left) sends the call on at once (:class:`QuotaPoolFull`)
rather than making it wait. So a routed call makes one round trip to a shared store per
reservation, like a plain governed call. Once every pool of the route was found full, the call
waits in the one it picks, as a plain governed call would.

What a failure means:

- 429 (after the deployment's own retries), 5xx and 529, timeouts and connection errors, a
  stream that failed before its first content, a pool with no room within the caller's patience:
  the deployment failed this call; its breaker counts it; the call moves to the next one. A 429
  that says when to come back (``retry-after``) keeps the deployment out until then.
- 401, 403, 404: configuration (a wrong key, a missing role, a wrong deployment name). The
  error reaches the caller with its hint, the deployment is taken out (breaker DISABLED) until
  :meth:`Router.reset`; the call does not move on, because another deployment would hide it.
- Anything else (400 for a bad request, ...): the caller's; raised as is, breaker untouched.

When every deployment the call could still use is cooling down (its breaker open from earlier
calls' failures), the call waits for the first to come back, within ``recovery_wait`` seconds in
all (:class:`RecoveryPending` tells the driver how long), rather than fail at once: a region's
outage of a few seconds then costs callers a pause, not an error.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
)
from .._pipeline import requested_retry_delay
from ..quota.errors import QuotaPoolFull, QuotaWaitTimeout
from ..quota.governor import QuotaGovernor
from .breaker import BreakerState, CircuitBreaker
from .catalogue import Catalogue, Deployment
from .features import refusal_message

__all__ = [
    "Attempts",
    "NoDeploymentAvailable",
    "RecoveryPending",
    "Router",
    "Verdict",
    "classify",
]

Verdict = Literal["failover", "config", "caller"]


class NoDeploymentAvailable(APIConnectionError):
    """No deployment of the route could take the call; ``reasons`` says why, per deployment.
    Nothing was sent for the deployments listed as unavailable."""

    def __init__(self, message: str, reasons: dict[str, str]) -> None:
        super().__init__(message)
        self.reasons = reasons


class RecoveryPending(Exception):
    """Every deployment the call may still use is cooling down; the first comes back in
    ``wait`` seconds, within the call's patience. The driver sleeps, then picks again."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"a deployment comes back in {wait:.2f} s")
        self.wait = wait


# While a half-open deployment's probe is out, how often a waiting call looks again.
_PROBE_POLL = 0.05


def _requested_pause(error: BaseException) -> float | None:
    """Seconds a 429 asked the caller to stay away (``retry-after-ms`` / ``retry-after``)."""
    if not isinstance(error, APIStatusError) or error.status_code != 429:
        return None
    response = getattr(error, "response", None)
    return requested_retry_delay(response.headers if response is not None else None)


def classify(error: BaseException) -> Verdict:
    if isinstance(
        error, AuthenticationError | PermissionDeniedError | NotFoundError | ConfigurationError
    ):
        return "config"
    if isinstance(error, QuotaWaitTimeout | APIConnectionError):
        return "failover"
    if isinstance(error, APIStatusError):
        code = error.status_code
        return "failover" if code in (408, 429) or code >= 500 else "caller"
    return "caller"


@dataclass
class Attempts:
    """One call's way through a route: what was tried, what failed, how often it moved on."""

    route: str
    features: frozenset[str]
    conversation: str | None = None
    failed: dict[str, str] = field(default_factory=dict)
    tried: list[str] = field(default_factory=list)
    failovers: int = 0
    deployment: Deployment | None = None
    full: dict[str, float] = field(default_factory=dict)
    """Pools found without room during this call (seconds they asked to wait)."""
    room_elsewhere: bool = False
    """Whether the deployment picked last has another pool to move to if its own is full."""
    waited: float = 0.0
    """Seconds this call has waited for a cooling deployment to come back."""


class Router:
    """Thread-safe; one per routed client."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        governor: QuotaGovernor | None = None,
        breaker: Callable[[], CircuitBreaker] = CircuitBreaker,
        rand: Callable[[], float] = random.random,
        sticky_size: int = 10_000,
        recovery_wait: float = 30.0,
    ) -> None:
        """``recovery_wait``: how long in all a call may wait for a cooling deployment to come
        back when no other can take it (0 fails at once)."""
        if not 0 <= recovery_wait < float("inf"):
            raise ValueError(f"recovery_wait must be a number of seconds >= 0, not {recovery_wait}")
        self.recovery_wait = recovery_wait
        self.catalogue = catalogue
        self.governor = governor
        self.breakers = {name: breaker() for name in catalogue.deployments}
        self._rand = rand
        self._sticky: OrderedDict[str, str] = OrderedDict()
        self._sticky_size = sticky_size
        self._lock = threading.Lock()

    def start(
        self, route: str, features: frozenset[str], conversation: str | None = None
    ) -> Attempts:
        self.catalogue.route(route)  # an unknown route fails here, before anything is sent
        return Attempts(route, features, conversation)

    def _order(
        self,
        attempts: Attempts,
        candidates: list[Deployment],
        room: Mapping[str, bool] | None,
    ) -> list[Deployment]:
        strategy = self.catalogue.route(attempts.route).strategy
        keyed = []
        for index, deployment in enumerate(candidates):
            tie = -(self._rand() ** (1.0 / deployment.weight)) if strategy == "weighted" else index
            roomy = deployment.pool not in attempts.full and (
                room[deployment.pool] if room is not None else self._has_room(deployment)
            )
            keyed.append(((not roomy, deployment.priority, tie), deployment))
        ordered = [deployment for _, deployment in sorted(keyed, key=lambda item: item[0])]
        if attempts.conversation is not None:
            with self._lock:
                sticky = self._sticky.get(attempts.conversation)
            for index, deployment in enumerate(ordered):
                if deployment.name == sticky:
                    ordered.insert(0, ordered.pop(index))
                    break
        return ordered

    def _has_room(self, deployment: Deployment) -> bool:
        """This process's view (no store round trip): the reservation itself decides."""
        return self.governor is None or self.governor.seems_roomy(deployment.pool)

    def _room_elsewhere(
        self, attempts: Attempts, chosen: Deployment, candidates: list[Deployment]
    ) -> bool:
        """Whether a full pool should send the call on: another candidate in a pool not yet
        found full whose breaker may let it through. Each pool is skipped at most once per call,
        so a call that finds every pool full waits in one rather than loop."""
        if self.governor is None or chosen.pool in attempts.full:
            return False
        return any(
            other.pool != chosen.pool
            and other.pool not in attempts.full
            and self.breakers[other.name].may_allow()
            for other in candidates
        )

    def pick(self, attempts: Attempts, room: Mapping[str, bool] | None = None) -> Deployment:
        """The deployment for the next attempt, or :class:`NoDeploymentAvailable` (or a
        :class:`~claude_foundry.BadRequestError`-worded one when only hosting refuses).
        ``room``: which pools to treat as having room (else this process's view of them)."""
        reasons: dict[str, str] = {}
        candidates = []
        for deployment in self.catalogue.deployments_of(attempts.route):
            refused = sorted(attempts.features & deployment.unavailable_features)
            if refused:
                reasons[deployment.name] = refusal_message(
                    refused[0],
                    deployment=deployment.deployment,
                    model=deployment.model,
                    hosting=deployment.hosting,
                )
            elif deployment.name in attempts.failed:
                reasons[deployment.name] = attempts.failed[deployment.name]
            else:
                candidates.append(deployment)
        healthy = []
        for deployment in self._order(attempts, candidates, room):
            breaker = self.breakers[deployment.name]
            if breaker.allows():
                healthy.append(deployment)
                break  # allows() may take the half-open probe: ask only as far as needed
            reasons[deployment.name] = f"circuit {breaker.state.value}" + (
                f": {breaker.reason}" if breaker.reason else ""
            )
        if (
            not healthy
            and reasons
            and all(
                attempts.features & self.catalogue.deployments[name].unavailable_features
                for name in reasons
            )
        ):
            # Only hosting refuses: the service's own 400, before anything is sent.
            raise BadRequestError(next(iter(reasons.values())), status_code=400)
        if not healthy:
            self._wait_for_recovery(attempts, candidates)
            detail = "; ".join(f"{name}: {why}" for name, why in reasons.items())
            raise NoDeploymentAvailable(
                f"No deployment of route {attempts.route!r} can take this call ({detail}).",
                reasons,
            )
        chosen = healthy[0]
        attempts.room_elsewhere = self._room_elsewhere(attempts, chosen, candidates)
        attempts.deployment = chosen
        attempts.tried.append(chosen.name)
        return chosen

    def _wait_for_recovery(self, attempts: Attempts, candidates: list[Deployment]) -> None:
        """Raise :class:`RecoveryPending` when a candidate this call has not failed on is only
        cooling down and comes back within the call's remaining patience."""
        soonest: float | None = None
        for deployment in candidates:
            breaker = self.breakers[deployment.name]
            wait = breaker.reopens_in()
            if wait is None and breaker.state is BreakerState.HALF_OPEN:
                wait = _PROBE_POLL  # another call's probe is out: look again shortly
            if wait is not None and (soonest is None or wait < soonest):
                soonest = wait
        if soonest is not None and attempts.waited + soonest <= self.recovery_wait:
            attempts.waited += soonest
            raise RecoveryPending(soonest)

    def succeeded(self, attempts: Attempts) -> None:
        deployment = attempts.deployment
        assert deployment is not None
        self.breakers[deployment.name].success()
        if attempts.conversation is not None:
            with self._lock:
                self._sticky[attempts.conversation] = deployment.name
                self._sticky.move_to_end(attempts.conversation)
                while len(self._sticky) > self._sticky_size:
                    self._sticky.popitem(last=False)

    def failed(self, attempts: Attempts, error: BaseException) -> bool:
        """Record a failed attempt; True when the call should move to another deployment."""
        deployment = attempts.deployment
        assert deployment is not None
        if isinstance(error, QuotaPoolFull):
            # Nothing was sent and the deployment is fine: its pool is full, try another one.
            attempts.full[deployment.pool] = error.wait
            attempts.tried.pop()
            self.abandoned(attempts)  # a half-open probe it took is free again
            return True
        verdict = classify(error)
        reason = f"{type(error).__name__}: {str(error)[:200]}"
        if verdict == "config":
            self.breakers[deployment.name].config_error(reason)
            # Name the deployment: the same error on another one of the route needs another fix.
            error.add_note(
                f"Deployment {deployment.name!r} of route {attempts.route!r} is out of service "
                f"until fixed and put back with router.reset({deployment.name!r})."
            )
            return False
        if verdict == "caller":
            self.breakers[deployment.name].success()  # it answered; the request was wrong
            return False
        if not isinstance(error, QuotaWaitTimeout):
            breaker = self.breakers[deployment.name]
            breaker.failure(reason)
            held = _requested_pause(error)
            if held is not None:
                breaker.hold(held, reason)  # it said when to come back: not before
        attempts.failed[deployment.name] = reason
        attempts.failovers += 1
        return True

    def abandoned(self, attempts: Attempts) -> None:
        """The caller stopped (cancelled, interrupted): the probe slot, if taken, is free."""
        deployment = attempts.deployment
        if deployment is not None:
            breaker = self.breakers[deployment.name]
            with breaker._lock:
                breaker._probing = False

    def reset(self, deployment: str | None = None) -> None:
        """Put a deployment (or all) back in service, e.g. after fixing its key."""
        for name, breaker in self.breakers.items():
            if deployment is None or name == deployment:
                breaker.reset()
