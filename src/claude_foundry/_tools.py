"""Python functions as tools: ``@beta_tool`` and ``@beta_async_tool``.

A decorated function keeps working as a function and gains what the tool runner needs: a
``name``, a ``description`` (the docstring's summary), an ``input_schema`` (JSON schema built with
msgspec from the signature, with each argument's description taken from the docstring's
``Args:`` section), :meth:`to_dict` (the ``tools=`` entry) and :meth:`call` (validate the model's
input against the signature, then run the function).

>>> @beta_tool
... def get_weather(location: str, units: str = "c") -> str:
...     '''Look up the weather.
...
...     Args:
...         location: The city, e.g. Paris
...     '''
...     return f"Sunny in {location}"
>>> get_weather.to_dict()["input_schema"]["required"]
['location']
>>> get_weather.call({"location": "Paris"})
'Sunny in Paris'

Anything with ``to_dict()`` and ``call(input)`` is a tool to the runner, so the official SDK's
tool objects (``anthropic.beta_tool`` functions, its MCP helpers' tools, its memory tool) run too.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar, get_type_hints, overload

import msgspec

from ._errors import NotSupportedOnFoundryError

__all__ = [
    "AsyncFunctionTool",
    "FunctionTool",
    "ToolError",
    "beta_async_tool",
    "beta_tool",
    "is_runnable_tool",
    "refuse_toolsets",
    "tool_definition",
]

FunctionT = TypeVar("FunctionT", bound=Callable[..., Any])
AsyncFunctionT = TypeVar("AsyncFunctionT", bound=Callable[..., Awaitable[Any]])


class ToolError(Exception):
    """Raise it from a tool to answer with ``content`` and ``is_error: true``.

    ``content`` is a string or a list of content blocks (text, image, ...); the runner sends it as
    the tool result instead of the exception's ``repr``.
    """

    def __init__(self, content: str | list[dict[str, Any]]) -> None:
        if isinstance(content, str):
            message = content
        else:
            parts = [str(block.get("text", f"[{block.get('type', '?')}]")) for block in content]
            message = " ".join(parts) or "Tool error"
        super().__init__(message)
        self.content = content


_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples?|Notes?):\s*$"
)
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary (text before the first section) and the ``Args:`` descriptions of a
    Google-style docstring."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent = -1
    for line in lines:
        header = _SECTION.match(line)
        if header:
            section, current, arg_indent = header.group(1), None, -1
            continue
        if section is None:
            summary.append(line)
        elif section in ("Args", "Arguments", "Parameters") and line.strip():
            indent = len(line) - len(line.lstrip())
            match = _ARG_LINE.match(line)
            if match and (arg_indent < 0 or indent <= arg_indent):
                arg_indent = indent
                current = match.group(1)
                args[current] = match.group(2).strip()
            elif current is not None:
                args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), args


def _flatten_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Put the referenced top-level struct in place of its ``$ref`` and drop msgspec's titles."""
    defs: dict[str, Any] = schema.pop("$defs", {})
    ref = schema.get("$ref", "")
    top: dict[str, Any] = dict(defs.pop(ref.rsplit("/", 1)[-1], schema))
    top.pop("title", None)
    if defs:
        top["$defs"] = defs
    return top


def _signature_struct(func: Callable[..., Any]) -> type[msgspec.Struct]:
    try:
        hints = get_type_hints(func, include_extras=True)
    except Exception:  # an annotation that does not resolve: treat it as Any
        hints = {}
    fields: list[tuple[Any, ...]] = []
    for name, parameter in inspect.signature(func).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        if parameter.default is parameter.empty:
            fields.append((name, annotation))
        else:
            fields.append((name, annotation, parameter.default))
    name = f"{getattr(func, '__name__', 'tool')}_input"
    return msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=True)


def _schema_for(struct: type[msgspec.Struct], arg_docs: Mapping[str, str]) -> dict[str, Any]:
    try:
        schema = _flatten_schema(msgspec.json.schema(struct))
    except (TypeError, msgspec.ValidationError):
        # A type msgspec cannot describe: still offer the arguments by name.
        fields = struct.__struct_fields__
        schema = {"type": "object", "properties": {name: {} for name in fields}}
    schema["additionalProperties"] = False
    properties = schema.setdefault("properties", {})
    for name, text in arg_docs.items():
        if name in properties and text:
            properties[name] = {**properties[name], "description": text}
    return schema


class _FunctionToolBase(Generic[FunctionT]):
    """What a decorated function becomes; see the module docstring."""

    def __init__(
        self,
        func: FunctionT,
        *,
        name: str | None = None,
        description: str | None = None,
        input_schema: Mapping[str, Any] | None = None,
        **definition: Any,
    ) -> None:
        self.func = func
        self.name = name or func.__name__
        summary, arg_docs = _parse_docstring(func.__doc__)
        self.description = summary if description is None else description
        self._input = _signature_struct(func)
        self.input_schema: dict[str, Any] = (
            dict(input_schema) if input_schema is not None else _schema_for(self._input, arg_docs)
        )
        self._definition = {key: value for key, value in definition.items() if value is not None}
        self.__wrapped__ = func
        self.__doc__ = func.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The ``tools=`` entry for this function."""
        entry: dict[str, Any] = {"name": self.name}
        if self.description:
            entry["description"] = self.description
        entry["input_schema"] = self.input_schema
        entry.update(self._definition)
        return entry

    def _arguments(self, input: object) -> dict[str, Any]:
        if not isinstance(input, Mapping):
            raise TypeError(f"Input must be a dictionary, got {type(input).__name__}")
        try:
            value = msgspec.convert(dict(input), self._input, strict=False)
        except msgspec.ValidationError as exc:
            raise ValueError(f"Invalid arguments for function {self.name}: {exc}") from exc
        return {field: getattr(value, field) for field in self._input.__struct_fields__}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FunctionTool(_FunctionToolBase[FunctionT]):
    """A synchronous function as a tool (``@beta_tool``)."""

    def call(self, input: object) -> Any:
        if inspect.iscoroutinefunction(self.func):
            raise RuntimeError(
                f"{self.name} is a coroutine function; decorate it with @beta_async_tool."
            )
        return self.func(**self._arguments(input))


class AsyncFunctionTool(_FunctionToolBase[AsyncFunctionT]):
    """A coroutine function as a tool (``@beta_async_tool``), for the async client's runner."""

    async def call(self, input: object) -> Any:
        if not inspect.iscoroutinefunction(self.func):
            raise RuntimeError(
                f"{self.name} is not a coroutine function; decorate it with @beta_tool."
            )
        return await self.func(**self._arguments(input))


@overload
def beta_tool(func: FunctionT, /) -> FunctionTool[FunctionT]: ...
@overload
def beta_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    **definition: Any,
) -> Callable[[FunctionT], FunctionTool[FunctionT]]: ...
def beta_tool(func: Any = None, /, **options: Any) -> Any:
    """Make ``func`` a tool: ``@beta_tool`` or ``@beta_tool(name=..., description=...)``.

    Extra keyword arguments (``cache_control``, ``strict``, ``defer_loading``, ...) go into the
    tool definition as they are.
    """
    if func is None:
        return lambda inner: FunctionTool(inner, **options)
    return FunctionTool(func, **options)


@overload
def beta_async_tool(func: AsyncFunctionT, /) -> AsyncFunctionTool[AsyncFunctionT]: ...
@overload
def beta_async_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    **definition: Any,
) -> Callable[[AsyncFunctionT], AsyncFunctionTool[AsyncFunctionT]]: ...
def beta_async_tool(func: Any = None, /, **options: Any) -> Any:
    """Make a coroutine function a tool, for ``AsyncAnthropicFoundry``'s tool runner."""
    if func is None:
        return lambda inner: AsyncFunctionTool(inner, **options)
    return AsyncFunctionTool(func, **options)


def is_runnable_tool(tool: object) -> bool:
    """A tool object the runner can call: ours, the official SDK's, or any with ``to_dict()`` and
    ``call(input)``. A plain dict is only a definition."""
    return (
        not isinstance(tool, Mapping)
        and callable(getattr(tool, "to_dict", None))
        and callable(getattr(tool, "call", None))
    )


def refuse_toolsets(tools: Iterable[Any]) -> list[Any]:
    """``tools`` as a list, refusing the official SDK's runnable toolsets.

    ``anthropic.tools.browser`` and ``anthropic.tools.computer`` run the members of the
    ``browser_toolset_20260801`` and ``computer_toolset_20260801`` families on the client, but the
    model calls them only where the API accepts those ``tools`` entries, and Microsoft Foundry
    lists both toolsets among the features it does not support.
    """
    listed = list(tools)
    for tool in listed:
        family = None if isinstance(tool, Mapping) else getattr(tool, "toolset_name", None)
        if isinstance(family, str) and callable(getattr(tool, "to_dict", None)):
            kind = tool_definition(tool).get("type", f"{family} toolset")
            raise NotSupportedOnFoundryError(
                f"The {family} toolset ({type(tool).__name__}, {kind}) cannot be used on "
                "Microsoft Foundry: Foundry does not support the browser and computer toolsets, "
                "so no deployment would call its members. Give the tool runner @beta_tool "
                f"functions that drive your {family} for the actions the model needs, or run this "
                "toolset against the Claude API."
            )
    return listed


def tool_definition(tool: Any) -> Any:
    """The ``tools=`` entry for ``tool``: its ``to_dict()`` if it has one, else ``tool`` itself."""
    if isinstance(tool, Mapping):
        return tool
    to_dict = getattr(tool, "to_dict", None)
    return to_dict() if callable(to_dict) else tool


def tool_definitions(tools: Iterable[Any]) -> list[Any]:
    return [tool_definition(tool) for tool in tools]
