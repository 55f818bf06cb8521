"""Names of the official ``anthropic`` package that this package does not offer, and why.

Code ported from the official client imports names from ``anthropic``; after the switch, a name
that has no place on Microsoft Foundry (another platform's client, Anthropic's own credentials,
an error only the Claude API returns) must fail where it is imported, saying what to use
instead, never resolve to something that behaves differently. The tables here are that
classification, as data; the packages' module ``__getattr__`` raise with them:

- ``from claude_foundry import Anthropic`` raises :class:`ImportError` with the reason;
- ``claude_foundry.Anthropic`` (and ``hasattr``, ``getattr(..., default)``) raises
  :class:`AttributeError` with the same reason, so introspection keeps working.
"""

from __future__ import annotations

import dis
from collections.abc import Mapping
from types import FrameType

__all__ = [
    "UNAVAILABLE",
    "UNAVAILABLE_IN_LIB",
    "UNAVAILABLE_IN_LIB_MIDDLEWARE",
    "UNAVAILABLE_IN_LIB_STREAMING",
    "UNAVAILABLE_IN_LIB_TOOLS",
    "unavailable_error",
]

_IMPORT_FROM = dis.opmap["IMPORT_FROM"]

_CLIENT = (
    "it is the official client for {platform}. On Microsoft Foundry use {ours} (the same "
    "resources and methods; pass resource= or base_url=, and api_key= or credential=)."
)
_CREDENTIALS = (
    "Anthropic's workload identity and OAuth credentials do not apply to Microsoft Foundry, "
    "which takes an API key (api_key=) or Microsoft Entra ID: pass an azure-identity credential "
    "as credential= (e.g. DefaultAzureCredential()) or a token function as "
    "azure_ad_token_provider=."
)
_CREDENTIALS_ERROR = _CREDENTIALS + " A failure to get an Entra ID token raises EntraTokenError."
_ACCOUNT_ERROR = (
    "it is an error of Claude API accounts (error.details.error_code {code!r}) that Microsoft "
    "Foundry does not return. A {status} answer raises {ours}: catch that."
)
_OPENTELEMETRY = (
    "it configures the official client's own tracing. Here every call produces a CallRecord: "
    "pass observers=[OpenTelemetryObserver()] (from claude_foundry.ledger.otel) for spans and "
    "metrics."
)

_PLATFORMS = {
    "": "the Claude API",
    "AWS": "Claude Platform on AWS",
    "Bedrock": "Amazon Bedrock",
    "BedrockMantle": "Amazon Bedrock",
    "GoogleCloud": "Google Cloud",
    "Vertex": "Google Vertex AI",
}


def _clients() -> dict[str, str]:
    table: dict[str, str] = {}
    for suffix, platform in _PLATFORMS.items():
        table[f"Anthropic{suffix}"] = _CLIENT.format(platform=platform, ours="AnthropicFoundry")
        table[f"AsyncAnthropic{suffix}"] = _CLIENT.format(
            platform=platform, ours="AsyncAnthropicFoundry"
        )
    table["Client"] = _CLIENT.format(platform="the Claude API", ours="AnthropicFoundry")
    table["AsyncClient"] = _CLIENT.format(platform="the Claude API", ours="AsyncAnthropicFoundry")
    return table


# name: (status, error_code, the class our client raises for that status)
_ACCOUNT_ERRORS: dict[str, tuple[int, str, str]] = {
    "CMEKContextUnavailableError": (503, "cmek_context_unavailable", "ServiceUnavailableError"),
    "CMEKKeyDisabledError": (400, "cmek_key_disabled", "BadRequestError"),
    "CMEKKeyNetworkBlockedError": (400, "cmek_key_network_blocked", "BadRequestError"),
    "CMEKKeyUnreachableError": (503, "cmek_key_unreachable", "ServiceUnavailableError"),
    "ClaudeCodeKeyCreatorNotMemberError": (
        400,
        "claude_code_key_creator_not_member",
        "BadRequestError",
    ),
    "ClaudeCodeVersionTooOldError": (400, "claude_code_version_too_old", "BadRequestError"),
    "ContractSpendLimitReachedError": (429, "contract_spend_limit_reached", "RateLimitError"),
    "EnforcedSpendLimitReachedError": (429, "enforced_spend_limit_reached", "RateLimitError"),
    "LinkedOrganizationBillingUnavailableError": (
        402,
        "linked_organization_billing_unavailable",
        "PaymentRequiredError",
    ),
    "LinkedOrganizationSpendLimitReachedError": (
        402,
        "linked_organization_spend_limit_reached",
        "PaymentRequiredError",
    ),
    "OrganizationOnHoldError": (400, "organization_on_hold", "BadRequestError"),
    "OrganizationTypeNotSupportedError": (
        400,
        "organization_type_not_supported",
        "BadRequestError",
    ),
    "ParentOrganizationRequiredError": (400, "parent_organization_required", "BadRequestError"),
    "RampLimitExceededError": (429, "ramp_limit_exceeded", "RateLimitError"),
    "RequestBodyEncodingInvalidError": (400, "request_body_encoding_invalid", "BadRequestError"),
    "RequestBodyEncodingUnsupportedError": (
        400,
        "request_body_encoding_unsupported",
        "BadRequestError",
    ),
    "RequestBodyTooLargeAfterDecodingError": (
        413,
        "request_body_too_large_after_decoding",
        "ContentTooLargeError",
    ),
    "SandboxEgressRestrictedError": (403, "sandbox_egress_restricted", "PermissionDeniedError"),
}

_CREDENTIAL_NAMES = (
    "AccessToken",
    "AccessTokenAuth",
    "AccessTokenProvider",
    "AsyncAccessTokenProvider",
    "BaseURLBoundProvider",
    "CredentialResult",
    "CredentialsFile",
    "EnvToken",
    "IdentityTokenFile",
    "IdentityTokenProvider",
    "InMemoryConfig",
    "StaticToken",
    "TokenCache",
    "WorkloadIdentityCredentials",
    "default_credentials",
    "exchange_federation_assertion",
)
_CREDENTIAL_ERRORS = ("CredentialsError", "IdentityTokenFileError", "WorkloadIdentityError")
_OPENTELEMETRY_NAMES = (
    "OpenTelemetryClientOption",
    "OpenTelemetryOptions",
    "OpenTelemetryTraces",
    "ResolvedOpenTelemetryOptions",
    "ResolvedOpenTelemetryTraces",
)

_FALLBACK_STATE = (
    "RefusalFallbackMiddleware (BetaRefusalFallbackMiddleware) keeps no pin across calls: Foundry "
    "issues no fallback credit tokens. To stay on the model that accepted, send the next calls "
    "with that model."
)

UNAVAILABLE: dict[str, str] = {
    **_clients(),
    **{name: _CREDENTIALS for name in _CREDENTIAL_NAMES},
    **{name: _CREDENTIALS_ERROR for name in _CREDENTIAL_ERRORS},
    **{
        name: _ACCOUNT_ERROR.format(status=status, code=code, ours=ours)
        for name, (status, code, ours) in _ACCOUNT_ERRORS.items()
    },
    **{name: _OPENTELEMETRY for name in _OPENTELEMETRY_NAMES},
    "APIWebhookValidationError": (
        "Microsoft Foundry sends no Anthropic webhooks, so there is nothing to validate; watch "
        "your deployments with Azure Monitor."
    ),
    "BetaFallbackState": _FALLBACK_STATE,
    "TypeAlias": "it is not part of the client: import it from typing.",
    "pagination": (
        "Microsoft Foundry has none of the list endpoints that page (models, batches, files); "
        "list deployments in the Foundry portal or with `az cognitiveservices account "
        "deployment list`."
    ),
    "tools": (
        "the tool helpers are in claude_foundry.lib.tools (beta_tool, the tool runners, "
        "BetaAbstractMemoryTool); the browser and computer toolsets are not supported on "
        "Microsoft Foundry."
    ),
}

UNAVAILABLE_IN_LIB_TOOLS: dict[str, str] = {
    **{
        name: (
            "it is the base of the browser and computer toolsets, which Microsoft Foundry does "
            "not support, so no deployment would call their members. Give the tool runner "
            "@beta_tool functions (or a BetaBuiltinFunctionTool) for the actions the model needs."
        )
        for name in ("BetaRunnableToolset", "BetaAsyncRunnableToolset")
    },
    # Tool objects made by these official modules run in this package's runners as they are.
    "agent_toolset": (
        "import beta_agent_toolset_20260401 from anthropic.lib.tools.agent_toolset: its tools "
        "are client-side async function tools and run in AsyncAnthropicFoundry's tool runner "
        "(leave out bash, whose shell only the official sessions runner closes)."
    ),
    "mcp": (
        "import the MCP helpers from anthropic.lib.tools.mcp (they need the mcp package): the "
        "tools they make run in this package's tool runners, and their message and content "
        "conversions give plain params."
    ),
}

UNAVAILABLE_IN_LIB_STREAMING: dict[str, str] = {"TypeAlias": UNAVAILABLE["TypeAlias"]}

UNAVAILABLE_IN_LIB_MIDDLEWARE: dict[str, str] = {
    "BetaFallbackState": _FALLBACK_STATE,
    "DEFAULT_BETAS": (
        "those betas turn on Anthropic's fallback credit tokens, which Microsoft Foundry does "
        "not issue; RefusalFallbackMiddleware sends no betas of its own."
    ),
}

_PLATFORM_MODULE = "it holds the official client for {platform}; on Microsoft Foundry use " + (
    "claude_foundry.AnthropicFoundry."
)

_FILES = (
    "it gathers files to upload (Files API, Skills), which Microsoft Foundry does not offer; "
    "send documents and images inline (base64) in the message content."
)

UNAVAILABLE_IN_LIB: dict[str, str] = {
    "aws": _PLATFORM_MODULE.format(platform="Claude Platform on AWS"),
    "bedrock": _PLATFORM_MODULE.format(platform="Amazon Bedrock"),
    "google_cloud": _PLATFORM_MODULE.format(platform="Google Cloud"),
    "vertex": _PLATFORM_MODULE.format(platform="Google Vertex AI"),
    "credentials": _CREDENTIALS,
    "threads": (
        "client.beta.messages.tool_runner(...) threads its conversation itself; or send "
        'thread={"type": "create"} to client.beta.messages.create with '
        'betas=["message-threads-2026-08-12"].'
    ),
    "sessions": "Claude Managed Agents sessions are not offered on Microsoft Foundry.",
    "environments": "Claude Managed Agents environments are not offered on Microsoft Foundry.",
    "files_from_dir": _FILES,
    "async_files_from_dir": _FILES,
}


def _is_from_import(frame: FrameType | None) -> bool:
    """Whether ``frame`` is executing ``from module import name``: that statement turns an
    AttributeError into a message of its own, so it gets an ImportError carrying ours."""
    if frame is None:
        return False
    try:
        return frame.f_code.co_code[frame.f_lasti] == _IMPORT_FROM
    except (IndexError, AttributeError):  # an interpreter laid out differently
        return False


def unavailable_error(
    module: str, name: str, table: Mapping[str, str], caller: FrameType | None
) -> Exception:
    """The error for ``module.name``: an ImportError with the reason when ``name`` is in
    ``table`` and ``caller`` imports it, an AttributeError otherwise."""
    reason = table.get(name)
    if reason is None:
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    message = f"{module} does not offer {name}: {reason}"
    if _is_from_import(caller):
        return ImportError(message, name=module)
    return AttributeError(message)
