"""Model lifecycle data: defaults are current, and a call naming a deprecated model warns once."""

from __future__ import annotations

import datetime
import re
import tomllib
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry, _models
from claude_foundry.doctor import DEFAULT_DEPLOYMENT
from claude_foundry.emulator import Emulator
from claude_foundry.emulator.config import catalog

TODAY = datetime.date(2026, 11, 29)
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    _models._warned.clear()
    yield
    _models._warned.clear()


def test_the_default_model_is_current_and_served_by_foundry() -> None:
    catalog_models = {entry["model"] for entry in catalog().models}
    assert _models.DEFAULT_MODEL in catalog_models
    assert _models.deprecation(_models.DEFAULT_MODEL) is None
    assert DEFAULT_DEPLOYMENT == _models.DEFAULT_MODEL


def test_every_replacement_is_a_current_foundry_model() -> None:
    catalog_models = {entry["model"] for entry in catalog().models}
    table = _models._table()
    assert "claude-sonnet-4-5" in table
    for entry in table.values():
        assert entry.replacement in catalog_models, entry
        assert entry.replacement not in table, entry


def test_the_dates_are_data_and_agree_with_the_official_client_where_both_list_a_model() -> None:
    text = resources.files("claude_foundry").joinpath("model_lifecycle.toml").read_text("utf-8")
    entries = tomllib.loads(text)["deprecated"]
    assert all(isinstance(entry["end_of_life"], datetime.date) for entry in entries)
    from anthropic.resources.messages.messages import DEPRECATED_MODELS

    for model, when in DEPRECATED_MODELS.items():
        ours = _models.deprecation(model)
        if ours is not None:
            plain = re.sub(r"(\d+)(st|nd|rd|th)", r"\1", when)
            official = datetime.datetime.strptime(plain, "%B %d, %Y").date()
            assert ours.end_of_life == official, model


def test_the_message_says_when_and_what_to_use_instead() -> None:
    entry = _models.deprecation("claude-sonnet-4-5")
    assert entry is not None
    before = entry.message(TODAY)
    assert "2026-11-30" in before
    assert "claude-sonnet-5" in before
    assert "is deprecated" in before
    assert "reached its end of life" in entry.message(datetime.date(2026, 12, 1))


def test_a_call_naming_a_deprecated_model_warns_once_at_the_callers_line(
    emulator: Emulator,
) -> None:
    with AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        with pytest.warns(DeprecationWarning, match="claude-sonnet-4-5") as caught:
            client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=HI)
        assert caught[0].filename == __file__
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=HI)
            client.messages.create(model=_models.DEFAULT_MODEL, max_tokens=8, messages=HI)
        with (
            pytest.warns(DeprecationWarning, match="claude-opus-4-1"),
            client.messages.stream(model="claude-opus-4-1", max_tokens=8, messages=HI) as stream,
        ):
            stream.get_final_message()


async def test_the_async_client_warns_too(emulator: Emulator) -> None:
    async with AsyncAnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url
    ) as client:
        with pytest.warns(DeprecationWarning, match="claude-sonnet-4-5") as caught:
            await client.messages.count_tokens(model="claude-sonnet-4-5", messages=HI)
        assert caught[0].filename == __file__


def test_other_names_never_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("my-sonnet", "claude-sonnet-4-6", "", None, 3, "claude-sonnet-4-5x"):
            _models.warn_if_deprecated(name)


ROOT = Path(__file__).resolve().parents[1]
# Where deprecated ids belong: the lifecycle data, the catalogue the emulator serves (Foundry
# answers them until they retire), the module that reads the data (its doctest shows one) and the
# price table (calls to them are billed until then).
LIFECYCLE_FILES = {"model_lifecycle.toml", "catalog.toml", "_models.py", "prices.toml"}


def test_no_default_or_example_names_a_deprecated_model() -> None:
    deprecated = sorted(_models._table(), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, deprecated)) + r")(?![\w.-])")
    texts = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    texts += [p for p in (ROOT / "src").rglob("*") if p.suffix in {".py", ".toml", ".md"}]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(1)}"
        for path in texts
        if path.name not in LIFECYCLE_FILES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for match in pattern.finditer(line)
    ]
    assert not found, "\n".join(found)
