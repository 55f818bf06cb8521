"""Configuration: arguments, environment, validation and copies (no server needed)."""

from __future__ import annotations

import warnings

import httpx2
import pytest

from claude_foundry import (
    DEFAULT_TIMEOUT,
    AnthropicError,
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    ConfigurationError,
)
from claude_foundry._config import is_loopback_host, normalise_base_url

AZURE = "https://example-resource.services.ai.azure.com/anthropic/"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "ANTHROPIC_FOUNDRY_API_KEY",
        "ANTHROPIC_FOUNDRY_RESOURCE",
        "ANTHROPIC_FOUNDRY_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_CUSTOM_HEADERS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def provider() -> str:
    return "token"


# --- resolution order ---------------------------------------------------------------------------


def test_resource_builds_the_azure_base_url() -> None:
    client = AnthropicFoundry(api_key="k", resource="example-resource")
    assert str(client.base_url) == AZURE
    assert client.api_key == "k"
    assert client.max_retries == 2
    assert client.timeout == DEFAULT_TIMEOUT


def test_env_fallbacks(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_API_KEY", "env-key")
    clean_env.setenv("ANTHROPIC_FOUNDRY_RESOURCE", "example-resource")
    client = AnthropicFoundry()
    assert client.api_key == "env-key"
    assert str(client.base_url) == AZURE


def test_env_base_url(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_API_KEY", "env-key")
    clean_env.setenv("ANTHROPIC_FOUNDRY_BASE_URL", "https://gw.example.com/anthropic")
    assert str(AnthropicFoundry().base_url) == "https://gw.example.com/anthropic/"


def test_base_url_argument_suppresses_env_resource(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_RESOURCE", "other")
    client = AnthropicFoundry(api_key="k", base_url="https://gw.example.com/anthropic/")
    assert str(client.base_url) == "https://gw.example.com/anthropic/"


def test_resource_and_env_base_url_conflict(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_BASE_URL", "https://gw.example.com/anthropic/")
    with pytest.raises(ValueError, match="mutually exclusive") as info:
        AnthropicFoundry(api_key="k", resource="example-resource")
    assert "ANTHROPIC_FOUNDRY_BASE_URL" in str(info.value)


def test_generic_anthropic_variables_are_never_used(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-ant-generic")
    clean_env.setenv("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
    with pytest.raises(ConfigurationError, match="Missing credentials") as info:
        AnthropicFoundry(resource="example-resource")
    assert "ANTHROPIC_API_KEY is set but is not used" in str(info.value)
    assert "sk-ant-generic" not in str(info.value)
    client = AnthropicFoundry(api_key="k", resource="example-resource")
    assert "api.anthropic.com" not in str(client.base_url)


def test_missing_credentials_checked_first() -> None:
    with pytest.raises(AnthropicError, match="Missing credentials") as info:
        AnthropicFoundry()
    assert isinstance(info.value, ValueError)


def test_empty_env_values_count_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_API_KEY", "")
    clean_env.setenv("ANTHROPIC_FOUNDRY_RESOURCE", "  ")
    with pytest.raises(ConfigurationError, match="Missing credentials"):
        AnthropicFoundry()
    with pytest.raises(ConfigurationError, match="Must provide one of"):
        AnthropicFoundry(api_key="k")


def test_missing_endpoint() -> None:
    with pytest.raises(ValueError, match="Must provide one of the `base_url` or `resource`"):
        AnthropicFoundry(api_key="k")


def test_key_and_provider_are_mutually_exclusive() -> None:
    with pytest.raises(ConfigurationError, match="mutually exclusive"):
        AnthropicFoundry(api_key="k", azure_ad_token_provider=provider, resource="r1")


def test_explicit_provider_wins_over_env_key(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_API_KEY", "env-key")
    client = AnthropicFoundry(azure_ad_token_provider=provider, resource="example-resource")
    assert client.auth_mode == "entra-id"
    assert client.api_key is None


def test_max_retries_none_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="max_retries cannot be None"):
        AnthropicFoundry(api_key="k", resource="r1", max_retries=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 1.5, "2"])
def test_bad_max_retries(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        AnthropicFoundry(api_key="k", resource="r1", max_retries=bad)  # type: ignore[arg-type]


def test_timeouts() -> None:
    assert AnthropicFoundry(api_key="k", resource="r1", timeout=30).timeout == httpx2.Timeout(30)
    assert AnthropicFoundry(api_key="k", resource="r1", timeout=None).timeout == httpx2.Timeout(
        None
    )
    custom = httpx2.Client(timeout=httpx2.Timeout(12.0))
    assert AnthropicFoundry(api_key="k", resource="r1", http_client=custom).timeout == (
        httpx2.Timeout(12.0)
    )
    custom.close()
    with pytest.raises(ConfigurationError, match="timeout"):
        AnthropicFoundry(api_key="k", resource="r1", timeout="10")  # type: ignore[arg-type]


def test_wrong_http_client_kind() -> None:
    with pytest.raises(TypeError, match=r"httpx2\.AsyncClient"):
        AsyncAnthropicFoundry(
            api_key="k",
            resource="r1",
            http_client=httpx2.Client(),  # type: ignore[arg-type]
        )


# --- resource and base URL validation ----------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "example-resource", "A1-b2", "x" * 64])
def test_valid_resource_names(name: str) -> None:
    client = AnthropicFoundry(api_key="k", resource=name)
    assert str(client.base_url) == f"https://{name.lower()}.services.ai.azure.com/anthropic/"


@pytest.mark.parametrize("name", ["a", "-abc", "abc-", "x" * 65, "has space", "under_score", ""])
def test_invalid_resource_names(name: str) -> None:
    with pytest.raises(ConfigurationError, match="resource name"):
        AnthropicFoundry(api_key="k", resource=name)


def test_host_name_as_resource_suggests_base_url() -> None:
    with pytest.raises(ConfigurationError) as info:
        AnthropicFoundry(api_key="k", resource="example-resource.services.ai.azure.com")
    message = str(info.value)
    assert f"base_url={AZURE!r}" in message
    assert "resource='example-resource'" in message


def test_url_as_resource_suggests_exact_base_url() -> None:
    with pytest.raises(ConfigurationError) as info:
        AnthropicFoundry(api_key="k", resource="example-resource.azure.anthropic.com")
    assert "base_url='https://example-resource.azure.anthropic.com/anthropic/'" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        AnthropicFoundry(api_key="k", resource=AZURE + "v1/messages")
    assert f"base_url={AZURE!r}" in str(info.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://x.services.ai.azure.com/anthropic", "https://x.services.ai.azure.com/anthropic/"),
        (
            "https://x.services.ai.azure.com/anthropic/",
            "https://x.services.ai.azure.com/anthropic/",
        ),
        ("  http://127.0.0.1:8080/anthropic  ", "http://127.0.0.1:8080/anthropic/"),
        ("https://gw.example.com/team/anthropic", "https://gw.example.com/team/anthropic/"),
    ],
)
def test_base_url_is_normalised(given: str, expected: str) -> None:
    assert normalise_base_url(given) == (expected, None)


@pytest.mark.parametrize(
    "suffix", ["v1/messages", "v1/messages/", "v1/messages/count_tokens", "v1"]
)
def test_target_uri_is_cut_back_with_a_warning(suffix: str) -> None:
    with pytest.warns(UserWarning, match="Target URI") as record:
        client = AnthropicFoundry(api_key="k", base_url=AZURE + suffix)
    assert str(client.base_url) == AZURE
    assert record[0].filename == __file__  # the warning points at the caller's line


@pytest.mark.parametrize(
    ("given", "fixed"),
    [
        ("https://x.services.ai.azure.com", "https://x.services.ai.azure.com/anthropic/"),
        ("https://x.services.ai.azure.com/", "https://x.services.ai.azure.com/anthropic/"),
        ("https://x.services.ai.azure.com/v1/messages", "https://x.services.ai.azure.com/anthropic/"),
        ("https://x.cognitiveservices.azure.com/openai", "https://x.cognitiveservices.azure.com/anthropic/"),
        ("https://gw.example.com/claude", "https://gw.example.com/claude/anthropic/"),
    ],
)  # fmt: skip
def test_base_url_without_anthropic_shows_the_fix(given: str, fixed: str) -> None:
    with pytest.raises(ConfigurationError, match="/anthropic") as info:
        AnthropicFoundry(api_key="k", base_url=given)
    assert f"base_url={fixed!r}" in str(info.value)


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ("x.services.ai.azure.com/anthropic", "not an absolute URL"),
        ("ftp://x.example.com/anthropic/", "http:// or https://"),
        ("https://x.example.com/anthropic/?api-version=1", "default_query"),
        ("", "empty"),
    ],
)
def test_bad_base_urls(given: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AnthropicFoundry(api_key="k", base_url=given)


def test_bearer_token_never_over_plain_http_to_another_host() -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        AnthropicFoundry(
            azure_ad_token_provider=provider, base_url="http://gw.example.com/anthropic"
        )
    for host in ("127.0.0.1:9", "localhost:9", "[::1]:9"):
        client = AnthropicFoundry(
            azure_ad_token_provider=provider, base_url=f"http://{host}/anthropic/"
        )
        assert client.auth_mode == "entra-id"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("app.localhost", True), ("10.0.0.1", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_provider_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="callable"):
        AnthropicFoundry(azure_ad_token_provider="a-token", resource="r1")  # type: ignore[arg-type]


# --- secrets, headers, copies -------------------------------------------------------------------


def test_repr_shows_base_url_and_auth_mode_only() -> None:
    client = AnthropicFoundry(api_key="secret-key-123", resource="example-resource")
    text = repr(client)
    assert text == f"AnthropicFoundry(base_url={AZURE!r}, auth='api-key')"
    assert "secret-key-123" not in repr(client._settings)
    assert "secret-key-123" not in repr(client._auth)
    assert "secret-key-123" not in str(vars(client.messages))


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:pw-123@h.example/anthropic/",
        "https://user:pw-123@h.example/v1",
        "https://user:pw-123@h.example/anthropic/v1",
    ],
)
def test_credentials_in_the_base_url_are_refused_without_echoing_them(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="user name or password") as caught:
        AnthropicFoundry(api_key="k", base_url=base_url)
    assert "pw-123" not in str(caught.value)
    assert "[redacted]@h.example" in str(caught.value)
    assert "HTTPS_PROXY" in str(caught.value)


def test_a_password_in_a_resource_stays_out_of_the_message() -> None:
    with pytest.raises(ConfigurationError) as caught:
        AnthropicFoundry(api_key="k", resource="https://user:pw-123@h.example/")
    assert "pw-123" not in str(caught.value)


def test_custom_headers_env_and_default_headers(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Team: a\nX-Env: b")
    client = AnthropicFoundry(api_key="k", resource="r1", default_headers={"X-Team": "override"})
    headers = client.default_headers
    assert headers["x-team"] == "override"
    assert headers["x-env"] == "b"
    assert headers["user-agent"].startswith("claude-foundry/")
    assert headers["anthropic-version"] == "2026-10-21"
    assert "x-api-key" not in headers  # secrets stay out of the public view


def test_copy_keeps_options_and_swaps_credentials() -> None:
    client = AnthropicFoundry(
        api_key="k", resource="example-resource", default_headers={"a": "1"}, max_retries=5
    )
    copy = client.with_options(timeout=3, default_headers={"b": "2"})
    assert str(copy.base_url) == AZURE
    assert copy.max_retries == 5
    assert copy.timeout == httpx2.Timeout(3)
    assert copy.default_headers["a"] == "1"
    assert copy.default_headers["b"] == "2"
    assert copy._http is client._http
    replaced = client.copy(set_default_headers={"c": "3"}, max_retries=0)
    assert "a" not in replaced.default_headers
    assert replaced.max_retries == 0
    entra = client.copy(azure_ad_token_provider=provider)
    assert entra.auth_mode == "entra-id"
    assert entra.api_key is None
    back = entra.copy(api_key="k2")
    assert back.auth_mode == "api-key"
    assert back.api_key == "k2"
    with pytest.raises(ValueError, match="mutually exclusive"):
        client.copy(default_headers={}, set_default_headers={})
    with pytest.raises(ValueError, match="mutually exclusive"):
        client.copy(default_query={}, set_default_query={})


def test_copy_ignores_env_resource(clean_env: pytest.MonkeyPatch) -> None:
    client = AnthropicFoundry(api_key="k", resource="example-resource")
    clean_env.setenv("ANTHROPIC_FOUNDRY_RESOURCE", "other")
    assert str(client.copy().base_url) == AZURE


def test_extras_are_validated() -> None:
    client = AnthropicFoundry(api_key="k", resource="r1", max_retry_delay=5, retry_budget=30)
    assert client.max_retry_delay == 5
    assert client.retry_budget == 30
    with pytest.raises(ConfigurationError, match="max_retry_delay"):
        AnthropicFoundry(api_key="k", resource="r1", max_retry_delay=-1)
    with pytest.raises(ConfigurationError, match="retry_budget"):
        AnthropicFoundry(api_key="k", resource="r1", retry_budget=float("nan"))


def test_no_warning_for_a_clean_base_url() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AnthropicFoundry(api_key="k", base_url=AZURE)


def test_close_and_context_manager() -> None:
    with AnthropicFoundry(api_key="k", resource="r1") as client:
        assert not client.is_closed()
    assert client.is_closed()


def test_key_whitespace_is_stripped() -> None:
    assert AnthropicFoundry(api_key=" k\n", resource="r1").api_key == "k"
    with pytest.raises(ConfigurationError, match="Missing credentials"):
        AnthropicFoundry(api_key="  ", resource="r1")


@pytest.mark.parametrize("timeout", [0, -1, -0.5, True])
def test_a_timeout_that_is_not_a_positive_number_is_refused(timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        AnthropicFoundry(api_key="k", resource="res-1", timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("api_key", [123, b"bytes-key", ["k"]])
def test_a_key_that_is_not_a_string_is_refused_without_echoing_it(api_key: object) -> None:
    with pytest.raises(ConfigurationError, match="api_key must be a string") as info:
        AnthropicFoundry(api_key=api_key, resource="res-1")  # type: ignore[arg-type]
    assert "bytes-key" not in str(info.value)


NOT_A_TIMEOUT = [
    float("nan"),
    float("inf"),
    1e20,
    0,
    -1,
    httpx2.Timeout(float("inf")),
    httpx2.Timeout(5, read=1e12),
    httpx2.Timeout(5, connect=-1),
]


@pytest.mark.parametrize("timeout", NOT_A_TIMEOUT, ids=repr)
def test_a_timeout_no_socket_can_take_is_refused_on_the_client(timeout: object) -> None:
    # Infinity or 1e20 s once reached the socket and raised OverflowError on the first request.
    with pytest.raises(ConfigurationError, match="timeout"):
        AnthropicFoundry(api_key="k", resource="res-1", timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="timeout"):
        AsyncAnthropicFoundry(api_key="k", resource="res-1", timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", NOT_A_TIMEOUT, ids=repr)
def test_a_timeout_no_socket_can_take_is_refused_on_a_call(timeout: object) -> None:
    # Checked before anything is sent: the unroutable resource is never reached.
    client = AnthropicFoundry(api_key="k", resource="res-1", max_retries=0)
    request = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
    with client, pytest.raises(ConfigurationError, match="timeout"):
        client.messages.create(**request, timeout=timeout)  # type: ignore[arg-type]
    with client, pytest.raises(ConfigurationError, match="timeout"):
        client.messages.stream(**request, timeout=timeout).__enter__()  # type: ignore[arg-type]


def test_the_longest_timeout_a_socket_takes_is_accepted() -> None:
    AnthropicFoundry(api_key="k", resource="res-1", timeout=1e9).close()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("kéy-0123456789", "a non-ASCII character at position 2 of 14"),
        ("key\x00-0123456789", "a space or control character at position 4 of 15"),
        ("key 0123456789", "a space or control character at position 4 of 14"),
        ("key\r\nx-injected: 1", "a space or control character at position 4"),
    ],
)
def test_a_key_no_header_can_carry_is_refused_without_echoing_it(key: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as info:
        AnthropicFoundry(api_key=key, resource="res-1")
    assert "0123456789" not in str(info.value)
    assert "injected" not in str(info.value)


def test_a_key_from_the_environment_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_FOUNDRY_API_KEY", "kéy")
    with pytest.raises(ConfigurationError, match="ANTHROPIC_FOUNDRY_API_KEY holds a non-ASCII"):
        AnthropicFoundry(resource="res-1")


@pytest.mark.parametrize("proxy", ["http://[::1", "http://user:pr0xy-s3cret@host:::", "::::"])
@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_url_the_http_client_cannot_parse_is_a_configuration_error(
    clean_env: pytest.MonkeyPatch, variable: str, proxy: str
) -> None:
    # httpx2 raised its own InvalidURL (not a ValueError) from the constructor.
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        clean_env.delenv(name, raising=False)
        clean_env.delenv(name.lower(), raising=False)
    clean_env.setenv(variable, proxy)
    for client_class in (AnthropicFoundry, AsyncAnthropicFoundry):
        with pytest.raises(ConfigurationError, match=f"{variable} is not a usable proxy") as info:
            client_class(api_key="k", resource="res-1")
        assert "pr0xy-s3cret" not in str(info.value)
        assert "http://host:port" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"x-team": "équipe"}, "header 'x-team' holds a non-ASCII character at position 1"),
        ({"x-team": "a\r\nx-injected: 1"}, "header 'x-team' holds a control character"),
        ({"x team": "a"}, "'x team' is not a header name"),
    ],
)
def test_a_header_no_request_can_carry_is_refused_naming_only_the_header(
    clean_env: pytest.MonkeyPatch, headers: dict[str, str], problem: str
) -> None:
    # They failed on the first request with "'ascii' codec can't encode character".
    with pytest.raises(ConfigurationError, match=f"default_headers: .*{problem}") as info:
        AnthropicFoundry(api_key="k", resource="res-1", default_headers=headers)
    assert "injected" not in str(info.value)
    name, value = next(iter(headers.items()))
    if "\n" in value:
        return  # in the variable a line break starts the next header
    clean_env.setenv("ANTHROPIC_CUSTOM_HEADERS", f"{name}: {value}")
    with pytest.raises(ConfigurationError, match=f"ANTHROPIC_CUSTOM_HEADERS: .*{problem}"):
        AnthropicFoundry(api_key="k", resource="res-1")


def test_headers_with_spaces_and_tabs_in_their_values_are_kept() -> None:
    client = AnthropicFoundry(api_key="k", resource="res-1", default_headers={"x-a": "b c\td"})
    assert client._settings.custom_headers["x-a"] == "b c\td"


@pytest.mark.parametrize("bundle", ["/nonexistent/ca.pem", "/etc/hostname"])
def test_a_certificate_bundle_that_does_not_load_is_a_configuration_error(
    clean_env: pytest.MonkeyPatch, bundle: str
) -> None:
    clean_env.setenv("SSL_CERT_FILE", bundle)
    for client_class in (AnthropicFoundry, AsyncAnthropicFoundry):
        with pytest.raises(ConfigurationError, match=f"SSL_CERT_FILE='{bundle}'"):
            client_class(api_key="k", resource="res-1")
