"""The quota rows: governed clients against emulator quotas, side by side with the official client.

One emulator (in this process, its quota minute shortened to ``window`` seconds) meters one pool
at 60 requests / 40,000 input tokens / 8,000 output tokens per window. Load: ``workers`` callers
that each send again as soon as a call returns, far above what the pool allows, for
``windows`` windows. Reported per contender: the share of the binding limit (requests) used,
server 429s per attempt, and 429s that reached the callers. "4 processes" runs four processes
that share the pool through Redis. Also the governor's own cost per call (reserve + settle).
LiteLLM's router (usage-based routing, Redis) runs on the same load when it is installed (not a
dependency: ``pip install litellm``); it counts calendar minutes, so its rows use an emulator
with a real one-minute quota window. Callers that receive a 429 wait 1 s before calling again.

Standalone: ``python benchmarks/_quota.py [--smoke]`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _round_trips

REPO = Path(__file__).resolve().parent.parent
KEY = "bench-key"
MODEL = "claude-haiku-4-5"
LIMITS = {"rpm": 60, "input_tpm": 40_000, "output_tpm": 8_000}
MESSAGES = [{"role": "user", "content": "Summarise the plot of a short story in one line."}]
REDIS_URL = "redis://127.0.0.1:6379/14"


@dataclass(frozen=True)
class QuotaScale:
    window: float
    windows: int
    workers: int
    processes: int
    overhead_calls: int


FULL = QuotaScale(window=10.0, windows=3, workers=40, processes=4, overhead_calls=50_000)
SMOKE = QuotaScale(window=2.0, windows=1, workers=6, processes=2, overhead_calls=500)


def start_emulator(scale: QuotaScale) -> Any:
    from claude_foundry.emulator import Emulator, EmulatorConfig

    config = EmulatorConfig.from_mapping(
        {"journal_size": 1_000_000, "quota_window_s": scale.window}
    )
    emulator = Emulator(config, api_key=KEY).start()
    emulator.configure(quotas={MODEL: LIMITS})
    return emulator


def governor_for(scale: QuotaScale, backend: Any = None) -> Any:
    from claude_foundry.quota import PoolLimits, QuotaGovernor

    return QuotaGovernor(
        {MODEL: PoolLimits(**LIMITS)},
        window_s=scale.window,
        backend=backend,
        max_wait=10 * scale.window,  # callers that would rather wait than fail
    )


async def drive(client: Any, seconds: float, workers: int) -> dict[str, int]:
    """``workers`` loops calling until ``seconds`` pass; what reached the callers."""
    counts = {"ok": 0, "surfaced_429": 0, "other_errors": 0}
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < deadline:
            try:
                await client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
                counts["ok"] += 1
            except Exception as exc:
                if getattr(exc, "status_code", None) == 429:
                    counts["surfaced_429"] += 1
                    await asyncio.sleep(1.0)  # a caller told "too many" waits before again
                else:
                    counts["other_errors"] += 1
                    if os.environ.get("QUOTA_BENCH_DEBUG"):
                        print(f"{type(exc).__name__}: {exc}"[:300], file=sys.stderr)

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await asyncio.sleep(seconds)
    for task in tasks:  # calls still waiting for room or a retry are not counted
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return counts


def journal_figures(emulator: Any, since: float, seconds: float, limit: int, windows: int) -> dict:
    entries = [e for e in emulator.journal() if e.time >= since]
    # The load starts with the first request to arrive (processes take a while to start).
    start = min((e.time - e.duration_ms / 1000 for e in entries), default=since)
    ok_in_time = sum(1 for e in entries if e.status == 200 and e.time < start + seconds)
    throttled = sum(1 for e in entries if e.status == 429)
    return {
        "attempts": len(entries),
        "server_429": throttled,
        "share_of_limit": ok_in_time / (limit * windows),
    }


def run_contender(kind: str, emulator: Any, scale: QuotaScale) -> dict[str, Any]:
    seconds = scale.window * scale.windows
    emulator.reset()
    emulator.state.quota.reset()
    emulator.configure(quotas={MODEL: LIMITS})
    since = time.time()
    if kind == "governed":
        from claude_foundry import AsyncAnthropicFoundry

        client: Any = AsyncAnthropicFoundry(
            api_key=KEY, base_url=emulator.base_url, governor=governor_for(scale)
        )
    else:
        import anthropic

        client = anthropic.AsyncAnthropicFoundry(api_key=KEY, base_url=emulator.base_url)
    counts = asyncio.run(drive(client, seconds, scale.workers))
    time.sleep(0.2)
    return {**counts, **journal_figures(emulator, since, seconds, LIMITS["rpm"], scale.windows)}


def run_processes(emulator: Any, scale: QuotaScale) -> dict[str, Any]:
    from claude_foundry.quota.redis_backend import RedisBackend

    seconds = scale.window * scale.windows
    emulator.reset()
    emulator.state.quota.reset()
    emulator.configure(quotas={MODEL: LIMITS})
    prefix = f"cfbench:quota:{uuid.uuid4().hex}:"
    since = time.time()
    shape = json.dumps([scale.window, scale.windows, scale.workers])
    command = [sys.executable, __file__, "--worker", emulator.base_url, prefix, shape]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(scale.processes)
    ]
    totals = {"ok": 0, "surfaced_429": 0, "other_errors": 0, "store_outages": 0}
    for process in workers:
        out, _ = process.communicate(timeout=seconds + 120)
        for key, value in json.loads(out.strip().splitlines()[-1]).items():
            totals[key] += value
    RedisBackend(REDIS_URL, prefix=prefix).delete(MODEL)
    time.sleep(0.2)
    return {**totals, **journal_figures(emulator, since, seconds, LIMITS["rpm"], scale.windows)}


LITELLM_WINDOW = 60.0  # LiteLLM counts per calendar minute: its rows need real quota minutes


def litellm_missing() -> str | None:
    """Why the LiteLLM rows cannot run here, or None (found without importing it: slow)."""
    import importlib.util

    if importlib.util.find_spec("litellm") is None:
        return "not installed here (pip install litellm to measure this row)"
    if not redis_up():
        return "needs Redis on 127.0.0.1:6379 (usage-based routing with Redis)"
    return None


def run_litellm(scale: QuotaScale, processes: int) -> dict[str, Any]:
    """LiteLLM's router (usage-based-routing-v2, limits shared through Redis) in ``processes``
    processes against an emulator whose quota minute is a real minute."""
    from claude_foundry.emulator import Emulator, EmulatorConfig

    config = EmulatorConfig.from_mapping(
        {"journal_size": 1_000_000, "quota_window_s": LITELLM_WINDOW}
    )
    emulator = Emulator(config, api_key=KEY).start()
    try:
        emulator.configure(quotas={MODEL: LIMITS})
        seconds = LITELLM_WINDOW * scale.windows
        group = f"cfbench-{uuid.uuid4().hex[:12]}"  # its Redis keys are per model group
        shape = json.dumps([seconds, max(scale.workers // processes, 1)])
        command = [sys.executable, __file__, "--litellm-worker", emulator.base_url, group, shape]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no network fetch of its price map
        since = time.time()
        workers = [
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(processes)
        ]
        totals = {"ok": 0, "surfaced_429": 0, "other_errors": 0}
        for process in workers:
            out, _ = process.communicate(timeout=seconds + 300)
            for key, value in json.loads(out.strip().splitlines()[-1]).items():
                totals[key] += value
        time.sleep(0.2)
        return {
            **totals,
            **journal_figures(emulator, since, seconds, LIMITS["rpm"], scale.windows),
        }
    finally:
        emulator.stop()


def litellm_worker_main(base_url: str, group: str, seconds: float, workers: int) -> None:
    import litellm
    from litellm import Router

    litellm.suppress_debug_info = True
    router = Router(
        model_list=[
            {
                "model_name": group,
                "litellm_params": {
                    "model": f"azure_ai/{MODEL}",  # the azure_ai route needs "claude" in the name
                    "api_base": base_url,
                    "api_key": KEY,
                    "rpm": LIMITS["rpm"],
                    # One token limit, input + output counted after each reply.
                    "tpm": LIMITS["input_tpm"] + LIMITS["output_tpm"],
                },
            }
        ],
        routing_strategy="usage-based-routing-v2",
        redis_url=REDIS_URL,
        num_retries=2,
    )

    class Messages:
        async def create(self, *, model: str, max_tokens: int, messages: Any) -> Any:
            return await router.acompletion(model=group, max_tokens=max_tokens, messages=messages)

    class Client:
        messages = Messages()

    counts = asyncio.run(drive(Client(), seconds, workers))
    print(json.dumps(counts))


def worker_main(base_url: str, prefix: str, scale: QuotaScale) -> None:
    from claude_foundry import AsyncAnthropicFoundry
    from claude_foundry.quota.redis_backend import RedisBackend

    governor = governor_for(scale, RedisBackend(REDIS_URL, prefix=prefix))
    client = AsyncAnthropicFoundry(api_key=KEY, base_url=base_url, governor=governor)
    counts = asyncio.run(drive(client, scale.window * scale.windows, scale.workers // 2 or 1))
    print(json.dumps({**counts, "store_outages": governor.outages}))


def overhead(scale: QuotaScale, backend: Any = None, rounds: int = 5) -> list[float]:
    """Seconds per reserve + settle of one call (CPU time in memory, wall time with a store),
    per round: the machine is shared, so the table shows the spread of several rounds."""
    return [overhead_round(scale, backend, rounds) for _ in range(rounds)]


def overhead_round(scale: QuotaScale, backend: Any, rounds: int) -> float:
    from claude_foundry._admission import AdmissionAsk, Outcome
    from claude_foundry.quota import PoolLimits, QuotaGovernor

    big = PoolLimits(rpm=10**9, input_tpm=10**12, output_tpm=10**12)
    governor = QuotaGovernor({MODEL: big}, backend=backend)
    count = scale.overhead_calls if backend is None else max(scale.overhead_calls // 25, 100)
    count = max(count // rounds, 100)
    clock = time.process_time if backend is None else time.perf_counter
    started = clock()
    for _ in range(count):
        verdict = governor.reserve(AdmissionAsk(MODEL, 100, 400))
        governor.settle(verdict.grant, Outcome(input_tokens=90, output_tokens=20))
    return (clock() - started) / count


def function_call_seconds() -> float:
    def nothing() -> None:
        pass

    started = time.process_time()
    for _ in range(1_000_000):
        nothing()
    return (time.process_time() - started) / 1_000_000


def redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def measure(scale: QuotaScale) -> dict[str, Any]:
    from claude_foundry.quota.redis_backend import RedisBackend

    results: dict[str, Any] = {
        "overhead_memory_s": overhead(scale),
        "function_call_s": function_call_seconds(),
    }
    if redis_up():
        prefix = f"cfbench:quota:{uuid.uuid4().hex}:"
        backend = RedisBackend(REDIS_URL, prefix=prefix)
        results["overhead_redis_s"] = overhead(scale, backend)
        backend.delete(MODEL)
    if redis_up():
        from claude_foundry.emulator import Emulator, EmulatorConfig

        # Emulators without quotas: every call is one attempt, one reservation.
        with (
            Emulator(EmulatorConfig.default(), api_key=KEY) as first,
            Emulator(EmulatorConfig.default(), api_key=KEY) as second,
        ):
            results["round_trips"] = _round_trips.per_call(
                (first.base_url, second.base_url), REDIS_URL
            )
    emulator = start_emulator(scale)
    try:
        results["governed"] = run_contender("governed", emulator, scale)
        results["official"] = run_contender("official", emulator, scale)
        if redis_up():
            results["processes"] = run_processes(emulator, scale)
    finally:
        emulator.stop()
    missing = litellm_missing()
    if missing is None and scale is SMOKE:
        missing = "not run in smoke mode (it needs real one-minute quota windows)"
    if missing is not None:
        results["litellm"] = missing
    else:
        results["litellm"] = {"1 process": run_litellm(scale, 1)}
        results["litellm"][f"{scale.processes} processes via Redis"] = run_litellm(
            scale, scale.processes
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("BASE_URL", "PREFIX", "SCALE"))
    parser.add_argument("--litellm-worker", nargs=3, metavar=("BASE_URL", "GROUP", "SCALE"))
    options = parser.parse_args(argv)
    scale = SMOKE if options.smoke else FULL
    if options.litellm_worker:
        base_url, group, shape = options.litellm_worker
        seconds, workers = json.loads(shape)
        litellm_worker_main(base_url, group, seconds, workers)
        return 0
    if options.worker:
        base_url, prefix, shape = options.worker
        window, windows, workers = json.loads(shape)
        worker_main(base_url, prefix, QuotaScale(window, windows, workers, 1, 0))
        return 0
    print(json.dumps(measure(scale), indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())


def rows(*, smoke: bool) -> list[Any]:
    """The figures as rows of the suite's table (``benchmarks/run.py``)."""
    from _harness import MICROSECONDS, Row, Unit

    scale = SMOKE if smoke else FULL
    figures = measure(scale)
    percent = Unit("%", 100, 1, higher_is_better=True)
    share_of_attempts = Unit("% of attempts", 100, 1)
    count = Unit("")
    result = []
    calibration = figures["function_call_s"]
    memory = Row(
        "governor cost per call (reserve + settle, memory)",
        "QuotaGovernor",
        MICROSECONDS,
        subject_samples=figures["overhead_memory_s"],
        target_text="≤ 10 µs",
        verdict_override="met"
        if statistics.median(figures["overhead_memory_s"]) <= 10e-6
        else "MISSED",
        note=(
            f"CPU time over {scale.overhead_calls:,} calls in 5 rounds (verdict on the median "
            "round); an empty Python function call took "
            f"{calibration * 1e9:.0f} ns on this machine during the run"
        ),
    )
    result.append(memory)
    if "overhead_redis_s" in figures:
        result.append(
            Row(
                "governor cost per call (Redis: reserve + settle)",
                "QuotaGovernor + RedisBackend",
                MICROSECONDS,
                subject_samples=figures["overhead_redis_s"],
                note="wall time per call, one Lua script per reservation and per reconciliation",
            )
        )
    trips_unit = Unit("round trips", 1, 2)
    for label, trips in figures.get("round_trips", {}).items():
        others = sum(count for name, count in trips.items() if name not in ("reserve", "adjust"))
        for step, script in (("reservation", "reserve"), ("reconciliation", "adjust")):
            # Any trip that is neither script counts against the reservation (room checks).
            per = trips.get(script, 0.0) + (others if script == "reserve" else 0.0)
            result.append(
                Row(
                    f"Redis round trips per {step}, {label} call",
                    "QuotaGovernor + RedisBackend",
                    trips_unit,
                    subject_samples=[per],
                    target_text="≤ 1",
                    verdict_override="met" if per <= 1 else "MISSED",
                    note=(
                        f"counted at the redis-py connection over {_round_trips.CALLS} calls: "
                        + ", ".join(f"{name} {count:g}" for name, count in sorted(trips.items()))
                        + " per call"
                    ),
                )
            )
    contenders = [("1 process", figures["governed"])]
    if "processes" in figures:
        contenders.append((f"{scale.processes} processes via Redis", figures["processes"]))
    official = figures["official"]
    setting = (
        f"{LIMITS['rpm']} RPM / {LIMITS['input_tpm']:,} ITPM / {LIMITS['output_tpm']:,} OTPM per "
        f"{scale.window:g} s quota minute, {scale.windows} minutes, {scale.workers} callers"
    )
    for label, governed in contenders:
        result.append(
            Row(
                f"share of the binding limit used, {label}",
                "governed",
                percent,
                baseline="official client, 2 retries",
                subject_samples=[governed["share_of_limit"]],
                baseline_samples=[official["share_of_limit"]],
                target_text="≥ 95 %",
                verdict_override="met" if governed["share_of_limit"] >= 0.95 else "MISSED",
                note=setting,
            )
        )
        server = governed["server_429"] / max(governed["attempts"], 1)
        result.append(
            Row(
                f"server 429s per attempt, {label}",
                "governed",
                share_of_attempts,
                baseline="official client, 2 retries",
                subject_samples=[server],
                baseline_samples=[official["server_429"] / max(official["attempts"], 1)],
                target_text="< 1 %",
                verdict_override="met" if server < 0.01 else "MISSED",
                note=(
                    f"governed: {governed['server_429']} of {governed['attempts']} attempts; "
                    f"official: {official['server_429']} of {official['attempts']}"
                ),
            )
        )
        result.append(
            Row(
                f"429s reaching callers, {label}",
                "governed",
                count,
                baseline="official client, 2 retries",
                subject_samples=[governed["surfaced_429"]],
                baseline_samples=[official["surfaced_429"]],
                target_text="0",
                verdict_override="met" if governed["surfaced_429"] == 0 else "MISSED",
            )
        )
    litellm = figures["litellm"]
    if isinstance(litellm, str):
        result.append(Row("LiteLLM router on the same load", "LiteLLM", count, status=litellm))
        return result
    for label, measured in litellm.items():
        setting = (
            f"usage-based-routing-v2 with Redis, num_retries=2, {LIMITS['rpm']} RPM / "
            f"{LIMITS['input_tpm'] + LIMITS['output_tpm']:,} TPM; emulator quota minute "
            f"{LITELLM_WINDOW:g} s (LiteLLM counts calendar minutes), {scale.windows} minutes, "
            f"{scale.workers} callers; {measured['other_errors']} other errors"
        )
        server = measured["server_429"] / max(measured["attempts"], 1)
        result += [
            Row(
                f"share of the binding limit used, LiteLLM router, {label}",
                "LiteLLM",
                percent,
                subject_samples=[measured["share_of_limit"]],
                note=setting,
            ),
            Row(
                f"server 429s per attempt, LiteLLM router, {label}",
                "LiteLLM",
                share_of_attempts,
                subject_samples=[server],
                note=f"{measured['server_429']} of {measured['attempts']} attempts",
            ),
            Row(
                f"429s reaching callers, LiteLLM router, {label}",
                "LiteLLM",
                count,
                subject_samples=[measured["surfaced_429"]],
            ),
        ]
    return result
