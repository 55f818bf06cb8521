"""Typed code written against ``anthropic.types``, with only the import changed.

``tests/test_types_parity.py`` type-checks this file with mypy --strict and runs it against the
emulator.
"""

from __future__ import annotations

from claude_foundry import AnthropicFoundry
from claude_foundry.types import (
    CacheControlEphemeralParam,
    ContentBlock,
    ContentBlockParam,
    Message,
    MessageParam,
    MessageTokensCount,
    MetadataParam,
    Model,
    ModelParam,
    RawContentBlockDeltaEvent,
    RawMessageStreamEvent,
    StopReason,
    TextBlock,
    TextBlockParam,
    TextCitation,
    TextDelta,
    ThinkingConfigParam,
    ToolChoiceParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUnionParam,
    ToolUseBlock,
    ToolUseBlockParam,
)

WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
CACHE: CacheControlEphemeralParam = {"type": "ephemeral", "ttl": "5m"}
SYSTEM: list[TextBlockParam] = [{"type": "text", "text": "Be brief.", "cache_control": CACHE}]
METADATA: MetadataParam = {"user_id": "user-1"}
THINKING: ThinkingConfigParam = {"type": "disabled"}


def ask(client: AnthropicFoundry, model: ModelParam, question: str) -> Message:
    tools: list[ToolUnionParam] = [WEATHER]
    choice: ToolChoiceParam = {"type": "auto"}
    messages: list[MessageParam] = [{"role": "user", "content": question}]
    return client.messages.create(
        model=model,
        max_tokens=256,
        system=SYSTEM,
        messages=messages,
        tools=tools,
        tool_choice=choice,
        metadata=METADATA,
        thinking=THINKING,
    )


def answer_tools(question: str, reply: Message, result: str) -> list[MessageParam]:
    """The next turn: the reply's tool calls sent back, each with ``result``."""
    uses: list[ContentBlockParam] = []
    results: list[ContentBlockParam] = []
    for block in reply.content:
        if isinstance(block, ToolUseBlock):
            use: ToolUseBlockParam = {
                "type": "tool_use",
                "id": block.id,
                "name": block.name,
                "input": dict(block.input),
            }
            uses.append(use)
            done: ToolResultBlockParam = {
                "type": "tool_result",
                "tool_use_id": block.id,
                "content": [{"type": "text", "text": result}],
            }
            results.append(done)
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": uses},
        {"role": "user", "content": results},
    ]


def continue_with(question: str, reply: Message, follow_up: str) -> list[MessageParam]:
    """The conversation so far with the reply passed back as it is, both ways user code does."""
    assistant: MessageParam = {"role": "assistant", "content": reply.content}
    return [
        {"role": "user", "content": question},
        assistant,
        {"role": "user", "content": follow_up},
        reply.to_param(),
        {"role": "user", "content": follow_up},
    ]


def texts(content: list[ContentBlock]) -> list[str]:
    return [block.text for block in content if isinstance(block, TextBlock)]


def citations(content: list[ContentBlock]) -> list[TextCitation]:
    return [c for block in content if isinstance(block, TextBlock) for c in block.citations or []]


def streamed_text(client: AnthropicFoundry, model: Model, question: str) -> str:
    pieces: list[str] = []
    stream = client.messages.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": question}], stream=True
    )
    for event in stream:
        raw: RawMessageStreamEvent = event
        if isinstance(raw, RawContentBlockDeltaEvent) and isinstance(raw.delta, TextDelta):
            pieces.append(raw.delta.text)
    return "".join(pieces)


def count(client: AnthropicFoundry, model: str, messages: list[MessageParam]) -> int:
    counted: MessageTokensCount = client.messages.count_tokens(model=model, messages=messages)
    return counted.input_tokens


def finished(reply: Message) -> bool:
    reason: StopReason | None = reply.stop_reason
    return reason == "end_turn"
