"""The command line ends every user mistake in one clear line, and says what it waits for."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from claude_foundry import ConfigurationError, NotFoundError
from claude_foundry.cli import main
from claude_foundry.cli._boundary import SetupError, UserError, describe_user_error
from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.resources.messages import NONSTREAMING_MAX_TOKENS

SECRET = "pr0xy-passw0rd"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "AZURE_", "IDENTITY_", "MSI_")) or name.lower() in (
            "https_proxy",
            "http_proxy",
            "all_proxy",
            "no_proxy",
        ):
            monkeypatch.delenv(name)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def assert_one_line_error(result: Result, exit_code: int) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error_lines) == 1, result.stderr
    return error_lines[0]


# --- the non-streaming guard ---------------------------------------------------------------------


def test_a_long_reply_is_streamed_instead_of_refused(emulator: Emulator) -> None:
    tokens = str(NONSTREAMING_MAX_TOKENS + 10_000)
    env = {"ANTHROPIC_FOUNDRY_API_KEY": emulator.api_key}
    result = run("chat", "--max-tokens", tokens, "--base-url", emulator.base_url, "hi", env=env)
    assert result.exit_code == 0, result.output
    assert 'You said: "hi"' in result.stdout
    assert "streaming the reply" in result.stderr
    (entry,) = emulator.journal()
    assert entry.stream is True
    assert entry.body["max_tokens"] == int(tokens)


def test_a_long_reply_with_an_explicit_timeout_is_not_streamed(emulator: Emulator) -> None:
    tokens = str(NONSTREAMING_MAX_TOKENS + 10_000)
    env = {"ANTHROPIC_FOUNDRY_API_KEY": emulator.api_key}
    result = run(
        "chat", "--max-tokens", tokens, "--timeout", "30", "--base-url", emulator.base_url, "hi",
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (entry,) = emulator.journal()
    assert entry.stream is False


def test_the_embedded_emulator_streams_a_long_reply_too() -> None:
    result = run("chat", "--max-tokens", "32000", "hi")
    assert result.exit_code == 0, result.output
    assert 'You said: "hi"' in result.stdout


# --- mistakes in the environment -----------------------------------------------------------------


@pytest.mark.parametrize(
    "proxy", [f"socks9://user:{SECRET}@proxy.example:1080", f"ftp://user:{SECRET}@proxy:21"]
)
def test_a_malformed_proxy_is_one_line_that_names_the_variable(proxy: str) -> None:
    env = {
        "ANTHROPIC_FOUNDRY_API_KEY": "some-key",
        "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
        "HTTPS_PROXY": proxy,
    }
    line = assert_one_line_error(run("chat", "hi", env=env), 2)
    assert "HTTPS_PROXY" in line
    assert "http://host:port" in line
    assert SECRET not in line


@pytest.mark.parametrize("proxy", ["http://[::1", f"http://user:{SECRET}@proxy.example:::"])
@pytest.mark.parametrize("settings", ["azure", "embedded emulator"])
def test_a_proxy_url_that_does_not_parse_is_one_line_too(proxy: str, settings: str) -> None:
    env = {"HTTPS_PROXY": proxy}
    if settings == "azure":
        env |= {"ANTHROPIC_FOUNDRY_API_KEY": "some-key", "ANTHROPIC_FOUNDRY_RESOURCE": "res-1"}
    line = assert_one_line_error(run("chat", "hi", env=env), 2)
    assert "HTTPS_PROXY" in line
    assert SECRET not in line


@pytest.mark.parametrize("key", ["kéy-0123456789", "key\x01-0123456789"])
def test_a_key_no_header_can_carry_is_one_line_without_the_key(key: str) -> None:
    env = {"ANTHROPIC_FOUNDRY_API_KEY": key, "ANTHROPIC_FOUNDRY_RESOURCE": "res-1"}
    line = assert_one_line_error(run("chat", "hi", env=env), 2)
    assert "ANTHROPIC_FOUNDRY_API_KEY holds a" in line
    assert "0123456789" not in line


def test_the_doctor_fails_a_key_no_header_can_carry() -> None:
    env = {"ANTHROPIC_FOUNDRY_API_KEY": "kéy-0123456789"}
    result = run("doctor", "--resource", "example-resource", "--json", env=env)
    assert result.exit_code == 1, result.output
    assert "non-ASCII character at position 2" in result.stdout
    assert "0123456789" not in result.stdout


def test_the_doctor_does_not_garble_its_report_around_a_placeholder_key() -> None:
    env = {"ANTHROPIC_FOUNDRY_API_KEY": "k"}
    result = run("doctor", "--resource", "example-resource", "--json", env=env)
    assert "skipped" in result.stdout
    assert "s[redacted]ipped" not in result.stdout


def test_the_doctor_reports_a_malformed_proxy_as_a_failed_check() -> None:
    env = {"ANTHROPIC_FOUNDRY_API_KEY": "some-key", "HTTPS_PROXY": f"socks9://u:{SECRET}@p:1"}
    result = run("doctor", "--resource", "example-resource", "--json", env=env)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    assert '"fail"' in result.stdout
    assert "HTTPS_PROXY" in result.stdout


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "1e20", "abc"])
def test_a_bad_timeout_is_a_usage_error(timeout: str) -> None:
    # inf and 1e20 passed the option's range and raised OverflowError in the socket.
    result = run("chat", "--timeout", timeout, "hi")
    assert_one_line_error(result, 2)
    assert "timeout" in result.stderr


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e20"])
def test_a_doctor_timeout_no_socket_takes_is_one_line(timeout: str) -> None:
    # They passed the option's range; inf and 1e20 raised OverflowError in the dns probe.
    env = {"ANTHROPIC_FOUNDRY_API_KEY": "some-key"}
    result = run("doctor", "--resource", "res-1", "--timeout", timeout, "--json", env=env)
    assert "timeout must be" in assert_one_line_error(result, 2)


# --- Microsoft Entra ID and timeouts -------------------------------------------------------------


@pytest.fixture(scope="module")
def entra_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig.from_mapping(
        {"entra": {"enabled": True, "principals": [{"name": "app", "roles": ["Foundry User"]}]}}
    )
    with Emulator(config) as emulator:
        yield emulator


def test_entra_signs_in_with_default_azure_credential(entra_emulator: Emulator) -> None:
    directory = entra_emulator.state.entra
    assert directory is not None
    env = dict(directory.managed_identity_environment(entra_emulator.url))
    served = directory.managed_identity.requests_served
    result = run("chat", "--entra", "--base-url", entra_emulator.base_url, "hi", env=env)
    assert result.exit_code == 0, result.output
    assert 'You said: "hi"' in result.stdout
    assert directory.managed_identity.requests_served == served + 1
    headers = entra_emulator.journal()[-1].headers
    assert "authorization" in headers
    assert "x-api-key" not in headers


def test_entra_without_an_endpoint_says_what_to_pass() -> None:
    line = assert_one_line_error(run("chat", "--entra", "hi"), 2)
    assert "--resource" in line


def test_a_timeout_ends_a_slow_call_with_a_clear_error(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", delay_ms=3000, count=5)
    env = {"ANTHROPIC_FOUNDRY_API_KEY": emulator.api_key}
    result = run("chat", "--timeout", "0.3", "--base-url", emulator.base_url, "hi", env=env)
    line = assert_one_line_error(result, 1)
    assert "time" in line.lower()


# --- what it says while it waits -----------------------------------------------------------------


def test_each_retry_is_named_with_its_reason(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=529, count=1, retry_after=0)
    env = {"ANTHROPIC_FOUNDRY_API_KEY": emulator.api_key}
    result = run("chat", "--base-url", emulator.base_url, "hi", env=env)
    assert result.exit_code == 0, result.output
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(retries) == 1, result.stderr
    assert "OverloadedError" in retries[0]
    assert "attempt 2" in retries[0]
    assert "retrying" not in result.stdout
    assert "waiting for" not in result.stderr  # no spinner when stderr is not a terminal


def _chat_with_stderr_on_a_terminal(*args: str, env: dict[str, str]) -> tuple[str, str]:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "claude_foundry.cli", "chat", *args],
            stdout=subprocess.PIPE,
            stderr=terminal,
            env={**os.environ, **env, "TERM": "xterm"},
            timeout=60,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0
    return done.stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_spinner_and_the_reply_stays_clean(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", delay_ms=400, count=1)
    env = {
        "ANTHROPIC_FOUNDRY_API_KEY": emulator.api_key,
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    stdout, stderr = _chat_with_stderr_on_a_terminal("--base-url", emulator.base_url, "hi", env=env)
    assert "waiting for" in stderr
    assert stdout.strip().startswith('You said: "hi"')
    assert "waiting" not in stdout


# --- the boundary, as a unit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConfigurationError("bad base_url"), SetupError),
        (ValueError("Unknown scheme for proxy URL"), SetupError),
        (FileNotFoundError(2, "No such file", "x.toml"), UserError),
        (ModuleNotFoundError("No module named 'azure'", name="azure"), SetupError),
    ],
)
def test_user_mistakes_become_one_line(exc: BaseException, kind: type[Any]) -> None:
    error = describe_user_error(exc)
    assert type(error) is kind
    assert "\n" not in error.message


def test_a_service_error_keeps_its_hint() -> None:
    body = {"type": "error", "error": {"type": "not_found_error", "message": "no deployment"}}
    error = describe_user_error(NotFoundError("no deployment", body=body, status_code=404))
    assert error is not None
    assert error.exit_code == 1


def test_a_bug_keeps_its_traceback() -> None:
    assert describe_user_error(RuntimeError("bug")) is None
    assert describe_user_error(ModuleNotFoundError("No module named 'x'", name="x")) is None


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    # `claude-foundry chat --stream ... | head -c 3`: the pipe closes while the reply is written
    # (events 50 ms apart, so the close comes before the rest of the reply).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_FOUNDRY_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    config = EmulatorConfig.from_mapping({"api_key": "pipe-key", "stream_event_delay_ms": 50})
    with Emulator(config) as emulator:
        env |= {
            "ANTHROPIC_FOUNDRY_API_KEY": "pipe-key",
            "ANTHROPIC_FOUNDRY_BASE_URL": emulator.base_url,
        }
        command = [sys.executable, "-m", "claude_foundry.cli", "chat", "--stream", "hello " * 20]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            assert process.stdout.read(3)
            process.stdout.close()
            errors = process.stderr.read().decode()
            assert process.wait(timeout=60) == 0, errors
    assert "Error" not in errors
    assert "Traceback" not in errors
