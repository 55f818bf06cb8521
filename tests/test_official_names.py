"""Every public name of the official package (and of its ``lib`` modules) is here, or refused
with what to use instead: code written for the official client ports by changing the import.

When the official package adds a name that this package neither offers nor classifies, the
test names it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types as pytypes
from typing import Any

import anthropic
import anthropic.lib
import anthropic.lib.middleware
import anthropic.lib.streaming
import anthropic.lib.tools
import pytest

import claude_foundry
from claude_foundry.emulator import Emulator
from claude_foundry.testing import TEST_API_KEY

# official module → ours
MODULES = {
    "anthropic": "claude_foundry",
    "anthropic.lib": "claude_foundry.lib",
    "anthropic.lib.tools": "claude_foundry.lib.tools",
    "anthropic.lib.streaming": "claude_foundry.lib.streaming",
    "anthropic.lib.middleware": "claude_foundry.lib.middleware",
}


def _public_names(module: pytypes.ModuleType) -> set[str]:
    names = set(dir(module))
    # Submodules appear in dir() only once something imported them: list them all, so the
    # outcome does not depend on which tests ran first.
    if hasattr(module, "__path__"):
        names |= {info.name for info in pkgutil.iter_modules(module.__path__)}
    # pydantic registers parametrised models under names like "ParsedBetaMessageStopEvent[object]",
    # which no import statement can name.
    return {name for name in names if not name.startswith("_") and name.isidentifier()}


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for official_name, ours_name in MODULES.items():
        official = importlib.import_module(official_name)
        cases += [(official_name, ours_name, name) for name in sorted(_public_names(official))]
    return cases


def _ours(module_name: str) -> pytypes.ModuleType:
    module = importlib.import_module(module_name)
    if hasattr(module, "__path__"):  # a submodule of ours is there once imported
        for info in pkgutil.iter_modules(module.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{module_name}.{info.name}")
    return module


@pytest.mark.parametrize(("official_name", "ours_name", "name"), _cases())
def test_each_official_name_is_offered_or_refused_with_the_way_out(
    official_name: str, ours_name: str, name: str
) -> None:
    ours = _ours(ours_name)
    if hasattr(ours, name):
        official = importlib.import_module(official_name)
        value = getattr(ours, name)
        same = value is getattr(official, name, None)
        # Ours, not the official object (which would mean importing anthropic); equal plain
        # values (2, None's type) may be the very same object.
        shared = isinstance(value, int | float | str) or value is type(None)
        assert not same or shared, f"{ours_name}.{name} is the official object"
        return
    namespace: dict[str, Any] = {}
    with pytest.raises(ImportError) as imported:
        exec(f"from {ours_name} import {name}", namespace)
    message = str(imported.value)
    assert f"{ours_name} does not offer {name}: " in message, (
        f"{official_name}.{name} is neither offered by {ours_name} nor classified: add it, or "
        "add it with the reason and the alternative to claude_foundry._unavailable"
    )
    with pytest.raises(AttributeError) as accessed:
        getattr(ours, name)
    assert str(accessed.value) == message


def test_refusals_name_the_alternative() -> None:
    with pytest.raises(ImportError, match="use AnthropicFoundry"):
        from claude_foundry import Anthropic  # noqa: F401
    with pytest.raises(ImportError, match="use AsyncAnthropicFoundry"):
        from claude_foundry import AsyncAnthropicBedrock  # noqa: F401
    with pytest.raises(ImportError, match=r"credential=.*azure_ad_token_provider="):
        from claude_foundry import WorkloadIdentityCredentials  # noqa: F401
    with pytest.raises(ImportError, match="EntraTokenError"):
        from claude_foundry import CredentialsError  # noqa: F401
    with pytest.raises(ImportError, match="A 429 answer raises RateLimitError"):
        from claude_foundry import EnforcedSpendLimitReachedError  # noqa: F401
    with pytest.raises(ImportError, match="OpenTelemetryObserver"):
        from claude_foundry import OpenTelemetryOptions  # noqa: F401
    with pytest.raises(ImportError, match="@beta_tool"):
        from claude_foundry.lib.tools import BetaRunnableToolset  # noqa: F401


def test_introspection_sees_refused_names_as_absent() -> None:
    assert not hasattr(claude_foundry, "Anthropic")
    assert getattr(claude_foundry, "AnthropicVertex", None) is None
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        _ = claude_foundry.NoSuchName  # type: ignore[attr-defined]
    assert "Anthropic" not in dir(claude_foundry)


def test_aliases_are_our_classes() -> None:
    from claude_foundry import types

    assert claude_foundry.APIResponse is claude_foundry.RawResponse
    assert claude_foundry.BetaMessageStream is claude_foundry.MessageStream
    assert claude_foundry.BetaAsyncMessageStreamManager is claude_foundry.AsyncMessageStreamManager
    assert claude_foundry.MessageStopEvent is types.ParsedMessageStopEvent
    assert claude_foundry.ContentBlockStopEvent is types.ParsedContentBlockStopEvent
    assert claude_foundry.BetaTextEvent is claude_foundry.TextEvent is types.TextEvent
    assert claude_foundry.BaseModel is types.WireModel
    assert claude_foundry.DeadlineExceededError is claude_foundry.GatewayTimeoutError
    assert claude_foundry.not_given is claude_foundry.NOT_GIVEN
    assert claude_foundry.lib.foundry.AnthropicFoundry is claude_foundry.AnthropicFoundry


def test_the_stream_helper_yields_the_official_event_names(emulator: Emulator) -> None:
    with (
        claude_foundry.AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url) as c,
        c.beta.messages.stream(
            model="claude-sonnet-4-6", max_tokens=32, messages=[{"role": "user", "content": "Hi"}]
        ) as stream,
    ):
        assert isinstance(stream, claude_foundry.BetaMessageStream)
        events = list(stream)
    kinds = {type(event) for event in events}
    assert claude_foundry.TextEvent in kinds
    assert claude_foundry.ContentBlockStopEvent in kinds
    assert isinstance(events[-1], claude_foundry.MessageStopEvent)
    assert isinstance(events[-1].message, claude_foundry.BaseModel)
    assert events[-1].message.content[0].text == stream.get_final_text()


def test_file_from_path_and_transform_schema(tmp_path: Any) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"tea")
    assert claude_foundry.file_from_path(str(path)) == anthropic.file_from_path(str(path))
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    assert claude_foundry.transform_schema(schema) == anthropic.transform_schema(schema)


@pytest.mark.parametrize(
    ("official", "ours"),
    [
        (anthropic.APIResponse, claude_foundry.APIResponse),
        (anthropic.AsyncAPIResponse, claude_foundry.AsyncAPIResponse),
    ],
    ids=["sync", "async"],
)
def test_raw_responses_have_the_official_methods(official: type, ours: type) -> None:
    """What is awaited officially is awaited here (``await response.parse()``), and the rest is
    called the same way."""
    for name, member in inspect.getmembers(official):
        if name.startswith("_"):
            continue
        assert hasattr(ours, name), f"{ours.__name__} lacks {name}"
        mine = getattr(ours, name)
        assert isinstance(mine, property) == isinstance(member, property), name
        assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(member), name


async def test_async_raw_response_end_to_end(emulator: Emulator) -> None:
    async with claude_foundry.AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url
    ) as client:
        raw = await client.messages.with_raw_response.create(
            model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
        assert isinstance(raw, claude_foundry.AsyncAPIResponse)
        message = await raw.parse()
        assert message.id == (await raw.json())["id"]
        assert raw.request_id == message.request_id
        assert raw.method == "POST"
        assert raw.workspace_id is None
        raw_count = await client.beta.messages.with_raw_response.count_tokens(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Hi"}]
        )
        assert (await raw_count.parse()).input_tokens > 0
