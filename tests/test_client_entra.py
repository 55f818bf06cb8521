"""Microsoft Entra ID with both clients, against an emulator that verifies real signed tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from claude_foundry import (
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    AuthenticationError,
    ConfigurationError,
    OverloadedError,
)
from claude_foundry.emulator import Emulator
from claude_foundry.emulator.entra import EntraDirectory
from claude_foundry.emulator.entra_config import EntraSettings
from claude_foundry.emulator.journal import JournalEntry

HI = [{"role": "user", "content": "hi"}]
FAST = {"retry_after_ms": 1}


@pytest.fixture(scope="module")
def directory() -> EntraDirectory:
    return EntraDirectory(EntraSettings(enabled=True))


@pytest.fixture(scope="module")
def entra_emulator_session(directory: EntraDirectory) -> Iterator[Emulator]:
    with Emulator(api_key="test-key", token_verifier=directory.authenticator()) as emulator:
        yield emulator


@pytest.fixture
def emu(entra_emulator_session: Emulator) -> Emulator:
    entra_emulator_session.reset()
    return entra_emulator_session


@pytest.fixture
def model(emu: Emulator) -> str:
    return next(iter(emu.state.config.deployments))


def journal(emu: Emulator, count: int) -> list[JournalEntry]:
    deadline = time.monotonic() + 5
    while len(emu.journal()) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return emu.journal()


class CountingProvider:
    def __init__(self, directory: EntraDirectory) -> None:
        self.directory = directory
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.directory.issue_token().access_token


def assert_bearer_only(entries: list[JournalEntry]) -> None:
    for entry in entries:
        assert entry.headers["authorization"] == "[redacted]"
        assert "x-api-key" not in entry.headers
        assert "api-key" not in entry.headers


def test_sync_client_with_token_provider(
    emu: Emulator, directory: EntraDirectory, model: str
) -> None:
    provider = CountingProvider(directory)
    emu.add_fault(kind="status", status=529, count=1, **FAST)
    with AnthropicFoundry(base_url=emu.base_url, azure_ad_token_provider=provider) as client:
        assert client.auth_mode == "entra-id"
        message = client.messages.create(model=model, max_tokens=32, messages=HI)
        with client.messages.stream(model=model, max_tokens=32, messages=HI) as stream:
            assert stream.get_final_text()
    assert message.content
    assert provider.calls == 3  # one token per attempt: 529, retry, then the stream
    assert_bearer_only(journal(emu, 3))


async def test_async_client_with_async_provider(
    emu: Emulator, directory: EntraDirectory, model: str
) -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return directory.issue_token().access_token

    emu.add_fault(kind="status", status=503, count=1, **FAST)
    async with AsyncAnthropicFoundry(
        base_url=emu.base_url, azure_ad_token_provider=provider
    ) as client:
        message = await client.messages.create(model=model, max_tokens=32, messages=HI)
        count = await client.messages.count_tokens(model=model, messages=HI)
    assert message.content
    assert count.input_tokens > 0
    assert calls == 3
    assert_bearer_only(journal(emu, 3))


async def test_async_client_with_sync_provider(
    emu: Emulator, directory: EntraDirectory, model: str
) -> None:
    provider = CountingProvider(directory)
    async with (
        AsyncAnthropicFoundry(base_url=emu.base_url, azure_ad_token_provider=provider) as client,
        client.messages.stream(model=model, max_tokens=32, messages=HI) as stream,
    ):
        assert await stream.get_final_text()
    assert provider.calls == 1


def test_sync_client_given_an_async_provider_explains(emu: Emulator) -> None:
    async def provider() -> str:
        return "never used"

    client = AnthropicFoundry(base_url=emu.base_url, azure_ad_token_provider=provider)
    with pytest.raises(ConfigurationError, match="AsyncAnthropicFoundry"):
        client.messages.create(model="m", max_tokens=8, messages=HI)
    assert emu.journal() == []


def test_expired_token_is_an_authentication_error(
    emu: Emulator, directory: EntraDirectory, model: str
) -> None:
    expired = directory.issue_token(lifetime_s=-600).access_token
    client = AnthropicFoundry(base_url=emu.base_url, azure_ad_token_provider=lambda: expired)
    with pytest.raises(AuthenticationError) as info:
        client.messages.create(model=model, max_tokens=8, messages=HI)
    assert expired not in str(info.value)
    assert "token" in info.value.hint
    assert len(journal(emu, 1)) == 1  # 401 is not retried


def test_provider_exception_propagates_unchanged(emu: Emulator) -> None:
    class CredentialUnavailable(Exception):
        pass

    def provider() -> str:
        raise CredentialUnavailable("run az login")

    client = AnthropicFoundry(base_url=emu.base_url, azure_ad_token_provider=provider)
    with pytest.raises(CredentialUnavailable, match="az login"):
        client.messages.create(model="m", max_tokens=8, messages=HI)


def test_extra_headers_can_override_the_bearer(emu: Emulator, model: str) -> None:
    client = AnthropicFoundry(base_url=emu.base_url, azure_ad_token_provider=lambda: "ignored")
    message = client.messages.create(
        model=model,
        max_tokens=8,
        messages=HI,
        extra_headers={"Authorization": "", "x-api-key": emu.api_key},
    )
    assert message.content


def test_retries_exhausted_with_a_provider(
    emu: Emulator, directory: EntraDirectory, model: str
) -> None:
    provider = CountingProvider(directory)
    emu.add_fault(kind="status", status=529, count=None, **FAST)
    client = AnthropicFoundry(
        base_url=emu.base_url, azure_ad_token_provider=provider, max_retries=1
    )
    with pytest.raises(OverloadedError):
        client.messages.create(model=model, max_tokens=8, messages=HI)
    assert provider.calls == 2
