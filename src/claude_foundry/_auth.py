"""Credentials: a Foundry API key or a Microsoft Entra ID token provider.

Each credential is an :class:`Auth` whose :meth:`Auth.auth_flow` is a generator in the style of
``httpx.Auth.auth_flow``: it yields the I/O it needs (fetch a token, send the request, close a
response) as pipeline steps and gets the results back. The sync and async clients drive the same
flow; only they call the token provider (and await it, for the async client). A credential with
a token cache and a forced refresh after a 401 fits the same shape: fetch, send, and on 401
``yield Close(response)``, fetch again with ``force_refresh`` and resend.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Generator, Set
from typing import Any

import httpx2

from ._errors import ConfigurationError
from ._steps import Close, FetchToken, Send, Step
from ._token_cache import AsyncCredentialTokenSource, CredentialTokenSource

__all__ = ["ApiKeyAuth", "Auth", "CredentialAuth", "TokenProviderAuth", "check_token"]

log = logging.getLogger("claude_foundry.auth")


class Auth:
    """Base credential. ``static_headers`` are sent on every request and merged once per client."""

    mode: str = "none"
    static_headers: dict[str, str] = {}  # noqa: RUF012  (read-only class default)

    def auth_flow(
        self,
        request: httpx2.Request,
        *,
        stream: bool,
        keep: Set[str],
        deadline: float | None = None,
    ) -> Generator[Step, Any, httpx2.Response]:
        """Authenticate ``request``, send it and return the response.

        ``keep`` holds the lower-cased names of headers the caller set per request
        (``extra_headers``); those win over what the credential would set. ``deadline`` goes on
        every :class:`~claude_foundry._steps.Send` (see :mod:`claude_foundry._steps`).
        """
        response: httpx2.Response = yield Send(request, stream, deadline)
        return response


class ApiKeyAuth(Auth):
    """``x-api-key``, the header Foundry authenticates with. Only one copy of the key is sent."""

    mode = "api-key"

    def __init__(self, api_key: str, header: str = "x-api-key") -> None:
        self.static_headers = {header: api_key}

    def __repr__(self) -> str:
        return "ApiKeyAuth(key=[redacted])"


class TokenProviderAuth(Auth):
    """``Authorization: Bearer <token>`` with a token from the provider, fetched per attempt."""

    mode = "entra-id"

    def __init__(self, provider: Callable[[], Any]) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return f"TokenProviderAuth(provider={getattr(self.provider, '__name__', 'callable')})"

    def auth_flow(
        self,
        request: httpx2.Request,
        *,
        stream: bool,
        keep: Set[str],
        deadline: float | None = None,
    ) -> Generator[Step, Any, httpx2.Response]:
        token = check_token((yield FetchToken(self.provider)))
        if "authorization" not in keep:
            request.headers["Authorization"] = f"Bearer {token}"
        response: httpx2.Response = yield Send(request, stream, deadline)
        return response


class CredentialAuth(Auth):
    """``Authorization: Bearer`` from an azure-identity credential through a token cache.

    The token is reused until shortly before it expires and refreshed once for all concurrent
    requests. A 401 refreshes it (once, however many requests were rejected with the same
    token) and resends the request once, so an expiry in the middle of a run is never seen.
    """

    mode = "entra-id"

    def __init__(self, source: CredentialTokenSource | AsyncCredentialTokenSource) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"CredentialAuth({self.source!r})"

    def auth_flow(
        self,
        request: httpx2.Request,
        *,
        stream: bool,
        keep: Set[str],
        deadline: float | None = None,
    ) -> Generator[Step, Any, httpx2.Response]:
        if "authorization" in keep:  # the caller's own header wins, as with any provider
            response: httpx2.Response = yield Send(request, stream, deadline)
            return response
        token = check_token((yield FetchToken(self.source.get_token)))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield Send(request, stream, deadline)
        if response.status_code != 401:
            return response
        yield Close(response)
        log.info("401 from %s: refreshing the Entra ID token and sending again", request.url.path)
        refresh = functools.partial(self.source.get_token, force_refresh=True, stale_token=token)
        token = check_token((yield FetchToken(refresh)))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield Send(request, stream, deadline)
        return response


def check_token(value: object) -> str:
    """Validate what a token provider returned, without ever echoing the value."""
    if isinstance(value, str):
        token = value.strip()  # e.g. `az account get-access-token` output keeps its newline
        if token:
            return token
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited: close it so Python does not warn about it
        raise ConfigurationError(
            "azure_ad_token_provider returned an awaitable, but the sync AnthropicFoundry client "
            "needs a provider that returns a str. Use AsyncAnthropicFoundry for an async "
            "provider, or azure.identity.get_bearer_token_provider with a sync credential."
        )
    what = "an empty string" if isinstance(value, str) else f"a {type(value).__name__}"
    raise ConfigurationError(
        f"azure_ad_token_provider returned {what}; it must return the access token as a "
        "non-empty str (for example azure.identity.get_bearer_token_provider("
        "DefaultAzureCredential(), 'https://ai.azure.com/.default'))."
    )
