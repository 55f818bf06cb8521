"""Property: whatever JSON a caller sends, the emulator answers with a success or a typed 4xx.

Generated bodies mix the Messages API's fields (right and wrong types, in and out of range) with
arbitrary JSON, on both routes, streamed or not. A 5xx, a dropped connection or an untyped error
body fails the property.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_foundry.emulator import Emulator

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
schemas = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["object", "string", "array", "integer"]) | json_values,
        "properties": st.dictionaries(st.text(max_size=6), json_values, max_size=3) | json_values,
        "required": st.lists(st.text(max_size=6) | json_values, max_size=3) | json_values,
        "items": json_values,
        "anyOf": st.lists(json_values, max_size=2) | json_values,
        "$ref": st.sampled_from(["#", "#/$defs/x", "#/nowhere"]),
        "minItems": st.integers(-3, 10**12),
        "minLength": st.integers(-3, 10**12),
    },
)
tools = st.fixed_dictionaries(
    {"name": st.sampled_from(["get_weather", "t"]) | st.text(max_size=6)},
    optional={"input_schema": schemas | json_values, "type": st.text(max_size=10)},
)
blocks = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image", "tool_use", "tool_result", "thinking", "x"])},
    optional={
        "text": st.text(max_size=30) | json_values,
        "id": st.text(max_size=8),
        "tool_use_id": st.text(max_size=8),
        "name": st.text(max_size=8),
        "input": json_values,
        "content": json_values,
        "source": json_values,
        "cache_control": st.just({"type": "ephemeral"}) | json_values,
    },
)
messages = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "role": st.sampled_from(["user", "assistant", "system"]) | json_values,
            "content": st.text(max_size=40) | st.lists(blocks, max_size=3) | json_values,
        },
    ),
    max_size=4,
)
fields = {
    "model": st.sampled_from(["claude-haiku-4-5", "claude-opus-4-1", "nope"]) | json_values,
    "max_tokens": st.integers(min_value=-5, max_value=200_000) | json_values,
    "messages": messages | json_values,
    "temperature": st.floats(-2, 6) | json_values,
    "top_p": st.floats(-2, 3) | json_values,
    "top_k": st.integers(-5, 500) | json_values,
    "system": st.text(max_size=20) | st.lists(blocks, max_size=2) | json_values,
    "tools": st.lists(tools, max_size=3) | json_values,
    "tool_choice": st.fixed_dictionaries(
        {"type": st.sampled_from(["auto", "any", "tool", "none"])},
        optional={"name": st.sampled_from(["get_weather", "t", "missing"])},
    )
    | json_values,
    "thinking": st.fixed_dictionaries(
        {"type": st.sampled_from(["enabled", "disabled", "adaptive"])},
        optional={"budget_tokens": st.integers(-10, 300_000)},
    )
    | json_values,
    "stop_sequences": st.lists(st.text(max_size=5), max_size=3) | json_values,
    "stream": st.booleans() | json_values,
    "metadata": json_values,
    "unknown": json_values,
}
# Mostly requests that pass the first checks, so generation reaches the deeper ones (tools,
# forced tool choice, sampling ranges, output limits); then anything at all.
valid_core = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["claude-haiku-4-5", "claude-opus-4-1"]),
        "max_tokens": st.integers(min_value=1, max_value=70_000),
        "messages": st.just([{"role": "user", "content": "hi"}]) | messages,
    },
    optional={k: v for k, v in fields.items() if k not in ("model", "max_tokens", "messages")},
)
forced_tools = st.builds(
    lambda schema, extra: {
        **extra,
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "weather?"}],
        "tools": [{"name": "get_weather", "input_schema": schema}],
        "tool_choice": {"type": "tool", "name": "get_weather"},
    },
    schemas | json_values,
    st.fixed_dictionaries({}, optional={"stream": st.booleans()}),
)
bodies = valid_core | forced_tools | st.fixed_dictionaries({}, optional=fields) | json_values


@pytest.fixture(scope="module")
def client() -> Iterator[tuple[Emulator, httpx2.Client]]:
    with (
        Emulator(api_key="property-key") as emulator,
        httpx2.Client(
            base_url=emulator.base_url, headers={"api-key": "property-key"}, timeout=30
        ) as http,
    ):
        yield emulator, http


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=bodies, route=st.sampled_from(["v1/messages", "v1/messages/count_tokens"]))
def test_any_body_gets_a_success_or_a_typed_4xx(
    client: tuple[Emulator, httpx2.Client], body: Any, route: str
) -> None:
    _, http = client
    response = http.post(route, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        payload = response.json()
        error = payload["error"]
        assert isinstance(error["type"], str)
        assert error["type"] != "api_error"
        assert isinstance(error["message"], str)
        assert error["message"]
