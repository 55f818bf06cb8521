"""middleware= on the client: our chain, the official middleware objects, refusal fallback."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic import BetaFallbackState, BetaRefusalFallbackMiddleware

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
from claude_foundry._middleware import (
    MiddlewareRequest,
    MiddlewareResponse,
    RefusalFallbackMiddleware,
)
from claude_foundry.emulator import Emulator
from claude_foundry.testing import TEST_API_KEY

HI = [{"role": "user", "content": "Hi"}]
MODEL = "claude-sonnet-4-6"
FALLBACK = "claude-opus-4-6"


def _client(emulator: Emulator, **options: Any) -> AnthropicFoundry:
    return AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, **options)


def test_function_middleware_sees_and_changes_each_attempt(emulator: Emulator) -> None:
    seen: list[tuple[int, int]] = []

    def shorten(request: MiddlewareRequest, call_next: Any) -> MiddlewareResponse:
        assert "x-api-key" not in request.headers  # credentials stay out of the view
        response: MiddlewareResponse = call_next(
            request.copy(body={**request.json, "max_tokens": 7})
        )
        seen.append((request.retries_taken, response.status_code))
        return response

    emulator.add_fault(kind="status", status=529, count=1, retry_after_ms=1)
    with _client(emulator, middleware=[shorten]) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=HI)
    assert message.content
    assert seen == [(0, 529), (1, 200)]  # once per attempt, inside the retry loop
    assert [entry.body["max_tokens"] for entry in emulator.journal()] == [7, 7]


def test_official_middleware_subclass_and_with_middleware(emulator: Emulator) -> None:
    calls: list[str] = []

    class Tag(anthropic.Middleware):
        def handle(self, request: Any, call_next: Any) -> Any:
            calls.append(request.method)
            response = call_next(request.copy(headers={"x-tag": "on"}))
            calls.append(type(response.parse()).__name__)
            return response

    with _client(emulator) as client:
        tagged = client.with_middleware(Tag())
        assert tagged.middleware
        assert not client.middleware
        tagged.messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert calls == ["POST", "Message"]
    assert emulator.journal()[-1].headers["x-tag"] == "on"


def test_sync_client_refuses_async_middleware() -> None:
    async def later(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    with pytest.raises(TypeError, match="sync function"):
        AnthropicFoundry(api_key="k", base_url="http://127.0.0.1:9/anthropic/", middleware=[later])
    with pytest.raises(TypeError, match="async function"):
        AsyncAnthropicFoundry(
            api_key="k", base_url="http://127.0.0.1:9/anthropic/", middleware=[lambda r, n: n(r)]
        )


def _script_refusal(emulator: Emulator) -> None:
    emulator.add_script(
        {
            "deployment": MODEL,
            "reply": {"text": "I can't help with that.", "stop_reason": "refusal"},
        }
    )


def test_official_refusal_fallback_middleware_is_honoured(emulator: Emulator) -> None:
    _script_refusal(emulator)
    middleware = BetaRefusalFallbackMiddleware([{"model": FALLBACK}])
    with _client(emulator, middleware=[middleware]) as client:
        assert isinstance(client.middleware[0], RefusalFallbackMiddleware)
        with BetaFallbackState():
            message = client.beta.messages.create(model=MODEL, max_tokens=64, messages=HI)
        assert message.stop_reason == "end_turn"
        assert message.model == FALLBACK
        with client.beta.messages.stream(model=MODEL, max_tokens=64, messages=HI) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert final.model == FALLBACK
    assert text.startswith("You said")
    assert [entry.body["model"] for entry in emulator.journal()] == [MODEL, FALLBACK] * 2


async def test_async_refusal_fallback(emulator: Emulator) -> None:
    _script_refusal(emulator)
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY,
        base_url=emulator.base_url,
        middleware=[RefusalFallbackMiddleware([{"model": FALLBACK, "max_tokens": 32}])],
    ) as client:
        message = await client.messages.create(model=MODEL, max_tokens=64, messages=HI)
    assert message.model == FALLBACK
    assert emulator.journal()[-1].body["max_tokens"] == 32


def test_no_refusal_passes_through(emulator: Emulator) -> None:
    with _client(emulator, middleware=[RefusalFallbackMiddleware([{"model": FALLBACK}])]) as c:
        message = c.messages.create(model=MODEL, max_tokens=16, messages=HI)
        c.messages.count_tokens(model=MODEL, messages=HI)
    assert message.model == MODEL
    assert len(emulator.journal()) == 2


def test_a_subclass_of_our_middleware_base_runs_in_both_clients(emulator: Emulator) -> None:
    import claude_foundry

    class Tag(claude_foundry.Middleware):
        def handle(self, request: Any, call_next: Any) -> Any:
            return call_next(request.copy(headers={"x-team": "search"}))

        async def handle_async(self, request: Any, call_next: Any) -> Any:
            return await call_next(request.copy(headers={"x-team": "search"}))

    with AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, middleware=[Tag()]
    ) as client:
        client.messages.create(model=MODEL, max_tokens=8, messages=HI)
    assert emulator.journal()[-1].headers["x-team"] == "search"


def test_our_middleware_base_refuses_a_method_the_client_needs() -> None:
    import claude_foundry

    class SyncOnly(claude_foundry.Middleware):
        def handle(self, request: Any, call_next: Any) -> Any:
            return call_next(request)

    AnthropicFoundry(
        api_key=TEST_API_KEY, base_url="http://127.0.0.1:1/anthropic/", middleware=[SyncOnly()]
    )
    with pytest.raises(TypeError, match=r"does not implement handle_async\(\)"):
        AsyncAnthropicFoundry(
            api_key=TEST_API_KEY, base_url="http://127.0.0.1:1/anthropic/", middleware=[SyncOnly()]
        )


def test_beta_refusal_fallback_middleware_under_its_official_name() -> None:
    import claude_foundry

    ours = claude_foundry.BetaRefusalFallbackMiddleware([{"model": "claude-opus-4-6"}])
    assert isinstance(ours, claude_foundry.RefusalFallbackMiddleware)
    assert ours.fallbacks == [{"model": "claude-opus-4-6"}]
    claude_foundry.BetaRefusalFallbackMiddleware([{"model": "m"}], betas=[])
    with pytest.raises(ValueError, match="no fallback credit tokens"):
        claude_foundry.BetaRefusalFallbackMiddleware(
            [{"model": "m"}], betas=["fallback-credit-2026-07-01"]
        )
    client = AnthropicFoundry(
        api_key=TEST_API_KEY, base_url="http://127.0.0.1:1/anthropic/", middleware=[ours]
    )
    assert client._middleware == (ours,)
