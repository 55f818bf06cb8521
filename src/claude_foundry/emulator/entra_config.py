"""The ``[entra]`` configuration: tenant, token lifetime, principals and their RBAC roles.

    [entra]
    enabled = true
    tenant = "contoso-tenant"         # a tenant id or domain; a fixed GUID by default
    token_lifetime_s = 3600
    managed_identity = "app"          # the identity the managed-identity endpoint serves
    [[entra.principals]]
    name = "app"
    roles = ["Cognitive Services User"]

Kept apart from the token machinery so that reading a configuration needs no crypto.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import ConfigurationError

__all__ = [
    "DATA_PLANE_ROLES",
    "DEFAULT_PRINCIPAL",
    "DEFAULT_TENANT_ID",
    "EntraConfigError",
    "EntraPrincipal",
    "EntraSettings",
]

DATA_PLANE_ROLES = frozenset({"Foundry User", "Azure AI User", "Cognitive Services User"})
"""Roles whose data actions (``Microsoft.CognitiveServices/accounts/MaaS/*``) may call Claude."""
DEFAULT_TENANT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-foundry-emulator/tenant"))


class EntraConfigError(ConfigurationError):
    """The ``[entra]`` configuration is invalid; the message names the key and what it accepts."""


def _derived_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"claude-foundry-emulator/{kind}/{name}"))


@dataclass(frozen=True)
class EntraPrincipal:
    """A user, service principal or managed identity and its RBAC roles on the resource.

    ``object_id`` and ``client_id`` default to stable ids derived from the name.
    """

    name: str
    roles: tuple[str, ...] = ()
    object_id: str = ""
    client_id: str = ""

    def __post_init__(self) -> None:
        if not self.object_id:
            object.__setattr__(self, "object_id", _derived_id("object", self.name))
        if not self.client_id:
            object.__setattr__(self, "client_id", _derived_id("client", self.name))
        object.__setattr__(self, "roles", tuple(self.roles))

    @property
    def may_call(self) -> bool:
        return not DATA_PLANE_ROLES.isdisjoint(self.roles)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "object_id": self.object_id,
            "client_id": self.client_id,
            "roles": list(self.roles),
        }

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, where: str = "entra.principals"
    ) -> EntraPrincipal:
        if not isinstance(data, Mapping):
            raise EntraConfigError(
                f"{where}: each principal must be a table such as "
                f'{{ name = "ci", roles = ["Cognitive Services User"] }}, not {data!r}'
            )
        unknown = set(data) - {"name", "roles", "object_id", "client_id"}
        if unknown:
            raise EntraConfigError(
                f"{where}: unknown keys {sorted(unknown)}; a principal has name, roles, "
                "object_id and client_id"
            )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise EntraConfigError(f"{where}: name must be a non-empty string, not {name!r}")
        roles = data.get("roles", [])
        if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
            raise EntraConfigError(
                f"{where} {name!r}: roles must be a list of role names such as "
                f'["Foundry User"], not {roles!r}'
            )
        ids = {key: data.get(key, "") for key in ("object_id", "client_id")}
        for key, value in ids.items():
            if not isinstance(value, str):
                raise EntraConfigError(f"{where} {name!r}: {key} must be a string, not {value!r}")
        return cls(name=name, roles=tuple(roles), **ids)


DEFAULT_PRINCIPAL = EntraPrincipal(name="emulator-identity", roles=("Foundry User",))


@dataclass(frozen=True)
class EntraSettings:
    """The ``[entra]`` section: tenant, token lifetime, principals and how refusals look."""

    enabled: bool = False
    tenant_id: str = DEFAULT_TENANT_ID
    token_lifetime_s: int = 3600
    principals: tuple[EntraPrincipal, ...] = (DEFAULT_PRINCIPAL,)
    managed_identity: str | None = None
    """The principal the managed-identity endpoint serves by default; the first one if unset."""
    issuer_version: Literal["1.0", "2.0"] = "1.0"
    leeway_s: float = 1.0
    missing_role_status: Literal[401, 403] = 403
    """403 as the docs say; 401 ``PermissionDenied`` as users report from the service."""

    def __post_init__(self) -> None:
        if not self.principals:
            raise EntraConfigError("entra.principals must name at least one principal")
        names = [p.name for p in self.principals]
        if len(set(names)) != len(names):
            raise EntraConfigError(f"entra.principals: names must be unique, got {names}")
        if self.managed_identity is not None and self.managed_identity not in names:
            raise EntraConfigError(
                f"entra.managed_identity {self.managed_identity!r} is not one of the principals "
                f"{names}"
            )
        if self.token_lifetime_s < 1:
            raise EntraConfigError(
                f"entra.token_lifetime_s must be at least 1 second, not {self.token_lifetime_s}"
            )
        if self.token_lifetime_s > 86_400:
            raise EntraConfigError(
                "entra.token_lifetime_s must be at most 86400 seconds (one day, the longest "
                f"Entra ID issues), not {self.token_lifetime_s}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EntraSettings:
        known = {
            "enabled", "tenant", "tenant_id", "token_lifetime_s", "principals",
            "managed_identity", "issuer_version", "leeway_s", "missing_role_status",
        }  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise EntraConfigError(
                f"[entra]: unknown keys {sorted(unknown)}; known: {sorted(known)}"
            )
        values: dict[str, Any] = {}
        if "enabled" in data:
            if not isinstance(data["enabled"], bool):
                raise EntraConfigError(
                    f"entra.enabled must be true or false, not {data['enabled']!r}"
                )
            values["enabled"] = data["enabled"]
        tenant = data.get("tenant_id", data.get("tenant"))
        if tenant is not None:
            if not isinstance(tenant, str) or not tenant.strip() or "/" in tenant:
                raise EntraConfigError(
                    f"entra.tenant must be a tenant id (a GUID) or domain, not {tenant!r}"
                )
            values["tenant_id"] = tenant.strip()
        if "token_lifetime_s" in data:
            lifetime = data["token_lifetime_s"]
            if (
                isinstance(lifetime, bool)
                or not isinstance(lifetime, int | float)
                or not math.isfinite(lifetime)
            ):
                raise EntraConfigError(
                    f"entra.token_lifetime_s must be a number of seconds, not {lifetime!r}"
                )
            values["token_lifetime_s"] = int(lifetime)
        if "principals" in data:
            principals = data["principals"]
            if not isinstance(principals, list | tuple):
                raise EntraConfigError(
                    "entra.principals must be a list of tables ([[entra.principals]]), "
                    f"not {principals!r}"
                )
            values["principals"] = tuple(EntraPrincipal.from_mapping(p) for p in principals)
        if "managed_identity" in data:
            values["managed_identity"] = data["managed_identity"]
        if "issuer_version" in data:
            version = str(data["issuer_version"])
            if version not in ("1.0", "2.0"):
                raise EntraConfigError(
                    f"entra.issuer_version must be '1.0' or '2.0', not {version!r}"
                )
            values["issuer_version"] = version
        if "leeway_s" in data:
            leeway = data["leeway_s"]
            if isinstance(leeway, bool) or not isinstance(leeway, int | float) or leeway < 0:
                raise EntraConfigError(f"entra.leeway_s must be seconds >= 0, not {leeway!r}")
            values["leeway_s"] = float(leeway)
        if "missing_role_status" in data:
            status = data["missing_role_status"]
            if status not in (401, 403):
                raise EntraConfigError(
                    f"entra.missing_role_status must be 401 or 403, not {status!r}"
                )
            values["missing_role_status"] = status
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "tenant": self.tenant_id,
            "token_lifetime_s": self.token_lifetime_s,
            "principals": [p.to_dict() for p in self.principals],
            "managed_identity": self.managed_identity,
            "issuer_version": self.issuer_version,
            "leeway_s": self.leeway_s,
            "missing_role_status": self.missing_role_status,
        }
