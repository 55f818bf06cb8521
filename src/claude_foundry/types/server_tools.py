"""What the server tools put in a reply: web search and fetch, code execution (Python, bash, the
text editor), tool search; and who called a tool.

Each ``*_tool_result`` block holds either a result or an error object whose ``error_code`` says
what went wrong, typed with the ``*ErrorCode`` literals; a code newer than this version still
decodes, as a plain string.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from ._base import WireModel

# --- who called a tool --------------------------------------------------------------------------


class DirectCaller(WireModel, tag_field="type", tag="direct"):
    """The model called the tool itself."""


class ServerToolCaller(WireModel, tag_field="type", tag="code_execution_20250825"):
    """The tool was called from code running in the code execution tool."""

    tool_id: str


class ServerToolCaller20260120(WireModel, tag_field="type", tag="code_execution_20260120"):
    tool_id: str


ToolUseCaller: TypeAlias = DirectCaller | ServerToolCaller | ServerToolCaller20260120


class _ServerToolResult(WireModel, tag_field="type", omit_defaults=True):
    # omit_defaults: a block sent back in a later turn carries no `"caller": null` the API
    # would have to accept.
    tool_use_id: str


# --- web search ---------------------------------------------------------------------------------

WebSearchToolResultErrorCode: TypeAlias = Literal[
    "invalid_tool_input",
    "unavailable",
    "max_uses_exceeded",
    "too_many_requests",
    "query_too_long",
    "request_too_large",
]


class WebSearchResultBlock(WireModel, tag_field="type", tag="web_search_result"):
    encrypted_content: str
    title: str
    url: str
    page_age: str | None = None


class WebSearchToolResultErrorObject(
    WireModel, tag_field="type", tag="web_search_tool_result_error"
):
    error_code: WebSearchToolResultErrorCode


WebSearchToolResultError = WebSearchToolResultErrorObject
WebSearchToolResultBlockContent: TypeAlias = (
    WebSearchToolResultErrorObject | list[WebSearchResultBlock]
)


class WebSearchToolResultBlock(_ServerToolResult, tag="web_search_tool_result"):
    content: WebSearchToolResultBlockContent
    caller: ToolUseCaller | None = None


# --- web fetch ----------------------------------------------------------------------------------

WebFetchToolResultErrorCode: TypeAlias = Literal[
    "invalid_tool_input",
    "url_too_long",
    "url_not_allowed",
    "url_not_in_prior_context",
    "url_not_accessible",
    "unsupported_content_type",
    "too_many_requests",
    "max_uses_exceeded",
    "unavailable",
    "content_too_large",
]


class CitationsConfig(WireModel):
    enabled: bool


class Base64PDFSource(WireModel, tag_field="type", tag="base64"):
    data: str
    media_type: str = "application/pdf"


class PlainTextSource(WireModel, tag_field="type", tag="text"):
    data: str
    media_type: str = "text/plain"


class DocumentBlock(WireModel, tag_field="type", tag="document"):
    """A fetched document, inside a :class:`WebFetchBlock`."""

    source: Base64PDFSource | PlainTextSource
    citations: CitationsConfig | None = None
    title: str | None = None


class WebFetchBlock(WireModel, tag_field="type", tag="web_fetch_result"):
    content: DocumentBlock
    url: str
    retrieved_at: str | None = None


class WebFetchToolResultErrorBlock(WireModel, tag_field="type", tag="web_fetch_tool_result_error"):
    error_code: WebFetchToolResultErrorCode


class WebFetchToolResultBlock(_ServerToolResult, tag="web_fetch_tool_result"):
    content: WebFetchToolResultErrorBlock | WebFetchBlock
    caller: ToolUseCaller | None = None


# --- code execution (Python) --------------------------------------------------------------------

CodeExecutionToolResultErrorCode: TypeAlias = Literal[
    "invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded"
]


class CodeExecutionOutputBlock(WireModel, tag_field="type", tag="code_execution_output"):
    """A file the code wrote; download it by ``file_id``."""

    file_id: str


class CodeExecutionResultBlock(WireModel, tag_field="type", tag="code_execution_result"):
    content: list[CodeExecutionOutputBlock]
    return_code: int
    stderr: str
    stdout: str


class EncryptedCodeExecutionResultBlock(
    WireModel, tag_field="type", tag="encrypted_code_execution_result"
):
    content: list[CodeExecutionOutputBlock]
    encrypted_stdout: str
    return_code: int
    stderr: str


class CodeExecutionToolResultErrorObject(
    WireModel, tag_field="type", tag="code_execution_tool_result_error"
):
    error_code: CodeExecutionToolResultErrorCode


CodeExecutionToolResultError = CodeExecutionToolResultErrorObject
CodeExecutionToolResultBlockContent: TypeAlias = (
    CodeExecutionToolResultErrorObject
    | CodeExecutionResultBlock
    | EncryptedCodeExecutionResultBlock
)


class CodeExecutionToolResultBlock(_ServerToolResult, tag="code_execution_tool_result"):
    content: CodeExecutionToolResultBlockContent


# --- code execution (bash) ----------------------------------------------------------------------

BashCodeExecutionToolResultErrorCode: TypeAlias = Literal[
    "invalid_tool_input",
    "unavailable",
    "too_many_requests",
    "execution_time_exceeded",
    "output_file_too_large",
]


class BashCodeExecutionOutputBlock(WireModel, tag_field="type", tag="bash_code_execution_output"):
    file_id: str


class BashCodeExecutionResultBlock(WireModel, tag_field="type", tag="bash_code_execution_result"):
    content: list[BashCodeExecutionOutputBlock]
    return_code: int
    stderr: str
    stdout: str


class BashCodeExecutionToolResultErrorObject(
    WireModel, tag_field="type", tag="bash_code_execution_tool_result_error"
):
    error_code: BashCodeExecutionToolResultErrorCode


BashCodeExecutionToolResultError = BashCodeExecutionToolResultErrorObject


class BashCodeExecutionToolResultBlock(_ServerToolResult, tag="bash_code_execution_tool_result"):
    content: BashCodeExecutionToolResultErrorObject | BashCodeExecutionResultBlock


# --- code execution (text editor) ---------------------------------------------------------------

TextEditorCodeExecutionToolResultErrorCode: TypeAlias = Literal[
    "invalid_tool_input",
    "unavailable",
    "too_many_requests",
    "execution_time_exceeded",
    "file_not_found",
]


class TextEditorCodeExecutionViewResultBlock(
    WireModel, tag_field="type", tag="text_editor_code_execution_view_result"
):
    content: str
    file_type: Literal["text", "image", "pdf"]
    num_lines: int | None = None
    start_line: int | None = None
    total_lines: int | None = None


class TextEditorCodeExecutionCreateResultBlock(
    WireModel, tag_field="type", tag="text_editor_code_execution_create_result"
):
    is_file_update: bool


class TextEditorCodeExecutionStrReplaceResultBlock(
    WireModel, tag_field="type", tag="text_editor_code_execution_str_replace_result"
):
    lines: list[str] | None = None
    new_lines: int | None = None
    new_start: int | None = None
    old_lines: int | None = None
    old_start: int | None = None


class TextEditorCodeExecutionToolResultErrorObject(
    WireModel, tag_field="type", tag="text_editor_code_execution_tool_result_error"
):
    error_code: TextEditorCodeExecutionToolResultErrorCode
    error_message: str | None = None


TextEditorCodeExecutionToolResultError = TextEditorCodeExecutionToolResultErrorObject


class TextEditorCodeExecutionToolResultBlock(
    _ServerToolResult, tag="text_editor_code_execution_tool_result"
):
    content: (
        TextEditorCodeExecutionToolResultErrorObject
        | TextEditorCodeExecutionViewResultBlock
        | TextEditorCodeExecutionCreateResultBlock
        | TextEditorCodeExecutionStrReplaceResultBlock
    )


# --- tool search --------------------------------------------------------------------------------

ToolSearchToolResultErrorCode: TypeAlias = Literal[
    "invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded"
]


class ToolReferenceBlock(WireModel, tag_field="type", tag="tool_reference"):
    tool_name: str


class ToolSearchToolSearchResultBlock(
    WireModel, tag_field="type", tag="tool_search_tool_search_result"
):
    tool_references: list[ToolReferenceBlock]


class ToolSearchToolResultErrorObject(
    WireModel, tag_field="type", tag="tool_search_tool_result_error"
):
    error_code: ToolSearchToolResultErrorCode
    error_message: str | None = None


ToolSearchToolResultError = ToolSearchToolResultErrorObject


class ToolSearchToolResultBlock(_ServerToolResult, tag="tool_search_tool_result"):
    content: ToolSearchToolResultErrorObject | ToolSearchToolSearchResultBlock
