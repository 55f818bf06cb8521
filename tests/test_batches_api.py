"""``client.messages.batches`` served locally, end to end over loopback HTTP to the emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from claude_foundry.batches import (
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    BatchInputError,
    BatchResultsNotReadyError,
    BatchStateError,
    MessageBatchSucceededResult,
)
from claude_foundry.emulator import Emulator


def request(custom_id: str, text: str = "hi", model: str = "claude-sonnet-5") -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "params": {
            "model": model,
            "max_tokens": 32,
            "messages": [{"role": "user", "content": text}],
        },
    }


def make_client(emulator: Emulator, tmp_path: Path, **options: Any) -> AnthropicFoundry:
    return AnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        batch_store=tmp_path / "batches.sqlite",
        batch_runner_options={"lease": 5.0, **options},
    )


def wait_ended(client: AnthropicFoundry, batch_id: str) -> Any:
    batch = client.messages.batches.wait(batch_id, max_wait=30)
    assert batch.processing_status == "ended"
    return batch


def test_batches_api_code_runs_unchanged(emulator: Emulator, tmp_path: Path) -> None:
    # What code written for Anthropic's Batches API does, with only the client construction changed.
    client = make_client(emulator, tmp_path)
    emulator.add_fault(kind="status", status=529, count=3, retry_after=0)
    batch = client.messages.batches.create(
        requests=[request(f"q{i}", f"question {i}") for i in range(12)]
    )
    assert batch.id.startswith("msgbatch_")
    assert batch.type == "message_batch"
    assert batch.processing_status in ("in_progress", "ended")
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(0.05)
    final = client.messages.batches.retrieve(batch.id)
    assert final.request_counts.succeeded == 12
    assert final.request_counts.processing == 0
    assert final.ended_at is not None
    assert final.results_url
    texts = {}
    for entry in client.messages.batches.results(batch.id):
        if entry.result.type == "succeeded":
            assert isinstance(entry.result, MessageBatchSucceededResult)
            texts[entry.custom_id] = entry.result.message.content[0].text
    assert sorted(texts) == sorted(f"q{i}" for i in range(12))
    assert "question 7" in texts["q7"]
    page = client.messages.batches.list(limit=5)
    assert [b.id for b in page] == [batch.id]
    assert client.messages.batches.delete(batch.id).type == "message_batch_deleted"
    client.close()


def test_non_retryable_errors_become_errored_with_the_api_envelope(
    emulator: Emulator, tmp_path: Path
) -> None:
    client = make_client(emulator, tmp_path)
    emulator.add_fault(
        kind="status",
        status=400,
        error_type="invalid_request_error",
        message="bad thing",
        deployment="claude-haiku-4-5",
        count=None,
    )
    batch = client.messages.batches.create(
        requests=[request("ok"), request("bad", model="claude-haiku-4-5")]
    )
    final = wait_ended(client, batch.id)
    assert (final.request_counts.succeeded, final.request_counts.errored) == (1, 1)
    results = {entry.custom_id: entry.result for entry in client.messages.batches.results(batch.id)}
    errored = results["bad"]
    assert errored.type == "errored"
    assert errored.error.type == "error"
    assert errored.error.error.type == "invalid_request_error"
    assert errored.error.error.message == "bad thing"
    assert errored.error.request_id
    client.close()


def test_retryable_errors_that_never_clear_give_up_as_errored(
    emulator: Emulator, tmp_path: Path
) -> None:
    client = make_client(emulator, tmp_path, max_attempts=3)
    emulator.add_fault(kind="status", status=529, count=None, retry_after=0)
    batch = client.messages.batches.create(requests=[request("busy")])
    wait_ended(client, batch.id)
    (entry,) = client.messages.batches.results(batch.id)
    assert entry.result.error.error.type == "overloaded_error"
    assert len([e for e in emulator.journal() if e.status == 529]) == 3
    client.close()


def test_cancel_marks_unstarted_requests_canceled(emulator: Emulator, tmp_path: Path) -> None:
    client = make_client(emulator, tmp_path, max_concurrency=1)
    emulator.add_fault(kind="latency", delay_ms=300, count=None)
    batch = client.messages.batches.create(requests=[request(f"c{i}") for i in range(6)])
    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.processing_status in ("canceling", "ended")
    assert canceling.cancel_initiated_at is not None
    final = wait_ended(client, batch.id)
    counts = final.request_counts
    assert counts.canceled >= 4
    assert counts.succeeded + counts.canceled == 6
    kinds = {entry.result.type for entry in client.messages.batches.results(batch.id)}
    assert "canceled" in kinds
    with pytest.raises(BatchStateError, match="cannot cancel a batch that is ended"):
        client.messages.batches.cancel(batch.id)
    client.close()


def test_deadline_expires_what_is_left(emulator: Emulator, tmp_path: Path) -> None:
    client = AnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        batch_store=tmp_path / "b.sqlite",
        batch_processing="workers",  # nobody works on it: everything expires
        batch_deadline=0.2,
    )
    batch = client.messages.batches.create(requests=[request("late1"), request("late2")])
    with pytest.raises(BatchResultsNotReadyError, match="in progress"):
        client.messages.batches.results(batch.id)
    time.sleep(0.3)
    final = client.messages.batches.retrieve(batch.id)
    assert final.processing_status == "ended"
    assert final.request_counts.expired == 2
    assert {e.result.type for e in client.messages.batches.results(batch.id)} == {"expired"}
    client.close()


def test_bad_requests_are_refused_before_anything_is_sent(
    emulator: Emulator, tmp_path: Path
) -> None:
    client = make_client(emulator, tmp_path)
    with pytest.raises(BatchInputError, match="requests, line 2: duplicate custom_id 'a'"):
        client.messages.batches.create(requests=[request("a"), request("a")])
    assert emulator.journal() == []
    client.close()


def test_results_read_by_the_official_sdk_types(emulator: Emulator, tmp_path: Path) -> None:
    from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse

    client = make_client(emulator, tmp_path)
    batch = client.messages.batches.create(requests=[request("x")])
    final = wait_ended(client, batch.id)
    official = MessageBatch.model_validate(json.loads(final.to_json()))
    assert official.request_counts.succeeded == 1
    for entry in client.messages.batches.results(batch.id):
        parsed = MessageBatchIndividualResponse.model_validate_json(entry.to_json())
        assert parsed.result.type == "succeeded"
    client.close()


async def test_async_client(emulator: Emulator, tmp_path: Path) -> None:
    client = AsyncAnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, batch_store=tmp_path / "a.sqlite"
    )
    batch = await client.messages.batches.create(requests=[request("a1"), request("a2")])
    final = await client.messages.batches.wait(batch.id, max_wait=30)
    assert final.request_counts.succeeded == 2
    ids = [entry.custom_id async for entry in await client.messages.batches.results(batch.id)]
    assert sorted(ids) == ["a1", "a2"]
    assert (await client.messages.batches.retrieve(batch.id)).processing_status == "ended"
    await client.close()


def test_list_pages_newest_first_and_iterating_goes_through_every_page(
    emulator: Emulator, tmp_path: Path
) -> None:
    client = make_client(emulator, tmp_path)
    made = [client.messages.batches.create(requests=[request(f"p{i}")]).id for i in range(3)]
    page = client.messages.batches.list(limit=2)
    assert len(page.data) == 2
    assert page.has_more
    assert page.has_next_page()
    assert sorted(batch.id for batch in page) == sorted(made)
    second = page.get_next_page()
    assert [b.id for b in second.data] == [made[0]]  # the oldest
    assert not second.has_more
    client.close()


def test_closing_a_copy_leaves_the_batches_running(emulator: Emulator, tmp_path: Path) -> None:
    client = make_client(emulator, tmp_path)
    with client.with_options(timeout=30) as copy:
        batch = copy.messages.batches.create(requests=[request("k1"), request("k2")])
    final = wait_ended(client, batch.id)
    assert final.request_counts.succeeded == 2
    client.close()


def test_dropped_connections_and_5xx_are_retried_and_never_written(
    emulator: Emulator, tmp_path: Path
) -> None:
    client = make_client(emulator, tmp_path, max_concurrency=1)
    emulator.add_fault(kind="disconnect", count=1)
    emulator.add_fault(kind="status", status=503, count=1, retry_after=0)
    emulator.add_fault(kind="status", status=429, count=1, retry_after=0)
    batch = client.messages.batches.create(requests=[request("r1"), request("r2")])
    final = wait_ended(client, batch.id)
    assert final.request_counts.succeeded == 2
    assert final.request_counts.errored == 0
    assert {e.result.type for e in client.messages.batches.results(batch.id)} == {"succeeded"}
    statuses = [entry.status for entry in emulator.journal()]
    assert len(statuses) == 5  # two answers and three failures
    assert None in statuses  # the dropped connection: no status
    assert 503 in statuses
    assert 429 in statuses
    client.close()


def test_every_request_is_recorded_for_the_usage_ledger_with_the_batch_id(
    emulator: Emulator, tmp_path: Path
) -> None:
    records: list[Any] = []

    class Capture:
        def record_call(self, record: Any) -> None:
            records.append(record)

    client = AnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        batch_store=tmp_path / "b.sqlite",
        observers=[Capture()],
        tags={"team": "data"},
    )
    batch = client.messages.batches.create(requests=[request("l1"), request("l2")])
    wait_ended(client, batch.id)
    client.close()
    assert len(records) == 2
    assert {record.tags["custom_id"] for record in records} == {"l1", "l2"}
    assert all(record.tags["batch"] == batch.id for record in records)
    assert all(record.tags["team"] == "data" for record in records)
    assert all(record.outcome == "ok" and record.output_tokens > 0 for record in records)


def test_the_ledger_from_the_environment_records_a_cli_batch(
    emulator: Emulator, tmp_path: Path
) -> None:
    import json
    import sqlite3
    import subprocess

    from test_batches_cli import CLI, cli_env, write_requests

    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    write_requests(requests, 3)
    ledger = tmp_path / "usage.db"
    env = {**cli_env(emulator), "CLAUDE_FOUNDRY_LEDGER": f"sqlite:///{ledger}"}
    done = subprocess.run(
        [*CLI, "batch", "run", str(requests), "-o", str(output)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(ledger) as db:
        tags = [json.loads(row[0]) for row in db.execute("SELECT tags FROM ledger_calls")]
    assert sorted(tag["custom_id"] for tag in tags) == ["req-0", "req-1", "req-2"]
    assert len({tag["batch"] for tag in tags}) == 1
    assert tags[0]["batch"].startswith("msgbatch_")


async def test_async_list_is_awaited_for_a_page_or_iterated_through_every_page(
    emulator: Emulator, tmp_path: Path
) -> None:
    # As the SDK's AsyncPaginator: `await list()` gives the first page, `async for` goes on
    # through the following pages.
    client = AsyncAnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        batch_store=tmp_path / "a.sqlite",
        batch_processing="workers",
    )
    made = [
        (await client.messages.batches.create(requests=[request(f"l{i}")])).id for i in range(3)
    ]
    page = await client.messages.batches.list(limit=2)
    assert len(page.data) == 2
    assert page.has_more
    every = [batch.id async for batch in client.messages.batches.list(limit=2)]
    assert every == list(reversed(made))
    await client.close()


def test_an_azure_shaped_error_keeps_the_service_message(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Foundry answers a wrong key with {"error": {"code": "401", "message": ...}}: the result
    # carries the type its status stands for and the service's own message, as the API would.
    client = AnthropicFoundry(
        api_key="not-the-key",
        base_url=emulator.base_url,
        batch_store=tmp_path / "k.sqlite",
    )
    batch = client.messages.batches.create(requests=[request("denied")])
    wait_ended(client, batch.id)
    (entry,) = client.messages.batches.results(batch.id)
    assert entry.result.type == "errored"
    assert entry.result.error.error.type == "authentication_error"
    assert entry.result.error.error.message.startswith("Access denied")
    assert "not-the-key" not in entry.to_json()
    client.close()
