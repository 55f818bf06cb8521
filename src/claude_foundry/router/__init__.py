"""The deployment router: a catalogue of deployments, routes over them, failover and breakers.

    from claude_foundry.router import RoutedFoundry, load_catalogue

    client = RoutedFoundry(load_catalogue("deployments.toml"))
    client.messages.create(model="sonnet", max_tokens=256, messages=[...])

See ``docs/router.md`` and ``claude-foundry deployments``.
"""

from __future__ import annotations

from .breaker import (
    TRANSITIONS,
    BreakerEvent,
    BreakerState,
    BreakerStateError,
    CircuitBreaker,
)
from .catalogue import Catalogue, Deployment, Route, load_catalogue
from .client import AsyncRoutedFoundry, RoutedFoundry
from .features import features_used
from .router import Attempts, NoDeploymentAvailable, Router, classify

__all__ = [
    "AsyncRoutedFoundry",
    "Attempts",
    "BreakerEvent",
    "BreakerState",
    "BreakerStateError",
    "Catalogue",
    "CircuitBreaker",
    "Deployment",
    "NoDeploymentAvailable",
    "Route",
    "RoutedFoundry",
    "Router",
    "TRANSITIONS",
    "classify",
    "features_used",
    "load_catalogue",
]
