"""``claude-foundry batch``: runs in a subprocess against the emulator, killed with SIGKILL at
random moments and resumed, with exactly one result line per custom_id at the end."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claude_foundry.emulator import Emulator

CLI = [sys.executable, "-c", "from claude_foundry.cli import main; main()"]


def write_requests(path: Path, count: int, *, tag: str = "") -> set[str]:
    ids = set()
    with path.open("w") as file:
        for i in range(count):
            custom_id = f"req-{i}"
            ids.add(custom_id)
            params = {
                "model": "claude-sonnet-5",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": f"question {i}{tag}"}],
            }
            file.write(json.dumps({"custom_id": custom_id, "params": params}) + "\n")
    return ids


def cli_env(emulator: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_FOUNDRY_")}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["ANTHROPIC_FOUNDRY_API_KEY"] = emulator.api_key
    env["ANTHROPIC_FOUNDRY_BASE_URL"] = emulator.base_url
    return env


def run_cli(
    emulator: Emulator, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=cli_env(emulator), capture_output=True, text=True, timeout=timeout
    )


def result_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.timeout(240)  # 20 process starts: slow on a busy machine
def test_kill_9_at_random_moments_then_resume_gives_one_line_per_custom_id(
    emulator: Emulator, tmp_path: Path
) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    ids = write_requests(requests, 200)
    emulator.add_fault(kind="latency", delay_ms=60, count=None)
    emulator.add_fault(kind="status", status=529, probability=0.05, count=None, retry_after=0)
    rng = random.Random(12)
    args = ["batch", "run", str(requests), "--output", str(output), "--progress", "off",
            "--lease", "30s", "--max-concurrency", "2"]  # fmt: skip
    kills = 0
    for _ in range(20):
        process = subprocess.Popen(
            [*CLI, *args], env=cli_env(emulator),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.3, 1.5))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    finished = run_cli(emulator, *args)
    assert finished.returncode == 0, finished.stderr
    lines = result_lines(output)
    assert len(lines) == len(ids)
    assert {line["custom_id"] for line in lines} == ids
    assert all(line["result"]["type"] == "succeeded" for line in lines)  # type: ignore[index]
    # at-least-once to the service: every request reached it, some perhaps twice
    sent = [entry for entry in emulator.journal() if entry.status == 200]
    assert len(sent) >= len(ids)
    assert kills >= 5  # a fast machine may finish before all 20


def test_rerun_of_a_finished_batch_changes_nothing_and_status_reports_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    ids = write_requests(requests, 5)
    first = run_cli(emulator, "batch", "run", str(requests), "-o", str(output))
    assert first.returncode == 0, first.stderr
    # piped: plain progress lines, not a live display
    assert "5/5 done (5 succeeded" in first.stderr
    before = output.read_bytes()
    second = run_cli(emulator, "batch", "run", str(requests), "-o", str(output))
    assert second.returncode == 0, second.stderr
    assert "resuming batch" in second.stderr
    assert output.read_bytes() == before
    assert {line["custom_id"] for line in result_lines(output)} == ids
    status = run_cli(emulator, "batch", "status", str(output))
    assert status.returncode == 0
    assert "ended  5/5 finished (5 succeeded, 0 errored" in status.stdout
    as_json = run_cli(emulator, "batch", "status", str(output), "--json")
    assert json.loads(as_json.stdout)["request_counts"]["succeeded"] == 5


def test_a_changed_input_refuses_to_resume(emulator: Emulator, tmp_path: Path) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    write_requests(requests, 3)
    assert run_cli(emulator, "batch", "run", str(requests), "-o", str(output)).returncode == 0
    write_requests(requests, 3, tag=" changed")
    again = run_cli(emulator, "batch", "run", str(requests), "-o", str(output))
    assert again.returncode == 2
    assert "has changed since batch" in again.stderr
    assert "Traceback" not in again.stderr


def test_bad_input_names_the_line_and_sends_nothing(emulator: Emulator, tmp_path: Path) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    write_requests(requests, 2)
    with requests.open("a") as file:
        file.write('{"custom_id": "req-0", "params": {}}\n')
    result = run_cli(emulator, "batch", "run", str(requests), "-o", str(output))
    assert result.returncode == 2
    assert "line 3: " in result.stderr
    assert "Traceback" not in result.stderr
    assert emulator.journal() == []
    assert not output.exists()
    assert not (tmp_path / "results.jsonl.batch.sqlite").exists()  # nothing was created


def test_existing_results_from_elsewhere_are_not_overwritten(
    emulator: Emulator, tmp_path: Path
) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    write_requests(requests, 2)
    output.write_text('{"custom_id": "x", "result": {"type": "canceled"}}\n')
    result = run_cli(emulator, "batch", "run", str(requests), "-o", str(output))
    assert result.returncode == 2
    assert "already holds results" in result.stderr


def test_ctrl_c_gives_the_requests_back_and_a_rerun_finishes(
    emulator: Emulator, tmp_path: Path
) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    ids = write_requests(requests, 60)
    emulator.add_fault(kind="latency", delay_ms=50, count=None)
    args = ["batch", "run", str(requests), "-o", str(output), "--max-concurrency", "2"]
    process = subprocess.Popen(
        [*CLI, *args], env=cli_env(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:  # wait until it has begun sending
        if line.startswith("batch msgbatch_"):
            break
    time.sleep(0.8)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    finished = run_cli(emulator, *args)
    assert finished.returncode == 0, finished.stderr
    assert sorted(line["custom_id"] for line in result_lines(output)) == sorted(ids)


def test_cancel_from_the_command_line_ends_the_run_with_canceled_lines(
    emulator: Emulator, tmp_path: Path
) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    ids = write_requests(requests, 40)
    emulator.add_fault(kind="latency", delay_ms=300, count=None)
    store = str(tmp_path / "results.jsonl.batch.sqlite")
    process = subprocess.Popen(
        [*CLI, "batch", "run", str(requests), "-o", str(output), "--max-concurrency", "1"],
        env=cli_env(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    batch_id = ""
    for line in process.stderr:
        if line.startswith("batch msgbatch_"):
            batch_id = line.split()[1].rstrip(":")
            break
    canceled = run_cli(emulator, "batch", "cancel", batch_id, "--store", store)
    assert canceled.returncode == 0, canceled.stderr
    assert f"{batch_id}  canceling" in canceled.stdout or f"{batch_id}  ended" in canceled.stdout
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    lines = result_lines(output)
    assert sorted(line["custom_id"] for line in lines) == sorted(ids)
    kinds = [line["result"]["type"] for line in lines]  # type: ignore[index]
    assert kinds.count("canceled") >= 10
    again = run_cli(emulator, "batch", "cancel", batch_id, "--store", store)
    assert again.returncode == 1
    assert "cannot cancel a batch that is ended" in again.stderr


def test_a_batch_created_through_the_api_is_processed_by_a_worker_process(
    emulator: Emulator, tmp_path: Path
) -> None:
    from claude_foundry.batches import AnthropicFoundry

    store = tmp_path / "shared.sqlite"
    client = AnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        batch_store=store,
        batch_processing="workers",
    )
    params = {
        "model": "claude-sonnet-5",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    }
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"w{i}", "params": params} for i in range(10)]
    )
    assert client.messages.batches.retrieve(batch.id).request_counts.processing == 10
    worker = run_cli(emulator, "batch", "worker", "--store", str(store), "--progress", "off")
    assert worker.returncode == 0, worker.stderr
    assert "this worker recorded 10" in worker.stderr
    final = client.messages.batches.retrieve(batch.id)
    assert final.processing_status == "ended"
    assert final.request_counts.succeeded == 10
    assert len(list(client.messages.batches.results(batch.id))) == 10
    client.close()


def test_without_foundry_settings_the_embedded_emulator_answers(tmp_path: Path) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    ids = write_requests(requests, 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_FOUNDRY_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run(
        [*CLI, "batch", "run", str(requests), "-o", str(output)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "using the embedded emulator" in done.stderr
    assert {line["custom_id"] for line in result_lines(output)} == ids


def test_entra_without_an_endpoint_is_a_settings_error(tmp_path: Path) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    write_requests(requests, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_FOUNDRY_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run(
        [*CLI, "batch", "run", str(requests), "-o", str(output), "--entra"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--entra needs a Foundry endpoint" in done.stderr
    assert "Traceback" not in done.stderr
