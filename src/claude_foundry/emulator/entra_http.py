"""The emulator's Entra ID over HTTP: the managed-identity endpoint and its control routes.

    GET   /_emulator/entra/msi/token           the App Service managed-identity protocol
    POST  /_emulator/entra/token               mint a token: {"principal", "scope", "lifetime_s"}
    GET   /_emulator/entra/principals          tenant, principals and their roles
    PATCH /_emulator/entra/principals/{name}   {"roles": [...]}: grant or revoke roles at once

``ManagedIdentityCredential`` (and so ``DefaultAzureCredential``) uses this protocol when the
environment has ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` (and no
``IDENTITY_SERVER_THUMBPRINT``): ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...``
with the header ``X-IDENTITY-HEADER: {IDENTITY_HEADER}``. The answer's ``expires_on`` is Unix
seconds as a string, as App Service sends it (MSAL reads it with ``int()``).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._errors import ConfigurationError
from .entra_config import EntraPrincipal

__all__ = [
    "ENTRA_PREFIX",
    "MANAGED_IDENTITY_API_VERSION",
    "MANAGED_IDENTITY_PATH",
    "ManagedIdentityEndpoint",
    "build_entra_app",
]

MANAGED_IDENTITY_API_VERSION = "2019-08-01"
ENTRA_PREFIX = "/_emulator/entra"
MANAGED_IDENTITY_PATH = f"{ENTRA_PREFIX}/msi/token"


# What the routes need of the token machinery, as protocols: ``entra`` builds on this module,
# so this module names only the shapes it calls, never ``entra`` itself.
class _IssuedToken(Protocol):
    @property
    def access_token(self) -> str: ...
    @property
    def expires_on(self) -> int: ...
    @property
    def resource(self) -> str: ...
    @property
    def principal(self) -> EntraPrincipal: ...


class _Issuer(Protocol):
    @property
    def tenant_id(self) -> str: ...
    def issue(self, principal: EntraPrincipal, *, scope: str = ...) -> _IssuedToken: ...


class _Directory(Protocol):
    @property
    def tenant_id(self) -> str: ...
    @property
    def principals(self) -> dict[str, EntraPrincipal]: ...
    @property
    def managed_identity(self) -> ManagedIdentityEndpoint: ...
    def issue_token(
        self, *, principal: str | None = ..., scope: str = ..., lifetime_s: int | None = ...
    ) -> _IssuedToken: ...
    def set_roles(self, name: str, roles: Iterable[str]) -> EntraPrincipal: ...


class ManagedIdentityEndpoint:
    """The App Service managed-identity token endpoint (api-version 2019-08-01).

    ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://ai.azure.com`` with header
    ``X-IDENTITY-HEADER`` answers ``{"access_token", "expires_on" (epoch seconds as a string),
    "resource", "token_type", "client_id"}``. ``client_id``, ``object_id`` or ``principal_id``
    pick a user-assigned identity among the principals.
    """

    def __init__(
        self,
        issuer: _Issuer,
        principals: Callable[[], Iterable[EntraPrincipal]],
        *,
        default_principal: Callable[[], EntraPrincipal],
        identity_header: str | None = None,
    ) -> None:
        self.issuer = issuer
        self._principals = principals
        self._default_principal = default_principal
        self.identity_header = identity_header or secrets.token_urlsafe(24)
        self.requests_served = 0

    def __repr__(self) -> str:
        return f"ManagedIdentityEndpoint(tenant_id={self.issuer.tenant_id!r})"

    def environment(self, endpoint_url: str) -> dict[str, str]:
        """The variables that point azure-identity here."""
        return {"IDENTITY_ENDPOINT": endpoint_url, "IDENTITY_HEADER": self.identity_header}

    def route(self, path: str) -> Route:
        return Route(path, self.endpoint, methods=["GET"])

    async def endpoint(self, request: Request) -> Response:
        header = request.headers.get("x-identity-header", "")
        if not hmac.compare_digest(header.encode(), self.identity_header.encode()):
            return _mi_error(
                401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER."
            )
        query = request.query_params
        version = query.get("api-version")
        if version != MANAGED_IDENTITY_API_VERSION:
            return _mi_error(
                400, f"api-version must be {MANAGED_IDENTITY_API_VERSION}, not {version!r}."
            )
        resource = query.get("resource", "").strip()
        if not resource.startswith(("https://", "http://", "api://")):
            return _mi_error(
                400,
                f"resource must be an absolute resource URI such as https://ai.azure.com, "
                f"not {resource!r}.",
            )
        principal = self._pick(query)
        if principal is None:
            return _mi_error(
                400,
                "No managed identity matches the requested client_id / object_id / principal_id.",
            )
        issued = self.issuer.issue(principal, scope=resource)
        self.requests_served += 1
        return JSONResponse(
            {
                "access_token": issued.access_token,
                "expires_on": str(issued.expires_on),
                "resource": issued.resource,
                "token_type": "Bearer",
                "client_id": principal.client_id,
            },
            headers={"cache-control": "no-store"},
        )

    def _pick(self, query: Mapping[str, str]) -> EntraPrincipal | None:
        client_id = query.get("client_id")
        object_id = query.get("object_id") or query.get("principal_id")
        if client_id is None and object_id is None:
            return self._default_principal()
        for principal in self._principals():
            if client_id is not None and principal.client_id.lower() == client_id.lower():
                return principal
            if object_id is not None and principal.object_id.lower() == object_id.lower():
                return principal
        return None


def _mi_error(status: int, message: str) -> Response:
    return JSONResponse({"statusCode": status, "message": message}, status_code=status)


def build_entra_app(directory: _Directory) -> Starlette:
    """The ASGI app for every route under :data:`ENTRA_PREFIX`."""

    async def mint(request: Request) -> Response:
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        unknown = set(body) - {"principal", "scope", "lifetime_s"}
        if unknown:
            return _control_error(
                400, f"unknown keys {sorted(unknown)}; use principal, scope, lifetime_s"
            )
        lifetime = body.get("lifetime_s")
        if lifetime is not None and (
            isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime < 1
        ):
            return _control_error(400, f"lifetime_s must be a whole number >= 1, not {lifetime!r}")
        scope = body.get("scope", "https://ai.azure.com/.default")
        principal = body.get("principal")
        if not isinstance(scope, str) or (principal is not None and not isinstance(principal, str)):
            return _control_error(400, "principal and scope must be strings")
        try:
            issued = directory.issue_token(principal=principal, scope=scope, lifetime_s=lifetime)
        except ConfigurationError as exc:
            return _control_error(400, str(exc))
        return JSONResponse(
            {
                "access_token": issued.access_token,
                "expires_on": issued.expires_on,
                "resource": issued.resource,
                "principal": issued.principal.name,
                "token_type": "Bearer",
            },
            headers={"cache-control": "no-store"},
        )

    async def list_principals(request: Request) -> Response:
        return JSONResponse(
            {
                "tenant": directory.tenant_id,
                "principals": [p.to_dict() for p in directory.principals.values()],
            }
        )

    async def set_roles(request: Request) -> Response:
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        roles = body.get("roles")
        if set(body) != {"roles"} or not isinstance(roles, list):
            return _control_error(400, 'send {"roles": ["Foundry User", ...]}')
        if not all(isinstance(role, str) for role in roles):
            return _control_error(400, "roles must be strings")
        try:
            updated = directory.set_roles(request.path_params["name"], roles)
        except ConfigurationError as exc:
            return _control_error(404, str(exc), "not_found")
        return JSONResponse(updated.to_dict())

    async def http_error(request: Request, exc: Exception) -> Response:
        # Unknown paths and wrong methods answer in the control API's JSON shape, not plain text.
        status = getattr(exc, "status_code", 500)
        if status == 405:
            return _control_error(
                405, f"{request.method} is not allowed on {request.url.path}", "method_not_allowed"
            )
        routes = "msi/token (GET), token (POST), principals (GET), principals/{name} (PATCH)"
        return _control_error(
            status, f"no Entra route at {request.url.path}; routes: {routes}", "not_found"
        )

    return Starlette(
        routes=[
            directory.managed_identity.route(MANAGED_IDENTITY_PATH),
            Route(f"{ENTRA_PREFIX}/token", mint, methods=["POST"]),
            Route(f"{ENTRA_PREFIX}/principals", list_principals, methods=["GET"]),
            Route(f"{ENTRA_PREFIX}/principals/{{name}}", set_roles, methods=["PATCH"]),
        ],
        exception_handlers={404: http_error, 405: http_error},
    )


async def _json_object(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        return _control_error(400, f"the request body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return _control_error(400, "expected a JSON object as the request body")
    return body


def _control_error(status: int, message: str, error_type: str = "invalid_request") -> Response:
    return JSONResponse({"error": {"type": error_type, "message": message}}, status_code=status)
