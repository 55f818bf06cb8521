"""Request checks the Messages API makes, with its wording: body shape, fields, hosting features.

Sans-IO: bytes and parsed JSON in, a typed request or :class:`InvalidRequest` out. Messages follow
the API's ``<field path>: <problem>`` style and add what to do where that is not obvious.

    >>> check_create({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    Traceback (most recent call last):
    ...
    claude_foundry.emulator.validation.InvalidRequest: max_tokens: Field required
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeGuard, TypeVar

import msgspec

from ..types import CountTokensRequest, MessageCreateRequest
from .config import catalog

__all__ = [
    "COUNT_FIELDS",
    "CREATE_FIELDS",
    "NESTED_TOO_DEEPLY",
    "InvalidRequest",
    "blocked_feature",
    "check_count",
    "check_create",
    "check_max_tokens",
    "feature_message",
    "parse_body",
    "unknown_header_values",
]

NESTED_TOO_DEEPLY = (
    "The request body is nested too deeply to process. Flatten the JSON (objects and arrays "
    "nested a few hundred levels deep are refused)."
)
CREATE_FIELDS = frozenset(MessageCreateRequest.__struct_fields__)
COUNT_FIELDS = frozenset(CountTokensRequest.__struct_fields__)
_ROLES = ("user", "assistant")


class InvalidRequest(Exception):
    """The request is malformed; the message is what the 400 body says."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_body(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or :class:`InvalidRequest` saying what is wrong with it."""
    if not body.strip():
        raise InvalidRequest(
            "The request body is empty. Send a JSON object with `model`, `max_tokens` and "
            "`messages`."
        )
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(
            f"There was an error parsing the body of your request: {exc}. Send valid JSON with "
            "content-type: application/json."
        ) from None
    except RecursionError:
        raise InvalidRequest(NESTED_TOO_DEEPLY) from None
    if not isinstance(data, dict):
        raise InvalidRequest(
            f"The request body must be a JSON object, not {_json_kind(data)}. Send an object "
            "with `model`, `max_tokens` and `messages`."
        )
    return data


def check_create(data: dict[str, Any]) -> MessageCreateRequest:
    _require(data, "model", str, "a string (the deployment name)")
    _require(data, "max_tokens", int, "a valid integer")
    _require(data, "messages", list, "a valid list")
    if data["max_tokens"] < 1:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    _check_messages(data["messages"])
    _check_sampling(data)
    _check_tool_schemas(data.get("tools"))
    return _convert(data, MessageCreateRequest)


def _check_sampling(data: Mapping[str, Any]) -> None:
    """``temperature`` and ``top_p`` within 0..1, ``top_k`` at least 0, in the API's words.

    Values of the wrong type are left to the conversion, which names the expected type.
    """
    for name in ("temperature", "top_p"):
        value = data.get(name)
        if _is_number(value) and not 0 <= value <= 1:
            raise InvalidRequest(f"{name}: range: 0..1")
    top_k = data.get("top_k")
    if _is_number(top_k) and top_k < 0:
        raise InvalidRequest("top_k: Input should be greater than or equal to 0")


_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMAS = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
_SCHEMA_NODES = 10_000  # schemas walked per tool; a larger one is not examined further


def _check_tool_schemas(tools: object) -> None:
    """Each custom tool's ``input_schema`` is a JSON Schema object, with names in ``required``."""
    if not isinstance(tools, list):
        return
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or "input_schema" not in tool:
            continue
        if not _valid_schema(tool["input_schema"]):
            raise InvalidRequest(
                f"tools.{index}.custom.input_schema: JSON schema is invalid. It must match JSON "
                "Schema draft 2020-12 (https://json-schema.org/draft/2020-12): an object whose "
                "`properties` is an object of schemas and whose `required` lists property names "
                "as strings."
            )


def _valid_schema(root: object) -> bool:
    pending = [root]
    for _ in range(_SCHEMA_NODES):
        if not pending:
            return True
        schema = pending.pop()
        if isinstance(schema, bool):
            continue  # true / false are schemas too
        if not isinstance(schema, dict):
            return False
        required = schema.get("required")
        if required is not None and (
            not isinstance(required, list) or not all(isinstance(n, str) for n in required)
        ):
            return False
        for key in _SUBSCHEMA_MAPS:
            children = schema.get(key)
            if children is not None:
                if not isinstance(children, dict):
                    return False
                pending.extend(children.values())
        for key in _SUBSCHEMA_LISTS:
            children = schema.get(key)
            if children is not None:
                if not isinstance(children, list):
                    return False
                pending.extend(children)
        for key in _SUBSCHEMAS:
            if key in schema:
                child = schema[key]
                pending.extend(child if key == "items" and isinstance(child, list) else [child])
    return True


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_max_tokens(request: MessageCreateRequest, *, limit: int | None, model: str) -> None:
    """Refuse a ``max_tokens`` above the model's largest output, as the API words it."""
    if limit is not None and request.max_tokens > limit:
        raise InvalidRequest(
            f"max_tokens: {request.max_tokens} > {limit}, which is the maximum allowed number "
            f"of output tokens for {model}"
        )


def check_count(data: dict[str, Any]) -> CountTokensRequest:
    _require(data, "model", str, "a string (the deployment name)")
    _require(data, "messages", list, "a valid list")
    _check_messages(data["messages"])
    return _convert(data, CountTokensRequest)


def _require(data: Mapping[str, Any], key: str, kind: type, described: str) -> None:
    if key not in data:
        raise InvalidRequest(f"{key}: Field required")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidRequest(f"{key}: Input should be {described}")


def _check_messages(messages: list[Any]) -> None:
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{index}: Input should be a valid dictionary")
        role = message.get("role")
        if role == "system":
            raise InvalidRequest(
                f'messages.{index}.role: Unexpected role "system". The Messages API accepts a '
                'top-level `system` parameter, not "system" as an input message role.'
            )
        if role not in _ROLES:
            raise InvalidRequest(
                f"messages.{index}.role: Input should be 'user' or 'assistant', not {role!r}"
            )
        if "content" not in message:
            raise InvalidRequest(f"messages.{index}.content: Field required")


_T = TypeVar("_T")
_LOCATION = re.compile(r"\s*-\s*at\s*`\$\.?(?P<path>[^`]*)`\s*$")


def _convert(data: dict[str, Any], cls: type[_T]) -> _T:
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _LOCATION.search(text)
        if match is None:
            raise InvalidRequest(text) from None
        path = re.sub(r"\[(\d+)\]", r".\1", match["path"]).lstrip(".")
        problem = text[: match.start()].replace("`", "")
        raise InvalidRequest(f"{path}: {problem}" if path else problem) from None


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a number" if not isinstance(value, bool) else "a boolean"


def unknown_header_values(headers: Mapping[str, str]) -> list[str]:
    """``anthropic-version`` and ``anthropic-beta`` values the catalog does not know."""
    found: list[str] = []
    known = catalog()
    version = headers.get("anthropic-version")
    if version is not None and version not in known.anthropic_versions:
        found.append(f"anthropic-version: {version}")
    betas = headers.get("anthropic-beta")
    if betas:
        for beta in betas.split(","):
            beta = beta.strip()
            if beta and beta not in known.anthropic_betas:
                found.append(f"anthropic-beta: {beta}")
    return found


# --- features a hosting option does not offer ---------------------------------------------------

_Request = MessageCreateRequest | CountTokensRequest


def _tool_types(request: _Request) -> Iterable[str]:
    for tool in request.tools or ():
        tool_type = tool.get("type")
        if isinstance(tool_type, str):
            yield tool_type


def _has_tool(*prefixes: str) -> Callable[[_Request], bool]:
    return lambda request: any(t.startswith(prefixes) for t in _tool_types(request))


def _structured_outputs(request: _Request) -> bool:
    config = getattr(request, "output_config", None)
    return request.output_format is not None or (
        isinstance(config, dict) and config.get("format") is not None
    )


def _mcp(request: _Request) -> bool:
    return bool(request.mcp_servers) or any(t == "mcp_toolset" for t in _tool_types(request))


def _skills(request: _Request) -> bool:
    container: object = getattr(request, "container", None)
    return isinstance(container, dict) and bool(container.get("skills"))


def _programmatic(request: _Request) -> bool:
    return any("allowed_callers" in tool for tool in request.tools or ())


def _file_reference(block: object) -> bool:
    if not isinstance(block, dict):
        return False
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "file":
        return True
    content = block.get("content")  # tool_result blocks nest blocks
    return isinstance(content, list) and any(_file_reference(inner) for inner in content)


def _files(request: _Request) -> bool:
    return any(
        isinstance(message.content, list) and any(map(_file_reference, message.content))
        for message in request.messages
    )


_DETECTORS: dict[str, Callable[[_Request], bool]] = {
    "structured_outputs": _structured_outputs,
    "web_search": _has_tool("web_search_"),
    "web_fetch": _has_tool("web_fetch_"),
    "code_execution": _has_tool("code_execution_", "bash_code_execution", "text_editor_code_exec"),
    "tool_search": _has_tool("tool_search_tool"),
    "mcp_connector": _mcp,
    "agent_skills": _skills,
    "programmatic_tool_calling": _programmatic,
    "files_api": _files,
}


def _plain(request: _Request) -> bool:
    """True when the request cannot use any detected feature: no tools, no structured output,
    no MCP servers or container, and text-only turns. Most requests are plain."""
    return (
        not request.tools
        and request.output_format is None
        and getattr(request, "output_config", None) is None
        and not request.mcp_servers
        and getattr(request, "container", None) is None
        and all(isinstance(message.content, str) for message in request.messages)
    )


def blocked_feature(request: _Request, features: Iterable[str]) -> str | None:
    """The first of ``features`` that ``request`` uses, or None."""
    if _plain(request):
        return None
    for feature in features:
        detector = _DETECTORS.get(feature)
        if detector is not None and detector(request):
            return feature
    return None


def feature_message(feature: str, *, deployment: str, model: str, hosting: str) -> str:
    name = catalog().feature_names.get(feature, feature)
    if hosting == "azure":
        return (
            f"{name} is not supported on deployments hosted on Azure. Deployment "
            f"'{deployment}' ({model}) is hosted on Azure; use a deployment of this model hosted "
            "on Anthropic, or remove the feature from the request."
        )
    return f"{name} is not available on deployment '{deployment}' ({model})."
