"""Microsoft Entra ID for the emulator: tokens, their checks, RBAC roles and a managed identity.

The emulator signs its own JWTs (RS256, a key made at start) and checks them as Foundry does:
signature, audience (``https://ai.azure.com`` or ``https://cognitiveservices.azure.com``, with or
without a trailing slash), expiry, issuer and tenant. Principals are configured with their Azure
RBAC roles; one without a data-plane role gets 403, as a missing role assignment does.

azure-identity finds the emulator on its own: :class:`ManagedIdentityEndpoint` speaks the App
Service managed-identity protocol that ``ManagedIdentityCredential`` (and so
``DefaultAzureCredential``) uses when ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set.

    >>> directory = EntraDirectory(EntraSettings(token_lifetime_s=600))
    >>> issued = directory.issue_token(scope="https://ai.azure.com/.default")
    >>> directory.verifier.check(issued.access_token).principal.name
    'emulator-identity'
"""

from __future__ import annotations

import enum
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from ..types import encode
from .auth import AuthFailure, Principal, azure_error
from .entra_config import (
    DATA_PLANE_ROLES,
    DEFAULT_TENANT_ID,
    EntraConfigError,
    EntraPrincipal,
    EntraSettings,
)
from .entra_http import (
    ENTRA_PREFIX,
    MANAGED_IDENTITY_API_VERSION,
    MANAGED_IDENTITY_PATH,
    ManagedIdentityEndpoint,
    build_entra_app,
)

__all__ = [
    "DATA_PLANE_ROLES",
    "DEFAULT_SCOPE",
    "DEFAULT_TENANT_ID",
    "DOCUMENTED_AUDIENCES",
    "ENTRA_PREFIX",
    "MAX_TOKEN_LIFETIME_S",
    "MANAGED_IDENTITY_API_VERSION",
    "MANAGED_IDENTITY_PATH",
    "EntraAuthenticator",
    "EntraConfigError",
    "EntraDirectory",
    "EntraPrincipal",
    "EntraSettings",
    "IssuedToken",
    "ManagedIdentityEndpoint",
    "RejectReason",
    "TokenIssuer",
    "TokenRejection",
    "TokenVerifier",
    "VerifiedToken",
    "audience_for_scope",
]

Clock = Callable[[], float]

DEFAULT_SCOPE = "https://ai.azure.com/.default"
MAX_TOKEN_LIFETIME_S = 86_400
_LATEST_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z; beyond it a date means nothing
DOCUMENTED_AUDIENCES = ("https://ai.azure.com", "https://cognitiveservices.azure.com")
_DATA_ACTION = "Microsoft.CognitiveServices/accounts/MaaS/*"


def audience_for_scope(scope: str) -> str:
    """The ``aud`` a token for this scope or resource carries: ``https://x/.default`` → ``https://x``."""
    scope = scope.strip()
    return scope.removesuffix("/.default") if scope.endswith("/.default") else scope


def _normalise_audience(audience: str) -> str:
    return audience.strip().rstrip("/").lower()


@dataclass(frozen=True)
class IssuedToken:
    """A minted token. ``access_token`` is a secret and stays out of the repr."""

    access_token: str = field(repr=False)
    expires_on: int
    resource: str
    principal: EntraPrincipal
    token_type: str = "Bearer"


class TokenIssuer:
    """Signs access tokens shaped like Entra ID's (RS256, with ``oid``, ``tid`` and ``roles``)."""

    def __init__(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT_ID,
        lifetime_s: int = 3600,
        issuer_version: Literal["1.0", "2.0"] = "1.0",
        clock: Clock = time.time,
    ) -> None:
        if lifetime_s < 1:
            raise EntraConfigError(f"token lifetime must be at least 1 second, not {lifetime_s}")
        _check_lifetime(lifetime_s)
        self.tenant_id = tenant_id
        self.lifetime_s = int(lifetime_s)
        self.issuer_version = issuer_version
        self.clock = clock
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self._private_key.public_key()
        self.key_id = secrets.token_hex(8)

    def __repr__(self) -> str:
        return f"TokenIssuer(tenant_id={self.tenant_id!r}, lifetime_s={self.lifetime_s})"

    @property
    def issuer(self) -> str:
        return self.issuers[0] if self.issuer_version == "1.0" else self.issuers[1]

    @property
    def issuers(self) -> tuple[str, str]:
        """The v1 and v2 issuer strings of the tenant; tokens with either are accepted."""
        return (
            f"https://sts.windows.net/{self.tenant_id}/",
            f"https://login.microsoftonline.com/{self.tenant_id}/v2.0",
        )

    def issue(
        self,
        principal: EntraPrincipal,
        *,
        scope: str = DEFAULT_SCOPE,
        lifetime_s: int | None = None,
    ) -> IssuedToken:
        audience = audience_for_scope(scope)
        if not audience:
            raise EntraConfigError(f"scope must name a resource such as {DEFAULT_SCOPE!r}")
        now = int(self.clock())
        if lifetime_s is not None:
            _check_lifetime(lifetime_s)
        expires_on = now + int(lifetime_s if lifetime_s is not None else self.lifetime_s)
        claims = {
            "aud": audience,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": expires_on,
            "sub": principal.object_id,
            "oid": principal.object_id,
            "tid": self.tenant_id,
            "appid" if self.issuer_version == "1.0" else "azp": principal.client_id,
            "name": principal.name,
            "roles": list(principal.roles),
            "uti": secrets.token_urlsafe(16),
            "ver": self.issuer_version,
        }
        return IssuedToken(
            access_token=self.sign_claims(claims),
            expires_on=expires_on,
            resource=audience,
            principal=principal,
        )

    def sign_claims(self, claims: Mapping[str, Any]) -> str:
        """Sign arbitrary claims with the emulator's key (tests forge odd tokens with this)."""
        return jwt.encode(
            dict(claims), self._private_key, algorithm="RS256", headers={"kid": self.key_id}
        )


def _check_lifetime(lifetime_s: object) -> None:
    """Refuse a lifetime that is not a whole number of seconds within a day either way.

    Negative lifetimes stay allowed (tests mint expired tokens with them); a day is the longest
    access-token lifetime Entra ID can be configured to issue.
    """
    if isinstance(lifetime_s, bool) or not isinstance(lifetime_s, int):
        raise EntraConfigError(
            f"token lifetime must be a whole number of seconds, not {lifetime_s!r}"
        )
    if abs(lifetime_s) > MAX_TOKEN_LIFETIME_S:
        raise EntraConfigError(
            f"token lifetime must be at most {MAX_TOKEN_LIFETIME_S} seconds (one day, the longest "
            "Entra ID issues)"
        )


def _numeric_date(value: object) -> float | None:
    """A JWT NumericDate as seconds, or None when the claim is not a usable one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > _LATEST_NUMERIC_DATE:
        return None
    number = float(value)
    if not math.isfinite(number) or abs(number) > _LATEST_NUMERIC_DATE:
        return None
    return number


class RejectReason(enum.Enum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_ISSUER = "wrong_issuer"
    UNKNOWN_PRINCIPAL = "unknown_principal"
    MISSING_ROLE = "missing_role"

    @property
    def is_authorization(self) -> bool:
        """The token is good but the principal may not call (403), rather than a bad token (401)."""
        return self in (RejectReason.UNKNOWN_PRINCIPAL, RejectReason.MISSING_ROLE)


@dataclass(frozen=True)
class VerifiedToken:
    principal: EntraPrincipal
    audience: str
    expires_on: int
    claims: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class TokenRejection:
    reason: RejectReason
    detail: str
    object_id: str | None = None


class TokenVerifier:
    """Checks a bearer token the way Foundry does; ``principal_for`` finds an object id's roles."""

    def __init__(
        self,
        issuer: TokenIssuer,
        principal_for: Callable[[str], EntraPrincipal | None],
        *,
        audiences: Iterable[str] = DOCUMENTED_AUDIENCES,
        leeway_s: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        self.issuer = issuer
        self.principal_for = principal_for
        self.audiences = frozenset(_normalise_audience(a) for a in audiences)
        self.leeway_s = leeway_s
        self.clock = clock or issuer.clock

    def check(self, token: str) -> VerifiedToken | TokenRejection:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return TokenRejection(RejectReason.MALFORMED, "the bearer value is not a JWT")
        if header.get("alg") != "RS256":
            return TokenRejection(
                RejectReason.BAD_SIGNATURE, f"the token is signed with {header.get('alg')!r}"
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.issuer.public_key,
                algorithms=["RS256"],
                # Times are checked below against the injectable clock.
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "require": ["aud", "iss", "exp", "oid", "tid"],
                },
            )
        except jwt.InvalidSignatureError:
            return TokenRejection(
                RejectReason.BAD_SIGNATURE, "the signature does not match this emulator's key"
            )
        except jwt.PyJWTError as exc:
            return TokenRejection(RejectReason.MALFORMED, f"the token is malformed ({exc})")
        audience = claims["aud"]
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(_normalise_audience(str(a)) in self.audiences for a in audiences):
            expected = " or ".join(sorted(self.audiences))
            return TokenRejection(
                RejectReason.WRONG_AUDIENCE,
                f"audience {audience!r} is not {expected}; request the token for {DEFAULT_SCOPE}",
            )
        if claims["iss"] not in self.issuer.issuers or claims["tid"] != self.issuer.tenant_id:
            return TokenRejection(
                RejectReason.WRONG_ISSUER,
                f"token tenant {claims['tid']!r} doesn't match resource tenant "
                f"{self.issuer.tenant_id!r}",
            )
        expires = _numeric_date(claims["exp"])
        not_before = _numeric_date(claims["nbf"]) if "nbf" in claims else None
        if expires is None or ("nbf" in claims and not_before is None):
            return TokenRejection(
                RejectReason.MALFORMED,
                "exp and nbf must be NumericDate values (seconds since 1970 as a number)",
            )
        now = self.clock()
        if now > expires + self.leeway_s:
            return TokenRejection(
                RejectReason.EXPIRED, f"the token expired {now - expires:.0f} s ago"
            )
        if not_before is not None and now + self.leeway_s < not_before:
            return TokenRejection(RejectReason.NOT_YET_VALID, "the token is not valid yet (nbf)")
        object_id = str(claims["oid"])
        principal = self.principal_for(object_id)
        if principal is None:
            return TokenRejection(
                RejectReason.UNKNOWN_PRINCIPAL, "the principal has no role assignments", object_id
            )
        if not principal.may_call:
            return TokenRejection(
                RejectReason.MISSING_ROLE,
                f"the principal's roles {list(principal.roles)} include no data-plane role",
                object_id,
            )
        return VerifiedToken(
            principal=principal,
            audience=str(audience),
            expires_on=int(expires),
            claims=claims,
        )


_UNAUTHORIZED_MESSAGE = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://ai.azure.com or https://cognitiveservices.azure.com), or have expired."
)


def _permission_message(object_id: str | None, detail: str) -> str:
    return (
        f"The principal `{object_id}` lacks the required data action `{_DATA_ACTION}` to perform "
        f"`POST /anthropic/v1/messages` operation ({detail}). Assign the Foundry User (formerly "
        "Azure AI User) or Cognitive Services User role on the resource; new assignments can take "
        "a few minutes to apply."
    )


class EntraAuthenticator:
    """Bearer tokens in, principal or refusal out: the emulator's ``Authenticator`` for Entra ID."""

    def __init__(self, verifier: TokenVerifier, *, missing_role_status: Literal[401, 403] = 403):
        self.verifier = verifier
        self.missing_role_status = missing_role_status

    def verify(self, token: str) -> Principal | AuthFailure:
        result = self.verifier.check(token)
        if isinstance(result, VerifiedToken):
            return Principal(
                kind="bearer", name=result.principal.name, roles=frozenset(result.principal.roles)
            )
        return self.failure(result)

    def authenticate(self, headers: Mapping[str, str]) -> Principal | AuthFailure:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self.failure(TokenRejection(RejectReason.MALFORMED, "no bearer token was sent"))
        return self.verify(token.strip())

    def failure(self, rejection: TokenRejection) -> AuthFailure:
        if not rejection.reason.is_authorization:
            message = f"{_UNAUTHORIZED_MESSAGE} Reason: {rejection.detail}."
            return AuthFailure(
                status=401,
                body=azure_error(401, "401", message),
                headers=(("www-authenticate", 'Bearer error="invalid_token"'),),
            )
        message = _permission_message(rejection.object_id, rejection.detail)
        if self.missing_role_status == 401:
            return AuthFailure(status=401, body=azure_error(401, "PermissionDenied", message))
        body = {"type": "error", "error": {"type": "permission_error", "message": message}}
        return AuthFailure(status=403, body=encode(body))


class EntraDirectory:
    """The emulator's tenant: issuer, verifier, principals and managed identity, in one place."""

    def __init__(
        self,
        settings: EntraSettings | None = None,
        *,
        clock: Clock = time.time,
        identity_header: str | None = None,
    ) -> None:
        self.settings = settings or EntraSettings(enabled=True)
        self.issuer = TokenIssuer(
            tenant_id=self.settings.tenant_id,
            lifetime_s=self.settings.token_lifetime_s,
            issuer_version=self.settings.issuer_version,
            clock=clock,
        )
        self._by_object_id: dict[str, EntraPrincipal] = {}
        self._by_name: dict[str, EntraPrincipal] = {}
        self.set_principals(self.settings.principals)
        self.verifier = TokenVerifier(
            self.issuer, lambda oid: self._by_object_id.get(oid), leeway_s=self.settings.leeway_s
        )
        self.managed_identity = ManagedIdentityEndpoint(
            self.issuer,
            lambda: tuple(self._by_name.values()),
            default_principal=self._managed_identity_principal,
            identity_header=identity_header,
        )

    def __repr__(self) -> str:
        return f"EntraDirectory(tenant_id={self.tenant_id!r}, principals={list(self._by_name)})"

    @property
    def tenant_id(self) -> str:
        return self.issuer.tenant_id

    @property
    def principals(self) -> dict[str, EntraPrincipal]:
        return dict(self._by_name)

    def set_principals(self, principals: Iterable[EntraPrincipal]) -> None:
        """Replace the role assignments; tokens already issued follow the new roles at once."""
        principals = tuple(principals)
        if not principals:
            raise EntraConfigError("at least one principal is needed")
        # Swapped whole, so the server thread never sees a half-filled table.
        self._by_object_id = {p.object_id: p for p in principals}
        self._by_name = {p.name: p for p in principals}

    def set_roles(self, name: str, roles: Iterable[str]) -> EntraPrincipal:
        current = self.principal(name)
        updated = EntraPrincipal(
            name=current.name,
            roles=tuple(roles),
            object_id=current.object_id,
            client_id=current.client_id,
        )
        self.set_principals(updated if p.name == name else p for p in self._by_name.values())
        return updated

    def principal(self, name: str | None = None) -> EntraPrincipal:
        if name is None:
            return self._managed_identity_principal()
        try:
            return self._by_name[name]
        except KeyError:
            raise EntraConfigError(
                f"unknown principal {name!r}; configured: {sorted(self._by_name)}"
            ) from None

    def _managed_identity_principal(self) -> EntraPrincipal:
        name = self.settings.managed_identity
        if name is not None and name in self._by_name:
            return self._by_name[name]
        return next(iter(self._by_name.values()))

    def issue_token(
        self,
        *,
        principal: str | EntraPrincipal | None = None,
        scope: str = DEFAULT_SCOPE,
        lifetime_s: int | None = None,
    ) -> IssuedToken:
        """Mint a token, e.g. for ``curl -H "Authorization: Bearer $TOKEN"``."""
        chosen = principal if isinstance(principal, EntraPrincipal) else self.principal(principal)
        return self.issuer.issue(chosen, scope=scope, lifetime_s=lifetime_s)

    def authenticator(self) -> EntraAuthenticator:
        return EntraAuthenticator(
            self.verifier, missing_role_status=self.settings.missing_role_status
        )

    @cached_property
    def asgi_app(self) -> Starlette:
        """Serves everything under ``/_emulator/entra/`` (see :mod:`.entra_http`)."""
        return build_entra_app(self)

    def managed_identity_environment(self, server_url: str) -> dict[str, str]:
        """``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER`` for an emulator at ``server_url``."""
        endpoint = server_url.rstrip("/") + MANAGED_IDENTITY_PATH
        return self.managed_identity.environment(endpoint)

    def shell_lines(self, *, server_url: str, base_url: str, deployment: str) -> list[str]:
        """What ``claude-foundry emulator --entra`` prints: the exports and a curl-ready token."""
        principal = self.principal()
        issued = self.issue_token(principal=principal)
        roles = ", ".join(principal.roles) or "no roles"
        body = (
            f'{{"model": "{deployment}", "max_tokens": 256, '
            '"messages": [{"role": "user", "content": "Hello!"}]}'
        )
        lines = [
            f"  Entra ID:     tenant {self.tenant_id}; managed identity {principal.name!r} "
            f"({roles}); tokens live {self.issuer.lifetime_s} s",
            "  For DefaultAzureCredential / ManagedIdentityCredential:",
        ]
        environment = self.managed_identity_environment(server_url)
        lines += [f"  export {name}={value}" for name, value in environment.items()]
        lines += [
            f"  A token for curl (scope {DEFAULT_SCOPE}, valid {self.issuer.lifetime_s} s):",
            f"  export ACCESS_TOKEN={issued.access_token}",
            f'  curl {base_url}v1/messages -H "Authorization: Bearer $ACCESS_TOKEN" '
            f'-H "content-type: application/json" -H "anthropic-version: 2023-06-01" '
            f"-d '{body}'",
        ]
        return lines
