"""A batch under the quota governor: background priority, concurrency from the quota, and room
left for interactive calls on the same pool."""

from __future__ import annotations

import time
from pathlib import Path

from claude_foundry import AnthropicFoundry
from claude_foundry.batches import BatchProgress, BatchRunner, GovernedAdmission, SQLiteBatchStore
from claude_foundry.batches._format import BatchRequest
from claude_foundry.emulator import Emulator
from claude_foundry.quota import PoolLimits, QuotaGovernor

MODEL = "claude-sonnet-5"


def test_a_governed_batch_runs_at_background_priority_and_leaves_interactive_room(
    emulator: Emulator, tmp_path: Path
) -> None:
    governor = QuotaGovernor(default_limits=PoolLimits(rpm=40), window_s=1.0, background_share=0.5)
    client = AnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, governor=governor
    )
    store = SQLiteBatchStore(tmp_path / "store.sqlite")
    params = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    requests = [BatchRequest(f"q{i}", i + 1, params) for i in range(40)]
    now = time.time()
    store.create_batch(
        "msgbatch_q", requests, input_sha256="x", created_at=now, expires_at=now + 60
    )

    samples: list[tuple[int, int]] = []
    interactive_replies = []

    def watch(progress: BatchProgress) -> None:
        samples.append(
            (
                governor.headroom(MODEL, priority="background"),
                governor.headroom(MODEL, priority="interactive"),
            )
        )
        if progress.finished > 10 and not interactive_replies:
            # an interactive call in the middle of the batch, on the same pool
            interactive_replies.append(client.messages.create(**params))

    runner = BatchRunner(store, "msgbatch_q", client, on_progress=watch, max_concurrency=16)
    assert isinstance(runner.admission, GovernedAdmission)
    assert runner._client.priority == "background"
    assert client.priority == "interactive"
    record = runner.run()
    assert record.counts == {"succeeded": 40}
    assert interactive_replies
    assert interactive_replies[0].content
    saturated = [interactive for background, interactive in samples if background == 0]
    assert saturated, "the batch never used its whole share"
    assert all(interactive >= 1 for interactive in saturated)
    assert runner.admission.describe().startswith("quota")
    store.close()
    client.close()
