"""The emulator as a server: life cycle, concurrency, crashes, the CLI and the official SDK."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import anthropic
import httpx2
import pytest
from click.testing import CliRunner

from claude_foundry.cli import main
from claude_foundry.cli.emulator import key_hint, sample_deployment
from claude_foundry.emulator import Emulator, EmulatorConfig, EmulatorConfigError
from claude_foundry.emulator.server import is_loopback

MODEL = "claude-haiku-4-5"
HELLO = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hello!"}]}


def test_start_stop_and_addresses() -> None:
    emulator = Emulator(api_key="k")
    assert "not started" in repr(emulator)
    with emulator as emu:
        assert emu.port > 0
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        assert emu.base_url == f"http://127.0.0.1:{emu.port}/anthropic/"
        assert emu.api_key == "k"
        assert httpx2.get(f"{emu.url}/_emulator/health").status_code == 200
        with pytest.raises(RuntimeError, match="already running"):
            emu.start()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{emulator.url}/_emulator/health")
    emulator.stop()  # twice is fine


def test_two_emulators_side_by_side() -> None:
    with Emulator(api_key="a") as first, Emulator(api_key="b") as second:
        assert first.port != second.port
        first.add_fault(kind="status", status=500)
        ok = httpx2.post(f"{second.base_url}v1/messages", headers={"api-key": "b"}, json=HELLO)
        assert ok.status_code == 200
        assert first.faults()[0]["hits"] == 0


def test_busy_port_is_a_clear_error(emulator: Emulator) -> None:
    with pytest.raises(OSError, match=str(emulator.port)):
        Emulator(port=emulator.port).start()


def test_ipv6_loopback() -> None:
    try:
        emulator = Emulator(api_key="k", host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert emulator.base_url.startswith("http://[::1]:")
        response = httpx2.post(
            f"{emulator.base_url}v1/messages", headers={"api-key": "k"}, json=HELLO
        )
        assert response.status_code == 200
    finally:
        emulator.stop()


def test_non_loopback_needs_allow_remote() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("localhost")
    assert is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("example.com")
    with pytest.raises(EmulatorConfigError, match="allow_remote"):
        Emulator(host="0.0.0.0")
    Emulator(host="0.0.0.0", allow_remote=True)  # constructed, not started


def test_unexpected_error_is_an_anthropic_500_without_traceback(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(emulator.state.responder, "reply", broken)
    response = httpx2.post(
        f"{emulator.base_url}v1/messages", headers={"api-key": emulator.api_key}, json=HELLO
    )
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == {"type": "api_error", "message": "Internal server error"}
    assert body["request_id"] == response.headers["request-id"]
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert emulator.journal()[-1].status == 500


async def test_many_concurrent_paced_streams(emulator: Emulator) -> None:
    emulator.configure(stream_event_delay_ms=20)
    streams = 200
    limits = httpx2.Limits(max_connections=streams)
    async with httpx2.AsyncClient(base_url=emulator.base_url, limits=limits, timeout=30) as client:

        async def first_event() -> bytes:
            async with client.stream(
                "POST",
                "v1/messages",
                headers={"api-key": emulator.api_key},
                json={**HELLO, "stream": True},
            ) as response:
                async for chunk in response.aiter_bytes():
                    return chunk
            return b""

        firsts = await asyncio.gather(*(first_event() for _ in range(streams)))
    assert all(chunk.startswith(b"event: message_start") for chunk in firsts)
    health = httpx2.get(f"{emulator.url}/_emulator/health")
    assert health.status_code == 200


async def test_async_client_full_streams(emulator: Emulator) -> None:
    async with httpx2.AsyncClient(base_url=emulator.base_url, timeout=30) as client:

        async def one() -> str:
            response = await client.post(
                "v1/messages",
                headers={"api-key": emulator.api_key},
                json={**HELLO, "stream": True},
            )
            return response.text

        texts = await asyncio.gather(*(one() for _ in range(50)))
    assert all(text.rstrip().endswith('data: {"type":"message_stop"}') for text in texts)


# --- the official SDK ---------------------------------------------------------------------------


def test_official_client_create_stream_and_count(emulator: Emulator) -> None:
    client = anthropic.AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        message = client.messages.create(**HELLO)  # type: ignore[call-overload]
        assert message.content[0].text.startswith('You said: "Hello!"')
        assert message.model == MODEL
        with client.messages.stream(**HELLO) as stream:  # type: ignore[arg-type]
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text == message.content[0].text == final.content[0].text
        assert stream.request_id
        assert stream.request_id.startswith("req_")
        counted = client.messages.count_tokens(model=MODEL, messages=HELLO["messages"])  # type: ignore[arg-type]
        assert counted.input_tokens == message.usage.input_tokens
        with pytest.raises(anthropic.NotFoundError):
            client.messages.create(**{**HELLO, "model": "nope"})  # type: ignore[call-overload]
        bad = anthropic.AnthropicFoundry(api_key="wrong", base_url=emulator.base_url)
        with pytest.raises(anthropic.AuthenticationError):
            bad.messages.create(**HELLO)  # type: ignore[call-overload]
        with pytest.raises(anthropic.NotFoundError):
            client.beta.models.list()
    headers = emulator.journal()[0].headers
    assert headers["x-api-key"] == headers["api-key"] == "[redacted]"


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_starts_serves_and_stops(tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text(
        '[[deployments]]\nname = "team-sonnet"\nmodel = "claude-sonnet-4-6"\n', "utf-8"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from claude_foundry.cli import main; main()",
            "emulator",
            "--api-key",
            "cli-secret-key",
            "--config",
            str(config),
            "--strict",
            "--stream-delay-ms",
            "1",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Claude in Foundry emulator: http://127.0.0.1:")
        base_url = first.split(": ", 1)[1].strip()
        hint = process.stdout.readline()
        assert "cli-secret-key" not in hint
        assert "14 characters" in hint
        response = httpx2.post(
            f"{base_url}v1/messages",
            headers={"api-key": "cli-secret-key"},
            json={**HELLO, "model": "team-sonnet"},
        )
        assert response.status_code == 200
        config_seen = httpx2.get(base_url.replace("/anthropic/", "/_emulator/config")).json()
        assert config_seen["strict"] is True
        assert config_seen["stream_event_delay_ms"] == 1
        assert config_seen["seed"] == 3
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--host", "0.0.0.0"], "allow-remote"),
        (["--config", "/definitely/missing.toml"], "does not exist"),
        (["--port", "70000"], "70000"),
        (["--stream-delay-ms", "-1"], "-1"),
        (["--stream-delay-ms", "1e9"], "from 0 to 60000"),
    ],
)
def test_cli_refuses_bad_arguments(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, ["emulator", *args])
    assert result.exit_code == 2
    assert fragment in result.output


def test_key_hint_masks_given_keys() -> None:
    assert "emulator-key" in key_hint("emulator-key", well_known=True)
    assert "abcdefghijkl" not in key_hint("abcdefghijkl", well_known=False)
    assert "short" not in key_hint("short", well_known=False)


def test_the_printed_example_calls_a_deployment_that_can_answer() -> None:
    preset = EmulatorConfig.from_mapping({"quota_preset": "pay-as-you-go"})
    assert sample_deployment(preset.deployments) == "claude-sonnet-4-6"
    declared = EmulatorConfig.from_mapping(
        {"deployments": [{"name": "chat", "model": "claude-haiku-4-5"}]}
    )
    assert sample_deployment(declared.deployments) == "chat"
    starved = EmulatorConfig.from_mapping(
        {"deployments": [{"name": "chat", "model": "claude-haiku-4-5", "quotas": {"rpm": 0}}]}
    )
    assert sample_deployment(starved.deployments) == "claude-sonnet-4-6"


def test_pytest_plugin_fixture(foundry_emulator: Emulator) -> None:
    # Registered through the `pytest11` entry point; reset like the suite's own fixture.
    assert foundry_emulator.api_key == "test-key"
    assert foundry_emulator.journal() == []
    response = httpx2.post(
        f"{foundry_emulator.base_url}v1/messages", headers={"api-key": "test-key"}, json=HELLO
    )
    assert response.status_code == 200


def test_remote_emulator_guards_its_control_api() -> None:
    with Emulator(api_key="k", host="0.0.0.0", allow_remote=True) as emu:
        url = f"http://127.0.0.1:{emu.port}"
        assert httpx2.get(f"{url}/_emulator/health").status_code == 401
        assert httpx2.get(f"{url}/_emulator/health", headers={"api-key": "k"}).status_code == 200
        response = httpx2.post(
            f"{url}/anthropic/v1/messages", headers={"x-api-key": "k"}, json=HELLO
        )
        assert response.status_code == 200


def test_remote_emulator_guards_its_entra_routes_but_not_the_managed_identity() -> None:
    config = EmulatorConfig.from_mapping({"api_key": "k", "entra": {"enabled": True}})
    with Emulator(config, host="0.0.0.0", allow_remote=True) as emu:
        url = f"http://127.0.0.1:{emu.port}/_emulator/entra"
        assert httpx2.post(f"{url}/token", json={}).status_code == 401
        assert httpx2.get(f"{url}/principals").status_code == 401
        refused = httpx2.patch(f"{url}/principals/emulator-identity", json={"roles": []})
        assert refused.status_code == 401
        assert httpx2.post(f"{url}/token", json={}, headers={"api-key": "k"}).status_code == 200
        assert emu.state.entra is not None
        identity = emu.state.entra.managed_identity_environment(emu.url)
        msi = httpx2.get(
            f"{url}/msi/token",
            params={"api-version": "2019-08-01", "resource": "https://ai.azure.com"},
            headers={"X-IDENTITY-HEADER": identity["IDENTITY_HEADER"]},
        )
        assert msi.status_code == 200
        assert msi.json()["access_token"]


@pytest.mark.parametrize("slow", ["paced", "latency"])
def test_stop_ends_open_requests_quietly(slow: str, caplog: pytest.LogCaptureFixture) -> None:
    emulator = Emulator(api_key="k").start()
    if slow == "paced":
        emulator.configure(stream_event_delay_ms=10_000)
    else:
        emulator.add_fault(kind="latency", delay_ms=60_000)
    errors: list[BaseException] = []
    opened = threading.Event()

    def client() -> None:
        try:
            with httpx2.stream(
                "POST",
                f"{emulator.base_url}v1/messages",
                headers={"api-key": "k"},
                json={**HELLO, "stream": True},
                timeout=30,
            ) as response:
                opened.set()
                for _ in response.iter_bytes():
                    pass
        except httpx2.HTTPError as exc:
            errors.append(exc)
        finally:
            opened.set()

    thread = threading.Thread(target=client)
    thread.start()
    if slow == "paced":
        assert opened.wait(10)
    else:
        while not emulator.faults()[0]["hits"]:
            time.sleep(0.01)
    with caplog.at_level(logging.WARNING):
        emulator.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]
