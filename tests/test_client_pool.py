"""The clients' own connection pools over loopback: sharding, keep-alive, closing, proxies."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import httpx2
import pytest

from claude_foundry import AnthropicFoundry, APIStatusError, AsyncAnthropicFoundry
from claude_foundry._transport import (
    FoundryAsyncClient,
    ShardedTransport,
    _share,
    sharded_transport,
)
from claude_foundry.emulator import Emulator

HI = [{"role": "user", "content": "hi"}]
MODEL = "claude-sonnet-4-6"


def pools_of(client: AsyncAnthropicFoundry) -> list[Any]:
    transport = client._http._transport
    assert isinstance(transport, ShardedTransport)
    return [shard._pool for shard in transport.shards]  # type: ignore[attr-defined]


def open_connections(client: AsyncAnthropicFoundry) -> list[Any]:
    return [connection for pool in pools_of(client) for connection in pool.connections]


def test_the_official_limits_are_shared_out_exactly() -> None:
    for total in (1000, 100, 7, 3):
        for count in (1, 3, 4, 8):
            assert sum(_share(total, count, index) or 0 for index in range(count)) == total
    assert _share(None, 4, 0) is None
    transport = sharded_transport(
        httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
    )
    assert isinstance(transport, ShardedTransport)
    pools = [shard._pool for shard in transport.shards]  # type: ignore[attr-defined]
    assert sum(pool._max_connections for pool in pools) == 1000
    assert sum(pool._max_keepalive_connections for pool in pools) == 100
    assert len({id(pool._ssl_context) for pool in pools}) == 1  # one TLS context for all


def test_limits_too_small_to_share_give_one_pool() -> None:
    transport = sharded_transport(httpx2.Limits(max_connections=1, max_keepalive_connections=1))
    assert isinstance(transport, httpx2.AsyncHTTPTransport)


async def test_many_concurrent_requests_reuse_connections_and_close_them_all(
    emulator: Emulator,
) -> None:
    client = AsyncAnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
    in_flight = 40

    async def burst() -> None:
        replies = await asyncio.gather(
            *(
                client.messages.create(model=MODEL, max_tokens=16, messages=HI)
                for _ in range(in_flight)
            )
        )
        assert all(reply.type == "message" for reply in replies)

    await burst()
    first = {id(connection) for connection in open_connections(client)}
    assert 1 < len(first) <= in_flight
    assert sum(1 for pool in pools_of(client) if pool.connections) > 1  # spread over the pools
    await burst()
    second = open_connections(client)
    assert len(first | {id(connection) for connection in second}) < 2 * in_flight  # kept alive

    await client.close()
    assert client.is_closed()
    assert open_connections(client) == []
    assert all(connection.is_closed() for connection in second)


async def test_sequential_requests_share_one_kept_alive_connection(emulator: Emulator) -> None:
    async with AsyncAnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url
    ) as client:
        for _ in range(5):
            await client.messages.create(model=MODEL, max_tokens=16, messages=HI)
        connections = open_connections(client)
        assert len(connections) == 1
        assert "Request Count: 5" in repr(connections[0])


async def test_a_request_goes_to_the_least_loaded_pool(emulator: Emulator) -> None:
    limits = httpx2.Limits(max_connections=2, max_keepalive_connections=2)
    headers = {"api-key": emulator.api_key, "anthropic-version": "2023-06-01"}
    body = {"model": MODEL, "max_tokens": 16, "messages": HI, "stream": True}
    url = emulator.base_url + "v1/messages"
    async with FoundryAsyncClient(limits=limits, headers=headers) as client:
        transport = client._transport
        assert isinstance(transport, ShardedTransport)
        pools = [shard._pool for shard in transport.shards]  # type: ignore[attr-defined]
        assert [pool._max_connections for pool in pools] == [1, 1]
        async with client.stream("POST", url, json=body) as held:  # keeps the first pool busy
            assert held.status_code == 200
            second = await client.post(url, json=dict(body, stream=False))
            assert second.status_code == 200
            assert [len(pool.connections) for pool in pools] == [1, 1]


async def test_a_user_supplied_http_client_is_left_as_it_is(emulator: Emulator) -> None:
    http = httpx2.AsyncClient()
    stock = http._transport
    client = AsyncAnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, http_client=http
    )
    assert client._http is http
    assert http._transport is stock
    assert type(stock) is httpx2.AsyncHTTPTransport
    assert type(stock._pool._network_backend).__name__ != "_SocketBackend"
    reply = await client.messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert reply.type == "message"
    await client.close()


async def test_proxy_variables_are_honoured(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", emulator.url.rstrip("/"))
    # The host cannot resolve: only the proxy (the emulator) can answer.
    client = AsyncAnthropicFoundry(
        api_key=emulator.api_key, base_url="http://proxied.invalid/anthropic", max_retries=0
    )
    try:
        await client.messages.create(model=MODEL, max_tokens=16, messages=HI)
    except APIStatusError:
        pass  # an HTTP answer, so the request went through the proxy
    finally:
        await client.close()

    unproxied = FoundryAsyncClient(trust_env=False)
    assert unproxied._mounts == {}
    await unproxied.aclose()


def test_a_sync_client_never_closed_leaves_no_socket_open(emulator: Emulator) -> None:
    gc.collect()  # garbage left by earlier tests must not be blamed on this client
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
        client.messages.create(model=MODEL, max_tokens=16, messages=HI)
        copy = client.with_options(max_retries=0)  # shares the pool
        del client
        gc.collect()
        copy.messages.create(model=MODEL, max_tokens=16, messages=HI)  # still open for the copy
        del copy
        gc.collect()
    assert _client_socket_warnings(caught) == []


def test_an_async_client_never_closed_leaves_no_socket_open(emulator: Emulator) -> None:
    async def forget_to_close() -> None:
        client = AsyncAnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
        await client.messages.create(model=MODEL, max_tokens=16, messages=HI)

    gc.collect()  # garbage left by earlier tests must not be blamed on this client
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(forget_to_close())
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def _client_socket_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """ResourceWarnings for sockets; the emulator's own asyncio transports (it runs in a thread of
    this process, and other tests' servers end there too) are not the client's."""
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and "Transport" not in str(w.message)
    ]
