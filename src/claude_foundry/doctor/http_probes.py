"""The doctor's two HTTP probes: count_tokens tests access, a one-token message the deployment.

The probes send what the client sends (``x-api-key`` or ``Authorization: Bearer``,
``anthropic-version``) without retries, so each answer is the service's first word, and map it to
the troubleshooting table.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx2
import msgspec

from .._config import DEFAULT_ANTHROPIC_VERSION, ENV_CUSTOM_HEADERS
from .._errors import APIStatusError, make_status_error
from .._pipeline import transport_error
from .._version import __version__
from .context import Answer, DoctorContext
from .network import display_proxy
from .results import CheckResult, Status

__all__ = ["probe_auth", "probe_deployment"]

_ROLE_FIX = (
    "Assign {who} the 'Foundry User' (formerly Azure AI User) or 'Cognitive Services User' role "
    "on the Foundry resource: az role assignment create --assignee {assignee} --role "
    "\"Cognitive Services User\" --scope <resource id>. 'Cognitive Services OpenAI User' does not "
    "cover /anthropic. New assignments take a few minutes to apply."
)
_DATED_MODEL_ID = re.compile(r"(claude-[a-z0-9-]+?)-(\d{8})")


def _result(name: str, status: Status, detail: str, fix: str = "") -> CheckResult:
    return CheckResult(name, status, detail, fix)


def _headers(ctx: DoctorContext) -> dict[str, str]:
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


def _post(ctx: DoctorContext, path: str, body: dict[str, Any]) -> Answer | tuple[str, str]:
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
    return Answer(response, error, data)


def _ids(response: httpx2.Response) -> str:
    pairs = [(n, response.headers.get(n)) for n in ("request-id", "apim-request-id")]
    text = ", ".join(f"{name} {value}" for name, value in pairs if value)
    return f" ({text})" if text else ""


def _said(answer: Answer) -> str:
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


def _refusal(ctx: DoctorContext, name: str, answer: Answer) -> CheckResult | None:
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


def _classify_deployment(ctx: DoctorContext, answer: Answer) -> CheckResult:
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


def _deployment_missing(ctx: DoctorContext, answer: Answer) -> CheckResult:
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
