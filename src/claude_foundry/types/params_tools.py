"""Tool definitions for ``tools=`` and ``tool_choice=``, as TypedDicts (the official names).

The computer and browser toolsets are left out: Foundry does not offer them.
"""

# No ``from __future__ import annotations`` here: on Python 3.11 a TypedDict reads ``Required``
# only from evaluated annotations, so the classes come in dependency order instead.

from collections.abc import Iterable, Sequence
from typing import Literal, Required, TypeAlias, TypedDict

from .params_blocks import CacheControlEphemeralParam, CitationsConfigParam

# --- tool choice ----------------------------------------------------------------------------------


class ToolChoiceAutoParam(TypedDict, total=False):
    type: Required[Literal["auto"]]
    disable_parallel_tool_use: bool


class ToolChoiceAnyParam(TypedDict, total=False):
    type: Required[Literal["any"]]
    disable_parallel_tool_use: bool


class ToolChoiceToolParam(TypedDict, total=False):
    name: Required[str]
    type: Required[Literal["tool"]]
    disable_parallel_tool_use: bool


class ToolChoiceNoneParam(TypedDict, total=False):
    type: Required[Literal["none"]]


ToolChoiceParam: TypeAlias = (
    ToolChoiceAutoParam | ToolChoiceAnyParam | ToolChoiceToolParam | ToolChoiceNoneParam
)


# --- client tools ---------------------------------------------------------------------------------


class _ToolOptions(TypedDict, total=False):
    """Options every tool definition takes."""

    allowed_callers: list[
        Literal[
            "direct",
            "code_execution_20250825",
            "code_execution_20260120",
            "code_execution_20260521",
        ]
    ]
    cache_control: CacheControlEphemeralParam | None
    defer_loading: bool
    strict: bool


class _ClientToolOptions(_ToolOptions, total=False):
    input_examples: Iterable[dict[str, object]]


class _InputSchemaObject(TypedDict, total=False):
    type: Required[Literal["object"]]
    properties: dict[str, object] | None
    required: Sequence[str] | None


_InputSchema: TypeAlias = _InputSchemaObject | dict[str, object]


class ToolParam(_ClientToolOptions, total=False):
    input_schema: Required[_InputSchema]
    name: Required[str]
    description: str
    eager_input_streaming: bool | None
    type: Literal["custom"] | None


# --- client tools the API defines (the client runs them) ------------------------------------------


class ToolBash20250124Param(_ClientToolOptions, total=False):
    name: Required[Literal["bash"]]
    type: Required[Literal["bash_20250124"]]


class ToolTextEditor20250124Param(_ClientToolOptions, total=False):
    name: Required[Literal["str_replace_editor"]]
    type: Required[Literal["text_editor_20250124"]]


class ToolTextEditor20250429Param(_ClientToolOptions, total=False):
    name: Required[Literal["str_replace_based_edit_tool"]]
    type: Required[Literal["text_editor_20250429"]]


class ToolTextEditor20250728Param(_ClientToolOptions, total=False):
    name: Required[Literal["str_replace_based_edit_tool"]]
    type: Required[Literal["text_editor_20250728"]]
    max_characters: int | None


class MemoryTool20250818Param(_ClientToolOptions, total=False):
    name: Required[Literal["memory"]]
    type: Required[Literal["memory_20250818"]]


# --- server tools: code execution -----------------------------------------------------------------


class CodeExecutionTool20250522Param(_ToolOptions, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20250522"]]


class CodeExecutionTool20250825Param(_ToolOptions, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20250825"]]


class CodeExecutionTool20260120Param(_ToolOptions, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20260120"]]


class CodeExecutionTool20260521Param(_ToolOptions, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20260521"]]


# --- server tools: web search and web fetch -------------------------------------------------------


class UserLocationParam(TypedDict, total=False):
    type: Required[Literal["approximate"]]
    city: str | None
    country: str | None
    region: str | None
    timezone: str | None


class WebSearchTool20250305Param(_ToolOptions, total=False):
    name: Required[Literal["web_search"]]
    type: Required[Literal["web_search_20250305"]]
    allowed_domains: Sequence[str] | None
    blocked_domains: Sequence[str] | None
    max_uses: int | None
    user_location: UserLocationParam | None


class WebFetchURLSourceAllParam(TypedDict, total=False):
    type: Required[Literal["all"]]


class WebFetchURLSourceNoneParam(TypedDict, total=False):
    type: Required[Literal["none"]]


class WebFetchURLSourceToolReferenceParam(TypedDict, total=False):
    name: Required[str]
    type: Required[Literal["tool_reference"]]


class WebFetchURLSourceOnlyParam(TypedDict, total=False):
    tools: Required[Iterable[WebFetchURLSourceToolReferenceParam]]
    type: Required[Literal["only"]]


class WebFetchURLSourceExceptParam(TypedDict, total=False):
    tools: Required[Iterable[WebFetchURLSourceToolReferenceParam]]
    type: Required[Literal["except"]]


_URLSources: TypeAlias = (
    WebFetchURLSourceAllParam
    | WebFetchURLSourceNoneParam
    | WebFetchURLSourceOnlyParam
    | WebFetchURLSourceExceptParam
)


_URLSourcesOnInput: TypeAlias = WebFetchURLSourceAllParam | WebFetchURLSourceNoneParam


class WebFetchURLSourcesParam(TypedDict, total=False):
    client_tool_results: _URLSources
    server_tool_results: _URLSources
    user_input: _URLSourcesOnInput


class WebFetchTool20250910Param(_ToolOptions, total=False):
    name: Required[Literal["web_fetch"]]
    type: Required[Literal["web_fetch_20250910"]]
    allowed_domains: Sequence[str] | None
    blocked_domains: Sequence[str] | None
    citations: CitationsConfigParam | None
    max_content_tokens: int | None
    max_uses: int | None
    url_sources: WebFetchURLSourcesParam | None


class WebSearchTool20260209Param(_ToolOptions, total=False):
    name: Required[Literal["web_search"]]
    type: Required[Literal["web_search_20260209"]]
    allowed_domains: Sequence[str] | None
    blocked_domains: Sequence[str] | None
    max_uses: int | None
    user_location: UserLocationParam | None


class WebFetchTool20260209Param(_ToolOptions, total=False):
    name: Required[Literal["web_fetch"]]
    type: Required[Literal["web_fetch_20260209"]]
    allowed_domains: Sequence[str] | None
    blocked_domains: Sequence[str] | None
    citations: CitationsConfigParam | None
    max_content_tokens: int | None
    max_uses: int | None
    url_sources: WebFetchURLSourcesParam | None


class WebFetchTool20260309Param(_ToolOptions, total=False):
    name: Required[Literal["web_fetch"]]
    type: Required[Literal["web_fetch_20260309"]]
    allowed_domains: Sequence[str] | None
    blocked_domains: Sequence[str] | None
    citations: CitationsConfigParam | None
    max_content_tokens: int | None
    max_uses: int | None
    url_sources: WebFetchURLSourcesParam | None
    use_cache: bool


class WebSearchTool20260318Param(_ToolOptions, total=False):
    name: Required[Literal["web_search"]]
    type: Required[Literal["web_search_20260318"]]
    allowed_domains: Sequence[str] | None
    blocked_domains: Sequence[str] | None
    max_uses: int | None
    response_inclusion: Literal["full", "excluded"]
    user_location: UserLocationParam | None


class WebFetchTool20260318Param(_ToolOptions, total=False):
    name: Required[Literal["web_fetch"]]
    type: Required[Literal["web_fetch_20260318"]]
    allowed_domains: Sequence[str] | None
    blocked_domains: Sequence[str] | None
    citations: CitationsConfigParam | None
    max_content_tokens: int | None
    max_uses: int | None
    response_inclusion: Literal["full", "excluded"]
    url_sources: WebFetchURLSourcesParam | None
    use_cache: bool


# --- server tools: tool search --------------------------------------------------------------------


class ToolSearchToolBm25_20251119Param(_ToolOptions, total=False):
    name: Required[Literal["tool_search_tool_bm25"]]
    type: Required[Literal["tool_search_tool_bm25_20251119", "tool_search_tool_bm25"]]


class ToolSearchToolRegex20251119Param(_ToolOptions, total=False):
    name: Required[Literal["tool_search_tool_regex"]]
    type: Required[Literal["tool_search_tool_regex_20251119", "tool_search_tool_regex"]]


MessageCountTokensToolParam: TypeAlias = (
    ToolParam
    | ToolBash20250124Param
    | CodeExecutionTool20250522Param
    | CodeExecutionTool20250825Param
    | CodeExecutionTool20260120Param
    | CodeExecutionTool20260521Param
    | MemoryTool20250818Param
    | ToolTextEditor20250124Param
    | ToolTextEditor20250429Param
    | ToolTextEditor20250728Param
    | WebSearchTool20250305Param
    | WebFetchTool20250910Param
    | WebSearchTool20260209Param
    | WebFetchTool20260209Param
    | WebFetchTool20260309Param
    | WebSearchTool20260318Param
    | WebFetchTool20260318Param
    | ToolSearchToolBm25_20251119Param
    | ToolSearchToolRegex20251119Param
)


# --- all tools ------------------------------------------------------------------------------------


ToolUnionParam: TypeAlias = (
    ToolParam
    | ToolBash20250124Param
    | CodeExecutionTool20250522Param
    | CodeExecutionTool20250825Param
    | CodeExecutionTool20260120Param
    | CodeExecutionTool20260521Param
    | MemoryTool20250818Param
    | ToolTextEditor20250124Param
    | ToolTextEditor20250429Param
    | ToolTextEditor20250728Param
    | WebSearchTool20250305Param
    | WebFetchTool20250910Param
    | WebSearchTool20260209Param
    | WebFetchTool20260209Param
    | WebFetchTool20260309Param
    | WebSearchTool20260318Param
    | WebFetchTool20260318Param
    | ToolSearchToolBm25_20251119Param
    | ToolSearchToolRegex20251119Param
)
