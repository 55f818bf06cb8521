"""The arguments of ``messages.create`` / ``messages.count_tokens`` and the turns of
``messages``, as TypedDicts (the official ``*Param`` names).

Typed user code imports them from :mod:`claude_foundry.types`, where they load on first use.
"""

# No ``from __future__ import annotations`` here: on Python 3.11 a TypedDict reads ``Required``
# only from evaluated annotations, so the classes come in dependency order instead.

from collections.abc import Iterable, Sequence
from typing import Literal, Required, TypeAlias, TypedDict

from .params_blocks import (
    CacheControlEphemeralParam,
    MessageContentParam,
    TextBlockParam,
)
from .params_tools import MessageCountTokensToolParam, ToolChoiceParam, ToolUnionParam

# --- names ----------------------------------------------------------------------------------------


#: On Foundry ``model`` names a deployment, so any string.
ModelParam: TypeAlias = str


#: A beta feature name for ``betas=`` (the ``anthropic-beta`` header).
AnthropicBetaParam: TypeAlias = str


class MetadataParam(TypedDict, total=False):
    user_id: str | None


# --- turns ----------------------------------------------------------------------------------------


class UserMessageParam(TypedDict, total=False):
    content: Required[MessageContentParam]
    role: Required[Literal["user"]]


class AssistantMessageParam(TypedDict, total=False):
    content: Required[MessageContentParam]
    role: Required[Literal["assistant"]]


# A system turn inside `messages` (mid-conversation system messages): Foundry answers it with 400.
class SystemMessageParam(TypedDict, total=False):
    content: Required[str | Iterable[TextBlockParam]]
    role: Required[Literal["system"]]


MessageParam: TypeAlias = UserMessageParam | AssistantMessageParam | SystemMessageParam


# --- thinking and output --------------------------------------------------------------------------


class ThinkingConfigEnabledParam(TypedDict, total=False):
    budget_tokens: Required[int]
    type: Required[Literal["enabled"]]
    display: Literal["summarized", "omitted"] | None


class ThinkingConfigDisabledParam(TypedDict, total=False):
    type: Required[Literal["disabled"]]


class ThinkingConfigBetweenToolsParam(TypedDict, total=False):
    type: Required[Literal["between_tools"]]


class ThinkingConfigAdaptiveParam(TypedDict, total=False):
    type: Required[Literal["adaptive"]]
    display: Literal["summarized", "omitted"] | None


ThinkingConfigParam: TypeAlias = (
    ThinkingConfigEnabledParam
    | ThinkingConfigDisabledParam
    | ThinkingConfigBetweenToolsParam
    | ThinkingConfigAdaptiveParam
)


class JSONOutputFormatParam(TypedDict, total=False):
    schema: Required[dict[str, object]]
    type: Required[Literal["json_schema"]]


class OutputConfigParam(TypedDict, total=False):
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None
    format: JSONOutputFormatParam | None


# --- container, diagnostics -----------------------------------------------------------------------


class SkillParams(TypedDict, total=False):
    skill_id: Required[str]
    type: Required[Literal["anthropic", "custom"]]
    version: str


class ContainerParams(TypedDict, total=False):
    id: str | None
    skills: Iterable[SkillParams] | None


MessageCreateParamsContainerParam: TypeAlias = ContainerParams | str


class DiagnosticsParam(TypedDict, total=False):
    previous_message_id: str | None


# --- request bodies -------------------------------------------------------------------------------
# All the official keys, for code that builds a request as a dict; `user_profile_id` and
# `workspace_id` name Anthropic organization features that Foundry does not have.


class MessageCreateParamsBase(TypedDict, total=False):
    max_tokens: Required[int]
    messages: Required[Iterable[MessageParam]]
    model: Required[ModelParam]
    cache_control: CacheControlEphemeralParam | None
    container: MessageCreateParamsContainerParam | None
    diagnostics: DiagnosticsParam | None
    inference_geo: str | None
    metadata: MetadataParam
    output_config: OutputConfigParam
    service_tier: Literal["auto", "standard_only"]
    speed: Literal["standard", "fast"] | None
    stop_sequences: Sequence[str]
    system: str | Iterable[TextBlockParam]
    thinking: ThinkingConfigParam
    tool_choice: ToolChoiceParam
    tools: Iterable[ToolUnionParam]
    user_profile_id: str
    workspace_id: str


class MessageCreateParamsNonStreaming(MessageCreateParamsBase, total=False):
    stream: Literal[False]


class MessageCreateParamsStreaming(MessageCreateParamsBase):
    stream: Required[Literal[True]]


MessageCreateParams: TypeAlias = MessageCreateParamsNonStreaming | MessageCreateParamsStreaming


class MessageCountTokensParams(TypedDict, total=False):
    messages: Required[Iterable[MessageParam]]
    model: Required[ModelParam]
    cache_control: CacheControlEphemeralParam | None
    output_config: OutputConfigParam
    speed: Literal["standard", "fast"] | None
    system: str | Iterable[TextBlockParam]
    thinking: ThinkingConfigParam
    tool_choice: ToolChoiceParam
    tools: Iterable[MessageCountTokensToolParam]
    user_profile_id: str
    workspace_id: str
