"""Microsoft Entra ID end to end: azure-identity, the client and the emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from azure.core.credentials import AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential, get_bearer_token_provider

from claude_foundry import (
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    AuthenticationError,
    EntraTokenError,
    PermissionDeniedError,
)
from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.emulator.entra import EntraDirectory

MODEL = "claude-sonnet-4-6"
HELLO = [{"role": "user", "content": "Hello!"}]

_OTHER_CREDENTIAL_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_TOKEN_CREDENTIALS",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "ANTHROPIC_FOUNDRY_API_KEY",
    "ANTHROPIC_FOUNDRY_RESOURCE",
    "ANTHROPIC_FOUNDRY_BASE_URL",
)


def _entra_emulator(**entra: Any) -> Emulator:
    config = EmulatorConfig.from_mapping(
        {
            "entra": {
                "enabled": True,
                "principals": [
                    {"name": "app", "roles": ["Cognitive Services User"]},
                    {"name": "legacy", "roles": ["Cognitive Services OpenAI User"]},
                ],
                **entra,
            }
        }
    )
    return Emulator(config)


@pytest.fixture(scope="module")
def entra_emulator() -> Iterator[Emulator]:
    with _entra_emulator() as emulator:
        yield emulator


@pytest.fixture
def emu(entra_emulator: Emulator) -> Emulator:
    entra_emulator.reset()
    return entra_emulator


def directory_of(emulator: Emulator) -> EntraDirectory:
    directory = emulator.state.entra
    assert directory is not None
    return directory


def point_azure_identity_at(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, **extra: str
) -> None:
    """Only environment variables, as on an App Service with a managed identity."""
    for name in _OTHER_CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in directory_of(emulator).managed_identity_environment(emulator.url).items():
        monkeypatch.setenv(name, value)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    "scope", ["https://ai.azure.com/.default", "https://cognitiveservices.azure.com/.default"]
)
def test_the_seed_entra_example_runs_against_the_emulator(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, scope: str
) -> None:
    point_azure_identity_at(emu, monkeypatch, ANTHROPIC_FOUNDRY_BASE_URL=emu.base_url)

    token_provider = get_bearer_token_provider(DefaultAzureCredential(), scope)
    client = AnthropicFoundry(azure_ad_token_provider=token_provider)
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=HELLO)

    assert message.content[0].type == "text"
    entry = emu.journal()[-1]
    assert entry.status == 200
    assert entry.headers["authorization"] == "[redacted]"


def test_the_official_client_with_the_seed_example(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    anthropic = pytest.importorskip("anthropic")
    point_azure_identity_at(emu, monkeypatch, ANTHROPIC_FOUNDRY_BASE_URL=emu.base_url)
    token_provider = get_bearer_token_provider(
        DefaultAzureCredential(), "https://ai.azure.com/.default"
    )
    client = anthropic.AnthropicFoundry(azure_ad_token_provider=token_provider)
    message = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text"


def test_credential_argument_with_default_azure_credential(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_azure_identity_at(emu, monkeypatch)
    served = directory_of(emu).managed_identity.requests_served
    client = AnthropicFoundry(base_url=emu.base_url, credential=DefaultAzureCredential())
    assert client.auth_mode == "entra-id"
    for _ in range(5):
        client.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    copy = client.with_options(max_retries=0)
    copy.messages.count_tokens(model=MODEL, messages=HELLO)
    # One token for the hour-long lifetime, shared by the copy.
    assert directory_of(emu).managed_identity.requests_served == served + 1


def test_missing_role_is_a_permission_error(emu: Emulator) -> None:
    directory = directory_of(emu)
    credential = MintingCredential(directory, principal="legacy")
    client = AnthropicFoundry(base_url=emu.base_url, credential=credential, max_retries=0)
    with pytest.raises(PermissionDeniedError) as caught:
        client.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert caught.value.status_code == 403
    assert "Cognitive Services User" in str(caught.value)
    assert credential.calls == 1  # a 403 is not a stale token: no refresh


def test_wrong_scope_is_an_authentication_error_after_one_refresh(emu: Emulator) -> None:
    credential = MintingCredential(directory_of(emu), principal="app")
    client = AnthropicFoundry(
        base_url=emu.base_url,
        credential=credential,
        token_scope="https://management.azure.com/.default",
        max_retries=0,
    )
    with pytest.raises(AuthenticationError) as caught:
        client.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert caught.value.status_code == 401
    assert credential.calls == 2  # refreshed once after the 401, then gave up
    assert [e.status for e in emu.journal()] == [401, 401]


class MintingCredential:
    """A stand-in TokenCredential that mints from the emulator; ``bad_first`` rejected tokens."""

    def __init__(
        self, directory: EntraDirectory, *, principal: str = "app", bad_first: int = 0
    ) -> None:
        self.directory = directory
        self.principal = principal
        self.bad_first = bad_first
        self.calls = 0
        self._lock = threading.Lock()

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        with self._lock:
            self.calls += 1
            bad = self.calls <= self.bad_first
        scope = "https://storage.azure.com/.default" if bad else scopes[0]
        issued = self.directory.issue_token(principal=self.principal, scope=scope)
        return AccessTokenInfo(issued.access_token, issued.expires_on)


def test_fifty_requests_rejected_together_refresh_once(emu: Emulator) -> None:
    credential = MintingCredential(directory_of(emu), bad_first=1)
    client = AnthropicFoundry(base_url=emu.base_url, credential=credential, max_retries=0)
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def call() -> None:
        start.wait(timeout=10)
        try:
            client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert credential.calls == 2
    statuses = [entry.status for entry in emu.journal()]
    assert statuses.count(200) == 50
    assert set(statuses) <= {200, 401}


async def test_async_client_refreshes_after_401(emu: Emulator) -> None:
    credential = MintingCredential(directory_of(emu), bad_first=1)
    async with AsyncAnthropicFoundry(
        base_url=emu.base_url, credential=credential, max_retries=0
    ) as client:
        replies = await asyncio.gather(
            *(client.messages.create(model=MODEL, max_tokens=8, messages=HELLO) for _ in range(50))
        )
    assert len(replies) == 50
    assert credential.calls == 2


def test_control_routes_mint_tokens_for_curl(emu: Emulator) -> None:
    minted = httpx2.post(f"{emu.url}/_emulator/entra/token", json={"principal": "app"}).json()
    response = httpx2.post(
        f"{emu.base_url}v1/messages",
        headers={"Authorization": f"Bearer {minted['access_token']}"},
        json={"model": MODEL, "max_tokens": 8, "messages": HELLO},
    )
    assert response.status_code == 200
    assert response.headers["request-id"]
    verifier = directory_of(emu).verifier
    expired = directory_of(emu).issue_token(principal="app", lifetime_s=1)
    verifier.clock = lambda: time.time() + 10  # the verifier lives ten seconds ahead
    try:
        stale = httpx2.post(
            f"{emu.base_url}v1/messages",
            headers={"Authorization": f"Bearer {expired.access_token}"},
            json={"model": MODEL, "max_tokens": 8, "messages": HELLO},
        )
    finally:
        verifier.clock = time.time
    assert stale.status_code == 401
    assert "expired" in stale.json()["error"]["message"]


def test_unknown_entra_routes_and_methods_answer_in_json(emu: Emulator) -> None:
    missing = httpx2.get(f"{emu.url}/_emulator/entra/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"
    assert "principals" in missing.json()["error"]["message"]
    wrong_method = httpx2.get(f"{emu.url}/_emulator/entra/token")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "method_not_allowed"


# -- a long run with short-lived tokens ------------------------------------------------------------

LIFETIME_S = 3
RUN_S = 6.0  # two to three token lifetimes


@pytest.fixture(scope="module")
def short_lived_emulator() -> Iterator[Emulator]:
    with _entra_emulator(token_lifetime_s=LIFETIME_S, leeway_s=0) as emulator:
        yield emulator


def test_tokens_expiring_mid_run_never_surface(
    short_lived_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = short_lived_emulator
    point_azure_identity_at(emu, monkeypatch)
    directory = directory_of(emu)
    served_before = directory.managed_identity.requests_served
    client = AnthropicFoundry(base_url=emu.base_url, credential=DefaultAzureCredential())
    errors: list[BaseException] = []
    completed = [0] * 50
    started = time.monotonic()

    def worker(index: int) -> None:
        while time.monotonic() - started < RUN_S:
            try:
                client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
            except BaseException as exc:
                errors.append(exc)
                return
            completed[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=45)
    elapsed = time.monotonic() - started

    assert not errors, errors[:3]
    requests = sum(completed)
    credential_calls = directory.managed_identity.requests_served - served_before
    # Tokens live 2-3 s (whole seconds on the wire) and are renewed at 80% of their life; a
    # request delayed past expiry adds at most one forced refresh. So the credential is called
    # about once per lifetime, however many requests run.
    lifetimes = elapsed / (LIFETIME_S - 1)
    assert 2 <= credential_calls <= 2 * lifetimes + 2
    assert requests > 10 * credential_calls


def test_cli_prints_exports_and_a_curl_ready_token(monkeypatch: pytest.MonkeyPatch) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from claude_foundry.cli import main; main()",
            "emulator",
            "--entra",
            "--token-lifetime",
            "600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(12)]
        base_url = lines[0].split(": ", 1)[1]
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert set(exports) >= {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "ACCESS_TOKEN"}
        curl = next(line for line in lines if line.startswith("curl "))
        assert '"Authorization: Bearer $ACCESS_TOKEN"' in curl
        body = json.loads(curl.split(" -d ", 1)[1].strip("'"))
        response = httpx2.post(
            f"{base_url}v1/messages",
            headers={"Authorization": f"Bearer {exports['ACCESS_TOKEN']}"},
            json=body,
        )
        assert response.status_code == 200
        for name in _OTHER_CREDENTIAL_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("IDENTITY_ENDPOINT", exports["IDENTITY_ENDPOINT"])
        monkeypatch.setenv("IDENTITY_HEADER", exports["IDENTITY_HEADER"])
        client = AnthropicFoundry(base_url=base_url, credential=DefaultAzureCredential())
        assert client.messages.count_tokens(model=body["model"], messages=HELLO).input_tokens > 0
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_streams_are_resent_after_a_401(emu: Emulator) -> None:
    credential = MintingCredential(directory_of(emu), bad_first=1)
    client = AnthropicFoundry(base_url=emu.base_url, credential=credential, max_retries=0)
    with client.messages.stream(model=MODEL, max_tokens=32, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
    assert text
    assert credential.calls == 2
    assert [entry.status for entry in emu.journal()] == [401, 200]


class BrokenCredential:
    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")


def test_credential_failure_names_scope_and_fix_and_sends_nothing(emu: Emulator) -> None:
    client = AnthropicFoundry(base_url=emu.base_url, credential=BrokenCredential())
    with pytest.raises(EntraTokenError) as caught:
        client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    message = str(caught.value)
    assert "https://ai.azure.com/.default" in message
    assert "az login" in message
    assert isinstance(caught.value.__cause__, ClientAuthenticationError)
    assert emu.journal() == []
