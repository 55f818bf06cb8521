"""Drop-in: the same calls through the official ``anthropic.AnthropicFoundry`` and through ours.

Both clients talk to the emulator; the request bodies they put on the wire must be identical
and the answers must read the same. Only the documented header differences are allowed.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

import claude_foundry
from claude_foundry.emulator import Emulator
from claude_foundry.emulator.journal import JournalEntry

HI = [{"role": "user", "content": "hi"}]
TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}

CASES: list[dict[str, Any]] = [
    {},
    {"system": "be brief", "stop_sequences": ["END"], "metadata": {"user_id": "u"}},
    {"system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}]},
    {"tools": [TOOL], "tool_choice": {"type": "tool", "name": "get_weather"}},
    {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
    {"extra_body": {"temperature": 0.2}, "extra_query": {"api-version": "x"}},
]


@pytest.fixture
def clients(emulator: Emulator) -> Iterator[tuple[Any, Any]]:
    official = anthropic.AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
    ours = claude_foundry.AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
    yield official, ours
    official.close()
    ours.close()


@pytest.fixture
def model(emulator: Emulator) -> str:
    return next(iter(emulator.state.config.deployments))


def entries(emulator: Emulator, count: int) -> list[JournalEntry]:
    deadline = time.monotonic() + 5
    while len(emulator.journal()) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    # A reply can go out before its journal entry is written, so entries arrive in the order the
    # requests finished; the apim-request-id counts requests in the order they came in.
    return sorted(emulator.journal(), key=lambda entry: entry.apim_request_id or "")


def facts(value: Any) -> Any:
    """A response without its ids and unset (None) fields, which differ between the models."""
    if isinstance(value, dict):
        return {k: facts(v) for k, v in value.items() if v is not None and k != "id"}
    if isinstance(value, list):
        return [facts(item) for item in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=lambda case: ",".join(case) or "plain")
def test_same_request_same_answer(
    clients: tuple[Any, Any], emulator: Emulator, model: str, case: dict[str, Any]
) -> None:
    official, ours = clients
    params = {"model": model, "max_tokens": 256, "messages": HI, **case}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the official client's model deprecation warnings
        theirs = official.messages.create(**params)
    mine = ours.messages.create(**params)
    journal = {entry.request_id: entry for entry in entries(emulator, 2)}
    first, second = journal[theirs._request_id], journal[mine.request_id]
    assert second.body == first.body
    assert (second.path, second.query) == (first.path, first.query)
    assert facts(mine.model_dump()) == facts(theirs.model_dump())


def test_headers_differ_only_as_documented(
    clients: tuple[Any, Any], emulator: Emulator, model: str
) -> None:
    official, ours = clients
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        official.messages.create(model=model, max_tokens=16, messages=HI)
    ours.messages.create(model=model, max_tokens=16, messages=HI)
    theirs, mine = (entry.headers for entry in entries(emulator, 2))
    assert "api-key" in theirs  # the official client sends the key twice
    assert "api-key" not in mine
    assert mine["x-api-key"] == theirs["x-api-key"] == "[redacted]"
    for name in ("content-type", "accept", "x-stainless-retry-count"):
        assert mine[name] == theirs[name]


def test_stream_helpers_agree(clients: tuple[Any, Any], emulator: Emulator, model: str) -> None:
    official, ours = clients
    params = {"model": model, "max_tokens": 256, "messages": HI}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with official.messages.stream(**params) as stream:
            their_text = "".join(stream.text_stream)
            their_final = stream.get_final_message()
    with ours.messages.stream(**params) as stream:
        my_text = "".join(stream.text_stream)
        my_final = stream.get_final_message()
    assert my_text == their_text
    assert my_final.usage.output_tokens == their_final.usage.output_tokens
    first, second = entries(emulator, 2)
    assert second.body == first.body


def test_error_classes_carry_the_same_facts(
    clients: tuple[Any, Any], emulator: Emulator, model: str
) -> None:
    official, ours = clients
    params = {"model": "no-such-deployment", "max_tokens": 16, "messages": HI}
    with pytest.raises(anthropic.NotFoundError) as theirs:
        official.messages.create(**params)
    with pytest.raises(claude_foundry.NotFoundError) as mine:
        ours.messages.create(**params)
    assert mine.value.status_code == theirs.value.status_code == 404
    assert mine.value.body == theirs.value.body
    assert mine.value.api_message == theirs.value.api_message
    assert mine.value.apim_request_id  # the official client does not read it
