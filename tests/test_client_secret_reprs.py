"""A key or token never shows in the repr of what an error carries: its request, the request's
headers and URL, as a debugger, a traceback with locals or an error tracker would print them."""

from __future__ import annotations

import traceback
from collections.abc import Iterator

import pytest

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry, NotFoundError
from claude_foundry.emulator import Emulator

KEY = "sk-foundry-0123456789abcdef"
QUERY_SECRET = "sig-9f8e7d6c5b4a"
REQUEST = {
    "model": "no-such-deployment",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "Hi"}],
}


@pytest.fixture(scope="module")
def keyed_emulator() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as emulator:
        yield emulator


def _shown(error: BaseException) -> str:
    request = error.request  # type: ignore[attr-defined]
    formatted = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    return "\n".join((repr(request), repr(request.headers), str(request.headers), formatted))


def test_an_errors_request_hides_the_key_and_secret_query_values(keyed_emulator: Emulator) -> None:
    client = AnthropicFoundry(
        api_key=KEY,
        base_url=keyed_emulator.base_url,
        max_retries=0,
        default_query={"sig": QUERY_SECRET, "trace": "visible-value"},
    )
    with client, pytest.raises(NotFoundError) as caught:
        client.messages.create(**REQUEST)
    shown = _shown(caught.value)
    assert KEY not in shown
    assert QUERY_SECRET not in shown
    assert "'x-api-key': '[secure]'" in shown
    assert "sig=[secure]" in shown
    assert "trace=visible-value" in shown
    # Only the repr hides them: the request still carries them.
    assert caught.value.request.headers["x-api-key"] == KEY


async def test_the_async_client_hides_them_too(keyed_emulator: Emulator) -> None:
    client = AsyncAnthropicFoundry(api_key=KEY, base_url=keyed_emulator.base_url, max_retries=0)
    async with client:
        with pytest.raises(NotFoundError) as caught:
            await client.messages.create(**REQUEST)
    shown = _shown(caught.value)
    assert KEY not in shown
    assert "'x-api-key': '[secure]'" in shown
