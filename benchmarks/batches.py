"""Batch runner benchmarks: throughput under a quota, and interactive latency beside a batch.

    python benchmarks/batches.py                       # 10,000 requests at 3,000 rpm (~3 min)
    python benchmarks/batches.py --requests 300 --rpm 600 --smoke

The emulator runs in its own process and enforces the same quota as the governor (a rolling
minute), so going over it would show as 429s.

* **throughput**: a batch through the governed runner (background share 1.0). Under a rolling
  window of ``rpm`` requests, ``N`` requests cannot finish before ``floor((N-1)/rpm)`` minutes;
  the row reports that bound over the time taken (1.0 = the whole quota used).
* **interactive**: one interactive call every 250 ms, its median latency on an idle pool and
  while a batch (``claude-foundry batch run`` in another process, sharing the quota through
  Redis) fills its background share (0.8).
* **kill-9**: ``claude-foundry batch run`` killed with SIGKILL at 20 random moments, then run
  again to the end: result lines, duplicates and missing ids.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from claude_foundry import AnthropicFoundry  # noqa: E402
from claude_foundry.batches import BatchRunner, SQLiteBatchStore  # noqa: E402
from claude_foundry.batches._format import BatchRequest  # noqa: E402
from claude_foundry.quota import PoolLimits, QuotaGovernor  # noqa: E402

MODEL = "claude-sonnet-5"
KEY = "bench-key"
CLI = [sys.executable, "-c", "from claude_foundry.cli import main; main()"]
REDIS_URL = os.environ.get("CLAUDE_FOUNDRY_BENCH_REDIS", "redis://127.0.0.1:6379/0")
#: a light interactive load: one call every quarter second (240 a minute)
INTERACTIVE_EVERY_S = 0.25
PARAMS = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}


def start_emulator(rpm: int, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    config = workdir / "emulator.toml"
    config.write_text(
        f'api_key = "{KEY}"\n[[deployments]]\nname = "{MODEL}"\nmodel = "{MODEL}"\n'
        f"quotas = {{ rpm = {rpm} }}\n"
    )
    process = subprocess.Popen(
        [*CLI, "emulator", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if "http://" in line:
            return process, line[line.index("http://") :].strip()
    raise RuntimeError("the emulator did not start")


def run_batch(base_url: str, governor: QuotaGovernor, count: int, workdir: Path) -> float:
    client = AnthropicFoundry(api_key=KEY, base_url=base_url, governor=governor)
    store = SQLiteBatchStore(workdir / f"store-{time.monotonic_ns()}.sqlite")
    requests = [BatchRequest(f"r{i}", i + 1, PARAMS) for i in range(count)]
    now = time.time()
    store.create_batch("msgbatch_bench", requests, input_sha256="-", created_at=now,
                       expires_at=now + 86400)  # fmt: skip
    record = BatchRunner(store, "msgbatch_bench", client, max_concurrency=64).run()
    assert record.counts == {"succeeded": count}, record.counts
    assert record.ended_at is not None
    store.close()
    client.close()
    return record.ended_at - record.created_at


def throughput(base_url: str, rpm: int, count: int, workdir: Path) -> dict[str, float]:
    governor = QuotaGovernor(default_limits=PoolLimits(rpm=rpm), background_share=1.0)
    elapsed = run_batch(base_url, governor, count, workdir)
    bound = ((count - 1) // rpm) * 60.0
    rate_limited = sum(status.rate_limited for status in governor.status())
    return {
        "requests": count,
        "rpm": rpm,
        "seconds": round(elapsed, 1),
        "bound_seconds": bound,
        "share_of_limit": round(bound / elapsed, 3) if bound else float("nan"),
        "429s": rate_limited,
    }


def interactive_latency(
    client: AnthropicFoundry, stop: threading.Event, samples: list[float]
) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        client.messages.create(**PARAMS)
        samples.append(time.perf_counter() - started)
        stop.wait(INTERACTIVE_EVERY_S)


def write_requests(path: Path, count: int) -> None:
    with path.open("w") as file:
        for i in range(count):
            file.write(json.dumps({"custom_id": f"r{i}", "params": PARAMS}) + "\n")


def cli_env(base_url: str) -> dict[str, str]:
    return {
        "PYTHONPATH": str(REPO / "src"),
        "PATH": "/usr/bin:/bin",
        "ANTHROPIC_FOUNDRY_API_KEY": KEY,
        "ANTHROPIC_FOUNDRY_BASE_URL": base_url,
    }


def interactive(base_url: str, rpm: int, count: int, workdir: Path) -> dict[str, float]:
    """The interactive app and the batch are separate processes sharing one quota through
    Redis, as they would be in production."""
    from claude_foundry.quota import RedisBackend

    prefix = f"cfbench:batches:{time.time_ns()}:"
    backend = RedisBackend.from_url(REDIS_URL, prefix=prefix)
    governor = QuotaGovernor(default_limits=PoolLimits(rpm=rpm), backend=backend)
    client = AnthropicFoundry(api_key=KEY, base_url=base_url, governor=governor)
    idle: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=interactive_latency, args=(client, stop, idle))
    thread.start()
    time.sleep(10)
    stop.set()
    thread.join()
    requests = workdir / "interactive-requests.jsonl"
    write_requests(requests, count)
    busy: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=interactive_latency, args=(client, stop, busy))
    thread.start()
    started = time.monotonic()
    subprocess.run(
        [*CLI, "batch", "run", str(requests), "-o", str(workdir / "interactive-results.jsonl"),
         "--progress", "off", "--rpm", str(rpm), "--quota-redis", REDIS_URL,
         "--quota-prefix", prefix, "--background-share", "0.8"],
        env=cli_env(base_url), check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    batch_seconds = time.monotonic() - started
    stop.set()
    thread.join()
    client.close()
    import redis

    shared = redis.Redis.from_url(REDIS_URL)
    for key in shared.scan_iter(match=prefix + "*"):
        shared.delete(key)
    idle_ms, busy_ms = statistics.median(idle) * 1000, statistics.median(busy) * 1000
    return {
        "interactive_every_s": INTERACTIVE_EVERY_S,
        "idle_median_ms": round(idle_ms, 2),
        "beside_batch_median_ms": round(busy_ms, 2),
        "ratio": round(busy_ms / idle_ms, 3),
        "samples": len(busy),
        "batch_requests": count,
        "batch_seconds": round(batch_seconds, 1),
    }


def kill_9(base_url: str, rpm: int, count: int, workdir: Path) -> dict[str, float]:
    import random
    import signal

    requests, output = workdir / "requests.jsonl", workdir / "results.jsonl"
    write_requests(requests, count)
    env = cli_env(base_url)
    command = [*CLI, "batch", "run", str(requests), "-o", str(output), "--progress", "off"]
    rng = random.Random(9)
    kills = mid_run = 0
    lines_before = 0
    for _ in range(20):
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 3.0))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        lines = len(output.read_bytes().splitlines()) if output.exists() else 0
        mid_run += lines > lines_before
        lines_before = lines
    final = subprocess.run(command, env=env, stderr=subprocess.DEVNULL)
    ids = [json.loads(line)["custom_id"] for line in output.read_text().splitlines()]
    return {
        "requests": count,
        "kills": kills,
        "kills_while_writing": mid_run,
        "final_exit": final.returncode,
        "lines": len(ids),
        "duplicates": len(ids) - len(set(ids)),
        "missing": count - len(set(ids)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rpm", type=int, default=3_000)
    parser.add_argument("--smoke", action="store_true", help="tiny counts; no figures kept")
    parser.add_argument("--only", action="append", choices=["throughput", "interactive", "kill-9"])
    options = parser.parse_args()
    count, rpm = (300, 100_000) if options.smoke else (options.requests, options.rpm)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # the quota applies per emulator: a fresh one for each row
        rows = (("throughput", throughput), ("interactive", interactive), ("kill-9", kill_9))
        for name, row in rows:
            if options.only and name not in options.only:
                continue
            quota = 10**7 if name == "kill-9" else rpm  # kill-9 runs unthrottled
            emulator, base_url = start_emulator(quota, workdir)
            try:
                size = count // 2 if name == "interactive" else count
                figures = row(base_url, quota, size, workdir)
            finally:
                emulator.terminate()
                emulator.wait()
            print(name, json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
