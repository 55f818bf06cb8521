from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.emulator.auth import AuthFailure, KeyAuthenticator, Principal
from claude_foundry.emulator.entra import (
    DATA_PLANE_ROLES,
    DEFAULT_SCOPE,
    MANAGED_IDENTITY_PATH,
    EntraAuthenticator,
    EntraConfigError,
    EntraDirectory,
    EntraPrincipal,
    EntraSettings,
    RejectReason,
    TokenIssuer,
    TokenRejection,
    TokenVerifier,
    VerifiedToken,
    audience_for_scope,
)

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def directory(clock: Clock) -> EntraDirectory:
    # One RSA key for the module: generating keys is the slow part.
    settings = EntraSettings(
        enabled=True,
        tenant_id="contoso-tenant",
        token_lifetime_s=600,
        principals=(
            EntraPrincipal("app", roles=("Cognitive Services User",)),
            EntraPrincipal("dev", roles=("Foundry User", "Reader")),
            EntraPrincipal("legacy", roles=("Cognitive Services OpenAI User",)),
            EntraPrincipal("reader", roles=("Reader",)),
        ),
    )
    return EntraDirectory(settings, clock=clock, identity_header="test-identity-header")


@pytest.fixture(autouse=True)
def _reset_clock(clock: Clock) -> None:
    clock.now = NOW


def check(directory: EntraDirectory, token: str) -> VerifiedToken | TokenRejection:
    return directory.verifier.check(token)


def rejection(directory: EntraDirectory, token: str) -> RejectReason:
    result = check(directory, token)
    assert isinstance(result, TokenRejection), result
    return result.reason


# -- issuer and verifier -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        "https://ai.azure.com/.default",
        "https://cognitiveservices.azure.com/.default",
        "https://ai.azure.com",
        "https://ai.azure.com/",
        "https://cognitiveservices.azure.com/",
    ],
)
def test_round_trip_for_both_documented_audiences(directory: EntraDirectory, scope: str) -> None:
    issued = directory.issue_token(principal="app", scope=scope)
    assert issued.expires_on == NOW + 600
    assert issued.resource == audience_for_scope(scope)
    result = check(directory, issued.access_token)
    assert isinstance(result, VerifiedToken)
    assert result.principal.name == "app"
    assert result.expires_on == issued.expires_on


def test_claims_look_like_entra(directory: EntraDirectory) -> None:
    issued = directory.issue_token(principal="dev")
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    principal = directory.principal("dev")
    assert claims["aud"] == "https://ai.azure.com"
    assert claims["iss"] == "https://sts.windows.net/contoso-tenant/"
    assert claims["tid"] == "contoso-tenant"
    assert claims["oid"] == claims["sub"] == principal.object_id
    assert claims["appid"] == principal.client_id
    assert claims["roles"] == ["Foundry User", "Reader"]
    assert claims["exp"] - claims["iat"] == 600
    assert claims["nbf"] == claims["iat"] == int(NOW)
    assert jwt.get_unverified_header(issued.access_token)["alg"] == "RS256"


def test_v2_issuer_is_accepted(clock: Clock) -> None:
    issuer = TokenIssuer(tenant_id="t2", issuer_version="2.0", clock=clock)
    principal = EntraPrincipal("svc", roles=("Azure AI User",))
    verifier = TokenVerifier(issuer, {principal.object_id: principal}.get)
    issued = issuer.issue(principal, scope="https://cognitiveservices.azure.com/.default")
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert claims["iss"] == "https://login.microsoftonline.com/t2/v2.0"
    assert claims["azp"] == principal.client_id
    assert isinstance(verifier.check(issued.access_token), VerifiedToken)


def test_every_data_plane_role_may_call() -> None:
    assert {"Foundry User", "Azure AI User", "Cognitive Services User"} == DATA_PLANE_ROLES
    for role in DATA_PLANE_ROLES:
        assert EntraPrincipal("p", roles=(role,)).may_call
    for role in ("Cognitive Services OpenAI User", "Reader", "Contributor", "Owner"):
        assert not EntraPrincipal("p", roles=(role,)).may_call


def test_expired_and_not_yet_valid(directory: EntraDirectory, clock: Clock) -> None:
    token = directory.issue_token(principal="app").access_token
    clock.now = NOW + 600 + 0.5  # within the leeway
    assert isinstance(check(directory, token), VerifiedToken)
    clock.now = NOW + 602
    assert rejection(directory, token) is RejectReason.EXPIRED
    clock.now = NOW - 10
    assert rejection(directory, token) is RejectReason.NOT_YET_VALID


def test_wrong_audience(directory: EntraDirectory) -> None:
    for scope in ("https://management.azure.com/.default", "https://ai.azure.com.evil/.default"):
        token = directory.issue_token(principal="app", scope=scope).access_token
        assert rejection(directory, token) is RejectReason.WRONG_AUDIENCE


def test_bad_signature_from_another_key(directory: EntraDirectory, clock: Clock) -> None:
    other = TokenIssuer(tenant_id=directory.tenant_id, clock=clock)
    token = other.issue(directory.principal("app")).access_token
    assert rejection(directory, token) is RejectReason.BAD_SIGNATURE
    tampered = directory.issue_token(principal="app").access_token[:-4] + "AAAA"
    assert rejection(directory, tampered) is RejectReason.BAD_SIGNATURE


def test_unsigned_and_hmac_tokens_are_refused(directory: EntraDirectory) -> None:
    claims = {"aud": "https://ai.azure.com", "iss": "x", "exp": NOW + 60, "oid": "o", "tid": "t"}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert rejection(directory, unsigned) is RejectReason.BAD_SIGNATURE
    hmac_signed = jwt.encode(claims, "a-shared-secret-of-enough-length-1234", algorithm="HS256")
    assert rejection(directory, hmac_signed) is RejectReason.BAD_SIGNATURE


def test_malformed(directory: EntraDirectory) -> None:
    assert rejection(directory, "not-a-jwt") is RejectReason.MALFORMED
    no_oid = directory.issuer.sign_claims(
        {"aud": "https://ai.azure.com", "iss": directory.issuer.issuer, "exp": NOW + 60}
    )
    assert rejection(directory, no_oid) is RejectReason.MALFORMED


def test_wrong_issuer_and_tenant(directory: EntraDirectory) -> None:
    principal = directory.principal("app")
    base = {
        "aud": "https://ai.azure.com",
        "iss": directory.issuer.issuer,
        "exp": NOW + 60,
        "oid": principal.object_id,
        "tid": directory.tenant_id,
    }
    assert isinstance(check(directory, directory.issuer.sign_claims(base)), VerifiedToken)
    other_issuer = directory.issuer.sign_claims({**base, "iss": "https://sts.windows.net/other/"})
    assert rejection(directory, other_issuer) is RejectReason.WRONG_ISSUER
    other_tenant = directory.issuer.sign_claims({**base, "tid": "other"})
    result = check(directory, other_tenant)
    assert isinstance(result, TokenRejection)
    assert result.reason is RejectReason.WRONG_ISSUER
    assert "doesn't match resource tenant" in result.detail


def test_unknown_principal_and_missing_role(directory: EntraDirectory) -> None:
    stranger = EntraPrincipal("stranger", roles=("Foundry User",))
    token = directory.issue_token(principal=stranger).access_token
    assert rejection(directory, token) is RejectReason.UNKNOWN_PRINCIPAL
    for name in ("legacy", "reader"):
        token = directory.issue_token(principal=name).access_token
        assert rejection(directory, token) is RejectReason.MISSING_ROLE


def test_role_changes_apply_to_tokens_already_issued(clock: Clock) -> None:
    directory = EntraDirectory(
        EntraSettings(principals=(EntraPrincipal("late", roles=("Reader",)),)), clock=clock
    )
    token = directory.issue_token().access_token
    assert rejection(directory, token) is RejectReason.MISSING_ROLE
    directory.set_roles("late", ["Reader", "Cognitive Services User"])
    assert isinstance(check(directory, token), VerifiedToken)


def test_issued_token_repr_hides_the_token(directory: EntraDirectory) -> None:
    issued = directory.issue_token(principal="app")
    assert issued.access_token not in repr(issued)
    assert "test-identity-header" not in repr(directory.managed_identity)


# -- the authenticator adapter --------------------------------------------------------------------


def _body(failure: AuthFailure) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(failure.body)
    return body


def test_authenticator_accepts_a_good_token(directory: EntraDirectory) -> None:
    auth = directory.authenticator()
    token = directory.issue_token(principal="dev").access_token
    principal = auth.verify(token)
    assert principal == Principal(
        kind="bearer", name="dev", roles=frozenset({"Foundry User", "Reader"})
    )
    assert auth.authenticate({"authorization": f"Bearer {token}"}) == principal


def test_authenticator_answers_bad_tokens_with_azure_401(
    directory: EntraDirectory, clock: Clock
) -> None:
    auth = directory.authenticator()
    token = directory.issue_token(principal="app").access_token
    clock.now = NOW + 3600
    failure = auth.verify(token)
    assert isinstance(failure, AuthFailure)
    assert failure.status == 401
    body = _body(failure)
    assert body["error"]["code"] == "401"
    assert "expired" in body["error"]["message"]
    assert token not in failure.body.decode()
    missing = auth.authenticate({})
    assert isinstance(missing, AuthFailure)
    assert missing.status == 401


def test_authenticator_answers_missing_roles_with_403(directory: EntraDirectory) -> None:
    auth = directory.authenticator()
    failure = auth.verify(directory.issue_token(principal="legacy").access_token)
    assert isinstance(failure, AuthFailure)
    assert failure.status == 403
    body = _body(failure)
    assert body["type"] == "error"
    assert body["error"]["type"] == "permission_error"
    message = body["error"]["message"]
    assert directory.principal("legacy").object_id in message
    assert "Foundry User" in message
    assert "Cognitive Services User" in message


def test_missing_role_as_401_permission_denied(directory: EntraDirectory) -> None:
    auth = EntraAuthenticator(directory.verifier, missing_role_status=401)
    failure = auth.verify(directory.issue_token(principal="reader").access_token)
    assert isinstance(failure, AuthFailure)
    assert failure.status == 401
    assert _body(failure)["error"]["code"] == "PermissionDenied"


def test_plugs_into_the_key_authenticator(directory: EntraDirectory) -> None:
    auth = KeyAuthenticator(["key"], token_verifier=directory.authenticator())
    token = directory.issue_token(principal="app").access_token
    result = auth.authenticate({"authorization": f"Bearer {token}"})
    assert isinstance(result, Principal)
    assert result.name == "app"
    legacy = directory.issue_token(principal="legacy").access_token
    refused = auth.authenticate({"authorization": f"Bearer {legacy}"})
    assert isinstance(refused, AuthFailure)
    assert refused.status == 403


# -- settings ------------------------------------------------------------------------------------


def test_settings_from_mapping() -> None:
    settings = EntraSettings.from_mapping(
        {
            "enabled": True,
            "tenant": "my-tenant",
            "token_lifetime_s": 5,
            "principals": [
                {"name": "ci", "roles": ["Cognitive Services User"]},
                {"name": "mi", "roles": ["Foundry User"], "client_id": "cid", "object_id": "oid"},
            ],
            "managed_identity": "mi",
            "missing_role_status": 401,
        }
    )
    assert settings.tenant_id == "my-tenant"
    assert settings.token_lifetime_s == 5
    assert [p.name for p in settings.principals] == ["ci", "mi"]
    assert settings.principals[1].object_id == "oid"
    assert EntraSettings.from_mapping(settings.to_dict()) == settings


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"lifetime": 5}, "unknown keys"),
        ({"token_lifetime_s": 0}, "at least 1 second"),
        ({"token_lifetime_s": "long"}, "number of seconds"),
        ({"principals": []}, "at least one principal"),
        ({"principals": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"principals": [{"roles": ["Reader"]}]}, "name must be"),
        ({"principals": [{"name": "a", "roles": "Reader"}]}, "list of role names"),
        ({"principals": [{"name": "a", "role": ["Reader"]}]}, "unknown keys"),
        ({"managed_identity": "ghost"}, "not one of the principals"),
        ({"missing_role_status": 404}, "401 or 403"),
        ({"tenant": "a/b"}, "tenant id"),
        ({"enabled": "yes"}, "true or false"),
    ],
)
def test_settings_errors_are_clear(data: dict[str, Any], match: str) -> None:
    with pytest.raises(EntraConfigError, match=match):
        EntraSettings.from_mapping(data)


def test_unknown_principal_name_is_a_clear_error(directory: EntraDirectory) -> None:
    with pytest.raises(EntraConfigError, match="unknown principal 'ghost'"):
        directory.issue_token(principal="ghost")


# -- the managed-identity endpoint over real HTTP -------------------------------------------------


@pytest.fixture(scope="module")
def mi_server(directory: EntraDirectory) -> Iterator[str]:
    app = Starlette(routes=[Mount("/", app=directory.asgi_app)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


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
)


@pytest.fixture
def mi_env(
    monkeypatch: pytest.MonkeyPatch, mi_server: str, directory: EntraDirectory
) -> dict[str, str]:
    for name in _OTHER_CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    env = directory.managed_identity_environment(mi_server)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_endpoint_speaks_the_app_service_protocol(
    mi_server: str, directory: EntraDirectory
) -> None:
    params = {"api-version": "2019-08-01", "resource": "https://ai.azure.com"}
    headers = {"X-IDENTITY-HEADER": "test-identity-header"}
    response = httpx2.get(mi_server + MANAGED_IDENTITY_PATH, params=params, headers=headers)
    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert isinstance(payload["expires_on"], str)
    assert int(payload["expires_on"]) == NOW + 600
    assert payload["resource"] == "https://ai.azure.com"
    assert payload["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"
    result = check(directory, payload["access_token"])
    assert isinstance(result, VerifiedToken)
    assert result.principal.name == "app"  # the first principal is the default identity


def test_endpoint_picks_a_user_assigned_identity(mi_server: str, directory: EntraDirectory) -> None:
    dev = directory.principal("dev")
    headers = {"X-IDENTITY-HEADER": "test-identity-header"}
    for key, value in (("client_id", dev.client_id), ("object_id", dev.object_id)):
        params = {"api-version": "2019-08-01", "resource": "https://ai.azure.com", key: value}
        payload = httpx2.get(
            mi_server + MANAGED_IDENTITY_PATH, params=params, headers=headers
        ).json()
        assert payload["client_id"] == dev.client_id
    params = {"api-version": "2019-08-01", "resource": "https://ai.azure.com", "client_id": "nope"}
    assert (
        httpx2.get(mi_server + MANAGED_IDENTITY_PATH, params=params, headers=headers).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({"api-version": "2019-08-01", "resource": "https://ai.azure.com"}, {}, 401),
        (
            {"api-version": "2019-08-01", "resource": "https://ai.azure.com"},
            {"X-IDENTITY-HEADER": "wrong"},
            401,
        ),
        ({"api-version": "2017-09-01", "resource": "https://ai.azure.com"}, None, 400),
        ({"api-version": "2019-08-01"}, None, 400),
    ],
)
def test_endpoint_refusals(
    mi_server: str, params: dict[str, str], headers: dict[str, str] | None, status: int
) -> None:
    sent = {"X-IDENTITY-HEADER": "test-identity-header"} if headers is None else headers
    response = httpx2.get(mi_server + MANAGED_IDENTITY_PATH, params=params, headers=sent)
    assert response.status_code == status
    assert response.json()["statusCode"] == status
    assert response.json()["message"]


def test_managed_identity_credential_fetches_a_token(
    mi_env: dict[str, str], directory: EntraDirectory
) -> None:
    from azure.identity import ManagedIdentityCredential

    credential = ManagedIdentityCredential()
    info = credential.get_token_info(DEFAULT_SCOPE)
    assert abs(info.expires_on - (NOW + 600)) <= 1  # MSAL re-derives it from expires_in
    result = check(directory, info.token)
    assert isinstance(result, VerifiedToken)
    assert result.audience == "https://ai.azure.com"
    user_assigned = ManagedIdentityCredential(client_id=directory.principal("dev").client_id)
    token = user_assigned.get_token("https://cognitiveservices.azure.com/.default").token
    result = check(directory, token)
    assert isinstance(result, VerifiedToken)
    assert result.principal.name == "dev"


def test_default_azure_credential_finds_the_emulator(
    mi_env: dict[str, str], directory: EntraDirectory
) -> None:
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    provider = get_bearer_token_provider(DefaultAzureCredential(), DEFAULT_SCOPE)
    result = check(directory, provider())
    assert isinstance(result, VerifiedToken)
    assert result.principal.name == "app"


def test_wrong_identity_header_surfaces_as_a_credential_error(
    mi_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ManagedIdentityCredential

    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    with pytest.raises(ClientAuthenticationError, match="X-IDENTITY-HEADER"):
        ManagedIdentityCredential().get_token(DEFAULT_SCOPE)


# -- the control routes --------------------------------------------------------------------------


def test_mint_a_token_over_http(mi_server: str, directory: EntraDirectory) -> None:
    url = f"{mi_server}/_emulator/entra/token"
    response = httpx2.post(url, json={"principal": "dev", "scope": "https://ai.azure.com/"})
    assert response.status_code == 200
    payload = response.json()
    assert payload["principal"] == "dev"
    assert payload["expires_on"] == NOW + 600
    assert isinstance(check(directory, payload["access_token"]), VerifiedToken)
    short = httpx2.post(url, json={"lifetime_s": 5}).json()
    assert short["expires_on"] == NOW + 5
    assert short["principal"] == "app"
    for bad in ({"principal": "ghost"}, {"lifetime_s": 0}, {"color": "red"}, [1]):
        refused = httpx2.post(url, json=bad)
        assert refused.status_code == 400
        assert refused.json()["error"]["message"]


def test_grant_and_revoke_roles_over_http(mi_server: str) -> None:
    # Ends with the roles it started with: the directory is shared by the module.
    listing = httpx2.get(f"{mi_server}/_emulator/entra/principals").json()
    assert listing["tenant"] == "contoso-tenant"
    assert [p["name"] for p in listing["principals"]] == ["app", "dev", "legacy", "reader"]
    url = f"{mi_server}/_emulator/entra/principals/reader"
    granted = httpx2.patch(url, json={"roles": ["Reader", "Foundry User"]})
    assert granted.status_code == 200
    assert granted.json()["roles"] == ["Reader", "Foundry User"]
    revoked = httpx2.patch(url, json={"roles": ["Reader"]})
    assert revoked.json()["roles"] == ["Reader"]
    assert httpx2.patch(url, json={"roles": "Reader"}).status_code == 400
    missing = httpx2.patch(f"{mi_server}/_emulator/entra/principals/ghost", json={"roles": []})
    assert missing.status_code == 404


# -- hostile claims and lifetimes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "dates",
    [
        {"exp": "tomorrow"},
        {"exp": None},
        {"exp": True},
        {"exp": [NOW + 60]},
        {"exp": 10**400},
        {"exp": -(10**400)},
        {"exp": 1e308},
        {"exp": NOW + 60, "nbf": "now"},
        {"exp": NOW + 60, "nbf": 10**400},
        {"exp": NOW + 60, "nbf": {"at": NOW}},
    ],
)
def test_validly_signed_tokens_with_unusable_dates_are_malformed(
    directory: EntraDirectory, dates: dict[str, Any]
) -> None:
    principal = directory.principal("app")
    claims = {
        "aud": "https://ai.azure.com",
        "iss": directory.issuer.issuer,
        "oid": principal.object_id,
        "tid": directory.tenant_id,
        **dates,
    }
    token = directory.issuer.sign_claims(claims)
    assert rejection(directory, token) is RejectReason.MALFORMED
    failure = directory.authenticator().verify(token)
    assert isinstance(failure, AuthFailure)
    assert failure.status == 401


@pytest.mark.parametrize("lifetime", [10**400, 86_401, -(10**30)])
def test_minting_refuses_lifetimes_beyond_a_day(directory: EntraDirectory, lifetime: int) -> None:
    with pytest.raises(EntraConfigError, match="at most 86400"):
        directory.issue_token(principal="app", lifetime_s=lifetime)
    with pytest.raises(EntraConfigError, match="at most 86400"):
        EntraSettings.from_mapping({"token_lifetime_s": 10**30})


def test_minting_a_huge_lifetime_over_http_is_a_400() -> None:
    config = EmulatorConfig.from_mapping({"entra": {"enabled": True}})
    with Emulator(config) as emu, httpx2.Client(base_url=emu.url) as http:
        refused = http.post("/_emulator/entra/token", json={"lifetime_s": 10**400})
        day = http.post("/_emulator/entra/token", json={"lifetime_s": 86_400})
    assert refused.status_code == 400
    assert "at most 86400" in refused.json()["error"]["message"]
    assert day.status_code == 200
