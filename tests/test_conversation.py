"""Conversation checks (pure unit), then the same refusals through the official SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic import AnthropicFoundry

from claude_foundry.emulator import Emulator
from claude_foundry.emulator.conversation import ConversationError, check_conversation
from claude_foundry.emulator.responder import InvalidRequestError, Responder
from claude_foundry.types import MessageCreateRequest, RequestMessage

THINKING = {"type": "enabled", "budget_tokens": 1024}


def _use(*ids: str, thinking: bool = False) -> RequestMessage:
    blocks: list[dict[str, Any]] = []
    if thinking:
        blocks.append({"type": "thinking", "thinking": "hmm", "signature": "sig"})
    blocks += [{"type": "tool_use", "id": i, "name": "get_weather", "input": {}} for i in ids]
    return RequestMessage(role="assistant", content=blocks)


def _results(*ids: str) -> RequestMessage:
    return RequestMessage(
        role="user",
        content=[{"type": "tool_result", "tool_use_id": i, "content": "ok"} for i in ids],
    )


def _request(*messages: RequestMessage, **fields: Any) -> MessageCreateRequest:
    history = [RequestMessage(role="user", content="Weather in Oslo?"), *messages]
    return MessageCreateRequest(model="m", max_tokens=4096, messages=history, **fields)


def _refusal(request: MessageCreateRequest) -> str:
    with pytest.raises(ConversationError) as caught:
        check_conversation(request)
    return str(caught.value)


def test_well_formed_conversations_pass() -> None:
    check_conversation(_request())
    check_conversation(_request(_use("a", "b"), _results("b", "a")))
    check_conversation(_request(_use("a")))  # a final assistant turn is a prefill
    check_conversation(
        _request(_use("a", thinking=True), _results("a"), thinking=THINKING, temperature=1)
    )
    # Only the turn whose results end the conversation needs its thinking back.
    check_conversation(
        _request(
            _use("a"),
            _results("a"),
            RequestMessage(role="assistant", content="Done."),
            RequestMessage(role="user", content="Thanks"),
            thinking=THINKING,
        )
    )


def test_a_result_without_its_call() -> None:
    assert _refusal(_request(_use("a"), _results("zzz"))) == (
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "a. Each `tool_use` block must have a corresponding `tool_result` block in the next "
        "message."
    )
    stray = MessageCreateRequest(
        model="m",
        max_tokens=10,
        messages=[
            RequestMessage(role="user", content="hi"),
            RequestMessage(role="assistant", content="hello"),
            _results("toolu_9"),
        ],
    )
    assert _refusal(stray) == (
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
        "message."
    )


def test_two_calls_answered_by_one_result() -> None:
    message = _refusal(_request(_use("a", "b", "c"), _results("b")))
    assert message.startswith(
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "a, c."
    )


def test_thinking_with_a_temperature() -> None:
    assert _refusal(_request(thinking=THINKING, temperature=0.2)) == (
        "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
        "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
        "#important-considerations-when-using-extended-thinking"
    )
    check_conversation(_request(temperature=0.2))
    check_conversation(_request(thinking={"type": "disabled"}, temperature=0.2))


def test_a_thinking_tool_turn_sent_back_without_its_thinking() -> None:
    message = _refusal(_request(_use("a"), _results("a"), thinking={"type": "adaptive"}))
    assert message.startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block"
    )


def test_the_responder_refuses_with_400_and_the_budget_message() -> None:
    with pytest.raises(InvalidRequestError, match="unexpected `tool_use_id`"):
        Responder().reply(_request(_results("x")), model="m", message_id="msg_1")
    with pytest.raises(InvalidRequestError) as caught:
        Responder().reply(
            _request(thinking={"type": "enabled", "budget_tokens": 4096}),
            model="m",
            message_id="msg_1",
        )
    assert str(caught.value) == (
        "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
        "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
        "#max-tokens-and-context-window-size"
    )


# --- through the official SDK ---------------------------------------------------------------------

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_the_sdk_gets_the_services_400s(emulator: Emulator) -> None:
    client = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0)
    prompt = {"role": "user", "content": "What is the weather in Oslo?"}
    first = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=4096,
        messages=[prompt],
        tools=[WEATHER_TOOL],
        thinking=THINKING,
    )
    assert [block.type for block in first.content] == ["thinking", "text", "tool_use"]
    call = first.content[2]
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id}]}
    without_thinking = [block.model_dump() for block in first.content[1:]]
    with pytest.raises(anthropic.BadRequestError, match="Expected `thinking`") as caught:
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=4096,
            messages=[prompt, {"role": "assistant", "content": without_thinking}, result],
            tools=[WEATHER_TOOL],
            thinking=THINKING,
        )
    assert caught.value.status_code == 400
    assert caught.value.type == "invalid_request_error"
    # Sent back whole, the conversation is answered from the result.
    kept = [block.model_dump() for block in first.content]
    second = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=4096,
        messages=[prompt, {"role": "assistant", "content": kept}, result],
        tools=[WEATHER_TOOL],
        thinking=THINKING,
    )
    assert second.content[-1].text == 'The get_weather tool returned: "(no text)".'
    with pytest.raises(anthropic.BadRequestError, match="`temperature` may only be set to 1"):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=4096,
            messages=[prompt],
            thinking=THINKING,
            extra_body={"temperature": 0.5},  # the 2.10 signature no longer has it
        )
    client.close()
