"""``claude_foundry.types`` against the official ``anthropic.types``: every name either imports or
says why Foundry lacks it, the shapes agree, and typed code written for the official module
type-checks and runs with only the import changed."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import anthropic.types
import anthropic.types.beta
import msgspec
import pydantic
import pytest
from typing_extensions import is_typeddict

import claude_foundry.types as types
from claude_foundry import AnthropicFoundry
from claude_foundry.emulator import Emulator
from claude_foundry.types import (
    CitationsWebSearchResultLocation,
    CodeExecutionResultBlock,
    Container,
    DocumentBlock,
    ErrorDetail,
    ErrorResponse,
    OverloadedErrorObject,
    PlainTextSource,
    RateLimitErrorObject,
    RefusalStopDetails,
    ServerToolCaller,
    TextBlock,
    ToolSearchToolResultErrorObject,
    WebFetchBlock,
    WebSearchResultBlock,
    decode_message,
    decode_stream_event,
)
from claude_foundry.types._not_offered import reason_not_offered

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = "claude-sonnet-4-6"
OFFICIAL_NAMES = sorted(name for name in dir(anthropic.types) if name[:1].isupper())
NON_BETA = [name for name in OFFICIAL_NAMES if not name.startswith("Beta")]
# Wire fields ours has beyond the official model, and why.
EXTRA_FIELDS = {"details"}  # error objects: `error.details` carries the error code on the wire
NOT_WIRE_FIELDS = {"parsed_output"}  # ParsedTextBlock: a property here, never sent


def _import(name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(f"from claude_foundry.types import {name}", namespace)  # the statement users write
    return namespace[name]


def test_every_official_name_imports_or_says_why() -> None:
    unexplained = []
    for name in OFFICIAL_NAMES:
        try:
            _import(name)
        except ImportError as exc:
            said = f"claude_foundry.types does not offer {name}: it "
            if reason_not_offered(name) is None or not str(exc).startswith(said):
                unexplained.append(f"{name}: {exc}")
    assert unexplained == [], "official names neither offered nor explained"


def test_most_official_messages_names_are_offered() -> None:
    offered = [name for name in NON_BETA if hasattr(types, name)]
    # The Messages API, streaming, tools, citations, thinking, caching, errors: all of it.
    for name in (
        "ToolParam",
        "ContentBlockParam",
        "ToolUnionParam",
        "RawMessageStreamEvent",
        "TextCitation",
        "ModelParam",
        "StopReason",
        "WebSearchTool20250305Param",
        "CodeExecutionToolResultBlockContent",
    ):
        assert name in offered
    assert len(offered) > 230


def test_a_name_foundry_lacks_fails_with_its_reason() -> None:
    with pytest.raises(ImportError, match=r"ModelInfo.*Models API.*deployment"):
        _import("ModelInfo")
    with pytest.raises(AttributeError, match="computer and browser toolsets"):
        _ = types.ComputerToolset20260801Param  # type: ignore[attr-defined]
    assert not hasattr(types, "FileMetadata")
    assert getattr(types, "Skill", None) is None
    with pytest.raises(ImportError, match="A 429 answer raises RateLimitError"):
        _import("RampLimitExceededError")  # said as the package root says it
    with pytest.raises(ImportError, match=r"OverloadedError.*exc\.error_code"):
        _import("CompactionUnavailableError")
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        _ = types.NoSuchName  # type: ignore[attr-defined]


def test_beta_names_point_to_the_names_without_the_prefix() -> None:
    with pytest.raises(ImportError, match="BetaMessage -> Message"):
        _import("BetaMessage")
    assert _import("BetaRateLimitError") is types.RateLimitErrorObject


BETA_MODULE_NAMES = sorted(name for name in dir(anthropic.types.beta) if name[:1].isupper())
# Beta-only fields our class reads as None when the reply lacks them, as the official model does.
BETA_READ_AS_NONE = {
    "BetaMessage": {"context_management", "input_transformations"},
    "BetaUsage": {"fallback_credit", "iterations"},
}


def test_every_official_beta_name_imports_or_says_why() -> None:
    offered, unexplained = [], []
    for name in BETA_MODULE_NAMES:
        namespace: dict[str, Any] = {}
        try:
            exec(f"from claude_foundry.types.beta import {name}", namespace)
            offered.append(name)
        except ImportError as exc:
            reason = reason_not_offered(name, beta=True)
            if reason is None or not str(exc).endswith(f"does not offer {name}: {reason}"):
                unexplained.append(f"{name}: {exc}")
    assert unexplained == []
    assert len(offered) > 150


def test_beta_aliases_have_the_official_beta_shapes() -> None:
    import claude_foundry.types.beta as beta

    checked, differing = 0, []
    for name in BETA_MODULE_NAMES:
        if not hasattr(beta, name):
            continue
        official, ours = getattr(anthropic.types.beta, name), getattr(beta, name)
        if is_typeddict(official):
            required = _official_required_keys(official)
            keys = set(official.__annotations__)
            if set(ours.__annotations__) != keys or ours.__required_keys__ != required:
                differing.append(name)
        elif isinstance(official, type) and issubclass(official, pydantic.BaseModel):
            tag = ours.__struct_config__.tag_field
            mine = {field.encode_name for field in msgspec.structs.fields(ours)} | {tag} - {None}
            theirs = {info.alias or key for key, info in official.model_fields.items()}
            if mine != theirs - BETA_READ_AS_NONE.get(name, set()):
                differing.append(name)
        else:
            continue
        checked += 1
    assert differing == []
    assert checked > 140


def test_official_response_models_have_our_wire_fields() -> None:
    checked, differing = 0, []
    for name in NON_BETA:
        official = getattr(anthropic.types, name)
        if not (isinstance(official, type) and issubclass(official, pydantic.BaseModel)):
            continue
        if not hasattr(types, name):
            continue
        ours = getattr(types, name)
        assert isinstance(ours, type), name
        assert issubclass(ours, msgspec.Struct), name
        tag = ours.__struct_config__.tag_field
        mine = {field.encode_name for field in msgspec.structs.fields(ours)} | {tag} - {None}
        theirs = {info.alias or key for key, info in official.model_fields.items()}
        if mine - EXTRA_FIELDS != theirs - NOT_WIRE_FIELDS:
            differing.append((name, sorted(mine ^ theirs)))
        checked += 1
    assert differing == []
    assert checked > 60


def _typed_dicts() -> list[str]:
    return [
        name
        for name in NON_BETA
        if is_typeddict(getattr(anthropic.types, name)) and hasattr(types, name)
    ]


def _official_required_keys(typed_dict: Any) -> set[str]:
    """The required keys of an official TypedDict, read from its source: its modules postpone
    annotations, so ``Required[...]`` never reaches ``__required_keys__`` on Python 3.11."""
    module = sys.modules[typed_dict.__module__]
    tree = ast.parse(inspect.getsource(module))
    (node,) = (
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == typed_dict.__name__
    )
    total = not any(k.arg == "total" and ast.literal_eval(k.value) is False for k in node.keywords)
    required: set[str] = set()
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id != "TypedDict":
            required |= _official_required_keys(getattr(module, base.id))
    for field in node.body:
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
            annotation = ast.unparse(field.annotation)
            if annotation.startswith("Required[") or (
                total and not annotation.startswith("NotRequired[")
            ):
                required.add(field.target.id)
    return required


@pytest.mark.parametrize("name", _typed_dicts())
def test_param_keys_and_required_keys_match_the_official_ones(name: str) -> None:
    official, ours = getattr(anthropic.types, name), getattr(types, name)
    assert is_typeddict(ours)
    assert set(ours.__annotations__) == set(official.__annotations__)
    required = _official_required_keys(official)
    assert ours.__required_keys__ == required
    assert ours.__optional_keys__ == set(official.__annotations__) - required


def test_every_official_typed_dict_is_offered_unless_explained() -> None:
    missing = [
        name
        for name in NON_BETA
        if is_typeddict(getattr(anthropic.types, name))
        and not hasattr(types, name)
        and reason_not_offered(name) is None
    ]
    assert missing == []
    assert len(_typed_dicts()) > 90


def test_the_params_load_only_when_asked_for() -> None:
    code = (
        "import sys, claude_foundry.types as t\n"
        "assert 'claude_foundry.types.params' not in sys.modules\n"
        "from claude_foundry.types import ToolParam\n"
        "assert 'claude_foundry.types.params' in sys.modules and t.ToolParam is ToolParam\n"
        "assert 'anthropic' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)


# --- decoding what the server tools return ------------------------------------------------------

REPLY: dict[str, Any] = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-5",
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "stop_details": {"type": "refusal", "category": "cyber", "explanation": "no"},
    "container": {"id": "cntr_1", "expires_at": "2026-11-29T22:00:00Z", "skills": None},
    "usage": {"input_tokens": 10, "output_tokens": 5},
    "content": [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": "x"}},
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [
                {
                    "type": "web_search_result",
                    "encrypted_content": "enc",
                    "title": "T",
                    "url": "https://example.com",
                    "page_age": None,
                }
            ],
        },
        {
            "type": "text",
            "text": "Cited.",
            "citations": [
                {
                    "type": "web_search_result_location",
                    "cited_text": "c",
                    "encrypted_index": "ei",
                    "title": "T",
                    "url": "https://example.com",
                }
            ],
        },
        {
            "type": "web_fetch_tool_result",
            "tool_use_id": "srvtoolu_2",
            "caller": {"type": "code_execution_20250825", "tool_id": "srvtoolu_9"},
            "content": {
                "type": "web_fetch_result",
                "url": "https://example.com/a",
                "retrieved_at": "2026-11-29",
                "content": {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "page"},
                    "citations": {"enabled": True},
                    "title": "A",
                },
            },
        },
        {
            "type": "code_execution_tool_result",
            "tool_use_id": "srvtoolu_3",
            "content": {
                "type": "code_execution_result",
                "stdout": "4\n",
                "stderr": "",
                "return_code": 0,
                "content": [{"type": "code_execution_output", "file_id": "file_1"}],
            },
        },
        {
            "type": "bash_code_execution_tool_result",
            "tool_use_id": "srvtoolu_4",
            "content": {
                "type": "bash_code_execution_result",
                "stdout": "",
                "stderr": "",
                "return_code": 0,
                "content": [],
            },
        },
        {
            "type": "text_editor_code_execution_tool_result",
            "tool_use_id": "srvtoolu_5",
            "content": {
                "type": "text_editor_code_execution_view_result",
                "content": "line",
                "file_type": "text",
                "num_lines": 1,
                "start_line": 1,
                "total_lines": 1,
            },
        },
        {
            "type": "tool_search_tool_result",
            "tool_use_id": "srvtoolu_6",
            "content": {
                "type": "tool_search_tool_result_error",
                "error_code": "unavailable",
                "error_message": None,
            },
        },
    ],
}


def _same_classes(ours: Any, official: Any, path: str = "$") -> list[str]:
    """Where an official model object is not, here, an instance of our class of the same name."""
    if isinstance(official, pydantic.BaseModel):
        name = type(official).__name__
        # The stream helper's final message is a Message here, a ParsedMessage there.
        names = (name, name.removeprefix("Parsed"))
        same = any(isinstance(ours, getattr(types, n)) for n in names)
        mismatch = [] if same else [path]
        for key in type(official).model_fields.keys() - NOT_WIRE_FIELDS:
            mismatch += _same_classes(getattr(ours, key), getattr(official, key), f"{path}.{key}")
        return mismatch
    if isinstance(official, list):
        return [
            m
            for i, pair in enumerate(zip(ours, official, strict=True))
            for m in _same_classes(*pair, f"{path}[{i}]")
        ]
    return []


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_a_reply_with_server_tool_results_decodes_into_the_official_shapes() -> None:
    message = decode_message(json.dumps(REPLY))
    official = anthropic.types.Message.model_validate(REPLY)
    assert _same_classes(message, official) == []
    assert _without_nulls(message.to_dict()) == _without_nulls(official.model_dump(mode="json"))
    search = message.content[1].content  # type: ignore[union-attr]
    assert isinstance(search, list)
    assert isinstance(search[0], WebSearchResultBlock)
    cited = message.content[2]
    assert isinstance(cited, TextBlock)
    assert cited.citations is not None
    assert isinstance(cited.citations[0], CitationsWebSearchResultLocation)
    # Sent back in the next turn, a block is what the API sent (no null `caller`, `file_id`).
    for block, sent in zip(message.content, REPLY["content"], strict=True):
        assert _without_nulls(msgspec.json.decode(types.encode(block))) == _without_nulls(sent)
    char = {"type": "char_location", "cited_text": "c", "document_index": 0}
    char |= {"document_title": None, "start_char_index": 0, "end_char_index": 1}
    encoded = types.encode(msgspec.convert(char, types.CitationCharLocation))
    assert msgspec.json.decode(encoded) == char
    fetch = message.content[3]
    assert isinstance(fetch.caller, ServerToolCaller)  # type: ignore[union-attr]
    assert isinstance(fetch.content, WebFetchBlock)  # type: ignore[union-attr]
    assert isinstance(fetch.content.content, DocumentBlock)  # type: ignore[union-attr]
    assert isinstance(fetch.content.content.source, PlainTextSource)  # type: ignore[union-attr]
    assert isinstance(message.content[4].content, CodeExecutionResultBlock)  # type: ignore[union-attr]
    assert isinstance(message.content[7].content, ToolSearchToolResultErrorObject)  # type: ignore[union-attr]
    assert isinstance(message.stop_details, RefusalStopDetails)
    assert isinstance(message.container, Container)
    assert message.container.id == "cntr_1"


def test_a_value_newer_than_this_version_stays_plain_json() -> None:
    newer = json.loads(json.dumps(REPLY))
    newer["content"][2]["citations"].append({"type": "video_location", "cited_text": "v"})
    newer["content"][1]["content"] = {"type": "web_search_tool_result_pending"}
    newer["content"][7]["content"]["error_code"] = "quota_exhausted"
    newer["stop_details"]["category"] = "new_category"
    message = decode_message(json.dumps(newer))
    error = message.content[7].content  # type: ignore[union-attr]
    assert isinstance(error, ToolSearchToolResultErrorObject)
    assert error.error_code == "quota_exhausted"
    assert message.stop_details is not None
    assert message.stop_details.category == "new_category"  # type: ignore[comparison-overlap]
    cited = message.content[2]
    assert isinstance(cited, TextBlock)
    assert cited.citations is not None
    assert isinstance(cited.citations[0], CitationsWebSearchResultLocation)
    assert cited.citations[1] == {"type": "video_location", "cited_text": "v"}
    assert message.content[1].content == {"type": "web_search_tool_result_pending"}  # type: ignore[union-attr]
    assert message.to_dict()["content"][2]["citations"][1]["type"] == "video_location"
    delta = decode_stream_event(
        b'{"type":"content_block_delta","index":0,'
        b'"delta":{"type":"citations_delta","citation":{"type":"new_location"}}}',
        "content_block_delta",
    )
    assert delta.delta.citation == {"type": "new_location"}  # type: ignore[union-attr]


def test_error_objects_decode_as_the_class_of_their_type() -> None:
    body = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    error = msgspec.json.decode(body, type=ErrorResponse).error
    assert isinstance(error, RateLimitErrorObject)
    assert error.message == "slow down"
    assert isinstance(error, types.RateLimitError)  # the official alias of the error object
    event = decode_stream_event(
        b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "error"
    )
    assert isinstance(event.error, OverloadedErrorObject)  # type: ignore[union-attr]
    newer = msgspec.json.decode(b'{"type":"error","error":{"type":"x_error"}}', type=ErrorResponse)
    assert type(newer.error) is ErrorDetail
    assert newer.error.type == "x_error"
    assert msgspec.json.decode(types.encode(event))["error"]["type"] == "overloaded_error"


# --- typed user code ----------------------------------------------------------------------------

EXAMPLE = ROOT / "tests" / "typing" / "dropin_types.py"


def test_typed_user_code_type_checks_under_mypy_strict() -> None:
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _example() -> Any:
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import dropin_types
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    return dropin_types


def test_typed_user_code_runs_against_the_emulator(emulator: Emulator) -> None:
    example = _example()
    emulator.add_script({"tool_result": "get_weather", "reply": {"text": "Sunny."}})
    tool_use = {"type": "tool_use", "name": "get_weather", "input": {"city": "Oslo"}}
    emulator.add_script({"contains": "weather", "reply": {"content": [tool_use]}})
    client = AnthropicFoundry(api_key="test-key", base_url=emulator.base_url)
    deployment = DEPLOYMENT
    question = "What is the weather in Oslo?"
    first = example.ask(client, deployment, question)
    assert first.stop_reason == "tool_use"
    turns = example.answer_tools(question, first, "sunny")
    assert example.count(client, deployment, turns) > 0
    second = client.messages.create(model=deployment, max_tokens=64, messages=turns)
    assert example.texts(second.content) == ["Sunny."]
    assert example.finished(second)
    assert example.streamed_text(client, deployment, "Hello") != ""
    history = example.continue_with(question, second, "And tomorrow?")
    assert client.messages.create(model=deployment, max_tokens=64, messages=history).content


def test_server_tool_results_reach_both_clients_in_the_same_shapes(emulator: Emulator) -> None:
    emulator.add_script({"reply": {"content": REPLY["content"], "stop_reason": "end_turn"}})
    deployment = DEPLOYMENT
    hi = [{"role": "user", "content": "Search"}]
    ours = AnthropicFoundry(api_key="test-key", base_url=emulator.base_url)
    official = anthropic.AnthropicFoundry(api_key="test-key", base_url=emulator.base_url)
    pairs = [
        (
            ours.messages.create(model=deployment, max_tokens=64, messages=hi),
            official.messages.create(model=deployment, max_tokens=64, messages=hi),  # type: ignore[arg-type]
        )
    ]
    with (
        ours.messages.stream(model=deployment, max_tokens=64, messages=hi) as stream,
        official.messages.stream(model=deployment, max_tokens=64, messages=hi) as reference,  # type: ignore[arg-type]
    ):
        pairs.append((stream.get_final_message(), reference.get_final_message()))
    for message, expected in pairs:
        assert _same_classes(message, expected) == []
        ours_dict = _without_nulls(message.to_dict())
        assert ours_dict["content"] == _without_nulls(expected.model_dump(mode="json"))["content"]
