"""``claude-foundry deployments``: the catalogue as a table and as JSON, each deployment probed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_foundry.cli import main
from claude_foundry.emulator import Emulator


def _catalogue(tmp_path: Path, emulator: Emulator, deployment: str = "claude-haiku-4-5") -> Path:
    path = tmp_path / "deployments.toml"
    path.write_text(
        f"""
[pools.haiku]
rpm = 80
input_tpm = 80000
output_tpm = 16000

[[deployments]]
name = "local"
base_url = "{emulator.base_url}"
deployment = "{deployment}"
model = "claude-haiku-4-5"
api_key_env = "LOCAL_KEY"
hosting = "azure"
pool = "haiku"
region = "local"

[[routes]]
name = "haiku"
deployments = ["local"]
"""
    )
    return path


def test_json_report(tmp_path: Path, emulator: Emulator) -> None:
    path = _catalogue(tmp_path, emulator)
    result = CliRunner().invoke(
        main, ["deployments", "--catalogue", str(path), "--json"], env={"LOCAL_KEY": "test-key"}
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (row,) = report["deployments"]
    assert row["probe"]["status"] in ("ok", "warn")
    assert "structured_outputs" in row["unavailable_features"]
    assert row["credential"] == "LOCAL_KEY"
    assert "test-key" not in result.output
    assert report["pools"][0]["configured"]["rpm"] == 80
    assert report["routes"] == [{"name": "haiku", "strategy": "ordered", "deployments": ["local"]}]


def test_table_and_a_failing_probe(tmp_path: Path, emulator: Emulator) -> None:
    path = _catalogue(tmp_path, emulator, deployment="no-such-deployment")
    result = CliRunner().invoke(
        main, ["deployments", "--catalogue", str(path)], env={"LOCAL_KEY": "test-key"}
    )
    assert result.exit_code == 1
    assert "local" in result.output
    assert "fail" in result.output
    # The doctor's detail and fix in full, below the table, however narrow the terminal.
    assert "local: fail no deployment named 'no-such-deployment'" in result.output
    assert "  fix: " in result.output
    assert "local refuse: agent_skills, code_execution" in result.output


def test_without_a_catalogue_says_how_to_name_one() -> None:
    result = CliRunner().invoke(main, ["deployments"], env={"CLAUDE_FOUNDRY_CATALOGUE": ""})
    assert result.exit_code == 2
    assert "--catalogue" in result.output


@pytest.mark.parametrize("content", ["not toml [", "[[deployments]]\nname = 'x'\n"])
def test_a_bad_catalogue_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    result = CliRunner().invoke(main, ["deployments", "--catalogue", str(path), "--no-probe"])
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "Traceback" not in result.output
