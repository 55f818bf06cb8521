"""Microsoft Entra ID access tokens: an expiry-aware cache with single-flight refresh.

:class:`TokenCache` holds the decisions and no I/O: given the time, the cached token and what the
caller knows, it answers "use the cached token", "refresh early" (the token is still good; one
caller refreshes, the others keep using it) or "refresh and wait" (no usable token; every caller
waits for one refresh). :class:`CredentialTokenSource` (threads) and
:class:`AsyncCredentialTokenSource` (asyncio) only call the credential under a lock.

>>> from azure.identity import DefaultAzureCredential  # doctest: +SKIP
>>> source = CredentialTokenSource(DefaultAzureCredential())  # doctest: +SKIP
>>> source.get_token()  # one credential call per token lifetime  # doctest: +SKIP

After a 401, ``get_token(force_refresh=True, stale_token=sent)`` refreshes once, however many
requests were rejected with the same token.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._errors import ConfigurationError, EntraTokenError

__all__ = [
    "DEFAULT_TOKEN_SCOPE",
    "AsyncCredentialTokenSource",
    "CachedToken",
    "CredentialTokenSource",
    "EntraTokenError",
    "TokenAction",
    "TokenCache",
    "TokenDecision",
    "redact_secrets",
    "token_from_credential_result",
]

DEFAULT_TOKEN_SCOPE = "https://ai.azure.com/.default"

logger = logging.getLogger("claude_foundry.auth")

Clock = Callable[[], float]


_JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")


def redact_secrets(text: str, *known_secrets: str) -> str:
    """Remove anything that looks like a token (JWTs, bearer values, known secrets) from text."""
    for secret in known_secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = _JWT_LIKE.sub("[redacted token]", text)
    return _BEARER.sub(r"\1[redacted]", text)


def _fix_advice(scope: str, tenant_id: str | None) -> str:
    resource = scope.removesuffix("/.default")
    tenant_flag = f" --tenant {tenant_id}" if tenant_id else ""
    return (
        f"To fix: sign in with `az login{tenant_flag}` (check with `az account get-access-token "
        f"--resource {resource}`), or run where a managed identity is assigned; the identity needs "
        "the Foundry User (formerly Azure AI User) or Cognitive Services User role on the Foundry "
        "resource. If the scope is wrong, pass token_scope= (Foundry accepts "
        "https://ai.azure.com/.default and https://cognitiveservices.azure.com/.default)."
    )


def _credential_error(
    problem: str,
    *,
    scope: str,
    tenant_id: str | None,
    credential: object,
    cause: BaseException | None = None,
    known_secrets: tuple[str, ...] = (),
) -> EntraTokenError:
    credential_name = type(credential).__name__
    tenant = f" (tenant {tenant_id})" if tenant_id else ""
    detail = ""
    if cause is not None:
        cause_text = redact_secrets(str(cause), *known_secrets).strip()
        if len(cause_text) > 600:
            cause_text = cause_text[:600] + " ..."
        cause_name = type(cause).__name__
        detail = f" {cause_name}: {cause_text}" if cause_text else f" {cause_name}."
    message = (
        f"Could not get a Microsoft Entra ID token for scope {scope}{tenant} from "
        f"{credential_name}: {problem}{detail} {_fix_advice(scope, tenant_id)}"
    )
    return EntraTokenError(
        message, scope=scope, tenant_id=tenant_id, credential_name=credential_name
    )


@dataclass(frozen=True, slots=True)
class CachedToken:
    """A token and its times (Unix seconds). The value never appears in a repr."""

    value: str = field(repr=False)
    expires_on: float
    obtained_at: float
    refresh_on: float | None = None
    generation: int = 0

    @property
    def lifetime(self) -> float:
        return max(self.expires_on - self.obtained_at, 0.0)


class TokenAction(enum.Enum):
    USE_CACHED = "use_cached"
    REFRESH_EARLY = "refresh_early"
    """Still usable: whoever can claim the refresh does it; everyone else uses the cached token."""
    REFRESH_AND_WAIT = "refresh_and_wait"
    """Missing, expired or rejected: every caller waits for the one refresh."""


class TokenDecision(NamedTuple):
    action: TokenAction
    token: CachedToken | None


def _cached_value(decision: TokenDecision) -> str | None:
    """The token to send as it is, when the decision is to use the cached one."""
    if decision.action is TokenAction.USE_CACHED and decision.token is not None:
        return decision.token.value
    return None


class TokenCache:
    """The sans-IO state: when to use, refresh early or refresh and wait.

    A token is refreshed at its ``refresh_on`` when the credential gives one, else
    ``refresh_margin_s`` before expiry (at most a fifth of its lifetime, so a short-lived token
    still serves most of its life). It stops being used ``expiry_margin_s`` before expiry (at
    most a tenth of its lifetime) so that a request in flight does not arrive with it expired.
    """

    def __init__(self, *, refresh_margin_s: float = 300.0, expiry_margin_s: float = 30.0) -> None:
        if refresh_margin_s < 0 or expiry_margin_s < 0:
            raise ConfigurationError("refresh_margin_s and expiry_margin_s must not be negative")
        self.refresh_margin_s = refresh_margin_s
        self.expiry_margin_s = expiry_margin_s
        self._token: CachedToken | None = None
        self._generation = 0
        self._early_refresh_failed_at: float | None = None

    @property
    def token(self) -> CachedToken | None:
        return self._token

    def usable_until(self, token: CachedToken) -> float:
        return token.expires_on - min(self.expiry_margin_s, token.lifetime * 0.1)

    def refresh_at(self, token: CachedToken) -> float:
        cutoff = self.usable_until(token)
        if token.refresh_on is not None:
            return min(token.refresh_on, cutoff)
        return min(token.expires_on - min(self.refresh_margin_s, token.lifetime * 0.2), cutoff)

    def decide(
        self,
        now: float,
        *,
        force_refresh: bool = False,
        stale_token: str | None = None,
        seen_generation: int | None = None,
    ) -> TokenDecision:
        """What a caller should do now.

        ``force_refresh`` (after a 401) is satisfied by a token newer than the rejected one: the
        ``stale_token`` value the caller sent, or else any token stored after ``seen_generation``
        (the generation the caller saw before it waited for the lock).
        """
        token = self._token
        if token is None or now >= self.usable_until(token):
            return TokenDecision(TokenAction.REFRESH_AND_WAIT, token)
        if force_refresh:
            if stale_token is not None:
                replaced = token.value != stale_token
            else:
                replaced = seen_generation is not None and token.generation != seen_generation
            action = TokenAction.USE_CACHED if replaced else TokenAction.REFRESH_AND_WAIT
            return TokenDecision(action, token)
        if now >= self.refresh_at(token) and not self._backing_off(token, now):
            return TokenDecision(TokenAction.REFRESH_EARLY, token)
        return TokenDecision(TokenAction.USE_CACHED, token)

    @property
    def generation(self) -> int:
        return self._generation

    def store(
        self, value: str, *, expires_on: float, now: float, refresh_on: float | None
    ) -> CachedToken:
        self._generation += 1
        token = CachedToken(
            value=value,
            expires_on=expires_on,
            obtained_at=now,
            refresh_on=refresh_on,
            generation=self._generation,
        )
        self._token = token
        self._early_refresh_failed_at = None
        return token

    def note_early_refresh_failed(self, now: float) -> None:
        """Keep the still-valid token and wait a little before the next early attempt."""
        self._early_refresh_failed_at = now

    def _backing_off(self, token: CachedToken, now: float) -> bool:
        failed_at = self._early_refresh_failed_at
        if failed_at is None:
            return False
        return now < failed_at + min(30.0, token.lifetime / 10)


def token_from_credential_result(
    result: object, *, scope: str, tenant_id: str | None, credential: object
) -> tuple[str, float, float | None]:
    """(token, expires_on, refresh_on) from an AccessToken / AccessTokenInfo-shaped result."""
    value = getattr(result, "token", None)
    expires_on = getattr(result, "expires_on", None)
    refresh_on = getattr(result, "refresh_on", None)
    if not isinstance(value, str) or not value:
        raise _credential_error(
            f"get_token returned {type(result).__name__} without a non-empty string `token`.",
            scope=scope,
            tenant_id=tenant_id,
            credential=credential,
        )
    if isinstance(expires_on, bool) or not isinstance(expires_on, int | float):
        raise _credential_error(
            f"get_token returned {type(result).__name__} without a numeric `expires_on`.",
            scope=scope,
            tenant_id=tenant_id,
            credential=credential,
        )
    if isinstance(refresh_on, bool) or not isinstance(refresh_on, int | float) or refresh_on <= 0:
        refresh_on = None
    return value, float(expires_on), None if refresh_on is None else float(refresh_on)


class _TokenSourceBase:
    def __init__(
        self,
        credential: Any,
        scope: str,
        *,
        tenant_id: str | None,
        clock: Clock,
        refresh_margin_s: float,
        expiry_margin_s: float,
    ) -> None:
        if not isinstance(scope, str) or not scope.strip():
            raise ConfigurationError(
                "token_scope must be a non-empty string such as "
                f"{DEFAULT_TOKEN_SCOPE!r}; got {scope!r}."
            )
        if not callable(getattr(credential, "get_token", None)) and not callable(
            getattr(credential, "get_token_info", None)
        ):
            raise ConfigurationError(
                f"credential must be an azure-identity credential with get_token() or "
                f"get_token_info() (for example DefaultAzureCredential()); got "
                f"{type(credential).__name__}. For a callable that returns a token string, pass "
                "azure_ad_token_provider= instead."
            )
        self.credential = credential
        method = getattr(credential, "get_token_info", None) or credential.get_token
        self._credential_is_async = inspect.iscoroutinefunction(method)
        self.scope = scope.strip()
        self.tenant_id = tenant_id
        self._clock = clock
        self._cache = TokenCache(refresh_margin_s=refresh_margin_s, expiry_margin_s=expiry_margin_s)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(credential={type(self.credential).__name__}, "
            f"scope={self.scope!r})"
        )

    @property
    def cache(self) -> TokenCache:
        return self._cache

    def _call_credential(self) -> object:
        """Start the credential call: a result, or an awaitable from an async credential."""
        get_token_info = getattr(self.credential, "get_token_info", None)
        if callable(get_token_info):
            if self.tenant_id:
                return get_token_info(self.scope, options={"tenant_id": self.tenant_id})
            return get_token_info(self.scope)
        if self.tenant_id:
            return self.credential.get_token(self.scope, tenant_id=self.tenant_id)
        return self.credential.get_token(self.scope)

    def _wrap_failure(self, exc: BaseException) -> EntraTokenError:
        known = (self._cache.token.value,) if self._cache.token is not None else ()
        return _credential_error(
            "the credential raised.",
            scope=self.scope,
            tenant_id=self.tenant_id,
            credential=self.credential,
            cause=exc,
            known_secrets=known,
        )

    def _store(self, result: object, now: float) -> CachedToken:
        value, expires_on, refresh_on = token_from_credential_result(
            result, scope=self.scope, tenant_id=self.tenant_id, credential=self.credential
        )
        token = self._cache.store(value, expires_on=expires_on, now=now, refresh_on=refresh_on)
        logger.debug(
            "Entra ID token for %s refreshed; expires in %.0f s",
            self.scope,
            token.expires_on - now,
        )
        return token

    def _keep_after_failed_early_refresh(self, exc: EntraTokenError, now: float) -> None:
        self._cache.note_early_refresh_failed(now)
        logger.warning(
            "Early refresh of the Entra ID token for %s failed; the current token stays in use "
            "until it nears expiry. %s",
            self.scope,
            exc.message,
        )


class CredentialTokenSource(_TokenSourceBase):
    """Tokens from a sync azure-identity ``TokenCredential``, shared safely by many threads."""

    def __init__(
        self,
        credential: Any,
        scope: str = DEFAULT_TOKEN_SCOPE,
        *,
        tenant_id: str | None = None,
        clock: Clock = time.time,
        refresh_margin_s: float = 300.0,
        expiry_margin_s: float = 30.0,
    ) -> None:
        super().__init__(
            credential,
            scope,
            tenant_id=tenant_id,
            clock=clock,
            refresh_margin_s=refresh_margin_s,
            expiry_margin_s=expiry_margin_s,
        )
        if self._credential_is_async:
            raise ConfigurationError(
                f"{type(credential).__name__} is an async credential (azure.identity.aio); "
                "the sync client needs a sync one (azure.identity), or use AsyncAnthropicFoundry."
            )
        self._lock = threading.Lock()

    def get_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str:
        """A usable token; ``force_refresh`` after the service rejected ``stale_token`` (a 401)."""
        seen = self._cache.generation
        decision = self._cache.decide(
            self._clock(), force_refresh=force_refresh, stale_token=stale_token
        )
        cached = _cached_value(decision)
        if cached is not None:
            return cached
        if decision.action is TokenAction.REFRESH_EARLY and decision.token is not None:
            if not self._lock.acquire(blocking=False):
                return decision.token.value  # someone else is refreshing it
            try:
                return self._refresh_early()
            finally:
                self._lock.release()
        with self._lock:
            decision = self._cache.decide(
                self._clock(),
                force_refresh=force_refresh,
                stale_token=stale_token,
                seen_generation=seen,
            )
            cached = _cached_value(decision)
            if cached is not None:
                return cached
            return self._fetch().value

    def _refresh_early(self) -> str:
        now = self._clock()
        decision = self._cache.decide(now)
        cached = _cached_value(decision)
        if cached is not None:
            return cached  # refreshed while we reached the lock
        try:
            return self._fetch().value
        except EntraTokenError as exc:
            if decision.action is TokenAction.REFRESH_EARLY and decision.token is not None:
                self._keep_after_failed_early_refresh(exc, now)
                return decision.token.value
            raise

    def _fetch(self) -> CachedToken:
        try:
            result = self._call_credential()
        except Exception as exc:
            raise self._wrap_failure(exc) from exc
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise ConfigurationError(
                f"{type(self.credential).__name__}.get_token returned an awaitable; the sync "
                "client needs a sync credential (azure.identity), or use AsyncAnthropicFoundry."
            )
        return self._store(result, self._clock())


class AsyncCredentialTokenSource(_TokenSourceBase):
    """Tokens from an azure-identity ``AsyncTokenCredential``.

    A sync credential works too: it is called in a worker thread so the event loop keeps running.
    """

    def __init__(
        self,
        credential: Any,
        scope: str = DEFAULT_TOKEN_SCOPE,
        *,
        tenant_id: str | None = None,
        clock: Clock = time.time,
        refresh_margin_s: float = 300.0,
        expiry_margin_s: float = 30.0,
    ) -> None:
        super().__init__(
            credential,
            scope,
            tenant_id=tenant_id,
            clock=clock,
            refresh_margin_s=refresh_margin_s,
            expiry_margin_s=expiry_margin_s,
        )
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _loop_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; a client may outlive its loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    async def get_token(
        self, force_refresh: bool = False, *, stale_token: str | None = None
    ) -> str:
        """A usable token; ``force_refresh`` after the service rejected ``stale_token`` (a 401)."""
        seen = self._cache.generation
        decision = self._cache.decide(
            self._clock(), force_refresh=force_refresh, stale_token=stale_token
        )
        cached = _cached_value(decision)
        if cached is not None:
            return cached
        lock = self._loop_lock()
        if decision.action is TokenAction.REFRESH_EARLY and decision.token is not None:
            if lock.locked():
                return decision.token.value  # someone else is refreshing it
            async with lock:
                return await self._refresh_early()
        async with lock:
            decision = self._cache.decide(
                self._clock(),
                force_refresh=force_refresh,
                stale_token=stale_token,
                seen_generation=seen,
            )
            cached = _cached_value(decision)
            if cached is not None:
                return cached
            return (await self._fetch()).value

    async def _refresh_early(self) -> str:
        now = self._clock()
        decision = self._cache.decide(now)
        cached = _cached_value(decision)
        if cached is not None:
            return cached  # refreshed while we reached the lock
        try:
            return (await self._fetch()).value
        except EntraTokenError as exc:
            if decision.action is TokenAction.REFRESH_EARLY and decision.token is not None:
                self._keep_after_failed_early_refresh(exc, now)
                return decision.token.value
            raise

    async def _fetch(self) -> CachedToken:
        try:
            if self._credential_is_async:
                result = self._call_credential()
            else:
                result = await asyncio.to_thread(self._call_credential)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            raise self._wrap_failure(exc) from exc
        return self._store(result, self._clock())
