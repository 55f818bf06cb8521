"""The async client's own transport over TLS: handshake, pooled reuse, idle checks, shards."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest

from certificates import self_signed
from claude_foundry._transport import FoundryAsyncClient, ShardedTransport, async_transport


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/", cert
    server.shutdown()
    server.server_close()


async def test_tls_requests_reuse_a_checked_connection(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    verify = ssl.create_default_context(cafile=str(cert))
    transport = async_transport(httpx2.Limits(max_connections=10), verify=verify)
    async with httpx2.AsyncClient(transport=transport) as client:
        for _ in range(3):  # the 2nd and 3rd requests pass the pool's idle-connection check
            response = await client.get(url)
            assert response.json() == {"ok": True}
        stream = response.extensions["network_stream"]
        assert type(stream).__name__ == "_SocketStream"
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("ssl_object") is not None


async def test_the_sharded_client_verifies_and_reuses_tls_connections(
    tls_server: tuple[str, Path],
) -> None:
    url, cert = tls_server
    verify = ssl.create_default_context(cafile=str(cert))
    async with FoundryAsyncClient(verify=verify) as client:
        transport = client._transport
        assert isinstance(transport, ShardedTransport)
        for _ in range(3):
            response = await client.get(url)
            assert response.json() == {"ok": True}
        stream = response.extensions["network_stream"]
        assert type(stream).__name__ == "_SocketStream"
        assert stream.get_extra_info("ssl_object") is not None
        pools = [shard._pool for shard in transport.shards]  # type: ignore[attr-defined]
        assert all(pool._ssl_context is verify for pool in pools)
        assert sum(len(pool.connections) for pool in pools) == 1
    assert all(not pool.connections for pool in pools)


async def test_the_sharded_client_rejects_an_unknown_certificate(
    tls_server: tuple[str, Path],
) -> None:
    url, _ = tls_server
    async with FoundryAsyncClient() as client:  # the system CA bundle does not know it
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(url)
