"""Scripted replies: file formats, matching, sequences, retries, and clear errors."""

from __future__ import annotations

import json
import re
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest

from claude_foundry.emulator.config import EmulatorConfig
from claude_foundry.emulator.scripts import (
    ScriptBook,
    last_user_text,
    tool_results_in_last_turn,
)
from claude_foundry.types import MessageCreateRequest, RequestMessage


def _request(text: Any = "hello", *, model: str = "dep-a", **fields: Any) -> MessageCreateRequest:
    return MessageCreateRequest(
        model=model, max_tokens=50, messages=[RequestMessage(role="user", content=text)], **fields
    )


def _text(book: ScriptBook, request: MessageCreateRequest, body_hash: str) -> str | None:
    reply = book.match(request, request.model, body_hash)
    return None if reply is None else reply.text


TOML_SCRIPT = """
[[scripts]]
name = "weather"
deployment = "dep-a"
contains = "WEATHER"
[[scripts.replies]]
content = [{ type = "tool_use", name = "get_weather", input = { city = "Paris" } }]
[[scripts.replies]]
text = "It is sunny."

[[scripts]]
regex = '^order (\\d+)$'
reply = { text = "Order found.", stop_reason = "end_turn", usage = { output_tokens = 7 } }
"""


def test_toml_file_loads_and_matches(tmp_path: Path) -> None:
    path = tmp_path / "replies.toml"
    path.write_text(TOML_SCRIPT)
    book = ScriptBook()
    added = book.load(path)
    assert [rule["id"] for rule in added] == ["script_1", "script_2"]
    assert added[0]["name"] == "weather"

    first = book.match(_request("What's the weather?"), "dep-a", "h1")
    assert first is not None
    assert first.content is not None
    assert first.content[0]["name"] == "get_weather"
    assert _text(book, _request("weather again"), "h2") == "It is sunny."
    assert _text(book, _request("weather, third time"), "h3") == "It is sunny."  # last repeats

    assert book.match(_request("weather", model="dep-b"), "dep-b", "h4") is None
    order = book.match(_request("order 42"), "dep-a", "h5")
    assert order is not None
    assert (order.text, order.stop_reason, dict(order.usage)) == (
        "Order found.",
        "end_turn",
        {"output_tokens": 7},
    )
    assert book.match(_request("my order 42"), "dep-a", "h6") is None


def test_json_file_as_object_or_bare_list(tmp_path: Path) -> None:
    rule = {"contains": "ping", "reply": {"text": "pong"}}
    as_object = tmp_path / "a.json"
    as_object.write_text(json.dumps({"scripts": [rule]}))
    as_list = tmp_path / "b.json"
    as_list.write_text(json.dumps([rule]))
    for path in (as_object, as_list):
        book = ScriptBook()
        book.load(path)
        assert _text(book, _request("ping?"), "h") == "pong"


def test_sequence_advances_once_per_distinct_request_and_retries_repeat() -> None:
    book = ScriptBook([{"replies": [{"text": "one"}, {"text": "two"}, {"text": "three"}]}])
    assert _text(book, _request("a"), "hash-a") == "one"
    assert _text(book, _request("a"), "hash-a") == "one"  # a retry of the same body
    assert _text(book, _request("b"), "hash-b") == "two"
    assert _text(book, _request("c"), "hash-c") == "three"
    assert _text(book, _request("d"), "hash-d") == "three"
    assert book.rules()[0]["calls"] == 4


def test_first_matching_rule_wins_and_no_conditions_matches_all() -> None:
    book = ScriptBook()
    book.add({"contains": "special", "reply": "special reply"})
    book.add({"reply": "fallback"})
    assert _text(book, _request("a special case"), "1") == "special reply"
    assert _text(book, _request("anything"), "2") == "fallback"


def test_tool_and_tool_result_conditions() -> None:
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    book = ScriptBook()
    book.add({"tool_result": "get_weather", "reply": {"text": "Thanks for the weather."}})
    book.add({"tool": "get_weather", "reply": {"text": "I could check the weather."}})
    assert _text(book, _request("hi", tools=tools), "1") == "I could check the weather."
    assert book.match(_request("hi"), "dep-a", "2") is None

    round_trip = MessageCreateRequest(
        model="dep-a",
        max_tokens=50,
        tools=tools,
        messages=[
            RequestMessage(role="user", content="weather?"),
            RequestMessage(
                role="assistant",
                content=[{"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {}}],
            ),
            RequestMessage(
                role="user",
                content=[{"type": "tool_result", "tool_use_id": "toolu_9", "content": "sunny"}],
            ),
        ],
    )
    assert _text(book, round_trip, "3") == "Thanks for the weather."
    assert [name for name, _ in tool_results_in_last_turn(round_trip)] == ["get_weather"]


def test_last_user_text_joins_text_blocks() -> None:
    request = _request(
        [
            {"type": "text", "text": "first"},
            {"type": "image", "source": {}},
            {"type": "text", "text": "second"},
        ]
    )
    assert last_user_text(request) == "first second"


def test_remove_clear_and_listing() -> None:
    book = ScriptBook()
    rule = book.add({"id": "mine", "reply": "x"})
    assert rule["id"] == "mine"
    assert _text(book, _request(), "h") == "x"
    assert book.remove("mine") is True
    assert book.remove("mine") is False
    assert book.match(_request(), "dep-a", "h") is None  # the memo went with the rule
    book.add({"reply": "y"})
    book.clear()
    assert len(book) == 0
    assert book.rules() == []
    assert book.add({"reply": "z"})["id"] == "script_1"


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"reply": "x", "colour": "red"}, "unknown key(s) ['colour']"),
        ({"contains": "x"}, "exactly one of `reply`"),
        ({"reply": "x", "replies": ["y"]}, "exactly one of `reply`"),
        ({"replies": []}, "non-empty list"),
        ({"regex": "(", "reply": "x"}, "does not compile"),
        ({"contains": 3, "reply": "x"}, "`contains` must be a string"),
        ({"reply": {"text": "x", "content": [{"type": "text", "text": "y"}]}}, "exactly one of"),
        ({"reply": {}}, "exactly one of `text` or `content`"),
        ({"reply": {"txt": "x"}}, "unknown reply key(s) ['txt']"),
        ({"reply": {"content": [{"name": "x"}]}}, "string `type`"),
        ({"reply": {"content": [{"type": "tool_use"}]}}, "needs a string `name`"),
        ({"reply": {"text": "x", "usage": {"output_tokens": -1}}}, "non-negative integer"),
        ({"reply": {"text": "x", "usage": {"tokens": 1}}}, "unknown usage field"),
        ({"reply": {"text": "x", "usage": []}}, "`usage` must be a table"),
        ({"reply": {"text": "x", "usage": {"server_tool_use": 3}}}, "must be a table/object"),
        (
            {"reply": {"text": "x", "usage": {"server_tool_use": {"searches": 1}}}},
            "unknown field usage.server_tool_use.searches",
        ),
        (
            {
                "reply": {
                    "text": "x",
                    "usage": {"cache_creation": {"ephemeral_5m_input_tokens": -2}},
                }
            },
            "usage.cache_creation.ephemeral_5m_input_tokens must be a non-negative integer",
        ),
        ({"reply": {"text": "x", "usage": {"service_tier": 1}}}, "non-empty string"),
        ({"id": "", "reply": "x"}, "non-empty string"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(rule: dict[str, Any], complaint: str) -> None:
    book = ScriptBook()
    with pytest.raises(ValueError, match="script rule") as caught:
        book.add(rule)
    assert complaint in str(caught.value)
    assert len(book) == 0


def test_duplicate_ids_are_refused() -> None:
    book = ScriptBook([{"id": "a", "reply": "x"}])
    with pytest.raises(ValueError, match="already exists"):
        book.add({"id": "a", "reply": "y"})


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ValueError, match=r"cannot read script file .*missing\.toml"):
        ScriptBook().load(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[scripts]\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        ScriptBook().load(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"scripts": [{"reply": "x"}], "extra": 1}))
    with pytest.raises(ValueError, match=r"wrong.json.*unknown top-level key"):
        ScriptBook().load(wrong)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("[[scripts]]\nreply = 'Grüße'\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.toml.*not UTF-8 text"):
        ScriptBook().load(latin1)


def test_the_documented_examples_are_valid() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "emulator.md"
    blocks = re.findall(r"```toml\n(.*?)```", docs.read_text(encoding="utf-8"), re.DOTALL)
    config_text, script_text, entra_text = blocks
    config = EmulatorConfig.from_mapping(tomllib.loads(config_text))
    entra = EmulatorConfig.from_mapping(tomllib.loads(entra_text)).entra
    assert entra.enabled
    assert [(p.name, p.may_call) for p in entra.principals] == [("app", True), ("reader", False)]
    assert config.deployments["chat"].rpm == 60
    assert config.faults[0]["status"] == 529
    book = ScriptBook()
    rules = book.load_data(tomllib.loads(script_text))
    assert [rule["replies"] for rule in rules] == [2, 1]
    weather = book.match(_request("What is the weather?", model="chat"), "chat", "h")
    assert weather is not None
    assert weather.content is not None


def test_concurrent_matching_advances_each_sequence_once_per_request() -> None:
    book = ScriptBook([{"replies": ["first", "second", "rest"]}])
    seen: list[str | None] = []

    def worker(offset: int) -> None:
        for index in range(50):
            seen.append(_text(book, _request(f"r{offset}-{index}"), f"{offset}-{index}"))

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen, key=str) == sorted(["first", "second"] + ["rest"] * 398, key=str)
    assert book.rules()[0]["calls"] == 400
