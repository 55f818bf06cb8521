"""Why a name of the official ``anthropic.types`` is not in ``claude_foundry.types``.

Code written for the official client imports names from ``anthropic.types``; after the switch,
a name that belongs to an API Foundry does not have should fail at the import with the reason,
not later with a bare ``AttributeError``. The rules are data: a pattern of names and the reason.
"""

from __future__ import annotations

import re
import sys

_TOOLSETS = (
    "it belongs to the computer and browser toolsets (computer_toolset_20260801, "
    "browser_toolset_20260801), which Microsoft Foundry does not support."
)
_MODELS = (
    "it belongs to the Models API (/v1/models), which Microsoft Foundry does not offer; on "
    "Foundry `model` is the name of your deployment, listed in the Foundry portal (Build > Models)."
)
_FILES = (
    "it belongs to the Files API, which Microsoft Foundry does not offer; send documents and "
    "images inline (base64) or by URL."
)
_SKILLS = "it belongs to the Skills API (/v1/skills), which Microsoft Foundry does not offer."
_ORGANIZATION = (
    "it belongs to the Admin API (organizations, members, user profiles), which Microsoft "
    "Foundry does not offer; manage access with Azure roles on the Foundry resource."
)
_ERROR_CODE = (
    "it is an exception class the official client raises for one `error.details.error_code`; "
    "this client raises the exception of the HTTP status (e.g. claude_foundry.BadRequestError, "
    "claude_foundry.OverloadedError) with `.error_code` and `.details` set: catch that and "
    "compare `exc.error_code`."
)
_ERROR_DETAILS = (
    "it is the model of `error.details` for one error code; this client keeps `details` as the "
    "plain JSON object of the body: read `exc.details` and `exc.error_code` on the exception."
)
_BETA = (
    "it is a beta name; client.beta.messages returns and takes the same types as "
    "client.messages: import the name without the `Beta` prefix (BetaMessage -> Message), or "
    "from claude_foundry.types.beta, which has the beta names whose shapes are the same."
)
_BETA_ONLY = (
    "it has beta-only fields or members (or no non-beta counterpart), which "
    "claude_foundry.types.beta does not type; build such request parts as plain dicts; a reply "
    "block of a beta-only type arrives as an UnknownBlock whose fields read as attributes."
)

_ERROR_CODE_STEMS = "|".join(
    (
        "AvailableToolsLimitExceeded|CMEKContextUnavailable|CMEKKey(Disabled|NetworkBlocked"
        "|Unreachable)|ClaudeCode(KeyCreatorNotMember|VersionTooOld)|Compaction(BlockAmbiguous"
        "|BlockMisplaced|ContentMismatch|IncompleteTurn|NothingToSummarize|SignatureInvalid"
        "|TooManyToolReferences|ToolChangesMismatch|Unavailable)|ConcurrentMembershipChange",
        "(Contract|Enforced|LinkedOrganization)SpendLimitReached|FileExpired|FileNotDownloadable"
        "|LinkedOrganizationBillingUnavailable|OrgMemberLimitExceeded|Organization(OnHold"
        "|TypeNotSupported)|ParentOrganizationRequired|RBACRoleNotFound|RampLimitExceeded",
        "RequestBody(EncodingInvalid|EncodingUnsupported|TooLargeAfterDecoding)"
        "|SandboxEgressRestricted|SkillReadBlockedUndecryptable|StorageQuotaExceeded"
        "|Thread(AlreadyContinued|ContinueInFlight|FingerprintMismatch|NotFound"
        "|UnsupportedRequest)|ToolNameConflict|ToolReferenceUnresolved",
    )
)

# Patterns stay strings until a name is missing (re caches them): importing costs nothing.
_RULES: tuple[tuple[str, str], ...] = (
    (r"(Response)?(Browser|Computer)[A-Z]\w*|(BROWSER|COMPUTER)_\w+", _TOOLSETS),
    (r"ToolsetToolUseBlock|ResponseToolUseBlockUnion", _TOOLSETS),
    (r"Model(Info|Capabilities|Line|ListParams)", _MODELS),
    (r"(CapabilitySupport|\w+Capability|ThinkingTypes)", _MODELS),
    (r"(FileMetadata|DeletedFile|FileListParams|FileUploadParams)", _FILES),
    (r"(Skill|DeletedSkill|SkillSource|Skill(Create|List)Params)", _SKILLS),
    (r"(Organization(Info|Role)|(Deleted)?UserProfile\w*)", _ORGANIZATION),
    # The (status, error_code) exception classes and their `details` models, by the stems of
    # their names: a new one fails the parity test until it is added here.
    (rf"({_ERROR_CODE_STEMS})Error", _ERROR_CODE),
    (rf"({_ERROR_CODE_STEMS})?ErrorDetails|ThreadUnsupportedFeatureName", _ERROR_DETAILS),
    (r"Beta[A-Z]\w*", _BETA),
)


def reason_not_offered(name: str, *, beta: bool = False) -> str | None:
    """Why ``name`` is not offered: a name of the official ``anthropic.types`` or, with ``beta``,
    of ``anthropic.types.beta``. None when no rule covers it."""
    if beta:
        reason = reason_not_offered(name.removeprefix("Beta"))
        return _BETA_ONLY if reason in (None, _BETA) else reason
    for pattern, reason in _RULES:
        if re.fullmatch(pattern, name):
            return reason
    return None


def missing_name(module: str, name: str, *, beta: bool = False) -> Exception:
    """The error for a name ``module`` lacks, raised by its ``__getattr__``: with the reason
    when the name is an official one Foundry does not offer (an ImportError for a ``from ...
    import``, an AttributeError for ``hasattr`` and the like)."""
    from .._unavailable import UNAVAILABLE, unavailable_error

    reason = None if name.startswith("_") else reason_not_offered(name, beta=beta)
    if reason == _ERROR_CODE and name in UNAVAILABLE:
        reason = UNAVAILABLE[name]  # the account errors the package root refuses, said the same
    table = {name: reason} if reason is not None else {}
    return unavailable_error(module, name, table, sys._getframe(2))
