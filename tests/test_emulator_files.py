"""Files named by a configuration or the control API: regular files only, bounded, never a hang."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx2
import pytest

from claude_foundry.emulator import Emulator, EmulatorConfig, EmulatorConfigError
from claude_foundry.emulator.files import UnreadableFile, read_regular_file
from claude_foundry.emulator.scripts import ScriptBook

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "replies.toml"
    os.mkfifo(path)
    return path


@needs_fifo
def test_a_fifo_is_refused_at_once(fifo: Path) -> None:
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_regular_file(fifo, what="script file")
    with pytest.raises(ValueError, match="not a regular file"):
        ScriptBook().load(fifo)


@needs_dev_zero
def test_dev_zero_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_regular_file("/dev/zero", what="script file")


def test_a_directory_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_regular_file(tmp_path, what="script file")
    with pytest.raises(UnreadableFile, match="does not exist"):
        read_regular_file(tmp_path / "nope.toml", what="script file")


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 2048)
    with pytest.raises(UnreadableFile, match="larger than 1024 bytes"):
        read_regular_file(big, what="script file", limit=1024)
    assert read_regular_file(big, what="script file", limit=4096) == b"#" * 2048


@needs_fifo
def test_the_config_file_and_its_scripts_must_be_regular_files(tmp_path: Path, fifo: Path) -> None:
    with pytest.raises(EmulatorConfigError, match="not a regular file"):
        EmulatorConfig.load(fifo)
    config = tmp_path / "emulator.toml"
    config.write_text(f'scripts = ["{fifo.name}"]\n')
    with pytest.raises(EmulatorConfigError, match="not a regular file"):
        Emulator(EmulatorConfig.load(config))


@needs_fifo
@needs_dev_zero
@pytest.mark.parametrize("name", ["fifo", "/dev/zero"])
def test_control_api_answers_400_and_keeps_serving(
    emulator: Emulator, fifo: Path, name: str
) -> None:
    path = str(fifo) if name == "fifo" else name
    with httpx2.Client(base_url=emulator.url, timeout=10) as http:
        response = http.post("/_emulator/scripts", json={"path": path})
        assert response.status_code == 400
        assert "not a regular file" in response.json()["error"]["message"]
        assert http.get("/_emulator/health").status_code == 200
    assert emulator.state.scripts.rules() == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_file_names_the_reason(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    secret = tmp_path / "secret.toml"
    secret.write_text("")
    secret.chmod(0)
    with pytest.raises(UnreadableFile, match="Permission denied"):
        read_regular_file(secret, what="script file")
