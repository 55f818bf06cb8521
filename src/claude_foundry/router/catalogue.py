"""The deployment catalogue: what can be called, where, and with which features.

Foundry has no Models API, so nothing on the service answers "which deployments do I have, of
which model, hosted where, in which quota pool". The catalogue is that answer, as configuration
(a TOML file or Python objects)::

    [pools.sonnet-global]                 # a subscription's quota pool (see docs/quota.md)
    rpm = 80
    input_tpm = 80_000
    output_tpm = 16_000

    [[deployments]]
    name = "sonnet-sweden"                # the catalogue's name for it
    resource = "contoso-sweden"           # or base_url = "https://.../anthropic/"
    deployment = "claude-sonnet-4-6"      # what is sent as `model`
    model = "claude-sonnet-4-6"
    api_key_env = "SWEDEN_FOUNDRY_KEY"    # or entra = true
    hosting = "anthropic"                 # or "azure"
    deployment_type = "global-standard"
    pool = "sonnet-global"
    region = "swedencentral"
    priority = 0                          # lower goes first
    weight = 1

    [[routes]]
    name = "sonnet"                       # what callers pass as model=
    deployments = ["sonnet-sweden", "sonnet-eastus"]
    strategy = "ordered"                  # or "weighted"

Every deployment is also a route of its own name. Keys are read from the environment at the time
a client is built, never stored in the catalogue.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._errors import ConfigurationError
from ..quota.limits import PoolLimits
from .features import UNAVAILABLE_BY_HOSTING

__all__ = ["Catalogue", "Deployment", "Route", "load_catalogue"]

Strategy = Literal["ordered", "weighted"]
_HOSTINGS = ("azure", "anthropic")
_DEPLOYMENT_KEYS = frozenset(
    {
        "name",
        "resource",
        "base_url",
        "deployment",
        "model",
        "api_key_env",
        "entra",
        "hosting",
        "deployment_type",
        "pool",
        "region",
        "priority",
        "weight",
    }
)


@dataclass(frozen=True)
class Deployment:
    """One deployment on one resource. ``pool`` defaults to ``model/deployment_type`` (one
    pool per model and type, as in one subscription); name it to say otherwise."""

    name: str
    deployment: str
    model: str = ""
    resource: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    entra: bool = False
    hosting: str = "azure"
    deployment_type: str = "global-standard"
    pool: str = ""
    region: str | None = None
    priority: int = 0
    weight: float = 1.0

    def __post_init__(self) -> None:
        where = f"deployment {self.name!r}"
        if not self.name or not self.deployment:
            raise ConfigurationError(f"{where}: name and deployment must be non-empty")
        if (self.resource is None) == (self.base_url is None):
            raise ConfigurationError(f"{where}: give exactly one of resource and base_url")
        if self.hosting not in _HOSTINGS:
            raise ConfigurationError(
                f"{where}: hosting must be one of {list(_HOSTINGS)}, not {self.hosting!r}"
            )
        if self.api_key_env is not None and self.entra:
            raise ConfigurationError(f"{where}: give api_key_env or entra = true, not both")
        if not (self.weight > 0):
            raise ConfigurationError(f"{where}: weight must be > 0, not {self.weight!r}")
        if not self.model:
            object.__setattr__(self, "model", self.deployment)
        if not self.pool:
            object.__setattr__(self, "pool", f"{self.model}/{self.deployment_type}")

    @property
    def unavailable_features(self) -> frozenset[str]:
        return UNAVAILABLE_BY_HOSTING[self.hosting]

    @property
    def where(self) -> str:
        return self.base_url or f"{self.resource}.services.ai.azure.com"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "deployment": self.deployment,
            "model": self.model,
            "where": self.where,
            "credential": "entra" if self.entra else (self.api_key_env or "environment"),
            "hosting": self.hosting,
            "deployment_type": self.deployment_type,
            "pool": self.pool,
            "region": self.region,
            "priority": self.priority,
            "weight": self.weight,
            "unavailable_features": sorted(self.unavailable_features),
        }


@dataclass(frozen=True)
class Route:
    """A name callers pass as ``model=``, and the deployments that serve it."""

    name: str
    deployments: tuple[str, ...]
    strategy: Strategy = "ordered"

    def __post_init__(self) -> None:
        if self.strategy not in ("ordered", "weighted"):
            raise ConfigurationError(
                f"route {self.name!r}: strategy must be 'ordered' or 'weighted', "
                f"not {self.strategy!r}"
            )
        if not self.deployments:
            raise ConfigurationError(f"route {self.name!r}: list at least one deployment")


@dataclass
class Catalogue:
    deployments: dict[str, Deployment] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    pools: dict[str, PoolLimits] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        deployments: Iterable[Deployment],
        routes: Iterable[Route] = (),
        pools: Mapping[str, PoolLimits] | None = None,
    ) -> Catalogue:
        catalogue = cls(
            {d.name: d for d in deployments}, {r.name: r for r in routes}, dict(pools or {})
        )
        catalogue.check()
        return catalogue

    def check(self) -> None:
        for route in self.routes.values():
            for name in route.deployments:
                if name not in self.deployments:
                    raise ConfigurationError(
                        f"route {route.name!r} names deployment {name!r}, which the catalogue "
                        f"does not have (it has {sorted(self.deployments)})"
                    )

    def route(self, name: str) -> Route:
        """The route called ``name``; a deployment's name is a route to itself."""
        route = self.routes.get(name)
        if route is not None:
            return route
        if name in self.deployments:
            return Route(name, (name,))
        raise ConfigurationError(
            f"model {name!r} is neither a route nor a deployment of the catalogue; routes: "
            f"{sorted(self.routes)}, deployments: {sorted(self.deployments)}"
        )

    def deployments_of(self, route: str) -> list[Deployment]:
        return [self.deployments[name] for name in self.route(route).deployments]


def load_catalogue(source: str | Path | Mapping[str, Any]) -> Catalogue:
    """A catalogue from a TOML file (path) or its parsed data; errors name the entry and key."""
    if isinstance(source, Mapping):
        data: Mapping[str, Any] = source
    else:
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"cannot read the catalogue {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"the catalogue {path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"pools", "deployments", "routes"}
    if unknown:
        raise ConfigurationError(
            f"catalogue: unknown key {sorted(unknown)[0]!r}; the keys are pools, deployments "
            "and routes"
        )
    pools = {
        name: PoolLimits.from_mapping(dict(limits), f"pools.{name}")
        for name, limits in dict(data.get("pools", {})).items()
    }
    deployments = []
    for index, entry in enumerate(data.get("deployments", [])):
        where = f"deployments[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigurationError(f"catalogue: {where} must be a table")
        bad = set(entry) - _DEPLOYMENT_KEYS
        if bad:
            raise ConfigurationError(
                f"catalogue: {where} has unknown key {sorted(bad)[0]!r}; the keys are "
                f"{sorted(_DEPLOYMENT_KEYS)}"
            )
        try:
            deployments.append(Deployment(**entry))
        except TypeError as exc:
            raise ConfigurationError(f"catalogue: {where}: {exc}") from None
    routes = []
    for index, entry in enumerate(data.get("routes", [])):
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise ConfigurationError(f"catalogue: routes[{index}] must be a table with a name")
        routes.append(
            Route(
                entry["name"],
                tuple(entry.get("deployments", ())),
                entry.get("strategy", "ordered"),
            )
        )
    return Catalogue.of(deployments, routes, pools)
