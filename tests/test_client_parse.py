"""``messages.parse`` (structured outputs) end to end over loopback HTTP against the emulator.

The emulator answers a structured-output request on a deployment hosted on Anthropic with JSON
that follows the schema, and refuses it with 400 on one hosted on Azure. The official SDK's
``messages.parse`` is run against the same emulator to check both clients send the same body and
parse the same value.
"""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from typing import Any, Literal, TypedDict

import anthropic
import msgspec
import pydantic
import pytest

from claude_foundry import (
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    BadRequestError,
    OutputParseError,
)
from claude_foundry._parse import strict_schema
from claude_foundry.emulator import Emulator
from claude_foundry.types import ParsedMessage, ParsedTextBlock, TextBlock

HI = [{"role": "user", "content": "Describe a person."}]


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0, description="Age in years")
    role: Literal["admin", "user"]
    nickname: str | None = None


class Address(pydantic.BaseModel):
    street: str
    city: str


class Customer(pydantic.BaseModel):
    """A customer with a nested address."""

    name: str
    addresses: list[Address] = pydantic.Field(min_length=1)
    vip: bool


class City(msgspec.Struct):
    name: str
    population: int
    twinned: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Colour(TypedDict):
    name: str
    hex: str


ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sku": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 1},
        "status": {"enum": ["ready", "back-ordered"]},
    },
    "required": ["sku", "quantity", "status"],
}


def _deployment(emulator: Emulator, hosting: str) -> str:
    return next(
        name for name, d in emulator.state.config.deployments.items() if d.hosting == hosting
    )


@pytest.fixture
def anthropic_hosted(emulator: Emulator) -> str:
    return _deployment(emulator, "anthropic")


@pytest.fixture
def azure_hosted(emulator: Emulator) -> str:
    return _deployment(emulator, "azure")


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, emulator: Emulator) -> Any:
    cls = AnthropicFoundry if request.param == "sync" else AsyncAnthropicFoundry
    return cls(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0)


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def parse(client: Any, model: str, **kwargs: Any) -> Any:
    params = {"model": model, "max_tokens": 256, "messages": HI, **kwargs}
    return await _resolve(client.messages.parse(**params))


# --- each kind of output_format ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("output_format", "expected"),
    [
        (Person, Person(name="example name", age=1, role="admin")),
        (
            Customer,
            Customer(
                name="example name",
                addresses=[Address(street="example street", city="example city")],
                vip=True,
            ),
        ),
        (City, City(name="example name", population=1)),
        (Point, Point(x=1, y=1)),
        (Colour, {"name": "example name", "hex": "example hex"}),
        (ITEM_SCHEMA, {"sku": "example sku", "quantity": 1, "status": "ready"}),
    ],
    ids=["pydantic", "pydantic-nested", "msgspec", "dataclass", "typeddict", "schema-dict"],
)
async def test_parse_gives_the_typed_value(
    client: Any, emulator: Emulator, anthropic_hosted: str, output_format: Any, expected: Any
) -> None:
    message = await parse(client, anthropic_hosted, output_format=output_format)

    assert isinstance(message, ParsedMessage)
    assert message.parsed_output == expected
    block = message.content[0]
    assert isinstance(block, ParsedTextBlock)
    assert isinstance(block, TextBlock)
    assert block.parsed_output == expected
    assert message.request_id
    assert message.request_id.startswith("req_")
    entry = emulator.journal()[-1]
    sent_format = entry.body["output_config"]["format"]
    assert sent_format["type"] == "json_schema"
    assert sent_format["schema"]["additionalProperties"] is False
    assert "output_format" not in entry.body
    assert entry.headers["x-stainless-helper"] == "messages.parse"


async def test_parse_keeps_other_output_config_keys(
    client: Any, emulator: Emulator, anthropic_hosted: str
) -> None:
    await parse(client, anthropic_hosted, output_format=City, output_config={"effort": "low"})

    config = emulator.journal()[-1].body["output_config"]
    assert config["effort"] == "low"
    assert config["format"]["type"] == "json_schema"


async def test_parse_with_only_output_config_leaves_parsed_output_empty(
    client: Any, anthropic_hosted: str
) -> None:
    config = {"format": {"type": "json_schema", "schema": strict_schema(ITEM_SCHEMA)}}

    message = await parse(client, anthropic_hosted, output_config=config)

    assert message.parsed_output is None
    assert msgspec.json.decode(message.content[0].text)["sku"] == "example sku"


async def test_a_parsed_reply_is_sent_back_unchanged(
    client: Any, emulator: Emulator, anthropic_hosted: str
) -> None:
    message = await parse(client, anthropic_hosted, output_format=City)
    turns = [*HI, {"role": "assistant", "content": message.content}]

    await parse(client, anthropic_hosted, output_format=City, messages=turns)

    sent = emulator.journal()[-1].body["messages"][1]["content"][0]
    assert sent == {"type": "text", "text": message.content[0].text, "citations": None}


async def test_beta_parse(client: Any, emulator: Emulator, anthropic_hosted: str) -> None:
    params = {"model": anthropic_hosted, "max_tokens": 256, "messages": HI}
    message = await _resolve(
        client.beta.messages.parse(**params, output_format=City, betas=["some-beta-2025-01-01"])
    )

    assert message.parsed_output == City(name="example name", population=1)
    entry = emulator.journal()[-1]
    assert entry.headers["anthropic-beta"] == "some-beta-2025-01-01"
    assert entry.headers["x-stainless-helper"] == "beta.messages.parse"


async def test_stream_with_output_format_gives_a_parsed_final_message(
    client: Any, anthropic_hosted: str
) -> None:
    params = {"model": anthropic_hosted, "max_tokens": 256, "messages": HI, "output_format": Person}
    if isinstance(client, AsyncAnthropicFoundry):
        async with client.messages.stream(**params) as stream:
            final = await stream.get_final_message()
            again = await stream.get_final_message()
    else:
        with client.messages.stream(**params) as stream:
            final = stream.get_final_message()
            again = stream.get_final_message()

    assert isinstance(final, ParsedMessage)
    assert final is again
    assert final.parsed_output == Person(name="example name", age=1, role="admin")


# --- errors ------------------------------------------------------------------------------------


async def test_azure_hosted_deployment_refuses_structured_outputs(
    client: Any, azure_hosted: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await parse(client, azure_hosted, output_format=Person)

    error = caught.value
    assert error.status_code == 400
    assert "hosted on Azure" in str(error)
    assert error.hint
    assert f"Hint: {error.hint}" in str(error)


@pytest.mark.parametrize(
    ("output_format", "reply", "what"),
    [
        (Person, '{"name": "Ada", "age": "old", "role": "admin"}', "age"),
        (Person, '{"name": "Ada", "age": 36, "role": "admin"', "Invalid JSON"),
        (City, '{"name": "Paris"}', "population"),
        (ITEM_SCHEMA, '{"sku": "A1", "quantity": 2, "status": "lost"}', "$.status"),
        (ITEM_SCHEMA, "Sure! Here is the item you asked for.", "not valid JSON"),
    ],
    ids=["pydantic-type", "pydantic-json", "msgspec-missing", "schema-enum", "prose"],
)
async def test_a_reply_that_does_not_match_raises_a_clear_error(
    client: Any,
    emulator: Emulator,
    anthropic_hosted: str,
    output_format: Any,
    reply: str,
    what: str,
) -> None:
    emulator.add_script({"deployment": anthropic_hosted, "reply": reply})

    with pytest.raises(OutputParseError) as caught:
        await parse(client, anthropic_hosted, output_format=output_format)

    error = caught.value
    assert isinstance(error, ValueError)  # as pydantic's ValidationError is, for except clauses
    text = str(error)
    assert "does not match output_format" in text
    assert what in text
    assert reply[:20] in text  # an excerpt of what the model wrote
    assert error.text == reply
    assert error.output_format is output_format
    assert error.request_id
    assert error.request_id.startswith("req_")
    assert error.__cause__ is not None


async def test_a_reply_cut_at_max_tokens_says_so(
    client: Any, emulator: Emulator, anthropic_hosted: str
) -> None:
    emulator.add_script({"reply": {"text": '{"name": "Paris", "popu', "stop_reason": "max_tokens"}})

    with pytest.raises(OutputParseError, match="raise max_tokens") as caught:
        await parse(client, anthropic_hosted, output_format=City)

    assert caught.value.stop_reason == "max_tokens"


def test_an_excerpt_of_a_long_reply_is_short(emulator: Emulator, anthropic_hosted: str) -> None:
    emulator.add_script({"reply": "x" * 5000})
    client = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)

    with pytest.raises(OutputParseError) as caught:
        client.messages.parse(
            model=anthropic_hosted, max_tokens=4096, messages=HI, output_format=City
        )

    assert len(str(caught.value)) < 600
    assert "5000 characters" in str(caught.value)


def test_a_type_without_a_json_schema_is_refused_before_sending(emulator: Emulator) -> None:
    class Plain:
        pass

    client = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)

    with pytest.raises(TypeError, match="no JSON schema can be made for Plain"):
        client.messages.parse(model="m", max_tokens=8, messages=HI, output_format=Plain)
    assert emulator.journal() == []


def test_beta_parse_refuses_two_formats(emulator: Emulator) -> None:
    client = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
    config = {"format": {"type": "json_schema", "schema": {"type": "object"}}}

    with pytest.raises(TypeError, match="only one of them"):
        client.beta.messages.parse(
            model="m", max_tokens=8, messages=HI, output_format=City, output_config=config
        )


def test_strict_schema_notes_what_the_api_does_not_enforce() -> None:
    schema = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]+$", "format": "regex"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 3},
            "when": {"type": "string", "format": "date"},
        },
        "additionalProperties": True,
    }

    assert strict_schema(schema) == {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "{pattern: ^[A-Z]+$, format: regex}"},
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "description": "{minItems: 3}",
            },
            "when": {"type": "string", "format": "date"},
        },
        "additionalProperties": False,
    }
    with pytest.raises(ValueError, match="needs a 'type'"):
        strict_schema({"description": "anything"})


# --- the official SDK against the same emulator ------------------------------------------------


def _official(emulator: Emulator) -> anthropic.AnthropicFoundry:
    return anthropic.AnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0
    )


@pytest.mark.parametrize(
    ("output_format", "same_body"), [(Person, True), (Customer, True), (Point, False)]
)
def test_same_body_and_value_as_the_official_parse(
    emulator: Emulator, anthropic_hosted: str, output_format: Any, same_body: bool
) -> None:
    """A dataclass's schema comes from msgspec, not pydantic: it lacks pydantic's per-field
    titles, so only the value is compared for it."""
    params: dict[str, Any] = {
        "model": anthropic_hosted,
        "max_tokens": 256,
        "messages": HI,
        "system": "Answer in JSON.",
        "output_config": {"effort": "medium"},
        "output_format": output_format,
    }
    ours = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)

    official_message = _official(emulator).messages.parse(**params)
    our_message = ours.messages.parse(**params)

    official_entry, our_entry = emulator.journal()
    if same_body:
        assert our_entry.body == official_entry.body
    assert our_entry.headers["x-stainless-helper"] == official_entry.headers["x-stainless-helper"]
    assert our_message.parsed_output == official_message.parsed_output
    assert our_message.content[0].text == official_message.content[0].text


def test_same_mismatch_outcome_as_the_official_parse(
    emulator: Emulator, anthropic_hosted: str
) -> None:
    emulator.add_script({"reply": '{"name": "Ada", "age": -1, "role": "admin"}'})
    params: dict[str, Any] = {
        "model": anthropic_hosted,
        "max_tokens": 256,
        "messages": HI,
        "output_format": Person,
    }

    with pytest.raises(pydantic.ValidationError):
        _official(emulator).messages.parse(**params)
    with pytest.raises(OutputParseError, match=r"age: Input should be greater than or equal to 0"):
        AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url).messages.parse(
            **params
        )


def test_same_count_tokens_body_as_the_official_client(
    emulator: Emulator, anthropic_hosted: str
) -> None:
    params: dict[str, Any] = {"model": anthropic_hosted, "messages": HI, "output_format": Person}
    ours = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)

    official_count = _official(emulator).messages.count_tokens(**params)
    our_count = ours.messages.count_tokens(**params)

    official_entry, our_entry = emulator.journal()
    assert our_entry.body == official_entry.body
    assert our_count.input_tokens == official_count.input_tokens


def test_pydantic_is_imported_only_for_a_pydantic_model() -> None:
    code = (
        "import sys, msgspec, claude_foundry\n"
        "from claude_foundry._parse import resolve_output_format\n"
        "class City(msgspec.Struct):\n"
        "    name: str\n"
        "resolve_output_format(City)\n"
        "resolve_output_format({'type': 'object'})\n"
        "assert 'pydantic' not in sys.modules, 'pydantic was imported'\n"
    )

    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
