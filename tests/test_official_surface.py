"""Everything the official client exposes exists on ours; what Foundry lacks says so."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import msgspec
import pydantic
import pytest

import claude_foundry
from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.resources import NotOnFoundry
from claude_foundry.testing import TEST_API_KEY

BASE = "http://127.0.0.1:9/anthropic/"
HI = [{"role": "user", "content": "Hi"}]
# Paths from the client to every resource object the official client exposes.
PATHS = [
    "",
    "beta",
    "messages",
    "beta.messages",
    "with_raw_response",
    "with_streaming_response",
    "with_raw_response.beta",
    "with_streaming_response.beta",
    "beta.with_raw_response",
    "beta.with_streaming_response",
    "messages.with_raw_response",
    "messages.with_streaming_response",
    "beta.messages.with_raw_response",
    "beta.messages.with_streaming_response",
]


def _public(value: object) -> set[str]:
    return {name for name in dir(value) if not name.startswith("_")}


def _walk(root: object, path: str) -> object:
    for part in filter(None, path.split(".")):
        root = getattr(root, part)
    return root


@pytest.mark.parametrize(
    ("official_cls", "our_cls"),
    [
        (anthropic.AnthropicFoundry, AnthropicFoundry),
        (anthropic.AsyncAnthropicFoundry, AsyncAnthropicFoundry),
    ],
)
@pytest.mark.parametrize("path", PATHS)
def test_no_official_attribute_is_missing(official_cls: Any, our_cls: Any, path: str) -> None:
    official = _walk(official_cls(api_key="k", base_url=BASE), path)
    ours = _walk(our_cls(api_key="k", base_url=BASE), path)
    assert _public(official) - _public(ours) == set()


def _stand_ins(root: object, prefix: str = "client", depth: int = 0) -> list[tuple[str, object]]:
    found = []
    for name in sorted(_public(type(root))):
        value = getattr(root, name, None)
        if isinstance(value, NotOnFoundry):
            found.append((f"{prefix}.{name}", value))
        elif depth < 3 and name in ("beta", "messages", "with_raw_response"):
            found += _stand_ins(value, f"{prefix}.{name}", depth + 1)
    return found


STAND_INS = _stand_ins(AnthropicFoundry(api_key="k", base_url=BASE))


def test_managed_agents_are_among_the_stand_ins() -> None:
    names = {name for name, _ in STAND_INS}
    for family in ("agents", "environments", "sessions", "vaults", "memory_stores"):
        assert f"client.beta.{family}" in names
    assert "client.beta.messages.thread" in names


@pytest.mark.parametrize(("name", "stand_in"), STAND_INS, ids=[name for name, _ in STAND_INS])
def test_each_missing_api_names_an_alternative(name: str, stand_in: Any) -> None:
    assert not stand_in
    with pytest.raises(claude_foundry.NotSupportedOnFoundryError) as raised:
        stand_in.create(name="x")
    message = str(raised.value)
    reason, alternative = message.split(". ", 1)
    if name == "client.beta.messages.thread":
        # The service threads conversations; only the helper is missing here.
        assert "not offered by this client, though Foundry serves message threads" in reason
    else:
        assert "not available on Microsoft Foundry" in reason
    # The part after the first sentence says what to use instead.
    assert len(alternative) > 20
    with pytest.raises(claude_foundry.NotSupportedOnFoundryError):
        stand_in()


def test_version_header_follows_the_official_client(emulator: Emulator) -> None:
    official = anthropic.AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)
    official.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=8, messages=HI, temperature=0.2
        )
    theirs, ours, sampled = emulator.journal()[-3:]
    assert ours.headers["anthropic-version"] == theirs.headers["anthropic-version"]
    assert ours.headers["anthropic-version"] == "2026-10-21"
    # temperature exists only under the older version; the request goes out under it.
    assert sampled.headers["anthropic-version"] == "2023-06-01"
    with AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, anthropic_version="2025-01-01"
    ) as pinned:
        assert pinned.default_headers["anthropic-version"] == "2025-01-01"


class Order(pydantic.BaseModel):
    product_name: str
    quantity: int


def test_parsed_snapshot_while_streaming_structured_output() -> None:
    config = EmulatorConfig.from_mapping(
        {
            "api_key": TEST_API_KEY,
            "deployments": [{"name": "chat", "model": "claude-sonnet-4-6", "hosting": "anthropic"}],
            "stream_event_delay_ms": 0,
        }
    )
    with (
        Emulator(config) as emulator,
        AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client,
        client.messages.stream(
            model="chat", max_tokens=256, messages=HI, output_format=Order
        ) as stream,
    ):
        snapshots = [event.parsed_snapshot() for event in stream if event.type == "text"]
        final = stream.get_final_message()
    assert snapshots
    assert all(isinstance(snapshot, dict) for snapshot in snapshots)
    assert snapshots[-1] == final.parsed_output.model_dump()


def test_json_dumps_honour_indent(emulator: Emulator) -> None:
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as client:
        message = client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    official = anthropic.AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url)
    theirs = official.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    assert "\n" not in message.model_dump_json()
    assert message.model_dump_json(indent=2).startswith('{\n  "id": ')
    assert message.to_json() == message.model_dump_json(indent=2)
    assert message.to_json(indent=None) == message.model_dump_json()
    assert json.loads(message.to_json(indent=4)) == message.to_dict()
    # Same layout as the official models: two-space indent, ", " free separators.
    assert theirs.to_json().splitlines()[1].startswith('  "')
    assert message.to_json().splitlines()[1].startswith('  "')
    assert msgspec.json.decode(message.content[0].model_dump_json(indent=3))["type"] == "text"


@pytest.mark.parametrize(
    ("official_name", "our_name"),
    [
        ("BetaToolRunner", "BetaToolRunner"),
        ("BetaStreamingToolRunner", "BetaStreamingToolRunner"),
        ("BetaAsyncToolRunner", "BetaAsyncToolRunner"),
        ("BetaAsyncStreamingToolRunner", "BetaAsyncStreamingToolRunner"),
    ],
)
def test_tool_runners_have_every_official_method(official_name: str, our_name: str) -> None:
    """defer_tool_call(), deferred_tool_calls, close(), ... on each of the four runners."""
    import anthropic.lib.tools

    import claude_foundry.lib.tools

    def public(cls: type) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")}

    official = getattr(anthropic.lib.tools, official_name)
    ours = getattr(claude_foundry.lib.tools, our_name)
    assert public(official) - public(ours) == set()
