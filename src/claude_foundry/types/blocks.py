"""The content blocks of a reply, and the citations a text block carries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from ._base import UnknownBlock, WireModel
from .server_tools import (
    BashCodeExecutionToolResultBlock,
    CodeExecutionToolResultBlock,
    TextEditorCodeExecutionToolResultBlock,
    ToolSearchToolResultBlock,
    ToolUseCaller,
    WebFetchToolResultBlock,
    WebSearchToolResultBlock,
)

# --- citations ----------------------------------------------------------------------------------
# A citation goes back to the API inside the text block it came with. The official citation
# params require the title (null allowed) and have no `file_id`: hence a title without a default
# and omit_defaults for the rest.


class CitationCharLocation(WireModel, tag_field="type", tag="char_location", omit_defaults=True):
    cited_text: str
    document_index: int
    start_char_index: int
    end_char_index: int
    document_title: str | None
    file_id: str | None = None


class CitationPageLocation(WireModel, tag_field="type", tag="page_location", omit_defaults=True):
    cited_text: str
    document_index: int
    start_page_number: int
    end_page_number: int
    document_title: str | None
    file_id: str | None = None


class CitationContentBlockLocation(
    WireModel, tag_field="type", tag="content_block_location", omit_defaults=True
):
    cited_text: str
    document_index: int
    start_block_index: int
    end_block_index: int
    document_title: str | None
    file_id: str | None = None


class CitationsWebSearchResultLocation(
    WireModel, tag_field="type", tag="web_search_result_location"
):
    cited_text: str
    encrypted_index: str
    url: str
    title: str | None


class CitationsSearchResultLocation(
    WireModel, tag_field="type", tag="search_result_location", omit_defaults=True
):
    cited_text: str
    search_result_index: int
    source: str
    start_block_index: int
    end_block_index: int
    title: str | None


TextCitation: TypeAlias = (
    CitationCharLocation
    | CitationPageLocation
    | CitationContentBlockLocation
    | CitationsWebSearchResultLocation
    | CitationsSearchResultLocation
)


# --- content blocks -----------------------------------------------------------------------------


class TextBlock(WireModel, tag_field="type", tag="text"):
    text: str
    citations: list[TextCitation] | None = None


class ThinkingBlock(WireModel, tag_field="type", tag="thinking"):
    thinking: str
    signature: str = ""


class RedactedThinkingBlock(WireModel, tag_field="type", tag="redacted_thinking"):
    data: str


class ToolUseBlock(WireModel, tag_field="type", tag="tool_use", omit_defaults=True):
    # omit_defaults: the block goes back in the next turn; the API takes no `"caller": null`.
    id: str
    name: str
    input: Any
    caller: ToolUseCaller | None = None
    toolset_name: str | None = None


class ServerToolUseBlock(WireModel, tag_field="type", tag="server_tool_use", omit_defaults=True):
    id: str
    name: Literal[
        "web_search",
        "web_fetch",
        "code_execution",
        "bash_code_execution",
        "text_editor_code_execution",
        "tool_search_tool_regex",
        "tool_search_tool_bm25",
    ]
    input: Any
    caller: ToolUseCaller | None = None


class ContainerUploadBlock(WireModel, tag_field="type", tag="container_upload"):
    file_id: str


KnownContentBlock: TypeAlias = (
    TextBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ToolUseBlock
    | ServerToolUseBlock
    | WebSearchToolResultBlock
    | WebFetchToolResultBlock
    | CodeExecutionToolResultBlock
    | BashCodeExecutionToolResultBlock
    | TextEditorCodeExecutionToolResultBlock
    | ToolSearchToolResultBlock
    | ContainerUploadBlock
)
# msgspec decodes only the known types; the lenient path fills in UnknownBlock. Type checkers see
# the full union so user code handles both.
if TYPE_CHECKING:
    ContentBlock: TypeAlias = KnownContentBlock | UnknownBlock
else:
    ContentBlock = KnownContentBlock
