"""Structured outputs: ``output_format`` to the wire parameter, and reply text to a value.

Sans-IO, shared by ``messages.parse``, ``messages.stream`` and ``messages.count_tokens`` of both
clients. An ``output_format`` is one of:

* a pydantic ``BaseModel`` subclass: its schema and validation come from pydantic (imported only
  then, so pydantic is not a dependency), as in the official SDK;
* a :class:`msgspec.Struct` subclass, a dataclass, a ``TypedDict`` or another type msgspec knows
  (``list[int]``, ...): schema from :func:`msgspec.json.schema`, decoding by msgspec;
* a JSON schema ``dict``: sent as it is (made strict like the others), and a reply is decoded
  to plain Python values and checked against the schema's types, ``required`` and ``enum``.

The schema is sent as ``output_config.format = {"type": "json_schema", "schema": ...}`` after the
same strictness rules the official SDK applies (objects get ``additionalProperties: false``;
keywords the API does not take are moved into ``description``), so both send the same body.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import msgspec

from ._errors import OutputParseError
from .types import Message, ParsedMessage, ParsedTextBlock, TextBlock

__all__ = [
    "OutputFormat",
    "parsed_message",
    "resolve_output_format",
    "strict_schema",
    "transform_schema",
]

T = TypeVar("T")

_EXCERPT_CHARS = 120
_STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_SCALAR = (str, int, float, bool, type(None))


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` rewritten into the subset structured outputs accept.

    >>> strict_schema({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}})
    {'type': 'object', 'properties': {'n': {'type': 'integer', 'description': '{minimum: 1}'}}, \
'additionalProperties': False}
    """
    rest = dict(schema)
    out: dict[str, Any] = {}
    definitions = rest.pop("$defs", None)
    if definitions is not None:
        out["$defs"] = {name: strict_schema(sub) for name, sub in definitions.items()}
    ref = rest.pop("$ref", None)
    if ref is not None:
        out["$ref"] = ref
        return out

    kind = rest.pop("type", None)
    any_of, one_of = rest.pop("anyOf", None), rest.pop("oneOf", None)
    all_of = rest.pop("allOf", None)
    enum = rest.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, _SCALAR) for v in enum):
        out["enum"] = rest.pop("enum")
    if "const" in rest and isinstance(rest["const"], _SCALAR):
        out["const"] = rest.pop("const")
    literal = "enum" in out or "const" in out
    if literal:
        kind = None

    alternatives = any_of if isinstance(any_of, list) else one_of
    if isinstance(alternatives, list):
        out["anyOf"] = [strict_schema(branch) for branch in alternatives]
    elif isinstance(all_of, list):
        out["allOf"] = [strict_schema(branch) for branch in all_of]
    elif not literal:
        if kind is None:
            raise ValueError(
                "Each schema in output_format needs a 'type', 'anyOf', 'oneOf' or 'allOf', or a "
                f"'const' or non-empty 'enum' of plain values; this one has none: {dict(schema)!r}"
            )
        out["type"] = kind

    for key in ("description", "title"):
        if key in rest:
            out[key] = rest.pop(key)

    if kind == "object":
        properties = rest.pop("properties", {})
        out["properties"] = {name: strict_schema(sub) for name, sub in properties.items()}
        rest.pop("additionalProperties", None)
        out["additionalProperties"] = False
        if "required" in rest:
            out["required"] = rest.pop("required")
    elif kind == "string" and "format" in rest:
        # An unsupported format moves to the end of the notes, as the official SDK has it.
        string_format = rest.pop("format")
        if string_format in _STRING_FORMATS:
            out["format"] = string_format
        elif string_format:
            rest["format"] = string_format
    elif kind == "array":
        if "items" in rest:
            out["items"] = strict_schema(rest.pop("items"))
        if "minItems" in rest:
            min_items = rest.pop("minItems")
            if min_items in (0, 1):
                out["minItems"] = min_items
            elif min_items is not None:
                rest["minItems"] = min_items

    if rest:
        # Keywords the API does not enforce still guide the model when written out.
        note = "{" + ", ".join(f"{key}: {value}" for key, value in rest.items()) + "}"
        described = out.get("description")
        out["description"] = note if described is None else f"{described}\n\n{note}"
    return out


def _inline_root(schema: dict[str, Any]) -> dict[str, Any]:
    """msgspec puts a named type in ``$defs`` behind a root ``$ref``; the root is the type."""
    ref = schema.get("$ref")
    definitions = schema.get("$defs") or {}
    prefix = "#/$defs/"
    if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] in definitions:
        root = dict(definitions[ref[len(prefix) :]])
        if len(definitions) > 1 or _mentions(root, ref):
            root["$defs"] = definitions
        return root
    return schema


def _mentions(schema: Any, ref: str) -> bool:
    if isinstance(schema, dict):
        return schema.get("$ref") == ref or any(_mentions(v, ref) for v in schema.values())
    if isinstance(schema, list):
        return any(_mentions(v, ref) for v in schema)
    return False


def _is_pydantic_model(output_format: object) -> bool:
    if not inspect.isclass(output_format):
        return False
    # pydantic is imported only when a class could be one of its models.
    names = {base.__module__.split(".")[0] for base in output_format.__mro__}
    if "pydantic" not in names:
        return False
    import pydantic

    return issubclass(output_format, pydantic.BaseModel)


def _type_name(output_format: object) -> str:
    return getattr(output_format, "__name__", None) or repr(output_format)


class OutputFormat(Generic[T]):
    """A resolved ``output_format``: its wire parameter and how to decode a reply into it."""

    __slots__ = ("decode", "name", "source", "wire")

    def __init__(
        self, *, source: object, name: str, schema: dict[str, Any], decode: Callable[[str], T]
    ) -> None:
        self.source = source
        self.name = name
        self.wire: dict[str, Any] = {"type": "json_schema", "schema": strict_schema(schema)}
        self.decode = decode

    def parse_text(self, text: str, message: Message | None = None) -> T:
        """The reply text as a value of this format; :class:`OutputParseError` if it is not one."""
        try:
            return self.decode(text)
        except Exception as exc:  # pydantic, msgspec and schema checks each raise their own
            raise _parse_error(self, text, exc, message) from exc


def resolve_output_format(output_format: Any) -> OutputFormat[Any]:
    """Turn a user's ``output_format`` into an :class:`OutputFormat`; :class:`TypeError` if no
    JSON schema can be made for it."""
    if isinstance(output_format, Mapping):
        schema = dict(output_format)
        return OutputFormat(
            source=output_format,
            name=str(schema.get("title") or "the JSON schema"),
            schema=schema,
            decode=lambda text: _decode_with_schema(text, schema),
        )
    try:
        hash(output_format)
    except TypeError:
        return _resolve_type(output_format)
    return _resolve_type_cached(output_format)


def _resolve_type(output_format: Any) -> OutputFormat[Any]:
    if _is_pydantic_model(output_format):
        import pydantic

        adapter: Any = pydantic.TypeAdapter(output_format)
        return OutputFormat(
            source=output_format,
            name=_type_name(output_format),
            schema=adapter.json_schema(),
            decode=adapter.validate_json,
        )
    try:
        schema = _inline_root(msgspec.json.schema(output_format))
        decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(output_format)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"output_format must be a pydantic BaseModel, a msgspec.Struct, a dataclass, a "
            f"TypedDict or a JSON schema dict; no JSON schema can be made for "
            f"{_type_name(output_format)} ({exc})."
        ) from None
    return OutputFormat(
        source=output_format,
        name=_type_name(output_format),
        schema=schema,
        decode=decoder.decode,
    )


# A type's schema and decoder are the same on every call, and building them (a pydantic
# TypeAdapter above all) costs about as much as the rest of the request: keep the recent ones.
_resolve_type_cached = functools.lru_cache(maxsize=64)(_resolve_type)


def parsed_message(message: Message, output_format: OutputFormat[T] | None) -> ParsedMessage[T]:
    """``message`` as a :class:`ParsedMessage` whose text blocks carry ``parsed_output``
    (``None`` when no ``output_format`` was given, as in the official SDK)."""
    content: list[Any] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            parsed_block: ParsedTextBlock[T] = ParsedTextBlock(
                text=block.text, citations=block.citations
            )
            parsed_block.__dict__.update(block.__dict__)
            if output_format is not None:
                parsed_block.__dict__["parsed_output"] = output_format.parse_text(
                    block.text, message
                )
            block = parsed_block
        content.append(block)
    fields = {name: getattr(message, name) for name in Message.__struct_fields__}
    fields["content"] = content
    result: ParsedMessage[T] = ParsedMessage(**fields)
    result.__dict__.update(message.__dict__)
    return result


# --- errors ------------------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[:_EXCERPT_CHARS] + "..."


def _what_failed(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic.ValidationError
        try:
            found = errors()
        except Exception:
            found = []
        if found:
            first = found[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "the value"
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            return f"{where}: {first.get('msg', exc)}{more}"
    if isinstance(exc, msgspec.ValidationError):
        return str(exc)
    if isinstance(exc, msgspec.DecodeError):
        return f"not valid JSON ({exc})"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _parse_error(
    output_format: OutputFormat[Any], text: str, exc: Exception, message: Message | None
) -> OutputParseError:
    stop_reason = message.stop_reason if message is not None else None
    advice = "Check the schema and the prompt, or catch OutputParseError and retry."
    if stop_reason == "max_tokens":
        advice = "The reply was cut at max_tokens; raise max_tokens."
    elif stop_reason == "refusal":
        advice = "The model refused; its text is not the requested format."
    return OutputParseError(
        f"The model's reply does not match output_format {output_format.name}: "
        f"{_what_failed(exc)}. Reply text ({len(text)} characters, stop_reason "
        f"{stop_reason!r}): {_excerpt(text)!r}. {advice}",
        text=text,
        output_format=output_format.source,
        stop_reason=stop_reason,
        request_id=message.request_id if message is not None else None,
    )


# --- checking plain JSON against a schema dict -------------------------------------------------

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _decode_with_schema(text: str, schema: Mapping[str, Any]) -> Any:
    value = msgspec.json.decode(text)
    _check(value, schema, root=schema, path="$")
    return value


def _check(value: Any, schema: Any, *, root: Mapping[str, Any], path: str) -> None:
    if not isinstance(schema, Mapping):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        target: Any = root
        for part in ref[2:].split("/") if ref != "#" else ():
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        _check(value, target, root=root, path=path)
        return
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if (
            isinstance(branches, list)
            and branches
            and not any(_fits(value, branch, root) for branch in branches)
        ):
            raise ValueError(f"{path} matches none of the {key} alternatives")
    for branch in schema.get("allOf") or ():
        _check(value, branch, root=root, path=path)
    if "const" in schema and value != schema["const"]:
        raise ValueError(f"{path} must be {schema['const']!r}")
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        raise ValueError(f"{path} must be one of {enum!r}")
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if isinstance(kinds, list):
        allowed = tuple(t for kind in kinds for t in _JSON_TYPES.get(kind, ()))
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and "boolean" not in kinds):
            raise ValueError(f"{path} must be of type {' or '.join(kinds)}, not {value!r:.40}")
    if isinstance(value, dict):
        for name in schema.get("required") or ():
            if name not in value:
                raise ValueError(f"{path} lacks the required property {name!r}")
        properties = schema.get("properties") or {}
        for name, item in value.items():
            if name in properties:
                _check(item, properties[name], root=root, path=f"{path}.{name}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], root=root, path=f"{path}[{index}]")


def _fits(value: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    try:
        _check(value, schema, root=root, path="$")
    except ValueError:
        return False
    return True


def transform_schema(json_schema: Any) -> dict[str, Any]:
    """A JSON schema rewritten into the subset structured outputs accept, as the official
    ``transform_schema``; a type (pydantic model, msgspec.Struct, dataclass, TypedDict) is turned
    into its schema first. Keywords the API does not enforce move into the description.

    >>> transform_schema({"type": "integer", "minimum": 1, "description": "A number"})
    {'type': 'integer', 'description': 'A number\\n\\n{minimum: 1}'}
    """
    schema: dict[str, Any] = resolve_output_format(json_schema).wire["schema"]
    return copy.deepcopy(schema)  # a type's schema is cached: the caller gets its own
