"""The doctor's credential check: which key or token is used, judged without printing it."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator

from .._config import key_character_problem
from .._token_cache import DEFAULT_TOKEN_SCOPE, redact_secrets
from .context import DoctorContext
from .results import CheckResult
from .tokens import TokenFacts, read_token_facts

__all__ = ["check_credential"]

_CHAIN_LINK = re.compile(r"^\s+(\w+Credential): (.*)$")


@contextlib.contextmanager
def _quiet_azure_identity() -> Iterator[None]:
    # azure-identity logs a chain failure as a warning; the check reports it once, itself.
    logger = logging.getLogger("azure.identity")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _summarise_failure(exc: BaseException) -> str:
    """One line per link of a credential chain, or the first lines of any other error."""
    lines = redact_secrets(str(exc)).splitlines()
    links = []
    for line in lines:
        match = _CHAIN_LINK.match(line)
        if match:
            name, why = match.groups()
            why = why.removeprefix(f"{name} authentication unavailable. ").split(". ")[0]
            links.append(f"{name}: {why.rstrip('.')[:160]}")
    if links:
        return f"{type(exc).__name__}; tried " + "; ".join(links)
    text = " ".join(line.strip() for line in lines if line.strip())
    return f"{type(exc).__name__}: {text[:400]}"


def check_credential(ctx: DoctorContext) -> CheckResult:
    """Which credential is used: a key (its length only) or a token (its claims only)."""
    options = ctx.options
    if not ctx.entra:
        return _check_key(ctx)
    if options.token_env is not None:
        token = ctx.env(options.token_env)
        if token is None:
            return CheckResult(
                "credential",
                "fail",
                f"${options.token_env} is unset or empty",
                f"export {options.token_env}=$(az account get-access-token --resource "
                f"{_resource_of(options.scope)} --query accessToken -o tsv)",
            )
        ctx.token, ctx.credential_label = token, f"token from ${options.token_env}"
    else:
        got = _token_from_source(ctx)
        if isinstance(got, CheckResult):
            return got
    assert ctx.token is not None
    scheme, _, rest = ctx.token.partition(" ")
    prefixed = scheme.lower() == "bearer" and bool(rest.strip())
    if prefixed:
        ctx.token = rest.strip()
    facts = read_token_facts(ctx.token)
    ctx.token_facts = facts
    result = _judge_token(ctx, facts)
    if prefixed and result.status == "ok":
        return CheckResult(
            "credential",
            "warn",
            result.detail + "; the value starts with the scheme name 'Bearer'",
            "Give the bare token: the client adds the scheme itself, so a prefixed token would "
            "be sent with 'Bearer' twice.",
        )
    return result


def _resource_of(scope: str) -> str:
    return scope.strip().removesuffix("/.default")


def _check_key(ctx: DoctorContext) -> CheckResult:
    if ctx.key is None:
        extra = ""
        if ctx.env("ANTHROPIC_API_KEY") is not None:
            extra = " (ANTHROPIC_API_KEY is set, but Foundry does not use it)"
        return CheckResult(
            "credential",
            "fail",
            f"no credential: ${ctx.key_source} is not set{extra}",
            f"export {ctx.key_source}=<key from the deployment's Details tab in the Foundry "
            "portal, under Build > Models>, or check Microsoft Entra ID with --entra.",
        )
    key = ctx.key
    detail = f"API key from ${ctx.key_source}: set, {len(key)} chars"
    if key.startswith("sk-ant-"):
        return CheckResult(
            "credential",
            "fail",
            detail + "; it is an Anthropic Console key (sk-ant-...), not a Foundry key",
            "Use a key of the Foundry resource (Details tab under Build > Models).",
        )
    if key.startswith("eyJ") and key.count(".") == 2:
        return CheckResult(
            "credential",
            "warn",
            detail + "; it looks like a Microsoft Entra token, not a key",
            "A token goes in the Authorization header: azure_ad_token_provider= (here: "
            "--token-env NAME).",
        )
    problem = key_character_problem(key)
    if problem is not None and not any(ch.isspace() for ch in key):
        return CheckResult(
            "credential",
            "fail",
            f"{detail}; it holds {problem}, which no key has (the client refuses it)",
            f"Copy the key again from the deployment's Details tab in the Foundry portal and set "
            f"{ctx.key_source} to it.",
        )
    if key[0] in "'\"" or key[-1] in "'\"" or any(ch.isspace() for ch in key):
        return CheckResult(
            "credential",
            "warn",
            detail + "; it contains quotes or spaces",
            f"Set {ctx.key_source} to the bare key, without quotes or spaces.",
        )
    return CheckResult("credential", "ok", detail)


def _token_from_source(ctx: DoctorContext) -> CheckResult | None:
    options = ctx.options
    provider = ctx.token_provider
    credential = ctx.credential
    if provider is None and credential is None:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            return CheckResult(
                "credential",
                "fail",
                "--entra needs azure-identity, which is not installed",
                "pip install 'claude-foundry[entra]'",
            )
        credential = DefaultAzureCredential()
    try:
        if provider is not None:
            value = provider()
            label = f"token provider {getattr(provider, '__name__', type(provider).__name__)}"
        else:
            with _quiet_azure_identity():
                value = credential.get_token(options.scope).token
            label = f"{type(credential).__name__}"
            link = getattr(credential, "_successful_credential", None)
            if link is not None:
                label += f" via {type(link).__name__}"
            label += f" (scope {options.scope})"
    except Exception as exc:
        return CheckResult(
            "credential",
            "fail",
            f"no token: {_summarise_failure(exc)}",
            f"Sign in with `az login` (test with `az account get-access-token --resource "
            f"{_resource_of(options.scope)}`), or run where a managed identity or the "
            "AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET variables are set.",
        )
    if not isinstance(value, str) or not value.strip():
        return CheckResult(
            "credential",
            "fail",
            f"the {label} returned {type(value).__name__}, not a token",
            "A token provider must return the access token as a non-empty str.",
        )
    ctx.token, ctx.credential_label = value.strip(), label
    return None


def _judge_token(ctx: DoctorContext, facts: TokenFacts) -> CheckResult:
    label = ctx.credential_label
    if not facts.is_jwt:
        return CheckResult(
            "credential",
            "warn",
            f"Microsoft Entra {label}: set, {facts.length} chars, but not a JWT, so its "
            "audience and expiry cannot be read",
            "Check that it is an access token (az account get-access-token), not an id token "
            "or a key.",
        )
    now = time.time()  # one instant, so the description and the verdicts agree
    detail = f"Microsoft Entra {label}: {facts.describe(now)}"
    scope_hint = (
        "az account get-access-token --resource https://ai.azure.com (or request the scope "
        f"{DEFAULT_TOKEN_SCOPE})"
    )
    if facts.expired(now):
        return CheckResult(
            "credential",
            "fail",
            detail,
            f"The token has expired (they last about an hour); get a fresh one: {scope_hint}.",
        )
    if not facts.audience_ok:
        return CheckResult(
            "credential",
            "fail",
            detail + "; Foundry accepts only https://ai.azure.com or "
            "https://cognitiveservices.azure.com",
            f"Request the token for the right scope: {scope_hint}.",
        )
    if facts.not_before is not None and facts.not_before > now + 60:
        return CheckResult(
            "credential",
            "warn",
            detail + "; it is not valid yet (nbf is in the future)",
            "Check this machine's clock: Foundry refuses tokens before their start time.",
        )
    if facts.expires_within(now, 300):
        return CheckResult(
            "credential", "warn", detail, "The token expires within 5 minutes; fetch a new one."
        )
    return CheckResult("credential", "ok", detail)
