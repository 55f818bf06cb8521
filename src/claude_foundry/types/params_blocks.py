"""The content blocks of a request, as TypedDicts (the official ``*BlockParam`` names).

Plain dicts that match these are what ``messages=[...]`` takes; the type checker checks the keys.
"""

# No ``from __future__ import annotations`` here: on Python 3.11 a TypedDict reads ``Required``
# only from evaluated annotations, so the classes come in dependency order instead.

import os
from collections.abc import Iterable, Sequence
from typing import IO, Literal, Required, TypeAlias, TypedDict

from .blocks import ContentBlock
from .server_tools import (
    BashCodeExecutionToolResultErrorCode,
    CodeExecutionToolResultErrorCode,
    TextEditorCodeExecutionToolResultErrorCode,
    ToolSearchToolResultErrorCode,
    WebFetchToolResultErrorCode,
    WebSearchToolResultErrorCode,
)

#: A file given as the ``data`` of a base64 source: read and encoded when the request is built.
Base64FileInput: TypeAlias = IO[bytes] | os.PathLike[str]


# --- cache control and citations ------------------------------------------------------------------


class CacheControlEphemeralParam(TypedDict, total=False):
    type: Required[Literal["ephemeral"]]
    ttl: Literal["5m", "1h"]


class CitationCharLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    document_index: Required[int]
    document_title: Required[str | None]
    end_char_index: Required[int]
    start_char_index: Required[int]
    type: Required[Literal["char_location"]]


class CitationPageLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    document_index: Required[int]
    document_title: Required[str | None]
    end_page_number: Required[int]
    start_page_number: Required[int]
    type: Required[Literal["page_location"]]


class CitationContentBlockLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    document_index: Required[int]
    document_title: Required[str | None]
    end_block_index: Required[int]
    start_block_index: Required[int]
    type: Required[Literal["content_block_location"]]


class CitationWebSearchResultLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    encrypted_index: Required[str]
    title: Required[str | None]
    type: Required[Literal["web_search_result_location"]]
    url: Required[str]


class CitationSearchResultLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    end_block_index: Required[int]
    search_result_index: Required[int]
    source: Required[str]
    start_block_index: Required[int]
    title: Required[str | None]
    type: Required[Literal["search_result_location"]]


TextCitationParam: TypeAlias = (
    CitationCharLocationParam
    | CitationPageLocationParam
    | CitationContentBlockLocationParam
    | CitationWebSearchResultLocationParam
    | CitationSearchResultLocationParam
)


# --- text, images, documents ----------------------------------------------------------------------


class TextBlockParam(TypedDict, total=False):
    text: Required[str]
    type: Required[Literal["text"]]
    cache_control: CacheControlEphemeralParam | None
    citations: Iterable[TextCitationParam] | None


class Base64ImageSourceParam(TypedDict, total=False):
    data: Required[str | Base64FileInput]
    media_type: Required[Literal["image/jpeg", "image/png", "image/gif", "image/webp"]]
    type: Required[Literal["base64"]]


class URLImageSourceParam(TypedDict, total=False):
    type: Required[Literal["url"]]
    url: Required[str]


class FileImageSourceParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["file"]]


_ImageSource: TypeAlias = Base64ImageSourceParam | URLImageSourceParam | FileImageSourceParam


class ImageTransformationsParam(TypedDict, total=False):
    oversized_image: Literal["downsize", "error"]


class ImageBlockParam(TypedDict, total=False):
    source: Required[_ImageSource]
    type: Required[Literal["image"]]
    cache_control: CacheControlEphemeralParam | None
    transformations: ImageTransformationsParam | None


class Base64PDFSourceParam(TypedDict, total=False):
    data: Required[str | Base64FileInput]
    media_type: Required[Literal["application/pdf"]]
    type: Required[Literal["base64"]]


class PlainTextSourceParam(TypedDict, total=False):
    data: Required[str]
    media_type: Required[Literal["text/plain"]]
    type: Required[Literal["text"]]


ContentBlockSourceContentParam: TypeAlias = TextBlockParam | ImageBlockParam


class ContentBlockSourceParam(TypedDict, total=False):
    content: Required[str | Iterable[ContentBlockSourceContentParam]]
    type: Required[Literal["content"]]


class URLPDFSourceParam(TypedDict, total=False):
    type: Required[Literal["url"]]
    url: Required[str]


class FileDocumentSourceParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["file"]]


_DocumentSource: TypeAlias = (
    Base64PDFSourceParam
    | PlainTextSourceParam
    | ContentBlockSourceParam
    | URLPDFSourceParam
    | FileDocumentSourceParam
)


class CitationsConfigParam(TypedDict, total=False):
    enabled: bool


class DocumentBlockParam(TypedDict, total=False):
    source: Required[_DocumentSource]
    type: Required[Literal["document"]]
    cache_control: CacheControlEphemeralParam | None
    citations: CitationsConfigParam | None
    context: str | None
    title: str | None


class SearchResultBlockParam(TypedDict, total=False):
    content: Required[Iterable[TextBlockParam]]
    source: Required[str]
    title: Required[str]
    type: Required[Literal["search_result"]]
    cache_control: CacheControlEphemeralParam | None
    citations: CitationsConfigParam


# --- thinking -------------------------------------------------------------------------------------


class ThinkingBlockParam(TypedDict, total=False):
    signature: Required[str]
    thinking: Required[str]
    type: Required[Literal["thinking"]]


class RedactedThinkingBlockParam(TypedDict, total=False):
    data: Required[str]
    type: Required[Literal["redacted_thinking"]]


# --- client tools: use and result -----------------------------------------------------------------


class DirectCallerParam(TypedDict, total=False):
    type: Required[Literal["direct"]]


class ServerToolCallerParam(TypedDict, total=False):
    tool_id: Required[str]
    type: Required[Literal["code_execution_20250825"]]


class ServerToolCaller20260120Param(TypedDict, total=False):
    tool_id: Required[str]
    type: Required[Literal["code_execution_20260120"]]


_Caller: TypeAlias = DirectCallerParam | ServerToolCallerParam | ServerToolCaller20260120Param


class ToolUseBlockParam(TypedDict, total=False):
    id: Required[str]
    input: Required[dict[str, object]]
    name: Required[str]
    type: Required[Literal["tool_use"]]
    cache_control: CacheControlEphemeralParam | None
    caller: _Caller
    toolset_name: str | None


class ToolReferenceBlockParam(TypedDict, total=False):
    tool_name: Required[str]
    type: Required[Literal["tool_reference"]]
    cache_control: CacheControlEphemeralParam | None


_ToolResultContent: TypeAlias = (
    TextBlockParam
    | ImageBlockParam
    | SearchResultBlockParam
    | DocumentBlockParam
    | ToolReferenceBlockParam
)


class ToolResultBlockParam(TypedDict, total=False):
    tool_use_id: Required[str]
    type: Required[Literal["tool_result"]]
    cache_control: CacheControlEphemeralParam | None
    content: str | Iterable[_ToolResultContent]
    is_error: bool
    toolset_name: str | None


# --- server tools: use and results (sent back in later turns) -------------------------------------


class ServerToolUseBlockParam(TypedDict, total=False):
    id: Required[str]
    input: Required[dict[str, object]]
    name: Required[
        Literal[
            "web_search",
            "web_fetch",
            "code_execution",
            "bash_code_execution",
            "text_editor_code_execution",
            "tool_search_tool_regex",
            "tool_search_tool_bm25",
        ]
    ]
    type: Required[Literal["server_tool_use"]]
    cache_control: CacheControlEphemeralParam | None
    caller: _Caller


class WebSearchResultBlockParam(TypedDict, total=False):
    encrypted_content: Required[str]
    title: Required[str]
    type: Required[Literal["web_search_result"]]
    url: Required[str]
    page_age: str | None


class WebSearchToolRequestErrorObjectParam(TypedDict, total=False):
    error_code: Required[WebSearchToolResultErrorCode]
    type: Required[Literal["web_search_tool_result_error"]]


WebSearchToolRequestErrorParam = WebSearchToolRequestErrorObjectParam


WebSearchToolResultBlockParamContentParam: TypeAlias = (
    Iterable[WebSearchResultBlockParam] | WebSearchToolRequestErrorObjectParam
)


class WebSearchToolResultBlockParam(TypedDict, total=False):
    content: Required[WebSearchToolResultBlockParamContentParam]
    tool_use_id: Required[str]
    type: Required[Literal["web_search_tool_result"]]
    cache_control: CacheControlEphemeralParam | None
    caller: _Caller


class WebFetchToolResultErrorBlockParam(TypedDict, total=False):
    error_code: Required[WebFetchToolResultErrorCode]
    type: Required[Literal["web_fetch_tool_result_error"]]


class WebFetchBlockParam(TypedDict, total=False):
    content: Required[DocumentBlockParam]
    type: Required[Literal["web_fetch_result"]]
    url: Required[str]
    retrieved_at: str | None


_WebFetchToolResultContent: TypeAlias = WebFetchToolResultErrorBlockParam | WebFetchBlockParam


class WebFetchToolResultBlockParam(TypedDict, total=False):
    content: Required[_WebFetchToolResultContent]
    tool_use_id: Required[str]
    type: Required[Literal["web_fetch_tool_result"]]
    cache_control: CacheControlEphemeralParam | None
    caller: _Caller


class CodeExecutionToolResultErrorParam(TypedDict, total=False):
    error_code: Required[CodeExecutionToolResultErrorCode]
    type: Required[Literal["code_execution_tool_result_error"]]


class CodeExecutionOutputBlockParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["code_execution_output"]]


class CodeExecutionResultBlockParam(TypedDict, total=False):
    content: Required[Iterable[CodeExecutionOutputBlockParam]]
    return_code: Required[int]
    stderr: Required[str]
    stdout: Required[str]
    type: Required[Literal["code_execution_result"]]


class EncryptedCodeExecutionResultBlockParam(TypedDict, total=False):
    content: Required[Iterable[CodeExecutionOutputBlockParam]]
    encrypted_stdout: Required[str]
    return_code: Required[int]
    stderr: Required[str]
    type: Required[Literal["encrypted_code_execution_result"]]


CodeExecutionToolResultBlockParamContentParam: TypeAlias = (
    CodeExecutionToolResultErrorParam
    | CodeExecutionResultBlockParam
    | EncryptedCodeExecutionResultBlockParam
)


class CodeExecutionToolResultBlockParam(TypedDict, total=False):
    content: Required[CodeExecutionToolResultBlockParamContentParam]
    tool_use_id: Required[str]
    type: Required[Literal["code_execution_tool_result"]]
    cache_control: CacheControlEphemeralParam | None


class BashCodeExecutionToolResultErrorParam(TypedDict, total=False):
    error_code: Required[BashCodeExecutionToolResultErrorCode]
    type: Required[Literal["bash_code_execution_tool_result_error"]]


class BashCodeExecutionOutputBlockParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["bash_code_execution_output"]]


class BashCodeExecutionResultBlockParam(TypedDict, total=False):
    content: Required[Iterable[BashCodeExecutionOutputBlockParam]]
    return_code: Required[int]
    stderr: Required[str]
    stdout: Required[str]
    type: Required[Literal["bash_code_execution_result"]]


_BashCodeExecutionToolResultContent: TypeAlias = (
    BashCodeExecutionToolResultErrorParam | BashCodeExecutionResultBlockParam
)


class BashCodeExecutionToolResultBlockParam(TypedDict, total=False):
    content: Required[_BashCodeExecutionToolResultContent]
    tool_use_id: Required[str]
    type: Required[Literal["bash_code_execution_tool_result"]]
    cache_control: CacheControlEphemeralParam | None


class TextEditorCodeExecutionToolResultErrorParam(TypedDict, total=False):
    error_code: Required[TextEditorCodeExecutionToolResultErrorCode]
    type: Required[Literal["text_editor_code_execution_tool_result_error"]]
    error_message: str | None


class TextEditorCodeExecutionViewResultBlockParam(TypedDict, total=False):
    content: Required[str]
    file_type: Required[Literal["text", "image", "pdf"]]
    type: Required[Literal["text_editor_code_execution_view_result"]]
    num_lines: int | None
    start_line: int | None
    total_lines: int | None


class TextEditorCodeExecutionCreateResultBlockParam(TypedDict, total=False):
    is_file_update: Required[bool]
    type: Required[Literal["text_editor_code_execution_create_result"]]


class TextEditorCodeExecutionStrReplaceResultBlockParam(TypedDict, total=False):
    type: Required[Literal["text_editor_code_execution_str_replace_result"]]
    lines: Sequence[str] | None
    new_lines: int | None
    new_start: int | None
    old_lines: int | None
    old_start: int | None


_TextEditorCodeExecutionToolResultContent: TypeAlias = (
    TextEditorCodeExecutionToolResultErrorParam
    | TextEditorCodeExecutionViewResultBlockParam
    | TextEditorCodeExecutionCreateResultBlockParam
    | TextEditorCodeExecutionStrReplaceResultBlockParam
)


class TextEditorCodeExecutionToolResultBlockParam(TypedDict, total=False):
    content: Required[_TextEditorCodeExecutionToolResultContent]
    tool_use_id: Required[str]
    type: Required[Literal["text_editor_code_execution_tool_result"]]
    cache_control: CacheControlEphemeralParam | None


class ToolSearchToolResultErrorParam(TypedDict, total=False):
    error_code: Required[ToolSearchToolResultErrorCode]
    type: Required[Literal["tool_search_tool_result_error"]]
    error_message: str | None


class ToolSearchToolSearchResultBlockParam(TypedDict, total=False):
    tool_references: Required[Iterable[ToolReferenceBlockParam]]
    type: Required[Literal["tool_search_tool_search_result"]]


_ToolSearchToolResultContent: TypeAlias = (
    ToolSearchToolResultErrorParam | ToolSearchToolSearchResultBlockParam
)


class ToolSearchToolResultBlockParam(TypedDict, total=False):
    content: Required[_ToolSearchToolResultContent]
    tool_use_id: Required[str]
    type: Required[Literal["tool_search_tool_result"]]
    cache_control: CacheControlEphemeralParam | None


# --- all blocks -----------------------------------------------------------------------------------


class ContainerUploadBlockParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["container_upload"]]
    cache_control: CacheControlEphemeralParam | None


ContentBlockParam: TypeAlias = (
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | SearchResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ServerToolUseBlockParam
    | WebSearchToolResultBlockParam
    | WebFetchToolResultBlockParam
    | CodeExecutionToolResultBlockParam
    | BashCodeExecutionToolResultBlockParam
    | TextEditorCodeExecutionToolResultBlockParam
    | ToolSearchToolResultBlockParam
    | ContainerUploadBlockParam
)


#: ``content`` of a turn: a string, or blocks (reply blocks may be passed back as they are).
MessageContentParam: TypeAlias = str | Iterable[ContentBlockParam | ContentBlock]
