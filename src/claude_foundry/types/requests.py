"""The request bodies as the emulator reads them. The client sends plain mappings (typed for
users by the ``*Param`` TypedDicts)."""

from __future__ import annotations

from typing import Any

from ._base import WireModel


class RequestMessage(WireModel):
    """One turn of ``messages``: a string, or a list of content block objects."""

    role: str
    content: str | list[dict[str, Any]]


class MessageCreateRequest(WireModel, kw_only=True):
    """The body of ``POST /v1/messages``. Fields a newer API adds are tolerated by the decoder."""

    model: str
    max_tokens: int
    messages: list[RequestMessage]
    system: str | list[dict[str, Any]] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None
    container: str | dict[str, Any] | None = None  # an id, or {"id", "skills"} (Agent Skills)
    mcp_servers: list[dict[str, Any]] | None = None
    output_format: dict[str, Any] | None = None
    output_config: dict[str, Any] | None = None
    context_management: dict[str, Any] | None = None
    inference_geo: str | None = None


class CountTokensRequest(WireModel, kw_only=True):
    """The body of ``POST /v1/messages/count_tokens``."""

    model: str
    messages: list[RequestMessage]
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    context_management: dict[str, Any] | None = None
    output_format: dict[str, Any] | None = None
    mcp_servers: list[dict[str, Any]] | None = None
