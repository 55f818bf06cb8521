"""The ``Beta*`` names of ``anthropic.types.beta`` for what ``client.beta.messages`` shares with
``client.messages``.

``client.beta.messages`` returns and takes the same types as ``client.messages``, so each name
here is the non-beta type of the same wire shape (``BetaTextBlock`` is :class:`TextBlock`). A beta
name whose shape has beta-only fields or members (``BetaMessageParam``, ``BetaToolUnionParam``,
the Managed Agents and MCP types, ...) is not here: importing it fails with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from . import blocks as _blocks
from . import events as _events
from . import message as _message
from . import params as _params
from . import params_blocks as _params_blocks
from . import params_tools as _params_tools
from . import server_tools as _server_tools

# --- the message ----------------------------------------------------------------------------------
BetaCacheCreation = _message.CacheCreation
BetaCacheMissMessagesChanged = _message.CacheMissMessagesChanged
BetaCacheMissModelChanged = _message.CacheMissModelChanged
BetaCacheMissPreviousMessageNotFound = _message.CacheMissPreviousMessageNotFound
BetaCacheMissReason: TypeAlias = _message.CacheMissReason
BetaCacheMissSystemChanged = _message.CacheMissSystemChanged
BetaCacheMissToolsChanged = _message.CacheMissToolsChanged
BetaCacheMissUnavailable = _message.CacheMissUnavailable
BetaContainer = _message.Container
BetaContainerSkill = _message.ContainerSkill
BetaContentBlock: TypeAlias = _blocks.ContentBlock
BetaDiagnostics = _message.Diagnostics
BetaMessage = _message.Message
BetaOutputTokensDetails = _message.OutputTokensDetails
BetaServerToolUsage = _message.ServerToolUsage
BetaUsage = _message.Usage

# --- content blocks and citations -----------------------------------------------------------------
BetaCitationCharLocation = _blocks.CitationCharLocation
BetaCitationContentBlockLocation = _blocks.CitationContentBlockLocation
BetaCitationPageLocation = _blocks.CitationPageLocation
BetaCitationsWebSearchResultLocation = _blocks.CitationsWebSearchResultLocation
BetaContainerUploadBlock = _blocks.ContainerUploadBlock
BetaRedactedThinkingBlock = _blocks.RedactedThinkingBlock
BetaServerToolUseBlock = _blocks.ServerToolUseBlock
BetaTextBlock = _blocks.TextBlock
BetaThinkingBlock = _blocks.ThinkingBlock
BetaToolUseBlock = _blocks.ToolUseBlock
BetaToolUseCaller: TypeAlias = _server_tools.ToolUseCaller

# --- server-tool results and callers --------------------------------------------------------------
BetaBase64PDFSource = _server_tools.Base64PDFSource
BetaBashCodeExecutionOutputBlock = _server_tools.BashCodeExecutionOutputBlock
BetaBashCodeExecutionResultBlock = _server_tools.BashCodeExecutionResultBlock
BetaBashCodeExecutionToolResultBlock = _server_tools.BashCodeExecutionToolResultBlock
BetaBashCodeExecutionToolResultError = _server_tools.BashCodeExecutionToolResultError
BetaBashCodeExecutionToolResultErrorObject = _server_tools.BashCodeExecutionToolResultErrorObject
BetaCodeExecutionOutputBlock = _server_tools.CodeExecutionOutputBlock
BetaCodeExecutionResultBlock = _server_tools.CodeExecutionResultBlock
BetaCodeExecutionToolResultBlock = _server_tools.CodeExecutionToolResultBlock
BetaCodeExecutionToolResultBlockContent: TypeAlias = (
    _server_tools.CodeExecutionToolResultBlockContent
)
BetaCodeExecutionToolResultError = _server_tools.CodeExecutionToolResultError
BetaCodeExecutionToolResultErrorCode: TypeAlias = _server_tools.CodeExecutionToolResultErrorCode
BetaCodeExecutionToolResultErrorObject = _server_tools.CodeExecutionToolResultErrorObject
BetaDirectCaller = _server_tools.DirectCaller
BetaDocumentBlock = _server_tools.DocumentBlock
BetaEncryptedCodeExecutionResultBlock = _server_tools.EncryptedCodeExecutionResultBlock
BetaPlainTextSource = _server_tools.PlainTextSource
BetaServerToolCaller = _server_tools.ServerToolCaller
BetaServerToolCaller20260120 = _server_tools.ServerToolCaller20260120
BetaTextEditorCodeExecutionCreateResultBlock = (
    _server_tools.TextEditorCodeExecutionCreateResultBlock
)
BetaTextEditorCodeExecutionStrReplaceResultBlock = (
    _server_tools.TextEditorCodeExecutionStrReplaceResultBlock
)
BetaTextEditorCodeExecutionToolResultBlock = _server_tools.TextEditorCodeExecutionToolResultBlock
BetaTextEditorCodeExecutionToolResultError = _server_tools.TextEditorCodeExecutionToolResultError
BetaTextEditorCodeExecutionToolResultErrorObject = (
    _server_tools.TextEditorCodeExecutionToolResultErrorObject
)
BetaTextEditorCodeExecutionViewResultBlock = _server_tools.TextEditorCodeExecutionViewResultBlock
BetaToolReferenceBlock = _server_tools.ToolReferenceBlock
BetaToolSearchToolResultBlock = _server_tools.ToolSearchToolResultBlock
BetaToolSearchToolResultError = _server_tools.ToolSearchToolResultError
BetaToolSearchToolResultErrorObject = _server_tools.ToolSearchToolResultErrorObject
BetaToolSearchToolSearchResultBlock = _server_tools.ToolSearchToolSearchResultBlock
BetaWebFetchBlock = _server_tools.WebFetchBlock
BetaWebFetchToolResultBlock = _server_tools.WebFetchToolResultBlock
BetaWebFetchToolResultErrorBlock = _server_tools.WebFetchToolResultErrorBlock
BetaWebFetchToolResultErrorCode: TypeAlias = _server_tools.WebFetchToolResultErrorCode
BetaWebSearchResultBlock = _server_tools.WebSearchResultBlock
BetaWebSearchToolResultBlock = _server_tools.WebSearchToolResultBlock
BetaWebSearchToolResultError = _server_tools.WebSearchToolResultError
BetaWebSearchToolResultErrorCode: TypeAlias = _server_tools.WebSearchToolResultErrorCode
BetaWebSearchToolResultErrorObject = _server_tools.WebSearchToolResultErrorObject

# --- the stream -----------------------------------------------------------------------------------
BetaCitationsDelta = _events.CitationsDelta
BetaInputJSONDelta = _events.InputJSONDelta
BetaRawContentBlockDelta: TypeAlias = _events.RawContentBlockDelta
BetaRawContentBlockDeltaEvent = _events.RawContentBlockDeltaEvent
BetaRawContentBlockStartEvent = _events.RawContentBlockStartEvent
BetaRawContentBlockStopEvent = _events.RawContentBlockStopEvent
BetaRawMessageStartEvent = _events.RawMessageStartEvent
BetaRawMessageStopEvent = _events.RawMessageStopEvent
BetaRawMessageStreamEvent: TypeAlias = _events.RawMessageStreamEvent
BetaSignatureDelta = _events.SignatureDelta
BetaTextDelta = _events.TextDelta

# --- request bodies and turns ---------------------------------------------------------------------
BetaAssistantMessageParam = _params.AssistantMessageParam
BetaContainerParams = _params.ContainerParams
BetaDiagnosticsParam = _params.DiagnosticsParam
BetaJSONOutputFormatParam = _params.JSONOutputFormatParam
BetaMetadataParam = _params.MetadataParam
BetaSkillParams = _params.SkillParams
BetaThinkingConfigBetweenToolsParam = _params.ThinkingConfigBetweenToolsParam
BetaThinkingConfigDisabledParam = _params.ThinkingConfigDisabledParam
BetaToolChoiceParam: TypeAlias = _params_tools.ToolChoiceParam
BetaUserMessageParam = _params.UserMessageParam

# --- request content blocks -----------------------------------------------------------------------
BetaBase64ImageSourceParam = _params_blocks.Base64ImageSourceParam
BetaBase64PDFSourceParam = _params_blocks.Base64PDFSourceParam
BetaBashCodeExecutionOutputBlockParam = _params_blocks.BashCodeExecutionOutputBlockParam
BetaBashCodeExecutionResultBlockParam = _params_blocks.BashCodeExecutionResultBlockParam
BetaBashCodeExecutionToolResultBlockParam = _params_blocks.BashCodeExecutionToolResultBlockParam
BetaBashCodeExecutionToolResultErrorParam = _params_blocks.BashCodeExecutionToolResultErrorParam
BetaCacheControlEphemeralParam = _params_blocks.CacheControlEphemeralParam
BetaCitationCharLocationParam = _params_blocks.CitationCharLocationParam
BetaCitationContentBlockLocationParam = _params_blocks.CitationContentBlockLocationParam
BetaCitationPageLocationParam = _params_blocks.CitationPageLocationParam
BetaCitationSearchResultLocationParam = _params_blocks.CitationSearchResultLocationParam
BetaCitationWebSearchResultLocationParam = _params_blocks.CitationWebSearchResultLocationParam
BetaCodeExecutionOutputBlockParam = _params_blocks.CodeExecutionOutputBlockParam
BetaCodeExecutionResultBlockParam = _params_blocks.CodeExecutionResultBlockParam
BetaCodeExecutionToolResultBlockParam = _params_blocks.CodeExecutionToolResultBlockParam
BetaCodeExecutionToolResultBlockParamContentParam: TypeAlias = (
    _params_blocks.CodeExecutionToolResultBlockParamContentParam
)
BetaCodeExecutionToolResultErrorParam = _params_blocks.CodeExecutionToolResultErrorParam
BetaContainerUploadBlockParam = _params_blocks.ContainerUploadBlockParam
BetaContentBlockSourceContentParam: TypeAlias = _params_blocks.ContentBlockSourceContentParam
BetaContentBlockSourceParam = _params_blocks.ContentBlockSourceParam
BetaDirectCallerParam = _params_blocks.DirectCallerParam
BetaEncryptedCodeExecutionResultBlockParam = _params_blocks.EncryptedCodeExecutionResultBlockParam
BetaFileDocumentSourceParam = _params_blocks.FileDocumentSourceParam
BetaFileImageSourceParam = _params_blocks.FileImageSourceParam
BetaImageBlockParam = _params_blocks.ImageBlockParam
BetaImageTransformationsParam = _params_blocks.ImageTransformationsParam
BetaPlainTextSourceParam = _params_blocks.PlainTextSourceParam
BetaRedactedThinkingBlockParam = _params_blocks.RedactedThinkingBlockParam
BetaSearchResultBlockParam = _params_blocks.SearchResultBlockParam
BetaServerToolCaller20260120Param = _params_blocks.ServerToolCaller20260120Param
BetaServerToolCallerParam = _params_blocks.ServerToolCallerParam
BetaServerToolUseBlockParam = _params_blocks.ServerToolUseBlockParam
BetaTextBlockParam = _params_blocks.TextBlockParam
BetaTextCitationParam: TypeAlias = _params_blocks.TextCitationParam
BetaTextEditorCodeExecutionCreateResultBlockParam = (
    _params_blocks.TextEditorCodeExecutionCreateResultBlockParam
)
BetaTextEditorCodeExecutionStrReplaceResultBlockParam = (
    _params_blocks.TextEditorCodeExecutionStrReplaceResultBlockParam
)
BetaTextEditorCodeExecutionToolResultBlockParam = (
    _params_blocks.TextEditorCodeExecutionToolResultBlockParam
)
BetaTextEditorCodeExecutionToolResultErrorParam = (
    _params_blocks.TextEditorCodeExecutionToolResultErrorParam
)
BetaTextEditorCodeExecutionViewResultBlockParam = (
    _params_blocks.TextEditorCodeExecutionViewResultBlockParam
)
BetaThinkingBlockParam = _params_blocks.ThinkingBlockParam
BetaToolReferenceBlockParam = _params_blocks.ToolReferenceBlockParam
BetaToolResultBlockParam = _params_blocks.ToolResultBlockParam
BetaToolSearchToolResultBlockParam = _params_blocks.ToolSearchToolResultBlockParam
BetaToolSearchToolResultErrorParam = _params_blocks.ToolSearchToolResultErrorParam
BetaToolSearchToolSearchResultBlockParam = _params_blocks.ToolSearchToolSearchResultBlockParam
BetaToolUseBlockParam = _params_blocks.ToolUseBlockParam
BetaURLImageSourceParam = _params_blocks.URLImageSourceParam
BetaURLPDFSourceParam = _params_blocks.URLPDFSourceParam
BetaWebFetchBlockParam = _params_blocks.WebFetchBlockParam
BetaWebFetchToolResultBlockParam = _params_blocks.WebFetchToolResultBlockParam
BetaWebFetchToolResultErrorBlockParam = _params_blocks.WebFetchToolResultErrorBlockParam
BetaWebSearchResultBlockParam = _params_blocks.WebSearchResultBlockParam
BetaWebSearchToolRequestErrorObjectParam = _params_blocks.WebSearchToolRequestErrorObjectParam
BetaWebSearchToolRequestErrorParam = _params_blocks.WebSearchToolRequestErrorParam
BetaWebSearchToolResultBlockParam = _params_blocks.WebSearchToolResultBlockParam

# --- tool definitions -----------------------------------------------------------------------------
BetaCodeExecutionTool20250522Param = _params_tools.CodeExecutionTool20250522Param
BetaCodeExecutionTool20250825Param = _params_tools.CodeExecutionTool20250825Param
BetaCodeExecutionTool20260120Param = _params_tools.CodeExecutionTool20260120Param
BetaCodeExecutionTool20260521Param = _params_tools.CodeExecutionTool20260521Param
BetaMemoryTool20250818Param = _params_tools.MemoryTool20250818Param
BetaToolBash20250124Param = _params_tools.ToolBash20250124Param
BetaToolChoiceAnyParam = _params_tools.ToolChoiceAnyParam
BetaToolChoiceAutoParam = _params_tools.ToolChoiceAutoParam
BetaToolChoiceNoneParam = _params_tools.ToolChoiceNoneParam
BetaToolChoiceToolParam = _params_tools.ToolChoiceToolParam
BetaToolParam = _params_tools.ToolParam
BetaToolSearchToolBm25_20251119Param = _params_tools.ToolSearchToolBm25_20251119Param
BetaToolSearchToolRegex20251119Param = _params_tools.ToolSearchToolRegex20251119Param
BetaToolTextEditor20250124Param = _params_tools.ToolTextEditor20250124Param
BetaToolTextEditor20250429Param = _params_tools.ToolTextEditor20250429Param
BetaToolTextEditor20250728Param = _params_tools.ToolTextEditor20250728Param
BetaUserLocationParam = _params_tools.UserLocationParam
BetaWebFetchTool20250910Param = _params_tools.WebFetchTool20250910Param
BetaWebFetchTool20260209Param = _params_tools.WebFetchTool20260209Param
BetaWebFetchTool20260309Param = _params_tools.WebFetchTool20260309Param
BetaWebFetchTool20260318Param = _params_tools.WebFetchTool20260318Param
BetaWebFetchURLSourceAllParam = _params_tools.WebFetchURLSourceAllParam
BetaWebFetchURLSourceExceptParam = _params_tools.WebFetchURLSourceExceptParam
BetaWebFetchURLSourceNoneParam = _params_tools.WebFetchURLSourceNoneParam
BetaWebFetchURLSourceOnlyParam = _params_tools.WebFetchURLSourceOnlyParam
BetaWebFetchURLSourceToolReferenceParam = _params_tools.WebFetchURLSourceToolReferenceParam
BetaWebFetchURLSourcesParam = _params_tools.WebFetchURLSourcesParam
BetaWebSearchTool20250305Param = _params_tools.WebSearchTool20250305Param
BetaWebSearchTool20260209Param = _params_tools.WebSearchTool20260209Param
BetaWebSearchTool20260318Param = _params_tools.WebSearchTool20260318Param


if not TYPE_CHECKING:  # a module __getattr__ would hide misspelt names from type checkers

    def __getattr__(name: str) -> Any:
        from ._not_offered import missing_name

        raise missing_name(__name__, name, beta=True)
