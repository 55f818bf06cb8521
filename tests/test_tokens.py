"""The emulator's token estimates: the documented rules, and their agreement with usage."""

from __future__ import annotations

from typing import Any

import pytest

from claude_foundry.emulator.tokens import (
    DOCUMENT_TOKENS,
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    TOOLS_PREAMBLE_TOKENS,
    cache_breakpoints,
    count_input_tokens,
    estimate_tokens,
    text_for_tokens,
)
from claude_foundry.types import CountTokensRequest, MessageCreateRequest, RequestMessage, encode


def _request(content: Any = "hi", **fields: Any) -> MessageCreateRequest:
    return MessageCreateRequest(
        model="claude-test",
        max_tokens=100,
        messages=[RequestMessage(role="user", content=content)],
        **fields,
    )


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("a", 1), ("abcd", 1), ("abcde", 2), ("x" * 400, 100), ("héllo wörld", 3)],
)
def test_text_is_about_four_characters_per_token(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_text_for_tokens_inverts_the_rule() -> None:
    for tokens in range(0, 50):
        chars = text_for_tokens(tokens)
        assert estimate_tokens("x" * chars) <= tokens < estimate_tokens("x" * (chars + 1))
    assert text_for_tokens(-3) == 0


def test_string_message_costs_overhead_plus_text() -> None:
    assert count_input_tokens(_request("Hello, world")) == MESSAGE_OVERHEAD_TOKENS + 3


def test_block_list_counts_each_kind_by_its_rule() -> None:
    content = [
        {"type": "text", "text": "abcdefgh"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}},
        {"type": "document", "source": {"type": "base64", "data": "JVBERi0="}},
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "a" * 40},
        },
    ]
    expected = MESSAGE_OVERHEAD_TOKENS + 2 + IMAGE_TOKENS + DOCUMENT_TOKENS + 10
    assert count_input_tokens(_request(content)) == expected


def test_system_string_and_blocks_count_their_text() -> None:
    base = count_input_tokens(_request())
    assert count_input_tokens(_request(system="x" * 40)) == base + 10
    system_blocks = [{"type": "text", "text": "x" * 40}, {"type": "text", "text": "y" * 4}]
    assert count_input_tokens(_request(system=system_blocks)) == base + 11


def test_tools_cost_a_preamble_once_plus_their_definitions() -> None:
    tool = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
    other = {"name": "get_time", "input_schema": {"type": "object"}}
    base = count_input_tokens(_request())
    definitions = estimate_tokens(encode(tool).decode()) + estimate_tokens(encode(other).decode())
    assert count_input_tokens(_request(tools=[tool, other])) == (
        base + TOOLS_PREAMBLE_TOKENS + definitions
    )


def test_tool_history_and_thinking_history() -> None:
    messages = [
        RequestMessage(role="user", content="weather?"),
        RequestMessage(
            role="assistant",
            content=[
                {"type": "thinking", "thinking": "x" * 400, "signature": "sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"a": 1}},
            ],
        ),
        RequestMessage(
            role="user",
            content=[{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
        ),
    ]
    request = MessageCreateRequest(model="m", max_tokens=10, messages=messages)
    # user: 3 + 2; assistant: 3 + thinking 0 + name 1 + '{"a":1}' 2; user: 3 + "sunny" 2
    assert count_input_tokens(request) == 5 + 6 + 5


def test_count_tokens_request_counts_like_create() -> None:
    create = _request("Hello there", system="Be brief.")
    count = CountTokensRequest(model="claude-test", messages=create.messages, system="Be brief.")
    assert count_input_tokens(count) == count_input_tokens(create)


def test_cache_control_is_free_and_breakpoints_report_prefixes() -> None:
    plain = _request([{"type": "text", "text": "x" * 400}, {"type": "text", "text": "tail"}])
    marked = _request(
        [
            {"type": "text", "text": "x" * 400, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "tail"},
        ],
        system=[
            {"type": "text", "text": "s" * 40, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ],
    )
    assert cache_breakpoints(plain) == []
    marks = cache_breakpoints(marked)
    assert [(m.tokens, m.ttl) for m in marks] == [(10, "1h"), (10 + 3 + 100, "5m")]
    assert count_input_tokens(marked) == 10 + 3 + 100 + 1


def test_prefix_hash_depends_on_content_and_deployment() -> None:
    def marked(text: str, model: str = "a") -> MessageCreateRequest:
        block = {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}
        return MessageCreateRequest(
            model=model, max_tokens=5, messages=[RequestMessage(role="user", content=[block])]
        )

    same = cache_breakpoints(marked("abc"))[0].prefix_hash
    assert cache_breakpoints(marked("abc"))[0].prefix_hash == same
    assert cache_breakpoints(marked("abd"))[0].prefix_hash != same
    assert cache_breakpoints(marked("abc", model="b"))[0].prefix_hash != same
