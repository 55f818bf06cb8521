"""Client configuration: arguments, then environment, then validated settings.

Resolution follows the official ``anthropic.AnthropicFoundry`` (see the reference, §2.2):

1. ``api_key`` = the argument, else ``ANTHROPIC_FOUNDRY_API_KEY``.
2. ``resource`` = the argument; the variable ``ANTHROPIC_FOUNDRY_RESOURCE`` only when neither a
   ``resource`` nor a ``base_url`` argument was given.
3. ``base_url`` = the argument, else ``ANTHROPIC_FOUNDRY_BASE_URL``.
4. Credentials are checked first, then the endpoint.

Where the official client accepts a mistake and fails later with an Azure 404 or 401, this module
raises :class:`~claude_foundry.ConfigurationError` (a ``ValueError``) that says what to change:
empty variables count as unset, a key together with a token provider is rejected, a resource
must be an Azure resource name, a base URL must reach ``/anthropic/``, and a bearer token is never
sent over plain HTTP to another machine. ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` are
never read.
"""

from __future__ import annotations

import ipaddress
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx2

from ._errors import ConfigurationError
from ._token_cache import DEFAULT_TOKEN_SCOPE

__all__ = [
    "DEFAULT_ANTHROPIC_VERSION",
    "SAMPLING_PARAMS",
    "SAMPLING_PARAMS_VERSION",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_DELAY",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "NotGiven",
    "Omit",
    "PROXY_VARIABLES",
    "SENTINEL_TYPE_NAMES",
    "Settings",
    "bad_certificates_message",
    "bad_proxy_message",
    "check_timeout",
    "is_loopback_host",
    "key_character_problem",
    "normalise_base_url",
    "omit",
    "redact_url",
    "resolve_settings",
    "resolve_timeout",
]

ENV_API_KEY: Final = "ANTHROPIC_FOUNDRY_API_KEY"
ENV_RESOURCE: Final = "ANTHROPIC_FOUNDRY_RESOURCE"
ENV_BASE_URL: Final = "ANTHROPIC_FOUNDRY_BASE_URL"
ENV_CUSTOM_HEADERS: Final = "ANTHROPIC_CUSTOM_HEADERS"
# Where a resource name points. Sovereign clouds use other host suffixes, and CI points resource
# names at a local emulator; code that passes resource= keeps working unchanged in both.
ENV_ENDPOINT_TEMPLATE: Final = "CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE"
DEFAULT_ENDPOINT_TEMPLATE: Final = "https://{resource}.services.ai.azure.com/anthropic/"

DEFAULT_TIMEOUT: Final = httpx2.Timeout(600.0, connect=5.0)
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_MAX_RETRY_DELAY: Final = 60.0
# What the official client (2.x) sends, and what Foundry serves (the API's version history lists
# Microsoft Foundry among the platforms with 2026-10-21). That version removed `temperature`,
# `top_p` and `top_k` (400 even at their defaults); they exist only under 2023-06-01, so a request
# that carries one goes out under that version unless the caller chose a version (see
# resources/messages.py). Foundry itself insists on neither value.
DEFAULT_ANTHROPIC_VERSION: Final = "2026-10-21"
SAMPLING_PARAMS_VERSION: Final = "2023-06-01"
SAMPLING_PARAMS: Final = frozenset({"temperature", "top_p", "top_k"})
_HTTPX_DEFAULT_TIMEOUT: Final = httpx2.Timeout(5.0)

_AZURE_HOST_SUFFIXES: Final = (".services.ai.azure.com", ".cognitiveservices.azure.com")
# Azure custom subdomain names: 2-64 letters, digits and hyphens, not starting or ending in one.
_RESOURCE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}[A-Za-z0-9]")
# A pasted Target URI (or a URL copied from a cURL example) ends in an API path, not the base.
_API_PATH_SUFFIXES: Final = ("/v1/messages/count_tokens", "/v1/messages", "/v1")
_MAX_RETRIES_NONE: Final = (
    "max_retries cannot be None. If you want to disable retries, pass `0`; if you want "
    "unlimited retries, pass a very high number; if you want the default behavior, pass "
    "`claude_foundry.DEFAULT_MAX_RETRIES`"
)


class NotGiven:
    """Marks an argument that was not passed (``None`` can be a meaningful value)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class Omit:
    """Leaves out a value that would otherwise be sent, e.g. a default header:
    ``extra_headers={"x-stainless-retry-count": omit}``."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "omit"


omit: Final = Omit()
# The official SDK's NOT_GIVEN / omit too, matched by type name so they are honoured without
# importing the SDK.
SENTINEL_TYPE_NAMES: Final = frozenset({"NotGiven", "Omit"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated client settings. Holds the key, so it never appears in a repr."""

    base_url: str
    api_key: str | None
    azure_ad_token_provider: Callable[[], Any] | None
    timeout: httpx2.Timeout
    max_retries: int
    max_retry_delay: float
    retry_budget: float | None
    custom_headers: Mapping[str, str]
    custom_query: Mapping[str, object]
    anthropic_version: str
    credential: Any = None
    """An azure-identity credential (``TokenCredential`` or ``AsyncTokenCredential``)."""
    token_scope: str = DEFAULT_TOKEN_SCOPE

    def __repr__(self) -> str:
        return f"Settings(base_url={redact_url(self.base_url)!r}, auth={self.auth_mode!r})"

    @property
    def auth_mode(self) -> str:
        entra = self.azure_ad_token_provider is not None or self.credential is not None
        return "entra-id" if entra else "api-key"


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced, for reprs and messages."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}{sep}[redacted]@{authority.rpartition('@')[2]}{slash}{path}"


PROXY_VARIABLES: Final = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def bad_proxy_message(exc: Exception) -> str:
    """What to do when the HTTP client cannot parse a proxy variable (``exc`` says why), with any
    password in those variables redacted."""
    named, reason = [], str(exc)
    for name in PROXY_VARIABLES:
        for spelling in (name, name.lower()):
            value = os.environ.get(spelling)
            if value:
                named.append(spelling)
                userinfo = value.partition("://")[2].rpartition("@")[0]
                for secret in (userinfo, userinfo.partition(":")[2]):
                    if secret:
                        reason = reason.replace(secret, "[redacted]")
    where = "/".join(named) or "HTTPS_PROXY"
    return (
        f"{where} is not a usable proxy URL ({reason.rstrip('.')}). Fix or unset it: a proxy URL "
        "looks like http://host:port (http://, https:// or socks5://)."
    )


def bad_certificates_message(exc: OSError) -> str:
    """What to do when the certificate authorities named by SSL_CERT_FILE / SSL_CERT_DIR (or the
    system's) do not load; ``exc`` says why."""
    named = [
        f"{name}={os.environ[name]!r}"
        for name in ("SSL_CERT_FILE", "SSL_CERT_DIR")
        if os.environ.get(name)
    ]
    where = " and ".join(named) or "the system's certificate store"
    return (
        f"The certificate authorities to trust could not be loaded from {where}: "
        f"{exc.strerror or exc}. Point SSL_CERT_FILE at a PEM bundle of CA certificates, or "
        "unset it to use the default."
    )


def _env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def resolve_timeout(
    timeout: float | httpx2.Timeout | NotGiven | None, http_client: object | None = None
) -> httpx2.Timeout:
    """The effective timeout: the argument, else a custom HTTP client's own, else the default."""
    if isinstance(timeout, NotGiven):
        client_timeout = getattr(http_client, "timeout", None)
        if isinstance(client_timeout, httpx2.Timeout) and client_timeout != _HTTPX_DEFAULT_TIMEOUT:
            return client_timeout
        return DEFAULT_TIMEOUT
    return check_timeout(timeout)


# The longest wait a socket takes (the operating system's time_t, in nanoseconds, ends near
# 9.2e9 s); a longer one raises OverflowError deep inside the HTTP stack, on the first request.
MAX_TIMEOUT_S: Final = 1e9


def check_timeout(timeout: object) -> httpx2.Timeout:
    """``timeout`` (seconds, an ``httpx2.Timeout`` or None) as an ``httpx2.Timeout`` whose every
    limit is a finite number of seconds > 0, or a ConfigurationError saying what to pass."""
    if isinstance(timeout, httpx2.Timeout):
        for phase, limit in timeout.as_dict().items():
            _check_seconds(f"timeout's {phase} limit", limit)
        return timeout
    if timeout is None:
        return httpx2.Timeout(None)
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        _check_seconds("timeout", timeout)
        return httpx2.Timeout(timeout)
    raise ConfigurationError(
        f"timeout must be a number of seconds, an httpx2.Timeout or None, not "
        f"{type(timeout).__name__}."
    )


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return  # no limit
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number of seconds, not {value!r}.")
    if not 0 < value <= MAX_TIMEOUT_S:  # also refuses NaN and infinity
        raise ConfigurationError(
            f"{name} must be a number of seconds > 0 and at most {MAX_TIMEOUT_S:,.0f} "
            f"(or None for no timeout), not {value!r}."
        )


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(url: httpx2.URL) -> str:
    return str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")


def _is_azure_host(host: str) -> bool:
    return host.lower().endswith(_AZURE_HOST_SUFFIXES)


def normalise_base_url(raw: str) -> tuple[str, str | None]:
    """Return ``(base_url, warning)``: the base URL ending in ``/``, or raise ConfigurationError.

    A URL ending in an API path (``.../anthropic/v1/messages``, as the portal's Target URI does)
    is cut back to its base, and the warning says so.
    """
    text = raw.strip()
    shown = redact_url(text)  # messages only: a password in the URL stays out of them
    example = "https://<resource>.services.ai.azure.com/anthropic/"
    if not text:
        raise ConfigurationError(f"base_url is empty. Pass the endpoint, e.g. {example}")
    if "://" not in text:
        guess = redact_url(_suggest_base_url("https://" + text))
        raise ConfigurationError(
            f"base_url {shown!r} is not an absolute URL. Pass the full endpoint including "
            f"https://, e.g. base_url={guess!r}."
        )
    try:
        url = httpx2.URL(text)
    except httpx2.InvalidURL as exc:
        raise ConfigurationError(f"base_url {shown!r} is not a valid URL ({exc}).") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url {shown!r} must be an http:// or https:// URL with a host, e.g. {example}"
        )
    if url.query:
        raise ConfigurationError(
            f"base_url {shown!r} has a query string. Pass the base URL without it and put query "
            f"parameters in default_query=, e.g. default_query={{'api-version': '...'}}."
        )
    if url.userinfo:
        # httpx2 would turn them into Basic auth, which Foundry never takes and which replaces
        # an Entra Bearer header.
        raise ConfigurationError(
            f"base_url {shown!r} carries a user name or password. Foundry authenticates with "
            "api_key or a Microsoft Entra ID token, never with credentials in the URL: remove "
            "them. For a proxy that needs a login, set HTTPS_PROXY=http://user:password@host:port."
        )
    path = url.path.rstrip("/")
    warning = None
    lowered = path.lower()
    for suffix in _API_PATH_SUFFIXES:
        if lowered.endswith(suffix) and "/anthropic" in lowered[: -len(suffix)] + "/":
            path = path[: -len(suffix)].rstrip("/")
            fixed = redact_url(_origin(url) + path + "/")
            warning = (
                f"base_url {shown!r} ends in the API path {suffix!r} (a Target URI); "
                f"using the base URL {fixed!r} instead. Pass base_url={fixed!r} to silence this."
            )
            break
    if "anthropic" not in path.lower().split("/"):
        fixed = redact_url(_suggest_base_url(text))
        raise ConfigurationError(
            f"base_url {shown!r} does not include the /anthropic path, so every request would "
            f"get 404 from Foundry. Use base_url={fixed!r}."
        )
    return _origin(url) + path + "/", warning


def _suggest_base_url(text: str) -> str:
    """Best guess at the base URL someone meant (for error messages only)."""
    try:
        url = httpx2.URL(text)
    except httpx2.InvalidURL:
        return "https://<resource>.services.ai.azure.com/anthropic/"
    host = url.host or "<resource>.services.ai.azure.com"
    origin = _origin(url) if url.host else f"https://{host}"
    path = url.path.rstrip("/")
    lowered = path.lower()
    for suffix in _API_PATH_SUFFIXES:
        if lowered.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
            lowered = path.lower()
            break
    if "anthropic" in lowered.split("/"):
        return origin + path + "/"
    if _is_azure_host(host) or not path:
        return origin + "/anthropic/"
    return origin + path + "/anthropic/"


def _url_for_resource(name: str, environ: Mapping[str, str] | None = None) -> str:
    template = _env(ENV_ENDPOINT_TEMPLATE, environ)
    if template is None:
        return DEFAULT_ENDPOINT_TEMPLATE.format(resource=name)
    try:
        filled = template.replace("{resource}", name)
        url, _ = normalise_base_url(filled)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"{ENV_ENDPOINT_TEMPLATE} does not give a usable base URL: {exc.args[0]} The template "
            f"is a base URL in which {{resource}} stands for the resource name, e.g. "
            f"{DEFAULT_ENDPOINT_TEMPLATE!r}."
        ) from None
    return url


def _check_resource(resource: str, source: str) -> str:
    name = resource.strip()
    if _RESOURCE_NAME.fullmatch(name):
        return name
    rule = (
        "an Azure resource name is 2-64 letters, digits and hyphens (no dots, slashes or "
        "spaces), e.g. 'example-resource'"
    )
    if not name:
        raise ConfigurationError(f"{source} is empty; {rule}.")
    if any(ch in name for ch in "./:"):
        candidate = name if "://" in name else "https://" + name
        suggestion = _suggest_base_url(candidate)
        host = httpx2.URL(suggestion).host if "<" not in suggestion else ""
        also = ""
        if _is_azure_host(host):
            also = f" (or resource={host.split('.', 1)[0]!r})"
        raise ConfigurationError(
            f"{source} {redact_url(name)!r} looks like a host name or URL, not a resource name; "
            f"{rule}. Pass base_url={redact_url(suggestion)!r} instead{also}."
        )
    raise ConfigurationError(f"{source} {name!r} is not a valid resource name; {rule}.")


def _custom_headers_from_env() -> dict[str, str]:
    # Honoured by the official client: newline-separated "Name: value" lines.
    raw = os.environ.get(ENV_CUSTOM_HEADERS)
    headers: dict[str, str] = {}
    if raw:
        for line in raw.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip():
                headers[name.strip()] = value.strip()
    return headers


def resolve_settings(
    *,
    api_key: str | None,
    resource: str | None,
    base_url: str | httpx2.URL | None,
    azure_ad_token_provider: Callable[[], Any] | None,
    timeout: float | httpx2.Timeout | NotGiven | None,
    max_retries: int | None,
    max_retry_delay: float,
    retry_budget: float | None,
    default_headers: Mapping[str, str] | None,
    default_query: Mapping[str, object] | None,
    anthropic_version: str,
    http_client: object | None,
    warn_stacklevel: int = 3,
    credential: object | None = None,
    token_scope: str | None = None,
) -> Settings:
    """Turn constructor arguments and the environment into validated :class:`Settings`."""
    if max_retries is None:
        raise TypeError(_MAX_RETRIES_NONE)
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(
            f"max_retries must be a whole number >= 0 (0 disables retries), not {max_retries!r}."
        )
    if not isinstance(max_retry_delay, int | float) or not max_retry_delay >= 0:
        raise ConfigurationError(
            f"max_retry_delay must be a number of seconds >= 0, not {max_retry_delay!r}."
        )
    if retry_budget is not None and (
        not isinstance(retry_budget, int | float) or not retry_budget >= 0
    ):
        raise ConfigurationError(
            f"retry_budget must be a number of seconds >= 0 or None, not {retry_budget!r}."
        )

    # An explicit token provider wins over a key left in the environment; an explicit key and
    # an explicit provider together are rejected below.
    entra = azure_ad_token_provider is not None or credential is not None
    # Surrounding whitespace (a key pasted or read from a file with its newline) is never part
    # of a key, and would make an invalid header.
    if api_key is not None and not isinstance(api_key, str):
        raise ConfigurationError(
            f"api_key must be a string (the key from your deployment's Details tab in the "
            f"Foundry portal), not {type(api_key).__name__}."
        )
    key = (api_key.strip() or None) if api_key is not None else None
    if key is None and not entra:
        key = _env(ENV_API_KEY)
    resource_source = "resource"
    if resource is None and base_url is None:
        resource = _env(ENV_RESOURCE)
        resource_source = ENV_RESOURCE
    url_source = "base_url"
    if base_url is None:
        base_url = _env(ENV_BASE_URL)
        url_source = ENV_BASE_URL

    if key is None and not entra:
        extra = ""
        if _env("ANTHROPIC_API_KEY") is not None:
            extra = " ANTHROPIC_API_KEY is set but is not used for Foundry; set the Foundry key."
        raise ConfigurationError(
            "Missing credentials. Please pass one of `api_key`, `azure_ad_token_provider`, or "
            f"the `{ENV_API_KEY}` environment variable.{extra} The key is on your deployment's "
            "Details tab in the Foundry portal (Build > Models). For Microsoft Entra ID, pass "
            "credential=DefaultAzureCredential()."
        )
    if key is not None and azure_ad_token_provider is not None:
        raise ConfigurationError(
            "The `api_key` and `azure_ad_token_provider` arguments are mutually exclusive; pass "
            "only one (a key, or a Microsoft Entra ID token provider)."
        )
    if key is not None:
        _check_key_characters(key, "api_key" if api_key is not None else ENV_API_KEY)
    _check_credential(key, azure_ad_token_provider, credential, token_scope)
    if azure_ad_token_provider is not None and not callable(azure_ad_token_provider):
        raise ConfigurationError(
            "azure_ad_token_provider must be a callable that returns a token string, e.g. "
            "azure.identity.get_bearer_token_provider(DefaultAzureCredential(), "
            "'https://ai.azure.com/.default')."
        )

    if base_url is None:
        if resource is None:
            raise ConfigurationError(
                "Must provide one of the `base_url` or `resource` arguments, or the "
                f"`{ENV_RESOURCE}` environment variable (the resource name is the first part of "
                "https://<resource>.services.ai.azure.com)."
            )
        name = _check_resource(resource, resource_source)
        url = _url_for_resource(name)
    else:
        if resource is not None:
            raise ConfigurationError(
                f"base_url and resource are mutually exclusive: got {url_source} and "
                f"{resource_source}. Pass only one."
            )
        url, warning = normalise_base_url(str(base_url))
        if warning is not None:
            warnings.warn(warning, UserWarning, stacklevel=warn_stacklevel)

    parsed = httpx2.URL(url)
    if entra and parsed.scheme == "http" and not is_loopback_host(parsed.host):
        raise ConfigurationError(
            f"Refusing to send a Microsoft Entra bearer token over plain http to {parsed.host}. "
            "Use an https:// base URL (plain http is allowed only for loopback hosts such as "
            "127.0.0.1, e.g. a local emulator)."
        )

    headers = _custom_headers_from_env()
    _check_headers(headers, ENV_CUSTOM_HEADERS)
    if default_headers:
        _check_headers(default_headers, "default_headers")
        headers.update(default_headers)
    return Settings(
        base_url=url,
        api_key=key,
        azure_ad_token_provider=azure_ad_token_provider,
        timeout=resolve_timeout(timeout, http_client),
        max_retries=max_retries,
        max_retry_delay=float(max_retry_delay),
        retry_budget=None if retry_budget is None else float(retry_budget),
        custom_headers=headers,
        custom_query=dict(default_query or {}),
        anthropic_version=anthropic_version,
        credential=credential,
        token_scope=token_scope.strip() if token_scope is not None else DEFAULT_TOKEN_SCOPE,
    )


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _check_headers(headers: Mapping[str, object], source: str) -> None:
    """Names and values an HTTP header can carry, checked now rather than as an encoding error on
    the first request. A value may be a secret, so only its header's name is quoted."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ConfigurationError(
                f"{source}: {name!r} is not a header name (letters, digits and -, no spaces)."
            )
        if isinstance(value, str):
            for position, char in enumerate(value, start=1):
                if not (" " <= char <= "~" or char == "\t"):
                    kind = "a non-ASCII" if not char.isascii() else "a control"
                    raise ConfigurationError(
                        f"{source}: the value of header {name!r} holds {kind} character at "
                        f"position {position}; a header carries printable ASCII only."
                    )


def _check_key_characters(key: str, source: str) -> None:
    """A key goes in a header, which carries visible ASCII only: say so now (without the key),
    not with an encoding error on the first request."""
    problem = key_character_problem(key)
    if problem is not None:
        raise ConfigurationError(
            f"{source} holds {problem}, which no Foundry key has. Copy the key again from your "
            "deployment's Details tab in the Foundry portal (Build > Models)."
        )


def key_character_problem(key: str) -> str | None:
    """Where ``key`` has a character no header can carry as it is, said without the key."""
    for position, char in enumerate(key, start=1):
        if not "!" <= char <= "~":
            kind = "a space or control character" if char.isascii() else "a non-ASCII character"
            return f"{kind} at position {position} of {len(key)}"
    return None


def _check_credential(
    key: str | None, provider: object | None, credential: object | None, scope: object | None
) -> None:
    if credential is None:
        if scope is not None:
            raise ConfigurationError(
                "token_scope applies only to credential=; an azure_ad_token_provider already "
                "names its scope (get_bearer_token_provider(credential, scope))."
            )
        return
    if key is not None or provider is not None:
        other = "api_key" if key is not None else "azure_ad_token_provider"
        raise ConfigurationError(
            f"The `credential` and `{other}` arguments are mutually exclusive; pass only one."
        )
    if not callable(getattr(credential, "get_token", None)) and not callable(
        getattr(credential, "get_token_info", None)
    ):
        raise ConfigurationError(
            "credential must be an azure-identity credential such as DefaultAzureCredential() "
            f"(it has get_token), not {type(credential).__name__}. For a callable that returns a "
            "token string, pass azure_ad_token_provider= instead."
        )
    if scope is not None and (not isinstance(scope, str) or not scope.strip()):
        raise ConfigurationError(
            f"token_scope must be a scope such as {DEFAULT_TOKEN_SCOPE!r}, not {scope!r}."
        )
