"""A reply of the Messages API: the message, its usage, and the error body."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

from ._base import WireModel
from .blocks import (
    ContainerUploadBlock,
    ContentBlock,
    RedactedThinkingBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from .server_tools import (
    BashCodeExecutionToolResultBlock,
    CodeExecutionToolResultBlock,
    TextEditorCodeExecutionToolResultBlock,
    ToolSearchToolResultBlock,
    WebFetchToolResultBlock,
    WebSearchToolResultBlock,
)

if TYPE_CHECKING:
    from .params import AssistantMessageParam

_ParsedT = TypeVar("_ParsedT")

# --- usage --------------------------------------------------------------------------------------


class CacheCreation(WireModel):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class ServerToolUsage(WireModel):
    web_search_requests: int = 0
    web_fetch_requests: int = 0


class OutputTokensDetails(WireModel):
    thinking_tokens: int = 0


class Usage(WireModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None
    server_tool_use: ServerToolUsage | None = None
    service_tier: str | None = None
    inference_geo: str | None = None
    output_tokens_details: OutputTokensDetails | None = None
    speed: str | None = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields (beta-only usage fields read as None).
        if name in _OPTIONAL_USAGE_FIELDS:
            return None
        raise AttributeError(f"'Usage' object has no attribute {name!r}")


class MessageDeltaUsage(WireModel):
    """Usage on ``message_delta``: cumulative totals, not increments."""

    output_tokens: int
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    server_tool_use: ServerToolUsage | None = None
    output_tokens_details: OutputTokensDetails | None = None


# --- message ------------------------------------------------------------------------------------

#: On Foundry ``model`` names a deployment, so any string; the official literals are model ids.
Model: TypeAlias = str

StopReason: TypeAlias = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]


class RefusalStopDetails(WireModel):
    """Why the model refused (``stop_reason`` ``"refusal"``)."""

    type: str = "refusal"
    category: (
        Literal["cyber", "bio", "frontier_llm", "reasoning_extraction", "general_harms"] | None
    ) = None
    explanation: str | None = None


class ContainerSkill(WireModel):
    skill_id: str
    type: Literal["anthropic", "custom"]
    version: str


class Container(WireModel):
    """The code execution container a reply used; pass its ``id`` to reuse it."""

    id: str
    expires_at: datetime
    skills: list[ContainerSkill] | None = None


class CacheMissModelChanged(WireModel, tag_field="type", tag="model_changed"):
    cache_missed_input_tokens: int


class CacheMissSystemChanged(WireModel, tag_field="type", tag="system_changed"):
    cache_missed_input_tokens: int


class CacheMissToolsChanged(WireModel, tag_field="type", tag="tools_changed"):
    cache_missed_input_tokens: int


class CacheMissMessagesChanged(WireModel, tag_field="type", tag="messages_changed"):
    cache_missed_input_tokens: int


class CacheMissPreviousMessageNotFound(
    WireModel, tag_field="type", tag="previous_message_not_found"
):
    pass


class CacheMissUnavailable(WireModel, tag_field="type", tag="unavailable"):
    pass


CacheMissReason: TypeAlias = (
    CacheMissModelChanged
    | CacheMissSystemChanged
    | CacheMissToolsChanged
    | CacheMissMessagesChanged
    | CacheMissPreviousMessageNotFound
    | CacheMissUnavailable
)


class Diagnostics(WireModel):
    """Asked for with ``diagnostics={"previous_message_id": ...}``: why the prompt cache missed."""

    cache_miss_reason: CacheMissReason | None = None


class _ResponseBody(WireModel):
    """A response body that the client returns: it carries the correlation ids of the HTTP
    response that delivered it, set by the client and never sent on the wire."""

    @property
    def request_id(self) -> str | None:
        return self.__dict__.get("_request_id")

    @property
    def apim_request_id(self) -> str | None:
        return self.__dict__.get("_apim_request_id")


# Optional fields of the official (beta) message that the service leaves out unless a feature
# asked for them; they read as None, as on the official models.
_OPTIONAL_MESSAGE_FIELDS = frozenset({"context_management", "input_transformations"})
_OPTIONAL_USAGE_FIELDS = frozenset({"fallback_credit", "iterations"})


class Message(_ResponseBody, kw_only=True):
    """A Messages API response.

    Besides the wire fields it carries the correlation ids of the HTTP response that delivered it,
    ``request_id`` (header ``request-id``) and ``apim_request_id`` (header ``apim-request-id``);
    support asks for both. A field that a newer API adds is readable as an attribute too.
    """

    id: str
    type: str = "message"
    role: str = "assistant"
    model: str
    content: list[ContentBlock]
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    stop_details: RefusalStopDetails | None = None
    container: Container | None = None
    diagnostics: Diagnostics | None = None
    usage: Usage

    def to_param(self) -> AssistantMessageParam:
        """This reply as the assistant turn of the next request."""
        return {"role": self.role, "content": list(self.content)}  # type: ignore[typeddict-item]

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields: look in the raw body for fields that a newer
        # API added. Private names are never looked up there.
        extra = self.__dict__.get("_extra_fields") if not name.startswith("__") else None
        if extra is not None and name in extra:
            return extra[name]
        if name in _OPTIONAL_MESSAGE_FIELDS:
            return None
        raise AttributeError(f"'Message' object has no attribute {name!r}")


class ParsedTextBlock(TextBlock, Generic[_ParsedT]):
    """A text block of a ``messages.parse`` reply: ``parsed_output`` is its text decoded into the
    requested ``output_format``. It is not a wire field, so the block is sent back unchanged."""

    @property
    def parsed_output(self) -> _ParsedT | None:
        value: _ParsedT | None = self.__dict__.get("parsed_output")
        return value


class ParsedMessage(Message, Generic[_ParsedT]):
    """What ``messages.parse`` returns: a :class:`Message` whose text blocks are
    :class:`ParsedTextBlock`; ``parsed_output`` is the first one's value."""

    @property
    def parsed_output(self) -> _ParsedT | None:
        for block in self.content:
            if isinstance(block, ParsedTextBlock) and block.parsed_output is not None:
                value: _ParsedT = block.parsed_output
                return value
        return None


ParsedContentBlock: TypeAlias = (
    ParsedTextBlock[_ParsedT]
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


class MessageTokensCount(_ResponseBody):
    input_tokens: int
