"""The memory tool (``memory_20250818``) as a class to subclass, as the official SDK has it.

Claude keeps notes across conversations by calling the ``memory`` tool with a ``command``
(``view``, ``create``, ``str_replace``, ``insert``, ``delete``, ``rename``) on paths under
``/memories``; where the notes live is up to the subclass (files, a database, ...)::

    class NotesInADict(BetaAbstractMemoryTool):
        def __init__(self) -> None:
            super().__init__()
            self.files: dict[str, str] = {}

        def create(self, command: MemoryCreateCommand) -> str:
            self.files[command.path] = command.file_text
            return f"File created successfully at: {command.path}"

        ...  # view, str_replace, insert, delete, rename

    runner = client.beta.messages.tool_runner(model=..., max_tokens=..., messages=[...],
                                              tools=[NotesInADict()])

:meth:`call` turns the model's input into one of the command structs below and hands it to the
method of that name; what the method returns is the tool result. Raise
:class:`~claude_foundry.ToolError` for a result the model should read as an error (a missing
file, an ambiguous ``old_str``). The tool definition sent is
``{"type": "memory_20250818", "name": "memory"}`` (with ``cache_control`` if given).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, TypeAlias

import msgspec

from ._builtin_tools import (
    BetaAsyncBuiltinFunctionTool,
    BetaBuiltinFunctionTool,
    BetaFunctionToolResultType,
)
from ._tools import ToolError

__all__ = [
    "BetaAbstractMemoryTool",
    "BetaAsyncAbstractMemoryTool",
    "MemoryCommand",
    "MemoryCreateCommand",
    "MemoryDeleteCommand",
    "MemoryInsertCommand",
    "MemoryRenameCommand",
    "MemoryStrReplaceCommand",
    "MemoryViewCommand",
    "memory_command",
]


class _Command(msgspec.Struct, tag_field="command", kw_only=True):
    @property
    def command(self) -> str:
        """``"view"``, ``"create"``, ...: msgspec keeps the tag out of the fields."""
        return str(type(self).__struct_config__.tag)


class MemoryViewCommand(_Command, tag="view"):
    """Show a directory's listing or a file's lines (``view_range``: first and last line,
    ``-1`` for the end)."""

    path: str
    view_range: list[int] | None = None


class MemoryCreateCommand(_Command, tag="create"):
    path: str
    file_text: str


class MemoryStrReplaceCommand(_Command, tag="str_replace"):
    path: str
    old_str: str
    new_str: str


class MemoryInsertCommand(_Command, tag="insert"):
    """Insert ``insert_text`` after line ``insert_line`` (``0``: at the top)."""

    path: str
    insert_line: int
    insert_text: str


class MemoryDeleteCommand(_Command, tag="delete"):
    path: str


class MemoryRenameCommand(_Command, tag="rename"):
    old_path: str
    new_path: str


MemoryCommand: TypeAlias = (
    MemoryViewCommand
    | MemoryCreateCommand
    | MemoryStrReplaceCommand
    | MemoryInsertCommand
    | MemoryDeleteCommand
    | MemoryRenameCommand
)

_COMMAND_NAMES = ("view", "create", "str_replace", "insert", "delete", "rename")


def memory_command(input: object) -> MemoryCommand:
    """The model's ``memory`` tool input as a command struct.

    A command this version does not know raises ``NotImplementedError`` (as the official tool
    does); input that does not fit its command raises :class:`~claude_foundry.ToolError`, so the
    model reads what was wrong.
    """
    name = input.get("command") if isinstance(input, dict) else None
    if isinstance(name, str) and name not in _COMMAND_NAMES:
        raise NotImplementedError(f"Unknown command: {name}")
    try:
        command: MemoryCommand = msgspec.convert(input, MemoryCommand)
    except msgspec.ValidationError as exc:
        raise ToolError(
            f"Invalid input for the memory tool: {exc}. `command` is one of "
            f"{', '.join(_COMMAND_NAMES)}, each with its own fields."
        ) from None
    return command


def _definition(cache_control: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": "memory_20250818", "name": "memory"}
    if cache_control is not None:
        definition["cache_control"] = cache_control
    return definition


class BetaAbstractMemoryTool(BetaBuiltinFunctionTool):
    """Subclass it and implement the six commands to give Claude a memory (sync runner)."""

    def __init__(self, *, cache_control: Any = None) -> None:
        super().__init__()
        self._cache_control = cache_control

    def to_dict(self) -> dict[str, Any]:
        return _definition(self._cache_control)

    def call(self, input: object) -> BetaFunctionToolResultType:
        return self.execute(memory_command(input))

    def execute(self, command: MemoryCommand) -> BetaFunctionToolResultType:
        """Hand ``command`` to the method of its name; rarely worth overriding."""
        if isinstance(command, MemoryViewCommand):
            return self.view(command)
        if isinstance(command, MemoryCreateCommand):
            return self.create(command)
        if isinstance(command, MemoryStrReplaceCommand):
            return self.str_replace(command)
        if isinstance(command, MemoryInsertCommand):
            return self.insert(command)
        if isinstance(command, MemoryDeleteCommand):
            return self.delete(command)
        return self.rename(command)

    @abstractmethod
    def view(self, command: MemoryViewCommand) -> BetaFunctionToolResultType:
        """Show a directory or a file."""

    @abstractmethod
    def create(self, command: MemoryCreateCommand) -> BetaFunctionToolResultType:
        """Create a file with ``file_text``."""

    @abstractmethod
    def str_replace(self, command: MemoryStrReplaceCommand) -> BetaFunctionToolResultType:
        """Replace the one occurrence of ``old_str`` with ``new_str``."""

    @abstractmethod
    def insert(self, command: MemoryInsertCommand) -> BetaFunctionToolResultType:
        """Insert ``insert_text`` after line ``insert_line``."""

    @abstractmethod
    def delete(self, command: MemoryDeleteCommand) -> BetaFunctionToolResultType:
        """Delete a file or directory."""

    @abstractmethod
    def rename(self, command: MemoryRenameCommand) -> BetaFunctionToolResultType:
        """Rename or move a file or directory."""

    def clear_all_memory(self) -> BetaFunctionToolResultType:
        """Forget everything; not a command the model sends."""
        raise NotImplementedError("clear_all_memory not implemented")


class BetaAsyncAbstractMemoryTool(BetaAsyncBuiltinFunctionTool):
    """:class:`BetaAbstractMemoryTool` for the async runner: the six commands are coroutines."""

    def __init__(self, *, cache_control: Any = None) -> None:
        super().__init__()
        self._cache_control = cache_control

    def to_dict(self) -> dict[str, Any]:
        return _definition(self._cache_control)

    async def call(self, input: object) -> BetaFunctionToolResultType:
        return await self.execute(memory_command(input))

    async def execute(self, command: MemoryCommand) -> BetaFunctionToolResultType:
        """Await the method of ``command``'s name; rarely worth overriding."""
        if isinstance(command, MemoryViewCommand):
            return await self.view(command)
        if isinstance(command, MemoryCreateCommand):
            return await self.create(command)
        if isinstance(command, MemoryStrReplaceCommand):
            return await self.str_replace(command)
        if isinstance(command, MemoryInsertCommand):
            return await self.insert(command)
        if isinstance(command, MemoryDeleteCommand):
            return await self.delete(command)
        return await self.rename(command)

    @abstractmethod
    async def view(self, command: MemoryViewCommand) -> BetaFunctionToolResultType:
        """Show a directory or a file."""

    @abstractmethod
    async def create(self, command: MemoryCreateCommand) -> BetaFunctionToolResultType:
        """Create a file with ``file_text``."""

    @abstractmethod
    async def str_replace(self, command: MemoryStrReplaceCommand) -> BetaFunctionToolResultType:
        """Replace the one occurrence of ``old_str`` with ``new_str``."""

    @abstractmethod
    async def insert(self, command: MemoryInsertCommand) -> BetaFunctionToolResultType:
        """Insert ``insert_text`` after line ``insert_line``."""

    @abstractmethod
    async def delete(self, command: MemoryDeleteCommand) -> BetaFunctionToolResultType:
        """Delete a file or directory."""

    @abstractmethod
    async def rename(self, command: MemoryRenameCommand) -> BetaFunctionToolResultType:
        """Rename or move a file or directory."""

    async def clear_all_memory(self) -> BetaFunctionToolResultType:
        """Forget everything; not a command the model sends."""
        raise NotImplementedError("clear_all_memory not implemented")
