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
from click.testing import CliRunner, Result

from claude_foundry.batches import open_store
from claude_foundry.cli import main
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


def test_refused_credentials_stop_the_run_without_writing_results(
    emulator: Emulator, tmp_path: Path
) -> None:
    # A wrong key is the run's problem, not each request's: no errored line is written for it,
    # so the same command resumes once the key is fixed.
    requests = tmp_path / "requests.jsonl"
    output = tmp_path / "results.jsonl"
    ids = write_requests(requests, 6)
    env = {**cli_env(emulator), "ANTHROPIC_FOUNDRY_API_KEY": "sk-wrong-key-4711"}
    denied = subprocess.run(
        [*CLI, "batch", "run", str(requests), "--output", str(output), "--progress", "off"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert denied.returncode == 2, denied.stderr
    assert "refused the credentials" in denied.stderr
    assert "sk-wrong-key-4711" not in denied.stderr + denied.stdout
    assert not output.exists() or output.read_text() == ""
    fixed = run_cli(emulator, "batch", "run", str(requests), "--output", str(output))
    assert fixed.returncode == 0, fixed.stderr
    lines = result_lines(output)
    assert sorted(str(line["custom_id"]) for line in lines) == sorted(ids)
    assert {line["result"]["type"] for line in lines} == {"succeeded"}  # type: ignore[index]


def one_line_error(result: Result) -> str:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ")
    return line


def test_an_unknown_batch_id_is_a_usage_error_for_cancel_status_and_worker(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store.sqlite"
    with open_store(store) as opened:
        opened.create_batch(
            "msgbatch_known", [], input_sha256="x", created_at=1.0, expires_at=2.0, label="L"
        )
    env = {"ANTHROPIC_FOUNDRY_API_KEY": "", "ANTHROPIC_FOUNDRY_BASE_URL": ""}
    commands = {
        "cancel": ["batch", "cancel", "msgbatch_nope", "--store", str(store)],
        "status --batch-id": ["batch", "status", "--store", str(store), "--batch-id",
                              "msgbatch_nope"],
        "status ID": ["batch", "status", "msgbatch_nope", "--store", str(store)],
        "worker --batch-id": ["batch", "worker", "--store", str(store), "--batch-id",
                              "msgbatch_nope", "--progress", "off"],
    }  # fmt: skip
    for name, args in commands.items():
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 2, (name, result.output)
        line = one_line_error(result)
        assert f"no batch 'msgbatch_nope' in the batch store {store}" in line, name
        assert f"`claude-foundry batch status --store {store}` lists the batches" in line, name
    # the known one answers, by id as cancel takes it
    known = CliRunner().invoke(main, ["batch", "status", "msgbatch_known", "--store", str(store)])
    assert known.exit_code == 0, known.output
    assert known.stdout.startswith("msgbatch_known  ended")


def test_status_of_a_store_without_the_batch_says_what_to_give(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    open_store(store).close()
    empty = CliRunner().invoke(main, ["batch", "status", "--store", str(store)])
    assert empty.exit_code == 2, empty.output
    assert "no batch in the batch store" in one_line_error(empty)
    output = tmp_path / "results.jsonl"
    other = CliRunner().invoke(main, ["batch", "status", str(output), "--store", str(store)])
    assert other.exit_code == 2, other.output
    assert f"no batch writes {output}" in one_line_error(other)
