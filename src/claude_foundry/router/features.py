"""Which hosting-dependent features a request uses, read from its parameters (no I/O).

Deployments of a model hosted on Azure ("Version 2") refuse some features with a 400 that
Anthropic-hosted ones ("Version 1") accept: structured outputs, server tools, the MCP connector,
Skills, programmatic tool calling and the Files API. The router steers a request that uses one
to a deployment that has it, or fails before the call with the service's own wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["FEATURE_NAMES", "UNAVAILABLE_BY_HOSTING", "features_used", "refusal_message"]

UNAVAILABLE_BY_HOSTING: dict[str, frozenset[str]] = {
    "azure": frozenset(
        {
            "structured_outputs",
            "web_search",
            "web_fetch",
            "code_execution",
            "tool_search",
            "mcp_connector",
            "agent_skills",
            "programmatic_tool_calling",
            "files_api",
        }
    ),
    "anthropic": frozenset(),
}

FEATURE_NAMES = {
    "structured_outputs": "Structured outputs (`output_format` / `output_config.format`)",
    "web_search": "The web search tool",
    "web_fetch": "The web fetch tool",
    "code_execution": "The code execution tool",
    "tool_search": "The tool search tool",
    "mcp_connector": "The MCP connector (`mcp_servers`)",
    "agent_skills": "Agent Skills (`container.skills`)",
    "programmatic_tool_calling": "Programmatic tool calling (`allowed_callers` on a tool)",
    "files_api": "Files API file references",
}


def _tool_types(params: Mapping[str, Any]) -> list[str]:
    return [str(t.get("type", "")) for t in params.get("tools") or () if isinstance(t, Mapping)]


def _has_tool(*prefixes: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda params: any(t.startswith(prefixes) for t in _tool_types(params))


def _structured(params: Mapping[str, Any]) -> bool:
    config = params.get("output_config")
    return params.get("output_format") is not None or (
        isinstance(config, Mapping) and config.get("format") is not None
    )


def _mcp(params: Mapping[str, Any]) -> bool:
    return bool(params.get("mcp_servers")) or "mcp_toolset" in _tool_types(params)


def _skills(params: Mapping[str, Any]) -> bool:
    container = params.get("container")
    return isinstance(container, Mapping) and bool(container.get("skills"))


def _programmatic(params: Mapping[str, Any]) -> bool:
    return any(isinstance(t, Mapping) and "allowed_callers" in t for t in params.get("tools") or ())


def _file_reference(block: object) -> bool:
    if not isinstance(block, Mapping):
        return False
    source = block.get("source")
    if isinstance(source, Mapping) and source.get("type") == "file":
        return True
    content = block.get("content")
    return isinstance(content, list) and any(_file_reference(inner) for inner in content)


def _files(params: Mapping[str, Any]) -> bool:
    return any(
        isinstance(message, Mapping)
        and isinstance(message.get("content"), list)
        and any(map(_file_reference, message["content"]))
        for message in params.get("messages") or ()
    )


_DETECTORS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "structured_outputs": _structured,
    "web_search": _has_tool("web_search_"),
    "web_fetch": _has_tool("web_fetch_"),
    "code_execution": _has_tool("code_execution_", "bash_code_execution", "text_editor_code_exec"),
    "tool_search": _has_tool("tool_search_tool"),
    "mcp_connector": _mcp,
    "agent_skills": _skills,
    "programmatic_tool_calling": _programmatic,
    "files_api": _files,
}


def features_used(params: Mapping[str, Any]) -> frozenset[str]:
    """The hosting-dependent features of a request (``messages.create`` keyword arguments)."""
    if (
        not params.get("tools")
        and params.get("output_format") is None
        and params.get("output_config") is None
        and not params.get("mcp_servers")
        and params.get("container") is None
        and all(
            not isinstance(m, Mapping) or isinstance(m.get("content"), str)
            for m in params.get("messages") or ()
        )
    ):
        return frozenset()  # the common case, decided without the detectors
    return frozenset(name for name, detect in _DETECTORS.items() if detect(params))


def refusal_message(feature: str, *, deployment: str, model: str, hosting: str) -> str:
    """What the service says when a deployment refuses ``feature``."""
    name = FEATURE_NAMES.get(feature, feature)
    if hosting == "azure":
        return (
            f"{name} is not supported on deployments hosted on Azure. Deployment "
            f"'{deployment}' ({model}) is hosted on Azure; use a deployment of this model hosted "
            "on Anthropic, or remove the feature from the request."
        )
    return f"{name} is not available on deployment '{deployment}' ({model})."
