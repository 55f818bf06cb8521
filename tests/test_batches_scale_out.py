"""Several worker processes drain one batch through PostgreSQL; one is killed mid-run."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

from batch_stores import postgres_database
from claude_foundry.batches import open_store
from claude_foundry.emulator import Emulator
from stores import require_redis
from test_batches_cli import CLI, cli_env, result_lines, write_requests


def test_three_workers_one_killed_finish_with_no_duplicate(
    emulator: Emulator, tmp_path: Path
) -> None:
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    ids = write_requests(requests, 120)
    emulator.add_fault(kind="latency", delay_ms=40, count=None)
    env = cli_env(emulator)
    prefix = f"cftest:batches:{uuid.uuid4().hex[:12]}:"
    redis_url = require_redis()
    # the workers share one quota through Redis, as workers on several hosts would
    common = ["--lease", "3s", "--max-concurrency", "3", "--rpm", "100000",
              "--quota-redis", redis_url, "--quota-prefix", prefix]  # fmt: skip
    with postgres_database() as url:
        coordinator = subprocess.Popen(
            [*CLI, "batch", "run", str(requests), "-o", str(output), "--store", url,
             "--progress", "off", *common],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        with open_store(url) as store:
            while store.find_batch(str(output.resolve())) is None:
                assert time.monotonic() < deadline, "the batch was never created"
                assert coordinator.poll() is None, coordinator.communicate()
                time.sleep(0.1)
            workers = [
                subprocess.Popen(
                    [*CLI, "batch", "worker", "--store", url, "--progress", "off", *common],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            time.sleep(1.5)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            _, coordinator_err = coordinator.communicate(timeout=90)
            assert coordinator.returncode == 0, coordinator_err
            _, survivor_err = workers[1].communicate(timeout=30)
            assert workers[1].returncode == 0, survivor_err
            record = store.find_batch(str(output.resolve()))
            assert record is not None
            assert record.processing_status == "ended"
            assert record.counts == {"succeeded": 120}
            stored = list(store.results(record.id))
    lines = result_lines(output)
    assert len(lines) == 120
    assert {line["custom_id"] for line in lines} == ids
    assert sorted(cid for cid, _ in stored) == sorted(ids)
    import redis

    shared = redis.Redis.from_url(redis_url)
    keys = list(shared.scan_iter(match=prefix + "*"))
    assert keys, "the workers did not share the quota through Redis"
    shared.delete(*keys)
    recorded = int(survivor_err.rsplit("this worker recorded ", 1)[1].split()[0])
    assert 0 < recorded < 120  # it shared the work
