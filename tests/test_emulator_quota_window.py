"""The quota minute is set from TOML and from ``claude-foundry emulator --quota-window``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from claude_foundry import AnthropicFoundry, RateLimitError
from claude_foundry.emulator import Emulator, EmulatorConfig, EmulatorConfigError

KEY = "window-key"
MESSAGES = [{"role": "user", "content": "Hello"}]


def test_toml_sets_the_quota_window(tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text('quota_window_s = 7.5\n[[deployments]]\nname = "d"\nquotas = { rpm = 1 }\n')
    config = EmulatorConfig.load(path)
    assert config.quota_window_s == 7.5
    assert config.to_dict()["quota_window_s"] == 7.5
    with Emulator(config, api_key=KEY) as emulator:
        assert emulator.state.quota.window_s == 7.5
        client = AnthropicFoundry(api_key=KEY, base_url=emulator.base_url, max_retries=0)
        client.messages.create(model="d", max_tokens=8, messages=MESSAGES)
        with pytest.raises(RateLimitError) as caught:
            client.messages.create(model="d", max_tokens=8, messages=MESSAGES)
        # The wait the service asks for is within the short window, not a whole minute.
        assert 0 < float(caught.value.response.headers["retry-after-ms"]) <= 7_500
        emulator.reset()
        assert emulator.state.quota.window_s == 7.5


@pytest.mark.parametrize("value", [0, -1, "ten", 10_000, True])
def test_a_bad_quota_window_is_a_clear_error(value: object) -> None:
    with pytest.raises(EmulatorConfigError, match="quota_window_s must be a number of seconds"):
        EmulatorConfig.from_mapping({"quota_window_s": value})


def test_cli_flag_sets_the_quota_window() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")}
    command = [sys.executable, "-m", "claude_foundry.cli", "emulator", "--api-key", KEY]
    process = subprocess.Popen(
        [*command, "--quota-window", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split(": ", 1)[1].strip()
        import json
        import urllib.request

        config_url = base_url.split("/anthropic")[0] + "/_emulator/config"
        with urllib.request.urlopen(config_url, timeout=10) as reply:
            assert json.load(reply)["quota_window_s"] == 4.0
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    bad = subprocess.run(
        [*command, "--quota-window", "0"], capture_output=True, text=True, env=env, timeout=60
    )
    assert bad.returncode == 2
    assert "--quota-window must be a number of seconds" in bad.stderr
