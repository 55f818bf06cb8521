"""The App Service managed-identity token endpoint, as azure-identity calls it.

``ManagedIdentityCredential`` (and so ``DefaultAzureCredential``) uses this protocol when the
environment has ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` (and no
``IDENTITY_SERVER_THUMBPRINT``): ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...``
with the header ``X-IDENTITY-HEADER: {IDENTITY_HEADER}``. The answer's ``expires_on`` is Unix
seconds as a string, as App Service sends it (MSAL reads it with ``int()``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from .entra import EntraPrincipal, TokenIssuer

__all__ = ["MANAGED_IDENTITY_API_VERSION", "ManagedIdentityEndpoint"]

MANAGED_IDENTITY_API_VERSION = "2019-08-01"


class ManagedIdentityEndpoint:
    """The App Service managed-identity token endpoint (api-version 2019-08-01).

    ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://ai.azure.com`` with header
    ``X-IDENTITY-HEADER`` answers ``{"access_token", "expires_on" (epoch seconds as a string),
    "resource", "token_type", "client_id"}``. ``client_id``, ``object_id`` or ``principal_id``
    pick a user-assigned identity among the principals.
    """

    def __init__(
        self,
        issuer: TokenIssuer,
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
