"""The doctor against the emulator over loopback: each broken setup names its cause and its fix."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from certificates import self_signed
from claude_foundry.cli import main
from claude_foundry.doctor import CHECK_NAMES, CheckResult, DoctorOptions, exit_code, run_doctor
from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.emulator.entra import EntraDirectory

KEY = "test-key"
FOUNDRY_VARIABLES = (
    "ANTHROPIC_FOUNDRY_API_KEY",
    "ANTHROPIC_FOUNDRY_RESOURCE",
    "ANTHROPIC_FOUNDRY_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CODE_USE_FOUNDRY",
)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    assert [r.name for r in results] == list(CHECK_NAMES)
    return {r.name: r for r in results}


def statuses(results: list[CheckResult]) -> dict[str, str]:
    return {r.name: r.status for r in results}


def doctor(environ: dict[str, str] | None = None, **options: Any) -> dict[str, CheckResult]:
    options.setdefault("timeout", 5)
    return by_name(run_doctor(DoctorOptions(**options), environ=environ or {}))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- API key ------------------------------------------------------------------------------------


def test_all_green_with_a_key(emulator: Emulator) -> None:
    results = run_doctor(
        DoctorOptions(base_url=emulator.base_url), environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY}
    )
    checks = by_name(results)
    assert statuses(results) == {
        "environment": "ok",
        "resource": "skip",
        "base_url": "ok",
        "credential": "ok",
        "dns": "ok",
        "connect": "ok",
        "tls": "skip",
        "auth": "ok",
        "deployment": "ok",
        "ledger": "skip",
    }
    assert "set, 8 chars" in checks["credential"].detail
    assert "TLS skipped" in checks["tls"].detail
    assert "apim-request-id" in checks["deployment"].detail
    assert exit_code(results) == 0
    paths = [entry.path for entry in emulator.journal()]
    assert paths == ["/anthropic/v1/messages/count_tokens", "/anthropic/v1/messages"]
    assert emulator.journal()[-1].body["max_tokens"] == 1


def test_no_message_sends_only_count_tokens(emulator: Emulator) -> None:
    checks = doctor(
        {"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=emulator.base_url, send_message=False
    )
    assert checks["deployment"].status == "ok"
    assert "no message sent" in checks["deployment"].detail
    assert [e.path for e in emulator.journal()] == ["/anthropic/v1/messages/count_tokens"]


def test_wrong_key_is_a_401_with_the_portal_fix(emulator: Emulator) -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": "not-the-key"}, base_url=emulator.base_url)
    assert checks["auth"].status == "fail"
    assert "HTTP 401" in checks["auth"].detail
    assert "Details tab" in checks["auth"].fix
    assert checks["deployment"].status == "skip"
    assert "auth check failed" in checks["deployment"].detail


def test_unknown_deployment_names_deployment_versus_model_id(emulator: Emulator) -> None:
    checks = doctor(
        {"ANTHROPIC_FOUNDRY_API_KEY": KEY},
        base_url=emulator.base_url,
        deployment="claude-haiku-4-5-20251001",
    )
    assert checks["auth"].status == "ok"  # the key got past the gateway
    deployment = checks["deployment"]
    assert deployment.status == "fail"
    assert "DeploymentNotFound" in deployment.detail
    assert "not the model id" in deployment.fix
    assert "'claude-haiku-4-5'" in deployment.fix  # the undated default name
    assert len(emulator.journal()) == 1  # no message sent once count_tokens said 404


def test_base_url_without_anthropic_fails_but_the_host_is_still_checked(
    emulator: Emulator,
) -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_BASE_URL": emulator.url, "ANTHROPIC_FOUNDRY_API_KEY": KEY})
    assert checks["base_url"].status == "fail"
    assert "/anthropic" in checks["base_url"].detail
    assert checks["base_url"].fix == f"Set ANTHROPIC_FOUNDRY_BASE_URL to {emulator.base_url}"
    assert checks["connect"].status == "ok"
    assert checks["auth"].status == "skip"
    assert "base_url check failed" in checks["auth"].detail
    assert emulator.journal() == []


def test_pasted_target_uri_is_a_warning_and_the_rest_runs(emulator: Emulator) -> None:
    results = run_doctor(
        DoctorOptions(base_url=emulator.base_url + "v1/messages"),
        environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY},
    )
    checks = by_name(results)
    assert checks["base_url"].status == "warn"
    assert "Target URI" in checks["base_url"].detail
    assert checks["base_url"].fix.endswith(emulator.base_url)
    assert checks["deployment"].status == "ok"
    assert exit_code(results) == 0


def test_unreachable_host_fails_connect_and_skips_the_rest() -> None:
    port = closed_port()
    checks = doctor(
        {"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=f"http://127.0.0.1:{port}/anthropic/"
    )
    assert checks["dns"].status == "ok"
    assert checks["connect"].status == "fail"
    assert "refused" in checks["connect"].detail
    assert "Nothing listens" in checks["connect"].fix
    for name in ("tls", "auth", "deployment"):
        assert checks[name].status == "skip"
    assert "connect check failed" in checks["tls"].detail


def test_unresolvable_host_names_the_resource_and_private_dns() -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url="https://nx.invalid/anthropic/")
    assert checks["dns"].status == "fail"
    assert "nx.invalid" in checks["dns"].detail
    assert "proxy" in checks["dns"].fix
    assert checks["connect"].status == "skip"


def test_quota_exhausted_is_a_429_with_the_quota_fix(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=429, route="messages", count=1, retry_after=7)
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=emulator.base_url)
    assert checks["auth"].status == "ok"
    assert checks["deployment"].status == "fail"
    assert "HTTP 429" in checks["deployment"].detail
    assert "quota" in checks["deployment"].fix
    assert "retry after 7 s" in checks["deployment"].fix


def test_unsupported_path_is_api_not_supported(emulator: Emulator) -> None:
    # A base URL with /anthropic in it, but a path Foundry does not serve.
    checks = doctor(
        {"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=f"{emulator.url}/anthropic/v1/anthropic/"
    )
    assert checks["base_url"].status == "ok"
    assert checks["auth"].status == "fail"
    assert "HTTP 404 api_not_supported" in checks["auth"].detail
    assert "must end in /anthropic/" in checks["auth"].fix


def test_unknown_path_is_resource_not_found(emulator: Emulator) -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=f"{emulator.url}/v2/anthropic/")
    assert checks["auth"].status == "fail"
    assert "HTTP 404: Resource not found" in checks["auth"].detail
    assert "/anthropic/" in checks["auth"].fix


def test_slow_service_times_out_with_a_timeout_fix(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", route="messages", delay_ms=3000)
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=emulator.base_url, timeout=0.3)
    assert checks["auth"].status == "ok"
    assert checks["deployment"].status == "fail"
    assert "no answer" in checks["deployment"].detail
    assert "--timeout" in checks["deployment"].fix


# --- settings -----------------------------------------------------------------------------------


def test_no_settings_at_all() -> None:
    checks = doctor({})
    assert checks["resource"].status == "fail"
    assert "ANTHROPIC_FOUNDRY_RESOURCE" in checks["resource"].fix
    assert checks["credential"].status == "fail"
    assert "ANTHROPIC_FOUNDRY_API_KEY" in checks["credential"].fix
    for name in ("base_url", "dns", "connect", "tls", "auth", "deployment"):
        assert checks[name].status == "skip", name


def test_generic_anthropic_variables_are_reported_as_ignored() -> None:
    checks = doctor(
        {
            "ANTHROPIC_API_KEY": "sk-ant-generic",
            "ANTHROPIC_BASE_URL": "https://example-resource.services.ai.azure.com/anthropic",
        }
    )
    environment = checks["environment"]
    assert environment.status == "warn"
    assert "ANTHROPIC_API_KEY is set, but Foundry clients never read it" in environment.detail
    assert "ANTHROPIC_FOUNDRY_BASE_URL=https://example-resource" in environment.fix
    assert checks["credential"].status == "fail"
    assert "ANTHROPIC_API_KEY is set" in checks["credential"].detail


def test_resource_and_base_url_together_conflict() -> None:
    checks = doctor(
        {
            "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
            "ANTHROPIC_FOUNDRY_BASE_URL": "https://example-resource.services.ai.azure.com/anthropic/",
            "ANTHROPIC_FOUNDRY_API_KEY": KEY,
        }
    )
    assert checks["environment"].status == "fail"
    assert "mutually exclusive" in checks["environment"].detail
    assert checks["base_url"].status == "skip"
    assert checks["auth"].status == "skip"


def test_base_url_option_overrides_the_resource_variable(emulator: Emulator) -> None:
    checks = doctor(
        {"ANTHROPIC_FOUNDRY_RESOURCE": "example-resource", "ANTHROPIC_FOUNDRY_API_KEY": KEY},
        base_url=emulator.base_url,
    )
    assert checks["environment"].status == "ok"
    assert "ignored because --base-url" in checks["environment"].detail
    assert checks["deployment"].status == "ok"


def test_empty_variables_and_claude_code_hints() -> None:
    checks = doctor(
        {
            "ANTHROPIC_FOUNDRY_API_KEY": "  ",
            "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
            "CLAUDE_CODE_USE_FOUNDRY": "1",
        }
    )
    environment = checks["environment"]
    assert environment.status == "warn"
    assert "$ANTHROPIC_FOUNDRY_API_KEY is set but empty" in environment.detail
    assert "DefaultAzureCredential" in environment.detail


def test_resource_given_as_a_host_name() -> None:
    checks = doctor(
        {"ANTHROPIC_FOUNDRY_API_KEY": KEY}, resource="example-resource.services.ai.azure.com"
    )
    assert checks["resource"].status == "fail"
    assert checks["resource"].fix.startswith("Use --resource example-resource")
    assert checks["base_url"].status == "skip"
    assert checks["dns"].status == "skip"


@pytest.mark.parametrize(
    ("host", "status", "words"),
    [
        ("example.openai.azure.com", "warn", "Azure OpenAI host"),
        ("example.cognitiveservices.azure.com", "ok", "reaches the same resource"),
        ("example.azure.anthropic.com", "warn", "not a Foundry host"),
        ("gateway.example.com", "ok", "a gateway or proxy"),
    ],
)
def test_host_notes(host: str, status: str, words: str) -> None:
    checks = doctor(
        {"ANTHROPIC_FOUNDRY_API_KEY": KEY, "HTTPS_PROXY": "http://user:pw@127.0.0.1:9"},
        base_url=f"https://{host}/anthropic/",
        timeout=2,
    )
    assert checks["base_url"].status == status
    assert words in checks["base_url"].detail
    if status == "warn":
        assert "https://example.services.ai.azure.com/anthropic/" in checks["base_url"].fix
    # Behind a proxy the direct checks step aside, and the proxy's password stays hidden.
    assert checks["dns"].status == "skip"
    assert "http://127.0.0.1:9" in checks["dns"].detail
    assert checks["auth"].status == "fail"  # nothing listens on the proxy's port
    assert "Check the proxy http://127.0.0.1:9" in checks["auth"].fix
    assert "pw" not in json.dumps([c.to_dict() for c in checks.values()])


def test_empty_deployment_name() -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, resource="example-resource", deployment=" ")
    assert checks["environment"].status == "fail"
    assert "--deployment" in checks["environment"].fix


def test_anthropic_console_key_is_not_a_foundry_key() -> None:
    secret = "sk-ant-api03-" + "x" * 40
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": secret}, resource="example-resource")
    assert checks["credential"].status == "fail"
    assert "Anthropic Console key" in checks["credential"].detail
    assert secret not in checks["credential"].detail


# --- Microsoft Entra ID -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def entra_session() -> Iterator[Emulator]:
    config = EmulatorConfig.from_mapping(
        {
            "entra": {
                "enabled": True,
                "principals": [
                    {"name": "app", "roles": ["Cognitive Services User"]},
                    {"name": "reader", "roles": ["Reader", "Cognitive Services OpenAI User"]},
                ],
                "managed_identity": "app",
            }
        }
    )
    with Emulator(config) as emulator:
        yield emulator


@pytest.fixture
def entra_emu(entra_session: Emulator) -> Emulator:
    entra_session.reset()
    return entra_session


def directory(emulator: Emulator) -> EntraDirectory:
    assert emulator.state.entra is not None
    return emulator.state.entra


def token_doctor(emulator: Emulator, token: str, **options: Any) -> dict[str, CheckResult]:
    return doctor({"ENTRA_TOKEN": token}, base_url=emulator.base_url, token_env="ENTRA_TOKEN",
                  **options)  # fmt: skip


def test_entra_token_all_green(entra_emu: Emulator) -> None:
    token = directory(entra_emu).issue_token(principal="app").access_token
    checks = token_doctor(entra_emu, token)
    assert {c.status for c in checks.values()} <= {"ok", "skip"}
    credential = checks["credential"].detail
    assert "audience https://ai.azure.com" in credential
    assert f"tenant {directory(entra_emu).tenant_id}" in credential
    assert "expires" in credential
    assert token not in json.dumps([c.to_dict() for c in checks.values()])


def test_bearer_prefix_in_the_token_variable_is_a_warning(entra_emu: Emulator) -> None:
    token = directory(entra_emu).issue_token(principal="app").access_token
    checks = token_doctor(entra_emu, f"Bearer {token}")
    assert checks["credential"].status == "warn"
    assert "scheme name 'Bearer'" in checks["credential"].detail
    assert checks["deployment"].status == "ok"  # the bare token was used


def test_principal_without_a_data_plane_role_gets_the_role_fix(entra_emu: Emulator) -> None:
    principal = directory(entra_emu).principal("reader")
    token = directory(entra_emu).issue_token(principal="reader").access_token
    checks = token_doctor(entra_emu, token)
    assert checks["credential"].status == "ok"
    auth = checks["auth"]
    assert auth.status == "fail"
    assert "HTTP 403" in auth.detail
    assert "Cognitive Services User" in auth.fix
    assert "Foundry User" in auth.fix
    assert principal.object_id in auth.fix
    assert "'Cognitive Services OpenAI User' does not cover /anthropic" in auth.fix


def test_missing_role_reported_as_401_permission_denied(entra_emu: Emulator) -> None:
    entra_emu.state.authenticator = _authenticator_with_401_for_missing_role(entra_emu)
    token = directory(entra_emu).issue_token(principal="reader").access_token
    checks = token_doctor(entra_emu, token)
    assert checks["auth"].status == "fail"
    assert "PermissionDenied" in checks["auth"].detail
    assert "Cognitive Services User" in checks["auth"].fix


def _authenticator_with_401_for_missing_role(emulator: Emulator) -> Any:
    from claude_foundry.emulator.auth import KeyAuthenticator
    from claude_foundry.emulator.entra import EntraAuthenticator

    verifier = EntraAuthenticator(directory(emulator).verifier, missing_role_status=401)
    return KeyAuthenticator(emulator.state.config.api_keys, token_verifier=verifier)


def test_expired_token_fails_the_credential_check(entra_emu: Emulator) -> None:
    issuer = directory(entra_emu).issuer
    principal = directory(entra_emu).principal("app")
    now = int(time.time())
    token = issuer.sign_claims(
        {
            "aud": "https://ai.azure.com",
            "iss": issuer.issuer,
            "iat": now - 7200,
            "nbf": now - 7200,
            "exp": now - 600,
            "oid": principal.object_id,
            "tid": issuer.tenant_id,
        }
    )
    checks = token_doctor(entra_emu, token)
    credential = checks["credential"]
    assert credential.status == "fail"
    assert "expired" in credential.detail
    assert "10 min ago" in credential.detail
    assert "fresh" in credential.fix
    assert checks["auth"].status == "skip"
    assert "credential check failed" in checks["auth"].detail


def test_wrong_audience_names_the_scope(entra_emu: Emulator) -> None:
    token = (
        directory(entra_emu)
        .issue_token(principal="app", scope="https://management.azure.com/.default")
        .access_token
    )
    checks = token_doctor(entra_emu, token)
    credential = checks["credential"]
    assert credential.status == "fail"
    assert "audience https://management.azure.com" in credential.detail
    assert "https://ai.azure.com" in credential.fix


def test_token_from_another_tenant_is_refused_by_the_service(entra_emu: Emulator) -> None:
    issuer = directory(entra_emu).issuer
    principal = directory(entra_emu).principal("app")
    now = int(time.time())
    token = issuer.sign_claims(
        {
            "aud": "https://ai.azure.com",
            "iss": "https://sts.windows.net/other-tenant/",
            "exp": now + 3600,
            "oid": principal.object_id,
            "tid": "other-tenant",
        }
    )
    checks = token_doctor(entra_emu, token)
    assert checks["credential"].status == "ok"
    assert checks["auth"].status == "fail"
    assert "HTTP 401" in checks["auth"].detail
    assert "other-tenant" in checks["auth"].fix
    assert "az login --tenant" in checks["auth"].fix


def test_token_provider_from_python(entra_emu: Emulator) -> None:
    def provider() -> str:
        return directory(entra_emu).issue_token(principal="app").access_token

    results = run_doctor(
        DoctorOptions(base_url=entra_emu.base_url), environ={}, token_provider=provider
    )
    checks = by_name(results)
    assert "token provider provider" in checks["credential"].detail
    assert exit_code(results) == 0


def test_unset_token_variable(entra_emu: Emulator) -> None:
    checks = doctor({}, base_url=entra_emu.base_url, token_env="NOPE")
    assert checks["credential"].status == "fail"
    assert "az account get-access-token" in checks["credential"].fix


def test_entra_with_default_azure_credential(
    entra_emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("azure.identity")
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID",
                 "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT",
                 "IMDS_ENDPOINT", "AZURE_TOKEN_CREDENTIALS", *FOUNDRY_VARIABLES):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in directory(entra_emu).managed_identity_environment(entra_emu.url).items():
        monkeypatch.setenv(name, value)
    results = run_doctor(DoctorOptions(base_url=entra_emu.base_url, entra=True))
    checks = by_name(results)
    assert "DefaultAzureCredential via ManagedIdentityCredential" in checks["credential"].detail
    assert exit_code(results) == 0, results


def test_entra_and_a_key_variable_conflict() -> None:
    checks = doctor(
        {"MY_KEY": KEY, "T": "x"}, resource="example-resource", api_key_env="MY_KEY", token_env="T"
    )
    assert checks["environment"].status == "fail"
    assert checks["credential"].status == "skip"


# --- the command --------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in FOUNDRY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_cli_json_schema_and_exit_zero(emulator: Emulator, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_API_KEY", KEY)
    result = CliRunner().invoke(main, ["doctor", "--base-url", emulator.base_url, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["name"] for row in rows] == list(CHECK_NAMES)
    for row in rows:
        assert set(row) == {"name", "status", "detail", "fix"}
        assert row["status"] in {"ok", "warn", "fail", "skip"}
        assert all(isinstance(value, str) for value in row.values())
    assert KEY not in result.output


def test_cli_exit_one_on_failure_and_table(
    emulator: Emulator, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("MY_FOUNDRY_KEY", "wrong-key-value")
    result = CliRunner().invoke(
        main,
        ["doctor", "--base-url", emulator.base_url, "--api-key-env", "MY_FOUNDRY_KEY",
         "--model", "claude-haiku-4-5"],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "claude-foundry doctor" in result.output
    assert "fail" in result.output
    assert "$MY_FOUNDRY_KEY" in result.output
    assert "wrong-key-value" not in result.output


def test_cli_token_env_is_never_printed(entra_emu: Emulator, clean_env: pytest.MonkeyPatch) -> None:
    token = directory(entra_emu).issue_token(principal="reader").access_token
    clean_env.setenv("FOUNDRY_TOKEN", token)
    result = CliRunner().invoke(
        main, ["doctor", "--base-url", entra_emu.base_url, "--token-env", "FOUNDRY_TOKEN", "--json"]
    )
    assert result.exit_code == 1
    assert token not in result.output
    assert token.split(".")[1] not in result.output  # not even the payload
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["auth"]["status"] == "fail"


def test_cli_warnings_only_exit_zero(emulator: Emulator, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_API_KEY", KEY)
    clean_env.setenv("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
    result = CliRunner().invoke(main, ["doctor", "--base-url", emulator.base_url, "--json"])
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["environment"]["status"] == "warn"
    assert result.exit_code == 0


def test_entra_without_any_credential_lists_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("azure.identity")
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    checks = doctor({}, base_url="http://127.0.0.1:9/anthropic/", entra=True)
    credential = checks["credential"]
    assert credential.status == "fail"
    assert "tried EnvironmentCredential" in credential.detail
    assert "az login" in credential.fix
    assert checks["auth"].status == "skip"


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    cert_path, key_path = self_signed(tmp_path_factory.mktemp("tls"))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def https_base_url(tls_files: tuple[str, str]) -> Iterator[str]:
    """The emulator's app served over https by uvicorn, with a self-signed certificate."""
    import asyncio
    import threading

    import uvicorn

    emulator = Emulator(api_key=KEY)  # not started: only its app is served here
    certfile, keyfile = tls_files
    config = uvicorn.Config(
        emulator.app, ssl_certfile=certfile, ssl_keyfile=keyfile, lifespan="off",
        log_config=None, log_level="warning", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}/anthropic/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_untrusted_certificate_fails_tls(
    https_base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=https_base_url)
    assert checks["connect"].status == "ok"
    assert checks["tls"].status == "fail"
    assert "not trusted" in checks["tls"].detail
    assert "SSL_CERT_FILE" in checks["tls"].fix
    assert checks["auth"].status == "skip"


def test_trusted_certificate_all_green_over_https(
    https_base_url: str, tls_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", tls_files[0])
    results = run_doctor(
        DoctorOptions(base_url=https_base_url, timeout=5),
        environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY},
    )
    checks = by_name(results)
    assert checks["tls"].status == "ok"
    assert "TLSv1." in checks["tls"].detail
    assert checks["deployment"].status == "ok"
    assert exit_code(results) == 0


# --- something other than Foundry ---------------------------------------------------------------


@pytest.fixture(scope="module")
def web_page() -> Iterator[str]:
    """A loopback web server that answers every POST with a portal-like page or a redirect."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            if "redirect" in self.path:
                self.send_response(302)
                self.send_header("location", "https://login.example/")
                self.send_header("content-length", "0")
                self.end_headers()
                return
            page = b"<html><body>Sign in</body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_web_page_is_not_the_api(web_page: str) -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=f"{web_page}/anthropic/")
    assert checks["auth"].status == "fail"
    assert "text/html" in checks["auth"].detail
    assert "not an answer of the Messages API" in checks["auth"].detail


def test_a_redirect_is_not_the_api(web_page: str) -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=f"{web_page}/redirect/anthropic/")
    assert checks["auth"].status == "fail"
    assert "redirected to https://login.example/" in checks["auth"].detail
    assert "web page" in checks["auth"].fix
