"""Picking a deployment per attempt, and deciding what a failure means (no I/O here).

Per attempt, among the route's deployments: those that offer every feature the request uses,
whose breaker lets traffic through, that this call has not already failed on; the conversation's
last deployment first when the call is sticky (prompt caches live per deployment); then those
whose quota pool has room now before those that would wait; then by priority, and within one
priority in order (``ordered``) or drawn by weight (``weighted``).

What a failure means:

- 429 (after the deployment's own retries), 5xx and 529, timeouts and connection errors, a
  stream that failed before its first content, a pool with no room within the caller's patience:
  the deployment failed this call; its breaker counts it; the call moves to the next one.
- 401, 403, 404: configuration (a wrong key, a missing role, a wrong deployment name). The
  error reaches the caller with its hint, the deployment is taken out (breaker DISABLED) until
  :meth:`Router.reset`; the call does not move on, because another deployment would hide it.
- Anything else (400 for a bad request, ...): the caller's; raised as is, breaker untouched.
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
from ..quota.errors import QuotaWaitTimeout
from ..quota.governor import QuotaGovernor
from .breaker import CircuitBreaker
from .catalogue import Catalogue, Deployment
from .features import refusal_message

__all__ = ["Attempts", "NoDeploymentAvailable", "Router", "Verdict", "classify"]

Verdict = Literal["failover", "config", "caller"]


class NoDeploymentAvailable(APIConnectionError):
    """No deployment of the route could take the call; ``reasons`` says why, per deployment.
    Nothing was sent for the deployments listed as unavailable."""

    def __init__(self, message: str, reasons: dict[str, str]) -> None:
        super().__init__(message)
        self.reasons = reasons


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
    ) -> None:
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
            roomy = room[deployment.pool] if room is not None else self._has_room(deployment)
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
        if self.governor is None:
            return True
        return self.governor.headroom(deployment.deployment, pool=deployment.pool) > 0

    async def aroom(self, attempts: Attempts) -> dict[str, bool] | None:
        """Which pools of the route have room now, asked without blocking the event loop (a
        shared store is a network round trip); pass it to :meth:`pick`."""
        if self.governor is None:
            return None
        room: dict[str, bool] = {}
        for deployment in self.catalogue.deployments_of(attempts.route):
            if deployment.pool not in room:
                free = await self.governor.aheadroom(deployment.deployment, pool=deployment.pool)
                room[deployment.pool] = free > 0
        return room

    def pick(self, attempts: Attempts, room: Mapping[str, bool] | None = None) -> Deployment:
        """The deployment for the next attempt, or :class:`NoDeploymentAvailable` (or a
        :class:`~claude_foundry.BadRequestError`-worded one when only hosting refuses).
        ``room``: pools with room now (from :meth:`aroom`); asked here when not given."""
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
            detail = "; ".join(f"{name}: {why}" for name, why in reasons.items())
            raise NoDeploymentAvailable(
                f"No deployment of route {attempts.route!r} can take this call ({detail}).",
                reasons,
            )
        chosen = healthy[0]
        if attempts.deployment is not None:
            attempts.failovers += 1
        attempts.deployment = chosen
        attempts.tried.append(chosen.name)
        return chosen

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
            self.breakers[deployment.name].failure(reason)
        attempts.failed[deployment.name] = reason
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
