"""The doctor's settings checks: the environment, the resource name and the base URL."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2

from .._config import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_CUSTOM_HEADERS,
    ENV_ENDPOINT_TEMPLATE,
    ENV_RESOURCE,
    _check_resource,
    _suggest_base_url,
    _url_for_resource,
    is_loopback_host,
    normalise_base_url,
)
from .._errors import ConfigurationError
from .context import DoctorContext
from .network import display_proxy, proxy_problem
from .results import CheckResult, Finding, Status, merge_findings

__all__ = [
    "check_base_url",
    "check_environment",
    "check_resource",
    "endpoint_for_resource",
    "url_secrets",
]

_EXAMPLE_BASE_URL = "https://<resource>.services.ai.azure.com/anthropic/"

_TRUE = frozenset({"1", "true", "yes", "on"})


def check_environment(ctx: DoctorContext) -> CheckResult:
    """Variables and options: conflicts, empty values, generic variables the client ignores."""
    findings: list[Finding] = []
    options = ctx.options
    for name in (ctx.key_source, ENV_RESOURCE, ENV_BASE_URL):
        raw = ctx.environ.get(name)
        if raw is not None and not raw.strip():
            findings.append(
                (
                    "warn",
                    f"${name} is set but empty, so it counts as unset",
                    f"Unset {name} or give it a value.",
                )
            )
    if not options.deployment.strip():
        findings.append(
            (
                "fail",
                "the deployment name is empty",
                "Pass --deployment NAME (the value of `model`).",
            )
        )
    if ctx.resource is not None and ctx.base_url_raw is not None:
        findings.append(
            (
                "fail",
                f"a resource ({ctx.resource_source}) and a base URL ({ctx.base_url_source}) are "
                "both set; the client refuses this (mutually exclusive)",
                "Keep only one: the resource for the standard endpoint, or the base URL for a "
                f"custom one (unset {ENV_RESOURCE} or {ENV_BASE_URL}).",
            )
        )
    elif options.base_url is not None and ctx.env(ENV_RESOURCE) is not None:
        findings.append(("ok", f"${ENV_RESOURCE} is ignored because --base-url is given", ""))
    entra_ways = [
        label
        for label, used in (
            ("--entra", options.entra),
            ("--token-env", options.token_env is not None),
            ("a token provider", ctx.token_provider is not None),
            ("a credential", ctx.credential is not None),
        )
        if used
    ]
    if len(entra_ways) > 1:
        findings.append(
            (
                "fail",
                f"{' and '.join(entra_ways)} are both given",
                "Pick one source of Microsoft Entra tokens.",
            )
        )
    if entra_ways and options.api_key_env is not None:
        findings.append(
            (
                "fail",
                f"--api-key-env and {entra_ways[0]} are both given; the client takes a key or "
                "a token, not both",
                "Drop --api-key-env to check Entra ID, or drop the Entra option to check the key.",
            )
        )
    elif entra_ways and ctx.env(ENV_API_KEY) is not None:
        findings.append(
            ("ok", f"${ENV_API_KEY} is set but not used: Microsoft Entra ID is checked", "")
        )
    if ctx.env("ANTHROPIC_API_KEY") is not None:
        if ctx.key is None and not ctx.entra:
            findings.append(
                (
                    "warn",
                    "$ANTHROPIC_API_KEY is set, but Foundry clients never read it",
                    f"Put the Foundry key in {ENV_API_KEY} (the portal shows it on the "
                    "deployment's Details tab, under Build > Models).",
                )
            )
        else:
            findings.append(("ok", "$ANTHROPIC_API_KEY is set and ignored (as it should be)", ""))
    generic_url = ctx.env("ANTHROPIC_BASE_URL")
    if generic_url is not None:
        fix = "Unset ANTHROPIC_BASE_URL unless another tool needs it."
        looks_foundry = ".azure.com" in generic_url or "/anthropic" in generic_url
        if ctx.base_url_raw is None and ctx.resource is None and looks_foundry:
            suggestion = _suggested_base_url(generic_url, refused=False)
            fix = f"Set {ENV_BASE_URL}={suggestion} instead (Foundry clients read only that)."
        findings.append(("warn", "$ANTHROPIC_BASE_URL is set, but Foundry clients ignore it", fix))
    if ctx.env("ANTHROPIC_AUTH_TOKEN") is not None:
        findings.append(
            (
                "warn",
                "$ANTHROPIC_AUTH_TOKEN is set, but Foundry clients never send it",
                "For Microsoft Entra ID use a token provider or credential (here: --entra or "
                "--token-env NAME).",
            )
        )
    claude_code = ctx.env("CLAUDE_CODE_USE_FOUNDRY")
    if claude_code is not None:
        if claude_code.lower() in _TRUE:
            note = "CLAUDE_CODE_USE_FOUNDRY is on: Claude Code reads these same variables"
            if ctx.env(ENV_API_KEY) is None:
                note += " and, with no key, uses DefaultAzureCredential (check it with --entra)"
            findings.append(("ok", note, ""))
        else:
            findings.append(
                (
                    "warn",
                    f"CLAUDE_CODE_USE_FOUNDRY={claude_code!r} does not switch Claude Code to "
                    "Foundry",
                    "Set CLAUDE_CODE_USE_FOUNDRY=1 if Claude Code should use Foundry.",
                )
            )
    custom = ctx.environ.get(ENV_CUSTOM_HEADERS)
    if custom:
        names = [line.partition(":")[0].strip() for line in custom.splitlines() if ":" in line]
        lowered = {name.lower() for name in names}
        if lowered & {"authorization", "x-api-key", "api-key"}:
            findings.append(
                (
                    "warn",
                    f"${ENV_CUSTOM_HEADERS} sets {', '.join(names)}, which clash with the "
                    "credential's header",
                    f"Remove the credential headers from {ENV_CUSTOM_HEADERS}.",
                )
            )
        else:
            findings.append(("ok", f"${ENV_CUSTOM_HEADERS} adds {', '.join(names)}", ""))
    if ctx.proxy is not None:
        problem = proxy_problem(ctx.proxy)
        if problem is None:
            findings.append(("ok", f"requests go through the proxy {display_proxy(ctx.proxy)}", ""))
        else:
            findings.append(
                (
                    "fail",
                    problem,
                    "Fix or unset HTTPS_PROXY / HTTP_PROXY / ALL_PROXY: a proxy URL looks like "
                    "http://host:port (http://, https://, or socks5:// with pip install socksio).",
                )
            )
    if not findings:
        return CheckResult("environment", "ok", "no conflicting or ignored variables")
    return merge_findings("environment", findings)


def check_resource(ctx: DoctorContext) -> CheckResult:
    """The resource name, when the endpoint is built from one."""
    if ctx.resource is None:
        if ctx.base_url_raw is not None:
            return CheckResult(
                "resource", "skip", f"not used: the base URL comes from {ctx.base_url_source}"
            )
        ctx.blocked.add("resource")
        return CheckResult(
            "resource",
            "fail",
            f"no endpoint: neither --resource/--base-url nor ${ENV_RESOURCE}/${ENV_BASE_URL} "
            "is set",
            f"export {ENV_RESOURCE}=<resource> (the first part of "
            "https://<resource>.services.ai.azure.com), or pass --base-url.",
        )
    try:
        name = _check_resource(ctx.resource, ctx.resource_source)
    except ConfigurationError as exc:
        return CheckResult("resource", "fail", str(exc), _resource_fix(ctx.resource))
    return CheckResult("resource", "ok", f"{name!r} (from {ctx.resource_source})")


def _resource_fix(resource: str) -> str:
    text = resource.strip()
    if not any(ch in text for ch in "./:"):
        return "Use the resource name exactly as in the Azure portal (letters, digits, hyphens)."
    suggestion = _suggested_base_url(text)
    host = httpx2.URL(suggestion).host if "<" not in suggestion else ""
    if host.endswith((".services.ai.azure.com", ".cognitiveservices.azure.com")):
        return f"Use --resource {host.split('.', 1)[0]} (or --base-url {suggestion})."
    return f"Use --base-url {suggestion} instead of a resource."


def check_base_url(ctx: DoctorContext) -> CheckResult:
    """The base URL's shape and host: /anthropic/, a pasted Target URI, the kind of host."""
    if ctx.resource is not None and ctx.base_url_raw is not None:
        ctx.blocked.add("base_url")
        return CheckResult("base_url", "skip", "ambiguous: a resource and a base URL are both set")
    if ctx.base_url_raw is None:
        assert ctx.resource is not None
        template = ctx.env(ENV_ENDPOINT_TEMPLATE)
        try:
            ctx.base_url = _url_for_resource(ctx.resource.strip(), ctx.environ)
        except ConfigurationError as exc:
            return CheckResult(
                "base_url",
                "fail",
                str(exc),
                f"Fix or unset {ENV_ENDPOINT_TEMPLATE}; a resource name otherwise becomes "
                "https://{resource}.services.ai.azure.com/anthropic/.",
            )
        ctx.url = httpx2.URL(ctx.base_url)
        if template is None:
            return CheckResult("base_url", "ok", f"{ctx.base_url} (built from the resource)")
        built = f"{ctx.base_url} (built from the resource with ${ENV_ENDPOINT_TEMPLATE})"
        return merge_findings("base_url", [("ok", built, ""), *_host_notes(ctx, ctx.url)])
    raw = ctx.base_url_raw
    try:
        base_url, target_uri_warning = normalise_base_url(raw)
    except ConfigurationError as exc:
        try:
            url = httpx2.URL(raw.strip())
            if url.scheme in ("http", "https") and url.host:
                ctx.url = url  # the network checks can still tell whether the host answers
        except httpx2.InvalidURL:
            pass
        return CheckResult(
            "base_url",
            "fail",
            f"{ctx.base_url_source}: {exc}",
            f"Set {ctx.base_url_source.lstrip('$')} to {_suggested_base_url(raw)}",
        )
    ctx.base_url = base_url
    ctx.url = httpx2.URL(base_url)
    findings: list[Finding] = [("ok", f"{base_url} (from {ctx.base_url_source})", "")]
    if target_uri_warning is not None:
        findings.append(
            (
                "warn",
                f"{raw.strip()!r} ends in an API path (the portal's Target URI); the client cuts "
                "it back",
                f"Set {ctx.base_url_source.lstrip('$')} to {base_url}",
            )
        )
    findings.extend(_host_notes(ctx, ctx.url))
    return merge_findings("base_url", findings)


def _host_notes(ctx: DoctorContext, url: httpx2.URL) -> list[Finding]:
    host = url.host.lower()
    label = host.split(".", 1)[0]
    documented = f"https://{label}.services.ai.azure.com/anthropic/"
    if is_loopback_host(host):
        return [("ok", "a loopback endpoint (a local emulator or proxy)", "")]
    notes: list[Finding] = []
    if url.scheme == "http":
        status: Status = "fail" if ctx.entra else "warn"
        notes.append(
            (
                status,
                "plain http to another machine: the credential would cross the network "
                "unencrypted"
                + (" (the client refuses to send a token this way)" if ctx.entra else ""),
                "Use https://.",
            )
        )
    if host.endswith(".services.ai.azure.com"):
        return notes
    if host.endswith(".cognitiveservices.azure.com"):
        notes.append(
            (
                "ok",
                "the cognitiveservices.azure.com host reaches the same resource (private "
                "endpoints included)",
                "",
            )
        )
    elif host.endswith(".openai.azure.com"):
        notes.append(
            (
                "warn",
                "an Azure OpenAI host: for /anthropic it is reported to accept only "
                "Authorization: Bearer, not keys",
                f"Use the documented endpoint {documented}",
            )
        )
    elif host.endswith(".azure.anthropic.com"):
        notes.append(("warn", "not a Foundry host", f"Use {documented}"))
    else:
        notes.append(("ok", f"{host} is not a Foundry host (a gateway or proxy?)", ""))
    return notes


def endpoint_for_resource(resource: str, environ: Mapping[str, str]) -> str | None:
    """The base URL the client builds for ``resource`` (honouring the endpoint template), or
    None when it cannot build one; the base_url check reports why."""
    try:
        return _url_for_resource(resource.strip(), environ)
    except ConfigurationError:
        return None


def url_secrets(*urls: str | None) -> tuple[str, ...]:
    """The passwords that URLs carry, so the report can redact them wherever they appear."""
    found: list[str] = []
    for raw in urls:
        if not raw or "@" not in raw:
            continue
        try:
            url = httpx2.URL(raw.strip() if "://" in raw else "https://" + raw.strip())
        except httpx2.InvalidURL:
            continue
        if url.password:
            found.append(url.password)
    return tuple(found)


def _suggested_base_url(raw: str, *, refused: bool = True) -> str:
    """The base URL to suggest in place of a rejected one: without credentials, over https when
    the scheme is not http(s), and never the ``refused`` text itself."""
    text = raw.strip()
    try:
        url = httpx2.URL(text if "://" in text else "https://" + text)
        if url.userinfo:
            url = url.copy_with(userinfo=b"")
        if url.scheme not in ("http", "https"):
            url = url.copy_with(scheme="https")
    except httpx2.InvalidURL:
        return _EXAMPLE_BASE_URL
    if not url.host:
        return _EXAMPLE_BASE_URL
    suggestion = _suggest_base_url(str(url))
    if refused and suggestion.rstrip("/") == text.rstrip("/"):
        return _EXAMPLE_BASE_URL
    return suggestion
