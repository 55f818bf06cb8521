"""Hostile and careless input to the emulator: every refusal is a typed 4xx, never a 500, a
broken reply or a leaked secret."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from claude_foundry.emulator import Emulator, EmulatorConfig, EmulatorConfigError

HELLO = [{"role": "user", "content": "hi"}]


def create(emulator: Emulator, **fields: Any) -> httpx2.Response:
    body = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": HELLO, **fields}
    return httpx2.post(
        f"{emulator.base_url}v1/messages", json=body, headers={"api-key": emulator.api_key}
    )


def assert_invalid_request(response: httpx2.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == message


# --- values that become headers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "region", ["East US\r\nx-injected: 1", "East US\nx", "East\rUS", "East\x00US", "Région"]
)
def test_region_with_control_characters_is_refused_at_configuration(region: str) -> None:
    with pytest.raises(EmulatorConfigError, match="region must be printable ASCII"):
        EmulatorConfig.from_mapping({"region": region})


def test_region_is_checked_at_control_api_time_and_replies_stay_whole(emulator: Emulator) -> None:
    patched = httpx2.patch(
        f"{emulator.url}/_emulator/config", json={"region": "East US 2\r\nx-injected: yes"}
    )
    assert patched.status_code == 400
    assert "region" in patched.json()["error"]["message"]
    reply = create(emulator)
    assert reply.status_code == 200
    assert reply.headers["x-ms-region"] == "East US 2"
    assert "x-injected" not in reply.headers


# --- API keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["clé-secrète", "key\u00a0", "key\n", " key", "k\x7fey"])
def test_a_key_that_could_never_match_is_refused_with_the_reason(key: str) -> None:
    with pytest.raises(EmulatorConfigError, match="could never match"):
        EmulatorConfig.from_mapping({"api_key": key})
    with pytest.raises(EmulatorConfigError, match="could never match"):
        EmulatorConfig.from_mapping({"api_keys": ["good-key", key]})
    with pytest.raises(EmulatorConfigError, match="could never match"):
        Emulator(api_key=key)


def test_a_non_ascii_key_is_refused_over_the_control_api(emulator: Emulator) -> None:
    patched = httpx2.patch(f"{emulator.url}/_emulator/config", json={"api_keys": ["clé"]})
    assert patched.status_code == 400
    assert "could never match" in patched.json()["error"]["message"]
    assert emulator.state.config.api_keys == [emulator.api_key]


# --- credentials in query parameters ------------------------------------------------------------


def test_journal_redacts_query_credentials_it_does_not_list(emulator: Emulator) -> None:
    secret = "hunter2-very-secret"
    names = ["x-api-key", "authorization", "password", "Ocp-Apim-Subscription-Key", "my_token"]
    query = "&".join(f"{name}={secret}" for name in names) + "&api-version=2025-01-01"
    httpx2.post(
        f"{emulator.base_url}v1/messages?{query}",
        json={"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO},
        headers={"api-key": emulator.api_key},
    )
    journal = httpx2.get(f"{emulator.url}/_emulator/journal").text
    assert secret not in journal
    assert "api-version=2025-01-01" in journal
    assert secret not in repr(emulator.journal())


# --- out-of-range values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"temperature": 5}, "temperature: range: 0..1"),
        ({"temperature": -0.5}, "temperature: range: 0..1"),
        ({"top_p": 2}, "top_p: range: 0..1"),
        ({"top_p": -1}, "top_p: range: 0..1"),
        ({"top_k": -1}, "top_k: Input should be greater than or equal to 0"),
    ],
)
def test_sampling_values_out_of_range(
    emulator: Emulator, fields: dict[str, Any], message: str
) -> None:
    assert_invalid_request(create(emulator, **fields), message)


def test_sampling_values_in_range_are_accepted(emulator: Emulator) -> None:
    for fields in ({"temperature": 0}, {"temperature": 1.0}, {"top_p": 0.5}, {"top_k": 0}):
        assert create(emulator, **fields).status_code == 200


@pytest.mark.parametrize(
    ("model", "limit"),
    [("claude-haiku-4-5", 64_000), ("claude-opus-4-1", 32_000), ("claude-sonnet-5", 128_000)],
)
def test_max_tokens_above_the_models_output_limit(
    emulator: Emulator, model: str, limit: int
) -> None:
    assert create(emulator, model=model, max_tokens=limit).status_code == 200
    assert_invalid_request(
        create(emulator, model=model, max_tokens=limit + 1),
        f"max_tokens: {limit + 1} > {limit}, which is the maximum allowed number of output "
        f"tokens for {model}",
    )


def test_the_output_limit_is_configurable(emulator: Emulator) -> None:
    emulator.configure(deployments={"claude-haiku-4-5": {"max_output_tokens": 100}})
    assert create(emulator, max_tokens=101).status_code == 400
    emulator.configure(deployments={"claude-haiku-4-5": {"max_output_tokens": None}})
    assert create(emulator, max_tokens=10**9).status_code == 200


# --- bodies that used to end in a 500 -----------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [200, 600, 900, 1000, 5000, 100_000])
@pytest.mark.parametrize("where", ["x", "content", "system"])
def test_deeply_nested_json_is_a_400_and_the_journal_stays_readable(
    emulator: Emulator, depth: int, where: str
) -> None:
    fields = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO, "x": 0}
    if where == "content":
        fields["messages"] = [{"role": "user", "content": "NESTED"}]
    else:
        fields[where] = "NESTED"
    body = json.dumps(fields).replace('"NESTED"', _nested(depth))
    response = httpx2.post(
        f"{emulator.base_url}v1/messages",
        content=body.encode(),
        headers={"api-key": emulator.api_key, "content-type": "application/json"},
    )
    # Accepted when the nesting is harmless (an unknown field), else a typed 400: never a 500.
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["type"] == "invalid_request_error"
    if depth >= 1000:
        assert response.status_code == 400
    journal = httpx2.get(f"{emulator.url}/_emulator/journal")
    assert journal.status_code == 200
    assert create(emulator).status_code == 200


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "required": [{}]},
        {"type": "object", "required": "city"},
        {"type": "object", "properties": []},
        {"type": "object", "properties": {"a": {"type": "object", "required": [1]}}},
        {"type": "object", "anyOf": {"a": 1}},
        [],
        "object",
    ],
)
def test_invalid_tool_schemas_with_a_forced_tool_are_a_400(
    emulator: Emulator, schema: object
) -> None:
    response = create(
        emulator,
        tools=[{"name": "get_weather", "input_schema": schema}],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    assert response.status_code == 400, response.text
    assert (
        "tools.0.custom.input_schema: JSON schema is invalid" in response.json()["error"]["message"]
    )


def test_a_property_named_required_is_not_mistaken_for_the_keyword(emulator: Emulator) -> None:
    schema = {
        "type": "object",
        "properties": {"required": {"type": "boolean"}, "items": {"type": "string"}},
        "required": ["required", "items"],
    }
    response = create(
        emulator,
        tools=[{"name": "t", "input_schema": schema}],
        tool_choice={"type": "tool", "name": "t"},
    )
    assert response.status_code == 200
    assert response.json()["content"][0]["input"] == {"required": True, "items": "example items"}
