from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError

from claude_foundry._errors import AnthropicError, ConfigurationError
from claude_foundry._token_cache import (
    DEFAULT_TOKEN_SCOPE,
    AsyncCredentialTokenSource,
    CachedToken,
    CredentialTokenSource,
    EntraTokenError,
    TokenAction,
    TokenCache,
    redact_secrets,
)

START = 1_800_000_000.0
SECRET_LOOKING = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class InfoCredential:
    """A sync credential with get_token_info, like azure-identity's."""

    def __init__(
        self,
        clock: FakeClock,
        *,
        lifetime: float = 3600,
        refresh_in: float | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.refresh_in = refresh_in
        self.gate = gate
        self.entered = threading.Event()
        self.calls = 0
        self.scopes: list[tuple[str, ...]] = []
        self.options: list[Any] = []
        self.fail_with: Exception | None = None
        self._count_lock = threading.Lock()

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        with self._count_lock:
            self.calls += 1
            number = self.calls
        self.scopes.append(scopes)
        self.options.append(options)
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=10)
        if self.fail_with is not None:
            raise self.fail_with
        now = self.clock()
        refresh_on = int(now + self.refresh_in) if self.refresh_in is not None else None
        return AccessTokenInfo(f"token-{number}", int(now + self.lifetime), refresh_on=refresh_on)


class PlainCredential:
    """A credential with only get_token (older azure-core protocol)."""

    def __init__(self, clock: FakeClock, lifetime: float = 3600) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.kwargs: list[dict[str, Any]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        self.kwargs.append(kwargs)
        return AccessToken(f"plain-{self.calls}", int(self.clock() + self.lifetime))


class AsyncInfoCredential:
    def __init__(self, clock: FakeClock, *, lifetime: float = 3600) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.fail_with: Exception | None = None

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.calls += 1
        number = self.calls
        for _ in range(5):  # let every other task reach the token source meanwhile
            await asyncio.sleep(0)
        if self.fail_with is not None:
            raise self.fail_with
        return AccessTokenInfo(f"async-{number}", int(self.clock() + self.lifetime))


# -- the sans-IO cache -------------------------------------------------------------------------


def test_empty_cache_refreshes_and_waits() -> None:
    cache = TokenCache()
    assert cache.decide(START).action is TokenAction.REFRESH_AND_WAIT


def test_cache_windows_for_an_hour_token() -> None:
    cache = TokenCache()
    token = cache.store("t", expires_on=START + 3600, now=START, refresh_on=None)
    assert cache.refresh_at(token) == START + 3300
    assert cache.usable_until(token) == START + 3570
    assert cache.decide(START + 3299).action is TokenAction.USE_CACHED
    assert cache.decide(START + 3300).action is TokenAction.REFRESH_EARLY
    assert cache.decide(START + 3570).action is TokenAction.REFRESH_AND_WAIT


def test_short_lived_tokens_are_not_refreshed_on_every_call() -> None:
    cache = TokenCache()
    token = cache.store("t", expires_on=START + 10, now=START, refresh_on=None)
    assert cache.refresh_at(token) == START + 8
    assert cache.usable_until(token) == START + 9
    assert cache.decide(START + 7.9).action is TokenAction.USE_CACHED
    assert cache.decide(START + 8.1).action is TokenAction.REFRESH_EARLY
    assert cache.decide(START + 9).action is TokenAction.REFRESH_AND_WAIT


def test_refresh_on_wins_over_the_margin() -> None:
    cache = TokenCache()
    token = cache.store("t", expires_on=START + 7200, now=START, refresh_on=START + 600)
    assert cache.refresh_at(token) == START + 600
    assert cache.decide(START + 599).action is TokenAction.USE_CACHED
    assert cache.decide(START + 600).action is TokenAction.REFRESH_EARLY


def test_forced_refresh_is_satisfied_by_a_newer_token() -> None:
    cache = TokenCache()
    cache.store("old", expires_on=START + 3600, now=START, refresh_on=None)
    assert cache.decide(START, force_refresh=True, stale_token="old").action is (
        TokenAction.REFRESH_AND_WAIT
    )
    seen = cache.generation
    cache.store("new", expires_on=START + 3600, now=START, refresh_on=None)
    assert cache.decide(START, force_refresh=True, stale_token="old").action is (
        TokenAction.USE_CACHED
    )
    assert cache.decide(START, force_refresh=True, seen_generation=seen).action is (
        TokenAction.USE_CACHED
    )
    assert cache.decide(START, force_refresh=True).action is TokenAction.REFRESH_AND_WAIT


def test_failed_early_refresh_backs_off_then_tries_again() -> None:
    cache = TokenCache()
    cache.store("t", expires_on=START + 3600, now=START, refresh_on=None)
    cache.note_early_refresh_failed(START + 3300)
    assert cache.decide(START + 3310).action is TokenAction.USE_CACHED
    assert cache.decide(START + 3331).action is TokenAction.REFRESH_EARLY


def test_negative_margins_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="must not be negative"):
        TokenCache(refresh_margin_s=-1)


def test_cached_token_repr_hides_the_value() -> None:
    token = CachedToken(value=SECRET_LOOKING, expires_on=START + 1, obtained_at=START)
    assert SECRET_LOOKING not in repr(token)


# -- the sync source ---------------------------------------------------------------------------


def test_one_credential_call_per_lifetime_for_sequential_requests() -> None:
    clock = FakeClock()
    credential = InfoCredential(clock)
    source = CredentialTokenSource(credential, clock=clock)
    tokens = set()
    for _ in range(200):
        tokens.add(source.get_token())
        clock.advance(10)  # 2,000 s: well inside the hour
    assert credential.calls == 1
    assert tokens == {"token-1"}
    assert credential.scopes == [(DEFAULT_TOKEN_SCOPE,)]
    clock.advance(1400)  # past the refresh point, before expiry
    assert source.get_token() == "token-2"
    assert credential.calls == 2


def test_fifty_threads_share_one_credential_call() -> None:
    clock = FakeClock()
    gate = threading.Event()
    credential = InfoCredential(clock, gate=gate)
    source = CredentialTokenSource(credential, clock=clock)
    start = threading.Barrier(51)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait(timeout=10)
        try:
            results.append(source.get_token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    start.wait(timeout=10)
    assert credential.entered.wait(timeout=10)
    gate.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert results == ["token-1"] * 50
    assert credential.calls == 1


def test_early_refresh_does_not_block_other_threads() -> None:
    clock = FakeClock()
    credential = InfoCredential(clock)
    source = CredentialTokenSource(credential, clock=clock)
    assert source.get_token() == "token-1"
    clock.advance(3400)  # in the refresh window; still valid
    gate = threading.Event()
    credential.gate = gate
    credential.entered.clear()
    refreshed: list[str] = []
    refresher = threading.Thread(target=lambda: refreshed.append(source.get_token()))
    refresher.start()
    assert credential.entered.wait(timeout=10)
    # The refresh is in flight: others get the cached token at once.
    assert [source.get_token() for _ in range(20)] == ["token-1"] * 20
    gate.set()
    refresher.join(timeout=10)
    assert refreshed == ["token-2"]
    assert source.get_token() == "token-2"
    assert credential.calls == 2


def test_refresh_on_is_honoured() -> None:
    clock = FakeClock()
    credential = InfoCredential(clock, lifetime=7200, refresh_in=600)
    source = CredentialTokenSource(credential, clock=clock)
    assert source.get_token() == "token-1"
    clock.advance(599)
    assert source.get_token() == "token-1"
    clock.advance(2)
    assert source.get_token() == "token-2"


def test_force_refresh_after_401_is_single_flight() -> None:
    clock = FakeClock()
    credential = InfoCredential(clock)
    source = CredentialTokenSource(credential, clock=clock)
    rejected = source.get_token()
    gate = threading.Event()
    credential.gate = gate
    credential.entered.clear()
    start = threading.Barrier(51)
    results: list[str] = []

    def worker() -> None:
        start.wait(timeout=10)
        results.append(source.get_token(force_refresh=True, stale_token=rejected))

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    start.wait(timeout=10)
    assert credential.entered.wait(timeout=10)
    gate.set()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["token-2"] * 50
    assert credential.calls == 2
    # A late 401 for the same old token does not refresh again.
    assert source.get_token(force_refresh=True, stale_token=rejected) == "token-2"
    assert credential.calls == 2


def test_force_refresh_without_stale_token_always_refreshes() -> None:
    clock = FakeClock()
    credential = InfoCredential(clock)
    source = CredentialTokenSource(credential, clock=clock)
    source.get_token()
    assert source.get_token(force_refresh=True) == "token-2"
    assert credential.calls == 2


def test_get_token_fallback_and_tenant() -> None:
    clock = FakeClock()
    credential = PlainCredential(clock)
    source = CredentialTokenSource(
        credential, "https://cognitiveservices.azure.com/.default", tenant_id="t-1", clock=clock
    )
    assert source.get_token() == "plain-1"
    assert source.get_token() == "plain-1"
    assert credential.kwargs == [{"tenant_id": "t-1"}]


def test_tenant_goes_into_token_info_options() -> None:
    clock = FakeClock()
    credential = InfoCredential(clock)
    CredentialTokenSource(credential, tenant_id="t-2", clock=clock).get_token()
    assert credential.options == [{"tenant_id": "t-2"}]


def test_credential_errors_are_wrapped_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    credential = InfoCredential(clock)
    credential.fail_with = ClientAuthenticationError(
        f"DefaultAzureCredential failed. Authorization: Bearer {SECRET_LOOKING} rejected"
    )
    source = CredentialTokenSource(credential, tenant_id="contoso-tenant", clock=clock)
    with pytest.raises(EntraTokenError) as caught:
        source.get_token()
    error = caught.value
    assert isinstance(error, AnthropicError)
    assert error.__cause__ is credential.fail_with
    message = str(error)
    assert DEFAULT_TOKEN_SCOPE in message
    assert "contoso-tenant" in message
    assert "az login --tenant contoso-tenant" in message
    assert "managed identity" in message
    assert "Foundry User" in message
    assert "ClientAuthenticationError" in message
    assert SECRET_LOOKING not in message
    assert error.scope == DEFAULT_TOKEN_SCOPE
    assert error.tenant_id == "contoso-tenant"
    assert error.credential_name == "InfoCredential"
    assert SECRET_LOOKING not in caplog.text


def test_tokens_never_reach_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    credential = InfoCredential(clock)
    source = CredentialTokenSource(credential, clock=clock)
    token = source.get_token()
    assert token not in repr(source)
    assert token not in repr(source.cache.token)
    assert token not in caplog.text
    assert "refreshed" in caplog.text


def test_failed_early_refresh_keeps_the_valid_token(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    credential = InfoCredential(clock)
    source = CredentialTokenSource(credential, clock=clock)
    assert source.get_token() == "token-1"
    clock.advance(3400)
    credential.fail_with = ClientAuthenticationError("network down")
    with caplog.at_level(logging.WARNING, logger="claude_foundry.auth"):
        assert source.get_token() == "token-1"
    assert "Early refresh" in caplog.text
    assert "token-1" not in caplog.text
    assert source.get_token() == "token-1"  # backing off: no second call yet
    assert credential.calls == 2
    clock.advance(200)  # now past the usable window: the failure surfaces
    with pytest.raises(EntraTokenError, match="network down"):
        source.get_token()


def test_redact_secrets() -> None:
    text = f"got {SECRET_LOOKING} and Bearer abc.def and my-key"
    redacted = redact_secrets(text, "my-key")
    assert SECRET_LOOKING not in redacted
    assert "abc.def" not in redacted
    assert "my-key" not in redacted


class _NotACredential:
    pass


def test_bad_credentials_and_results_have_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="azure_ad_token_provider"):
        CredentialTokenSource(_NotACredential())
    with pytest.raises(ConfigurationError, match="async credential"):
        CredentialTokenSource(AsyncInfoCredential(FakeClock()))
    with pytest.raises(ConfigurationError, match="token_scope"):
        CredentialTokenSource(PlainCredential(FakeClock()), " ")

    class EmptyToken:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("", int(START + 3600))

    with pytest.raises(EntraTokenError, match="non-empty string"):
        CredentialTokenSource(EmptyToken()).get_token()


# -- the async source --------------------------------------------------------------------------


async def test_fifty_tasks_share_one_credential_call() -> None:
    clock = FakeClock()
    credential = AsyncInfoCredential(clock)
    source = AsyncCredentialTokenSource(credential, clock=clock)
    results = await asyncio.gather(*(source.get_token() for _ in range(50)))
    assert results == ["async-1"] * 50
    assert credential.calls == 1
    for _ in range(100):
        clock.advance(10)
        assert await source.get_token() == "async-1"
    assert credential.calls == 1


async def test_async_early_refresh_and_forced_refresh() -> None:
    clock = FakeClock()
    credential = AsyncInfoCredential(clock)
    source = AsyncCredentialTokenSource(credential, clock=clock)
    rejected = await source.get_token()
    clock.advance(3400)
    results = await asyncio.gather(*(source.get_token() for _ in range(50)))
    assert set(results) <= {"async-1", "async-2"}
    assert credential.calls == 2
    assert await source.get_token() == "async-2"
    forced = await asyncio.gather(
        *(source.get_token(force_refresh=True, stale_token="async-2") for _ in range(50))
    )
    assert forced == ["async-3"] * 50
    assert credential.calls == 3
    assert await source.get_token(force_refresh=True, stale_token=rejected) == "async-3"
    assert credential.calls == 3


async def test_async_errors_are_wrapped() -> None:
    clock = FakeClock()
    credential = AsyncInfoCredential(clock)
    credential.fail_with = ClientAuthenticationError("no az login")
    source = AsyncCredentialTokenSource(credential, "https://ai.azure.com/.default", clock=clock)
    with pytest.raises(EntraTokenError, match="az login") as caught:
        await source.get_token()
    assert caught.value.__cause__ is credential.fail_with


async def test_async_source_accepts_a_sync_credential() -> None:
    clock = FakeClock()
    credential = InfoCredential(clock)
    source = AsyncCredentialTokenSource(credential, clock=clock)
    results = await asyncio.gather(*(source.get_token() for _ in range(50)))
    assert results == ["token-1"] * 50
    assert credential.calls == 1


def test_async_source_survives_a_new_event_loop() -> None:
    clock = FakeClock()
    credential = AsyncInfoCredential(clock)
    source = AsyncCredentialTokenSource(credential, clock=clock)
    assert asyncio.run(source.get_token()) == "async-1"
    clock.advance(3600)
    assert asyncio.run(source.get_token()) == "async-2"
