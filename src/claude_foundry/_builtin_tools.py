"""Base classes for tools written as classes, under the official names.

A *builtin* tool is one whose definition the API knows by type (``memory_20250818``, an MCP
server's tools, ...) while the client runs it: the tool runner sends :meth:`to_dict` as the
``tools`` entry and answers each ``tool_use`` of that name with :meth:`call`'s return value
(a string or a list of content blocks; a :class:`~claude_foundry.ToolError` becomes an
``is_error`` result with its content, any other exception one with its ``repr``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeAlias, runtime_checkable

__all__ = [
    "BetaAsyncBuiltinFunctionTool",
    "BetaBuiltinFunctionTool",
    "BetaFunctionToolResultType",
    "BetaToolLike",
    "SupportsToDict",
]

BetaFunctionToolResultType: TypeAlias = str | Iterable[Mapping[str, Any]]
"""What a tool returns: text, or content blocks (``{"type": "text", ...}``, images, ...)."""


@runtime_checkable
class SupportsToDict(Protocol):
    """An object whose ``to_dict()`` is the ``tools`` entry to send for it."""

    def to_dict(self) -> Mapping[str, Any]: ...


BetaToolLike: TypeAlias = Mapping[str, Any] | SupportsToDict
"""A ``tools`` entry, or an object that gives one through ``to_dict()``."""


def _tool_name(definition: Mapping[str, Any]) -> str:
    if "mcp_server_name" in definition:
        return str(definition["mcp_server_name"])
    name = definition.get("name")
    if name is None:
        raise ValueError(f"Tool of type {definition.get('type')!r} does not have a name")
    return str(name)


class BetaBuiltinFunctionTool(ABC):
    """A tool the sync runner calls: implement :meth:`to_dict` and :meth:`call`."""

    @abstractmethod
    def to_dict(self) -> Any: ...

    @abstractmethod
    def call(self, input: object) -> BetaFunctionToolResultType: ...

    @property
    def name(self) -> str:
        return _tool_name(self.to_dict())


class BetaAsyncBuiltinFunctionTool(ABC):
    """A tool the async runner awaits: implement :meth:`to_dict` and ``async`` :meth:`call`."""

    @abstractmethod
    def to_dict(self) -> Any: ...

    @abstractmethod
    async def call(self, input: object) -> BetaFunctionToolResultType: ...

    @property
    def name(self) -> str:
        return _tool_name(self.to_dict())
