"""The emulator on loopback refuses web pages (foreign Host / Origin, non-JSON control bodies),
and every route, control and Entra included, reads bodies under the one size limit."""

from __future__ import annotations

import socket

import httpx2
import pytest

from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.emulator.guard import foreign_request, is_loopback_host

HELLO = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "0.0.0.0", "localhost.evil.test", ""])
def test_foreign_hosts(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "127.0.0.1:8011"},
        {"host": "localhost"},
        {"host": "[::1]:8011"},
        {"host": "127.0.0.1:8011", "origin": "http://localhost:3000"},
        {"host": "emulator.test:8011"},  # allowed below
    ],
)
def test_requests_from_loopback_pass(headers: dict[str, str]) -> None:
    assert foreign_request(headers, {"emulator.test"}) is None


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"host": "rebound.attacker.test:8011"}, "Host"),
        ({"host": "127.0.0.1:8011", "origin": "https://attacker.test"}, "Origin"),
        ({"host": "127.0.0.1:8011", "origin": "null"}, "Origin"),
    ],
)
def test_foreign_requests_are_named(headers: dict[str, str], named: str) -> None:
    reason = foreign_request(headers, set())
    assert reason is not None
    assert reason.startswith(named)


# --- over HTTP ---------------------------------------------------------------------------------


def test_foreign_host_is_refused_on_every_route(emulator: Emulator) -> None:
    with httpx2.Client(base_url=emulator.url, headers={"host": "rebound.attacker.test"}) as http:
        control = http.post("/_emulator/faults", json={"kind": "status", "status": 500})
        foundry = http.post(
            "/anthropic/v1/messages", json=HELLO, headers={"api-key": emulator.api_key}
        )
        health = http.get("/_emulator/health")
    assert control.status_code == foundry.status_code == health.status_code == 403
    assert "DNS rebinding" in control.json()["error"]["message"]
    assert foundry.json()["error"]["type"] == "permission_error"
    assert emulator.faults() == []


def test_cross_origin_text_plain_post_changes_nothing(emulator: Emulator) -> None:
    rule = b'{"kind": "status", "status": 500}'
    with httpx2.Client(base_url=emulator.url) as http:
        from_page = http.post(
            "/_emulator/faults",
            content=rule,
            headers={"content-type": "text/plain", "origin": "https://attacker.test"},
        )
        # Even without an Origin (a non-browser tool), a body must be declared as JSON.
        plain = http.post("/_emulator/faults", content=rule, headers={"content-type": "text/plain"})
        undeclared = http.post("/_emulator/config", content=b'{"strict": true}')
        reset = http.post("/_emulator/reset", headers={"origin": "https://attacker.test"})
    assert from_page.status_code == 403
    assert plain.status_code == 415
    assert "application/json" in plain.json()["error"]["message"]
    assert undeclared.status_code == 415
    assert reset.status_code == 403
    assert emulator.faults() == []
    assert emulator.state.config.strict is False


def test_json_clients_and_bodiless_calls_still_work(emulator: Emulator) -> None:
    with httpx2.Client(base_url=emulator.url) as http:
        assert (
            http.post("/_emulator/faults", json={"kind": "status", "status": 500}).status_code
            == 201
        )
        typed = http.patch(
            "/_emulator/config",
            content=b'{"strict": false}',
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert typed.status_code == 200
        assert http.post("/_emulator/reset").status_code == 200
        assert http.get("/_emulator/health", headers={"host": "localhost"}).status_code == 200


def test_allowed_hosts_extend_the_loopback_names() -> None:
    config = EmulatorConfig.from_mapping({"allowed_hosts": ["emulator.test"]})
    with Emulator(config) as emu, httpx2.Client(base_url=emu.url) as http:
        assert http.get("/_emulator/health", headers={"host": "emulator.test:1"}).status_code == 200
        assert http.get("/_emulator/health", headers={"host": "other.test"}).status_code == 403


@pytest.mark.parametrize("hosts", [["http://x"], ["a:80"], "x", [1]])
def test_allowed_hosts_are_validated(hosts: object) -> None:
    with pytest.raises(ValueError, match="allowed_hosts"):
        EmulatorConfig.from_mapping({"allowed_hosts": hosts})


# --- one body limit -----------------------------------------------------------------------------


@pytest.fixture
def small_limit(emulator: Emulator) -> Emulator:
    emulator.configure(max_body_bytes=4096)
    return emulator


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_emulator/faults"),
        ("PATCH", "/_emulator/config"),
        ("POST", "/_emulator/scripts"),
        ("POST", "/anthropic/v1/messages"),
    ],
)
def test_every_route_refuses_a_body_over_the_limit(
    small_limit: Emulator, method: str, path: str
) -> None:
    body = b'{"x": "' + b"a" * 8192 + b'"}'
    with httpx2.Client(base_url=small_limit.url) as http:
        response = http.request(
            method,
            path,
            content=body,
            headers={"content-type": "application/json", "api-key": small_limit.api_key},
        )
    assert response.status_code == 413


def test_entra_control_routes_share_the_limit() -> None:
    config = EmulatorConfig.from_mapping({"max_body_bytes": 4096, "entra": {"enabled": True}})
    with Emulator(config) as emu:
        # A declared length over the limit is refused before the body is read.
        with socket.create_connection(("127.0.0.1", emu.port)) as sock:
            sock.sendall(
                b"POST /_emulator/entra/token HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                b"content-type: application/json\r\ncontent-length: 209715200\r\n\r\n"
            )
            sock.settimeout(5)
            head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 413")
        with httpx2.Client(base_url=emu.url) as http:
            streamed = http.post(
                "/_emulator/entra/token",
                content=iter([b'{"scope": "', b"a" * 8192, b'"}']),
                headers={"content-type": "application/json"},
            )
            minted = http.post("/_emulator/entra/token", json={"lifetime_s": 60})
        assert streamed.status_code == 413
        assert minted.status_code == 200
