"""The doctor's network checks: DNS, TCP, TLS, and the two HTTP probes that test access.

Each function returns a :class:`~claude_foundry.doctor.CheckResult`. The HTTP probes send what the
client sends (``x-api-key`` or ``Authorization: Bearer``, ``anthropic-version``) without retries,
so each answer is the service's first word, and map it to the troubleshooting table.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
import jwt
import msgspec

from ._config import DEFAULT_ANTHROPIC_VERSION, ENV_CUSTOM_HEADERS, is_loopback_host
from ._doctor_core import CheckResult, DoctorContext, Status
from ._errors import APIStatusError, make_status_error
from ._pipeline import transport_error

__all__ = [
    "TokenFacts",
    "check_connect",
    "check_dns",
    "check_tls",
    "probe_auth",
    "probe_deployment",
    "proxy_for",
    "read_token_facts",
]

FOUNDRY_AUDIENCES = ("https://ai.azure.com", "https://cognitiveservices.azure.com")
_ROLE_FIX = (
    "Assign {who} the 'Foundry User' (formerly Azure AI User) or 'Cognitive Services User' role "
    "on the Foundry resource: az role assignment create --assignee {assignee} --role "
    "\"Cognitive Services User\" --scope <resource id>. 'Cognitive Services OpenAI User' does not "
    "cover /anthropic. New assignments take a few minutes to apply."
)
_DATED_MODEL_ID = re.compile(r"(claude-[a-z0-9-]+?)-(\d{8})")


def _result(name: str, status: Status, detail: str, fix: str = "") -> CheckResult:
    return CheckResult(name, status, detail, fix)


# --- tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """What a token's payload says, read without verifying it. Holds no part of the token."""

    length: int
    is_jwt: bool
    audience: tuple[str, ...] = ()
    tenant: str | None = None
    expires_at: float | None = None
    not_before: float | None = None
    roles: tuple[str, ...] = ()
    object_id: str | None = None

    @property
    def audience_ok(self) -> bool:
        wanted = {a.lower() for a in FOUNDRY_AUDIENCES}
        return any(a.rstrip("/").lower() in wanted for a in self.audience)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def expires_within(self, now: float, seconds: float) -> bool:
        return self.expires_at is not None and now + seconds >= self.expires_at

    def describe(self, now: float) -> str:
        parts = [f"audience {' '.join(self.audience) or '(none)'}"]
        if self.tenant:
            parts.append(f"tenant {self.tenant}")
        if self.expires_at is not None:
            when = datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            left = self.expires_at - now
            relative = f"in {_duration(left)}" if left > 0 else f"{_duration(-left)} ago"
            verb = "expires" if left > 0 else "expired"
            parts.append(f"{verb} {when} ({relative})")
        if self.roles:
            parts.append(f"roles {list(self.roles)}")
        if self.object_id:
            parts.append(f"object id {self.object_id}")
        return ", ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def read_token_facts(token: str) -> TokenFacts:
    """Claims that explain a refusal, from the unverified JWT payload."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return TokenFacts(length=len(token), is_jwt=False)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience] if audience else []
    roles = claims.get("roles")
    return TokenFacts(
        length=len(token),
        is_jwt=True,
        audience=tuple(str(a) for a in audiences),
        tenant=_str(claims.get("tid")),
        expires_at=_number(claims.get("exp")),
        not_before=_number(claims.get("nbf")),
        roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
        object_id=_str(claims.get("oid")),
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# --- network --------------------------------------------------------------------------------------


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY`` etc., minus ``NO_PROXY``)."""
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL:
        return None
    lowered = {name.lower(): value for name, value in environ.items() if value}
    proxy = lowered.get(f"{parsed.scheme}_proxy") or lowered.get("all_proxy")
    if not proxy:
        return None
    host = parsed.host.lower()
    for entry in lowered.get("no_proxy", "").split(","):
        entry = entry.strip().lower()
        if entry == "*" or (
            entry and (host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")))
        ):
            return None
    return proxy if "://" in proxy else f"http://{proxy}"


def display_proxy(proxy: str) -> str:
    """The proxy without any user name or password."""
    try:
        url = httpx2.URL(proxy)
    except httpx2.InvalidURL:
        return "(unparseable proxy URL)"
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _port(url: httpx2.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _is_azure(host: str) -> bool:
    return host.endswith(".azure.com")


class _Lookup:
    """getaddrinfo in a daemon thread: it has no timeout of its own, and a stuck resolver must
    neither hang the check nor keep the process from exiting."""

    def __init__(self, host: str, port: int) -> None:
        self.done = threading.Event()
        self.infos: list[Any] = []
        self.error: OSError | None = None
        threading.Thread(target=self._run, args=(host, port), daemon=True).start()

    def _run(self, host: str, port: int) -> None:
        try:
            self.infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            self.error = exc
        finally:
            self.done.set()


def check_dns(url: httpx2.URL, proxy: str | None, timeout: float) -> CheckResult:
    host = url.host
    if proxy is not None:
        return _result("dns", "skip", f"the proxy {display_proxy(proxy)} resolves {host}")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return _result("dns", "ok", f"{host} is an IP address; nothing to resolve")
    lookup = _Lookup(host, _port(url))
    if not lookup.done.wait(timeout):
        slow = f"looking up {host} took longer than {timeout:g} s"
        return _result("dns", "fail", slow, _dns_fix(host))
    if lookup.error is not None:
        why = lookup.error.strerror or str(lookup.error)
        return _result("dns", "fail", f"cannot resolve {host}: {why}", _dns_fix(host))
    infos = lookup.infos
    addresses = sorted({str(info[4][0]) for info in infos})
    detail = f"{host} → {', '.join(addresses[:4])}"
    if _is_azure(host) and all(ipaddress.ip_address(a).is_private for a in addresses):
        detail += " (private addresses: a private endpoint)"
    return _result("dns", "ok", detail)


def _dns_fix(host: str) -> str:
    if _is_azure(host):
        label = host.split(".", 1)[0]
        return (
            f"Check the resource name {label!r}: it must match the Azure resource exactly (the "
            "portal shows the endpoint on the deployment's Details tab). A resource behind a "
            "private endpoint resolves only inside its network (private DNS zone "
            "privatelink.services.ai.azure.com or privatelink.cognitiveservices.azure.com); run "
            "from there or set HTTPS_PROXY."
        )
    return "Check the host name in the base URL, and your DNS or proxy settings."


def check_connect(url: httpx2.URL, proxy: str | None, timeout: float) -> CheckResult:
    target = f"{url.host}:{_port(url)}"
    if proxy is not None:
        return _result(
            "connect", "skip", f"traffic to {target} goes through the proxy {display_proxy(proxy)}"
        )
    started = time.perf_counter()
    try:
        with socket.create_connection((url.host.strip("[]"), _port(url)), timeout=timeout):
            pass
    except ConnectionRefusedError:
        if is_loopback_host(url.host):
            fix = (
                "Nothing listens on that port: start the service (for a local emulator: "
                "claude-foundry emulator) or correct the port in the base URL."
            )
        else:
            fix = "Check the port in the base URL and any firewall between here and the host."
        return _result("connect", "fail", f"connection to {target} refused", fix)
    except TimeoutError:
        return _result(
            "connect",
            "fail",
            f"no answer from {target} within {timeout:g} s",
            "A firewall, or a resource reachable only through its private endpoint (public "
            "network access disabled): check the resource's Networking settings, or go through "
            "a proxy (HTTPS_PROXY).",
        )
    except OSError as exc:
        return _result(
            "connect",
            "fail",
            f"cannot connect to {target}: {exc.strerror or exc}",
            "Check your network, VPN and proxy settings.",
        )
    elapsed_ms = (time.perf_counter() - started) * 1000
    return _result("connect", "ok", f"TCP connection to {target} in {elapsed_ms:.0f} ms")


def check_tls(url: httpx2.URL, proxy: str | None, timeout: float) -> CheckResult:
    if proxy is not None:
        return _result("tls", "skip", "TLS to the host runs through the proxy tunnel")
    if url.scheme == "http":
        if is_loopback_host(url.host):
            return _result("tls", "skip", "plain http to a loopback host: TLS skipped")
        return _result(
            "tls", "warn", f"plain http to {url.host}: no TLS", "Use an https:// base URL."
        )
    context = httpx2.create_ssl_context()
    host = url.host.strip("[]")
    try:
        with (
            socket.create_connection((host, _port(url)), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = tls.version() or "TLS"
            cert = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as exc:
        return _result(
            "tls",
            "fail",
            f"the certificate of {host} is not trusted: {exc.verify_message or exc}",
            "A TLS-inspecting proxy or firewall? Point SSL_CERT_FILE at your organisation's CA "
            "bundle. Otherwise check that the host name is the resource's endpoint.",
        )
    except (ssl.SSLError, OSError) as exc:
        return _result(
            "tls",
            "fail",
            f"TLS handshake with {host} failed: {exc}",
            "Check proxies and firewalls that intercept TLS.",
        )
    not_after = cert.get("notAfter")
    valid = f", certificate valid until {not_after}" if isinstance(not_after, str) else ""
    return _result("tls", "ok", f"{version} with {host}{valid}")


# --- HTTP probes ----------------------------------------------------------------------------------


def _headers(ctx: DoctorContext) -> dict[str, str]:
    from . import __version__

    headers = {
        "accept": "application/json",
        "content-type": "application/json",
        "anthropic-version": DEFAULT_ANTHROPIC_VERSION,
        "user-agent": f"claude-foundry-doctor/{__version__}",
    }
    for line in (ctx.environ.get(ENV_CUSTOM_HEADERS) or "").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip().lower()] = value.strip()
    if ctx.token is not None:
        headers["authorization"] = f"Bearer {ctx.token}"
    elif ctx.key is not None:
        headers["x-api-key"] = ctx.key
    return headers


@dataclass(slots=True)
class _Answer:
    response: httpx2.Response
    error: APIStatusError | None
    data: object


def _post(ctx: DoctorContext, path: str, body: dict[str, Any]) -> _Answer | tuple[str, str]:
    """The answer, or (what went wrong, the fix) when no answer came."""
    assert ctx.base_url is not None
    assert ctx.http is not None
    request = ctx.http.build_request(
        "POST", ctx.base_url + path, headers=_headers(ctx), content=msgspec.json.encode(body)
    )
    try:
        response = ctx.http.send(request)
    except httpx2.RequestError as exc:
        if isinstance(exc, httpx2.TimeoutException):
            seconds = ctx.options.timeout
            return (
                f"no answer from {request.url} within {seconds:g} s ({type(exc).__name__})",
                f"The service may be slow or a proxy may hold the request: retry with "
                f"--timeout {max(30, int(seconds * 3))}.",
            )
        fix = "Check the network path to the endpoint."
        if ctx.proxy is not None:
            fix = f"Check the proxy {display_proxy(ctx.proxy)}, or exempt the host with NO_PROXY."
        return transport_error(exc, request).message, fix
    data: object = None
    if response.content:
        try:
            data = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            data = response.text.strip()[:200] or None
    error = None
    if response.status_code >= 400:
        headers = response.headers
        error = make_status_error(
            response.status_code,
            data,
            response=response,
            request_id=headers.get("request-id"),
            apim_request_id=headers.get("apim-request-id"),
        )
    return _Answer(response, error, data)


def _ids(response: httpx2.Response) -> str:
    pairs = [(n, response.headers.get(n)) for n in ("request-id", "apim-request-id")]
    text = ", ".join(f"{name} {value}" for name, value in pairs if value)
    return f" ({text})" if text else ""


def _said(answer: _Answer) -> str:
    error = answer.error
    assert error is not None
    label = error.code or error.type
    if label == str(error.status_code):
        label = None  # Azure's {"code": "404"} says nothing the status does not
    message = error.api_message or (answer.data if isinstance(answer.data, str) else "")
    return f"HTTP {error.status_code}{' ' + label if label else ''}: {message}".rstrip(": ")


def _role_fix(ctx: DoctorContext) -> str:
    facts = ctx.token_facts
    if facts is not None and facts.object_id:
        return _ROLE_FIX.format(
            who=f"the principal (object id {facts.object_id})", assignee=facts.object_id
        )
    return _ROLE_FIX.format(who="your identity", assignee="<object id>")


def _refusal(ctx: DoctorContext, name: str, answer: _Answer) -> CheckResult | None:
    """A 401 or 403, explained; None for other answers."""
    error = answer.error
    if error is None or error.status_code not in (401, 403):
        return None
    detail = _said(answer) + _ids(answer.response)
    if error.code == "PermissionDenied" or (error.status_code == 403 and ctx.token is not None):
        return _result(name, "fail", detail, _role_fix(ctx))
    if error.status_code == 403:
        return _result(
            name,
            "fail",
            detail,
            "The key was accepted but access is denied: the resource's network rules "
            "(firewall, disabled public access) may exclude this network; see Networking on the "
            "resource in the Azure portal.",
        )
    if ctx.token is None:
        fix = (
            "The key was refused. Copy Key 1 or Key 2 of this resource from the Foundry portal "
            "(the deployment's Details tab, under Build > Models); a key of another resource or "
            "a regenerated key gives 401."
        )
        if ctx.url is not None and ctx.url.host.endswith(".openai.azure.com"):
            fix += " On an openai.azure.com host, /anthropic reportedly needs an Entra token."
        return _result(name, "fail", detail, fix)
    return _result(name, "fail", detail, _token_fix(ctx, error))


def _token_fix(ctx: DoctorContext, error: APIStatusError) -> str:
    facts = ctx.token_facts
    message = (error.api_message or "").lower()
    if facts is not None and facts.expired(time.time()):
        return "The token has expired; get a fresh one (az account get-access-token)."
    if facts is not None and facts.is_jwt and not facts.audience_ok:
        return "Request the token for https://ai.azure.com/.default (or --scope)."
    if "tenant" in message:
        tenant = f" (the token's tenant is {facts.tenant})" if facts and facts.tenant else ""
        return (
            f"The token comes from another tenant{tenant}: sign in to the resource's tenant "
            "(az login --tenant <tenant id of the resource>)."
        )
    return (
        "Foundry refused the token: check that it has not expired (tokens last about an hour), "
        "that it was issued for https://ai.azure.com/.default, that it comes from the resource's "
        "tenant, and that Microsoft Entra ID authentication is enabled on the resource."
    )


def _not_foundry(name: str, response: httpx2.Response, expected: str) -> CheckResult:
    """A success status whose body is not what the Messages API answers."""
    kind = response.headers.get("content-type", "no content-type")
    return _result(
        name,
        "fail",
        f"HTTP {response.status_code} ({kind}), but not {expected}",
        "The base URL reaches something other than Foundry (a portal page or a proxy).",
    )


def _credential_name(ctx: DoctorContext) -> str:
    return "token" if ctx.token is not None else "key"


def probe_auth(ctx: DoctorContext) -> CheckResult:
    """count_tokens: nothing billed, no quota used, and the gateway checks the credential first."""
    body = {"model": ctx.options.deployment, "messages": [{"role": "user", "content": "ping"}]}
    answer = _post(ctx, "v1/messages/count_tokens", body)
    if isinstance(answer, tuple):
        return _result("auth", "fail", *answer)
    ctx.count_tokens_answer = answer
    response, error = answer.response, answer.error
    accepted = f"the {_credential_name(ctx)} was accepted"
    if error is None:
        if 300 <= response.status_code < 400:
            where = response.headers.get("location", "elsewhere")
            return _result(
                "auth",
                "fail",
                f"HTTP {response.status_code}: redirected to {where}",
                "The base URL points at a web page, not the API endpoint.",
            )
        if not (isinstance(answer.data, dict) and "input_tokens" in answer.data):
            return _not_foundry("auth", response, "an answer of the Messages API")
        return _result("auth", "ok", f"{accepted} (count_tokens answered){_ids(response)}")
    refusal = _refusal(ctx, "auth", answer)
    if refusal is not None:
        return refusal
    detail = _said(answer) + _ids(response)
    if error.status_code == 404 and error.code in ("api_not_supported", "404"):
        return _result("auth", "fail", f"{detail} for {response.request.url}", error.hint)
    if error.status_code == 404 or error.status_code in (400, 413, 422, 429):
        label = error.code or error.type or ""
        answered = f"HTTP {error.status_code} {label}".strip()
        return _result("auth", "ok", f"{accepted}; the service went on to answer {answered}")
    if error.status_code >= 500:
        return _result("auth", "warn", detail, error.hint)
    return _result("auth", "fail", detail, error.hint)


def probe_deployment(ctx: DoctorContext) -> CheckResult:
    """The deployment: count_tokens told whether it exists; a one-token message shows it serves."""
    deployment = ctx.options.deployment
    first = ctx.count_tokens_answer
    assert first is not None  # the deployment check runs only after the auth probe answered
    if first.error is not None and first.error.status_code == 404:
        return _deployment_missing(ctx, first)
    if not ctx.options.send_message:
        if first.error is None:
            tokens = first.data.get("input_tokens") if isinstance(first.data, dict) else None
            return _result(
                "deployment",
                "ok",
                f"{deployment!r} counted {tokens} input tokens (no message sent)",
            )
        return _classify_deployment(ctx, first)
    body = {
        "model": deployment,
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "ping"}],
    }
    answer = _post(ctx, "v1/messages", body)
    if isinstance(answer, tuple):
        return _result("deployment", "fail", *answer)
    return _classify_deployment(ctx, answer)


def _classify_deployment(ctx: DoctorContext, answer: _Answer) -> CheckResult:
    deployment = ctx.options.deployment
    response, error = answer.response, answer.error
    if error is None:
        data = answer.data if isinstance(answer.data, dict) else {}
        if data.get("type") != "message":
            return _not_foundry("deployment", response, "a message from the Messages API")
        model = data.get("model")
        served = f" (model {model})" if model and model != deployment else ""
        return _result(
            "deployment", "ok", f"{deployment!r}{served} answered a 1-token message{_ids(response)}"
        )
    if error.status_code == 404:
        return _deployment_missing(ctx, answer)
    refusal = _refusal(ctx, "deployment", answer)
    if refusal is not None:
        return refusal
    detail = _said(answer) + _ids(response)
    if error.status_code == 429:
        wait = response.headers.get("retry-after")
        fix = (
            f"The deployment's quota (requests, input or output tokens per minute) is used up"
            f"{f'; retry after {wait} s' if wait else ''}. Lower concurrency or max_tokens, or "
            "request more quota (https://aka.ms/oai/stuquotarequest); Free Trial subscriptions "
            "have no Claude quota."
        )
        return _result("deployment", "fail", detail, fix)
    if error.status_code == 529:
        return _result("deployment", "warn", detail, error.hint)
    return _result("deployment", "fail", detail, error.hint)


def _deployment_missing(ctx: DoctorContext, answer: _Answer) -> CheckResult:
    deployment = ctx.options.deployment
    detail = f"no deployment named {deployment!r}: {_said(answer)}{_ids(answer.response)}"
    fix = (
        "Pass the deployment name (case-sensitive, as listed under Build > Models in the Foundry "
        "portal), not the model id, with --deployment NAME. A deployment created in the last 5 "
        "minutes may not be ready yet."
    )
    dated = _DATED_MODEL_ID.fullmatch(deployment)
    if dated:
        fix += (
            f" {deployment!r} is a dated model id; default deployment names have no date "
            f"(e.g. {dated.group(1)!r})."
        )
    elif deployment != deployment.lower():
        fix += " Names are case-sensitive; some tools lower-case them."
    return _result("deployment", "fail", detail, fix)
