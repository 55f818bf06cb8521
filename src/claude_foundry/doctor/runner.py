"""The doctor's run: every check in order, a failed check's dependants skipped, secrets redacted."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import httpx2

from .._config import check_timeout
from .._token_cache import redact_secrets
from .context import DoctorContext, DoctorOptions, resolve_context
from .credential import check_credential
from .http_probes import probe_auth, probe_deployment
from .network import check_connect, check_dns, check_tls, proxy_for, proxy_problem
from .results import CheckResult
from .settings import (
    check_base_url,
    check_environment,
    check_resource,
    endpoint_for_resource,
    url_secrets,
)
from .stores import check_ledger

__all__ = ["CHECK_NAMES", "run_doctor"]

CHECK_NAMES = (
    "environment",
    "resource",
    "base_url",
    "credential",
    "dns",
    "connect",
    "tls",
    "auth",
    "deployment",
    "ledger",
)
_REQUIRES: dict[str, tuple[str, ...]] = {
    "base_url": ("resource",),
    "credential": ("environment",),
    "dns": ("resource",),
    "connect": ("dns",),
    "tls": ("connect",),
    "auth": ("base_url", "credential", "tls"),
    "deployment": ("auth",),
}


def run_doctor(
    options: DoctorOptions | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    token_provider: Callable[[], Any] | None = None,
    credential: Any = None,
    http_client: httpx2.Client | None = None,
) -> list[CheckResult]:
    """Run every check in order and return one :class:`CheckResult` per entry of CHECK_NAMES.

    ``token_provider`` (a callable returning a token) or ``credential`` (an azure-identity
    credential) check Microsoft Entra ID as the client would use it.
    """
    options = options or DoctorOptions()
    # A timeout no socket takes (NaN, infinity, 1e20 s) would raise deep in a probe.
    check_timeout(options.timeout)
    ctx = DoctorContext(
        options=options,
        environ=os.environ if environ is None else environ,
        token_provider=token_provider,
        credential=credential,
    )
    resolve_context(ctx)
    target = ctx.base_url_raw or (
        endpoint_for_resource(ctx.resource, ctx.environ) if ctx.resource else None
    )
    ctx.proxy = proxy_for(target, ctx.environ) if target else None
    checks: list[tuple[str, Callable[[DoctorContext], CheckResult]]] = [
        ("environment", check_environment),
        ("resource", check_resource),
        ("base_url", check_base_url),
        ("credential", check_credential),
        ("dns", lambda c: check_dns(_url(c), c.proxy, c.options.timeout)),
        ("connect", lambda c: check_connect(_url(c), c.proxy, c.options.timeout)),
        ("tls", lambda c: check_tls(_url(c), c.proxy, c.options.timeout)),
        ("auth", probe_auth),
        ("deployment", probe_deployment),
        ("ledger", check_ledger),
    ]
    results: list[CheckResult] = []
    by_name: dict[str, CheckResult] = {}
    owns_http = http_client is None
    ctx.http = http_client or httpx2.Client(
        timeout=ctx.options.timeout,
        # An unusable proxy fails the environment check, which the HTTP probes depend on.
        proxy=ctx.proxy if ctx.proxy is None or proxy_problem(ctx.proxy) is None else None,
        verify=httpx2.create_ssl_context(),  # honours SSL_CERT_FILE, as the client does
        trust_env=False,  # proxies come from `environ`, already resolved
        follow_redirects=False,
    )
    try:
        for name, check in checks:
            result = _skip_if_blocked(ctx, name, by_name)
            if result is None:
                if name in ("dns", "connect", "tls") and ctx.url is None:
                    ctx.blocked.add(name)
                    result = CheckResult(name, "skip", "no endpoint to reach")
                else:
                    result = check(ctx)
            if result.status == "fail":
                ctx.blocked.add(name)
            results.append(result)
            by_name[name] = result
    finally:
        if owns_http:
            ctx.http.close()
    # A secret of a few characters (a placeholder such as "k") is no secret worth hiding, and
    # removing it from every word would garble the report.
    secrets = tuple(
        s
        for s in (
            *(s for s in (ctx.key, ctx.token) if s),
            *url_secrets(ctx.base_url_raw, ctx.proxy, ctx.env("ANTHROPIC_BASE_URL")),
        )
        if len(s) >= 4
    )
    return [
        CheckResult(
            r.name, r.status, redact_secrets(r.detail, *secrets), redact_secrets(r.fix, *secrets)
        )
        for r in results
    ]


def _url(ctx: DoctorContext) -> httpx2.URL:
    assert ctx.url is not None
    return ctx.url


def _skip_if_blocked(
    ctx: DoctorContext, name: str, done: Mapping[str, CheckResult]
) -> CheckResult | None:
    for needed in _REQUIRES.get(name, ()):
        if needed in ctx.blocked:
            ctx.blocked.add(name)
            why = "failed" if done[needed].status == "fail" else "was skipped"
            return CheckResult(name, "skip", f"skipped: the {needed} check {why}")
    return None
