from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_foundry.cli import main
from claude_foundry.emulator import Emulator


@pytest.fixture(autouse=True)
def no_foundry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_FOUNDRY_"):
            monkeypatch.delenv(name)


def test_without_settings_uses_the_embedded_emulator() -> None:
    result = CliRunner().invoke(main, ["chat", "Hello!"])
    assert result.exit_code == 0, result.output
    assert 'You said: "Hello!"' in result.stdout
    assert "embedded emulator" in result.stderr
    assert "usage: " in result.stderr
    assert "request-id: req_" in result.stderr
    assert "apim-request-id: " in result.stderr
    assert "usage" not in result.stdout


def test_stream_against_configured_endpoint(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", emulator.api_key)
    args = ["chat", "--stream", "--system", "Be brief.", "--max-tokens", "64", "Hi there"]
    result = CliRunner().invoke(main, [*args, "--base-url", emulator.base_url])
    assert result.exit_code == 0, result.output
    assert "embedded emulator" not in result.stderr
    assert 'You said: "Hi there"' in result.stdout
    (entry,) = emulator.journal()
    assert entry.stream is True
    assert entry.body["system"] == "Be brief."
    assert entry.body["max_tokens"] == 64
    assert entry.request_id in result.stderr
    assert entry.apim_request_id in result.stderr


def test_service_error_prints_message_and_hint(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", emulator.api_key)
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_BASE_URL", emulator.base_url)
    result = CliRunner().invoke(main, ["chat", "--model", "no-such-deployment", "Hi"])
    assert result.exit_code == 1
    assert "404" in result.stderr
    assert "Hint: " in result.stderr
    assert "Traceback" not in result.output


def test_mid_stream_error_exits_non_zero(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.add_fault(kind="stream_error", after_events=5, event_delay_ms=20)
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", emulator.api_key)
    result = CliRunner().invoke(main, ["chat", "--stream", "--base-url", emulator.base_url, "Hi"])
    assert result.exit_code == 1
    assert "overloaded_error" in result.stderr
    assert "Hint: " in result.stderr


def test_configuration_error_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", "some-key")
    result = CliRunner().invoke(main, ["chat", "Hi"])
    assert result.exit_code == 2
    assert "resource" in result.stderr
    assert "some-key" not in result.output
    assert "Traceback" not in result.output


def test_installed_script_runs() -> None:
    script = Path(sys.executable).with_name("claude-foundry")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_FOUNDRY_")}
    done = subprocess.run(
        [str(script), "chat", "--stream", "Hello!"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 'You said: "Hello!"' in done.stdout
    assert "embedded emulator" in done.stderr
    assert "apim-request-id" in done.stderr
