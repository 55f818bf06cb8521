"""Who is calling: pluggable authentication for the emulator.

An :class:`Authenticator` turns request headers into a :class:`Principal` or an :class:`AuthFailure`
(the status, headers and body to answer with). The app knows only that protocol, so a bearer-token
mode slots in by passing a :class:`TokenVerifier` to :class:`KeyAuthenticator`.

Foundry's gateway answers a bad or missing key with an Azure-shaped 401, not the Anthropic shape:

    >>> auth = KeyAuthenticator(["local-key"])
    >>> auth.authenticate({"x-api-key": "local-key"}).kind
    'api-key'
    >>> auth.authenticate({"api-key": "wrong"}).status
    401
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..types import encode

__all__ = [
    "ACCESS_DENIED_MESSAGE",
    "AllowAll",
    "AuthFailure",
    "Authenticator",
    "KeyAuthenticator",
    "Principal",
    "TokenVerifier",
    "azure_error",
]

ACCESS_DENIED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``name`` identifies it in the journal, never the secret itself."""

    kind: str  # "api-key", "bearer", "anonymous"
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class AuthFailure:
    """The response for a refused caller."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class Authenticator(Protocol):
    def authenticate(self, headers: Mapping[str, str]) -> Principal | AuthFailure:
        """Decide from lower-cased request headers."""
        ...


class TokenVerifier(Protocol):
    """Checks an ``Authorization: Bearer`` token (signature, audience, expiry, roles)."""

    def verify(self, token: str) -> Principal | AuthFailure: ...


def azure_error(status: int, code: str, message: str, **extra: str) -> bytes:
    """An error body in the Azure gateway's shape: ``{"error": {"code": ..., "message": ...}}``."""
    return encode({"error": {"code": code, "message": message, **extra}})


_INVALID_KEY = AuthFailure(status=401, body=azure_error(401, "401", ACCESS_DENIED_MESSAGE))


class KeyAuthenticator:
    """Accepts any of the configured keys in ``api-key`` or ``x-api-key``; bearer tokens only when
    a :class:`TokenVerifier` is configured."""

    def __init__(self, keys: Iterable[str], *, token_verifier: TokenVerifier | None = None) -> None:
        self._keys = tuple(key.encode() for key in keys)
        self._token_verifier = token_verifier

    def __repr__(self) -> str:
        return (
            f"KeyAuthenticator(<{len(self._keys)} keys>, bearer={self._token_verifier is not None})"
        )

    def authenticate(self, headers: Mapping[str, str]) -> Principal | AuthFailure:
        # The official Python client sends the key in both headers; either one may carry it.
        keys = [headers[name] for name in ("api-key", "x-api-key") if name in headers]
        if keys:
            for key in keys:
                principal = self._check_key(key)
                if isinstance(principal, Principal):
                    return principal
            return _INVALID_KEY
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip() and self._token_verifier is not None:
                return self._token_verifier.verify(token.strip())
        return _INVALID_KEY

    def _check_key(self, key: str) -> Principal | AuthFailure:
        candidate = key.encode("utf-8", "surrogateescape")
        # Compare against every key so the time taken does not reveal which one nearly matched.
        matched = -1
        for index, known in enumerate(self._keys):
            if hmac.compare_digest(candidate, known):
                matched = index
        if matched < 0:
            return _INVALID_KEY
        return Principal(kind="api-key", name=f"key{matched + 1}")


class AllowAll:
    """No authentication (``require_auth = false``): every caller is anonymous."""

    _ANONYMOUS = Principal(kind="anonymous", name="anonymous")

    def authenticate(self, headers: Mapping[str, str]) -> Principal | AuthFailure:
        return self._ANONYMOUS
