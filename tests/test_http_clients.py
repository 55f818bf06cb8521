"""DefaultHttpxClient / DefaultAsyncHttpxClient: the official README's
``http_client=DefaultHttpxClient(proxy=..., transport=...)`` with our client, against the
emulator."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx2
import pytest

from claude_foundry import (
    DEFAULT_CONNECTION_LIMITS,
    DEFAULT_TIMEOUT,
    AnthropicFoundry,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncAnthropicFoundry,
    DefaultAioHttpClient,
    DefaultAsyncHttpxClient,
    DefaultHttpxClient,
    NotFoundError,
)
from claude_foundry._aiohttp import AiohttpTransport
from claude_foundry._transport import ShardedTransport
from claude_foundry.emulator import Emulator
from claude_foundry.testing import TEST_API_KEY

HI = [{"role": "user", "content": "Hi"}]
MODEL = "claude-sonnet-4-6"


class CountingTransport(httpx2.HTTPTransport):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.paths: list[str] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)


class AsyncCountingTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(request.url.path)
        return await super().handle_async_request(request)


async def _journalled(emulator: Emulator, fault_kind: str) -> None:
    """Wait until the emulator has finished (and journalled) the request a fault slowed down."""
    for _ in range(600):
        if any(entry.fault_kind == fault_kind for entry in emulator.journal()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the emulator never finished the {fault_kind} request")


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_defaults_are_the_clients_own() -> None:
    http = DefaultHttpxClient()
    assert http.timeout == DEFAULT_TIMEOUT
    assert http.follow_redirects is False
    assert http._transport._pool._max_connections == DEFAULT_CONNECTION_LIMITS.max_connections  # type: ignore[attr-defined]
    async_http = DefaultAsyncHttpxClient()
    assert async_http.timeout == DEFAULT_TIMEOUT
    assert isinstance(async_http._transport, ShardedTransport)
    client = AnthropicFoundry(api_key=TEST_API_KEY, base_url="http://127.0.0.1:1/anthropic/")
    assert type(client._http) is DefaultHttpxClient
    async_client = AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url="http://127.0.0.1:1/anthropic/"
    )
    assert type(async_client._http) is DefaultAsyncHttpxClient
    assert client.timeout == DEFAULT_TIMEOUT
    http.close()
    client.close()


def test_a_custom_transport_carries_the_requests(emulator: Emulator) -> None:
    transport = CountingTransport()
    http = DefaultHttpxClient(transport=transport)
    with AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, http_client=http
    ) as client:
        message = client.messages.create(model=MODEL, max_tokens=8, messages=HI)
        assert message.content
        with client.messages.stream(model=MODEL, max_tokens=8, messages=HI) as stream:
            assert stream.get_final_text()
    assert transport.paths == ["/anthropic/v1/messages"] * 2
    assert client.timeout == DEFAULT_TIMEOUT  # the HTTP client's defaults are the client's
    http.close()


async def test_a_custom_async_transport_carries_the_requests(emulator: Emulator) -> None:
    transport = AsyncCountingTransport()
    http = DefaultAsyncHttpxClient(transport=transport)
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, http_client=http
    ) as client:
        await client.messages.create(model=MODEL, max_tokens=8, messages=HI)
        await client.messages.count_tokens(model=MODEL, messages=HI)
    assert transport.paths == ["/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"]
    await http.aclose()


def test_a_proxy_setting_is_used(emulator: Emulator) -> None:
    """Requests go to the proxy, not to the emulator: with no proxy listening, the call fails
    to connect while the emulator is up, and no request reaches it."""
    http = DefaultHttpxClient(proxy=f"http://127.0.0.1:{_unused_port()}")
    assert http.timeout == DEFAULT_TIMEOUT
    with AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, http_client=http, max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError):
            client.messages.create(model=MODEL, max_tokens=8, messages=HI)
        assert emulator.journal() == []
    http.close()
    DefaultAsyncHttpxClient(proxy="http://proxy.example:8080")  # constructs


def test_redirects_are_not_followed_even_when_asked(emulator: Emulator) -> None:
    """The credentials would go to a host nobody configured: a redirect is an error."""
    seen: list[str] = []

    def redirect(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(307, headers={"location": emulator.base_url + "v1/messages"})

    http = DefaultHttpxClient(transport=httpx2.MockTransport(redirect), follow_redirects=True)
    with (
        AnthropicFoundry(
            api_key=TEST_API_KEY,
            base_url="https://example.invalid/anthropic/",
            http_client=http,
            max_retries=0,
        ) as client,
        pytest.raises(APIStatusError) as raised,
    ):
        client.messages.create(model=MODEL, max_tokens=8, messages=HI)
    assert raised.value.status_code == 307
    assert seen == ["https://example.invalid/anthropic/v1/messages"]
    assert emulator.journal() == []
    http.close()


def test_transports_of_the_old_httpx_package_are_refused() -> None:
    class OldTransport:
        pass

    OldTransport.__module__ = "httpx._transports.default"
    with pytest.raises(TypeError, match=r"use `httpx2\.OldTransport`"):
        DefaultHttpxClient(transport=OldTransport())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="from the `httpx` package"):
        DefaultAsyncHttpxClient(mounts={"all://": OldTransport()})


async def test_the_aiohttp_client_carries_calls_streams_and_errors(emulator: Emulator) -> None:
    http = DefaultAioHttpClient()
    assert http.timeout == DEFAULT_TIMEOUT
    assert isinstance(http._transport, AiohttpTransport)
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, http_client=http, max_retries=0
    ) as client:
        message = await client.messages.create(model=MODEL, max_tokens=8, messages=HI)
        assert message.request_id == emulator.journal()[-1].request_id
        async with client.messages.stream(model=MODEL, max_tokens=16, messages=HI) as stream:
            texts = [text async for text in stream.text_stream]
        assert "".join(texts) == (await stream.get_final_message()).content[0].text
        assert (await client.messages.count_tokens(model=MODEL, messages=HI)).input_tokens > 0
        with pytest.raises(NotFoundError):
            await client.messages.create(model="no-such-deployment", max_tokens=8, messages=HI)
        emulator.add_fault(kind="latency", delay_ms=1000, count=1)
        with pytest.raises(APITimeoutError):
            await client.messages.create(model=MODEL, max_tokens=8, messages=HI, timeout=0.2)
        await _journalled(emulator, "latency")  # so it cannot land in the next test's journal
        emulator.add_fault(kind="disconnect", after_events=2, count=1)
        with pytest.raises(APIConnectionError):
            async with client.messages.stream(model=MODEL, max_tokens=16, messages=HI) as stream:
                await stream.get_final_message()
    await http.aclose()


async def test_the_aiohttp_client_cannot_connect_to_a_closed_port() -> None:
    http = DefaultAioHttpClient()
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY,
        base_url=f"http://127.0.0.1:{_unused_port()}/anthropic/",
        http_client=http,
        max_retries=0,
    ) as client:
        with pytest.raises(APIConnectionError) as raised:
            await client.messages.create(model=MODEL, max_tokens=8, messages=HI)
        assert not isinstance(raised.value, APITimeoutError)
    await http.aclose()
