"""The batch store's guarantees, one test body per backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_stores import postgres_database
from claude_foundry.batches import BatchNotFoundError, BatchStateError, BatchStore, open_store
from claude_foundry.batches._format import BatchRequest

T0 = 1_000_000.0


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "store.sqlite")
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def store(store_location: str) -> Iterator[BatchStore]:
    with open_store(store_location) as opened:
        yield opened


def make(store: BatchStore, count: int = 5, batch_id: str = "msgbatch_t") -> None:
    requests = [
        BatchRequest(f"r{i}", i + 1, {"model": "m", "max_tokens": 1, "messages": []})
        for i in range(count)
    ]
    store.create_batch(
        batch_id, requests, input_sha256="abc", created_at=T0, expires_at=T0 + 100, label="L"
    )


def test_create_find_and_count(store: BatchStore) -> None:
    make(store)
    record = store.get_batch("msgbatch_t")
    assert (record.processing_status, record.request_count, record.counts) == (
        "in_progress", 5, {"pending": 5},
    )  # fmt: skip
    assert store.find_batch("L") == record
    assert store.find_batch("other") is None
    assert store.list_batch_ids() == ["msgbatch_t"]
    with pytest.raises(BatchNotFoundError, match="no batch 'nope'"):
        store.get_batch("nope")
    batch = record.to_message_batch()
    assert batch.request_counts.processing == 5
    assert batch.results_url is None


def test_a_claim_goes_to_one_worker_and_a_result_is_recorded_once(store: BatchStore) -> None:
    make(store)
    first = store.claim("msgbatch_t", "w1", limit=3, lease=10, now=T0)
    second = store.claim("msgbatch_t", "w2", limit=10, lease=10, now=T0)
    assert [c.custom_id for c in first] == ["r0", "r1", "r2"]
    assert [c.custom_id for c in second] == ["r3", "r4"]
    assert first[0].params["model"] == "m"
    ok = {"type": "succeeded", "message": {"id": "x"}}
    assert store.finish("msgbatch_t", "w2", [("r0", "succeeded", ok)], now=T0) == 0  # not w2's
    assert store.finish("msgbatch_t", "w1", [("r0", "succeeded", ok)], now=T0) == 1
    assert store.finish("msgbatch_t", "w1", [("r0", "errored", ok)], now=T0) == 0  # once only
    assert dict(store.results("msgbatch_t")) == {"r0": ok}


def test_an_expired_lease_is_taken_over_and_the_old_owner_records_nothing(
    store: BatchStore,
) -> None:
    make(store, 1)
    assert store.claim("msgbatch_t", "dead", limit=1, lease=5, now=T0)
    assert store.claim("msgbatch_t", "w2", limit=1, lease=5, now=T0 + 1) == []
    (taken,) = store.claim("msgbatch_t", "w2", limit=1, lease=5, now=T0 + 6)
    assert taken.custom_id == "r0"
    late = {"type": "succeeded", "message": {}}
    assert store.finish("msgbatch_t", "dead", [("r0", "succeeded", late)], now=T0 + 7) == 0
    assert store.finish("msgbatch_t", "w2", [("r0", "succeeded", late)], now=T0 + 7) == 1


def test_renew_keeps_a_lease_and_release_gives_it_back(store: BatchStore) -> None:
    make(store, 2)
    store.claim("msgbatch_t", "w1", limit=2, lease=5, now=T0)
    store.renew("msgbatch_t", "w1", ["r0"], until=T0 + 50)
    assert [c.custom_id for c in store.claim("msgbatch_t", "w2", limit=5, lease=5, now=T0 + 6)] == [
        "r1"
    ]
    store.release("msgbatch_t", "w1", ["r0"])
    assert store.lease_owners("msgbatch_t") == ["w2"]
    store.release("msgbatch_t", "w2")
    assert store.get_batch("msgbatch_t").counts == {"pending": 2}


def test_cancel_then_drain_then_illegal_cancel(store: BatchStore) -> None:
    make(store, 3)
    store.claim("msgbatch_t", "w1", limit=1, lease=10, now=T0)
    record = store.cancel("msgbatch_t", T0 + 1)
    assert record.processing_status == "canceling"
    assert record.counts == {"canceled": 2, "in_flight": 1}
    assert store.claim("msgbatch_t", "w2", limit=5, lease=10, now=T0 + 1) == []
    store.finish("msgbatch_t", "w1", [("r0", "succeeded", {"type": "succeeded"})], now=T0 + 2)
    record = store.settle("msgbatch_t", T0 + 2)
    assert record.processing_status == "ended"
    assert record.to_message_batch().request_counts.canceled == 2
    assert record.ended_at == T0 + 2
    assert record.cancel_initiated_at == T0 + 1
    with pytest.raises(BatchStateError, match="cannot cancel a batch that is ended"):
        store.cancel("msgbatch_t", T0 + 3)


def test_the_deadline_expires_the_rest_even_a_dead_workers_request(store: BatchStore) -> None:
    make(store, 3)
    store.claim("msgbatch_t", "dead", limit=1, lease=500, now=T0)
    record = store.settle("msgbatch_t", T0 + 100)
    assert record.processing_status == "ended"
    assert record.counts == {"expired": 2, "in_flight": 1}
    record = store.settle("msgbatch_t", T0 + 501)  # its lease ran out: it expires too
    assert record.counts == {"expired": 3}
    assert dict(store.results("msgbatch_t"))["r0"] == {"type": "expired"}


def test_export_marks_and_delete(store: BatchStore) -> None:
    make(store, 2)
    store.claim("msgbatch_t", "w", limit=2, lease=5, now=T0)
    store.finish("msgbatch_t", "w", [("r1", "errored", {"type": "errored"})], now=T0)
    assert store.unexported("msgbatch_t") == [("r1", b'{"type":"errored"}')]
    store.mark_exported("msgbatch_t", ["r1"])
    assert store.unexported("msgbatch_t") == []
    with pytest.raises(BatchStateError, match="cannot delete a batch that is in progress"):
        store.delete_batch("msgbatch_t")
    store.finish("msgbatch_t", "w", [("r0", "succeeded", {"type": "succeeded"})], now=T0)
    store.settle("msgbatch_t", T0)
    store.delete_batch("msgbatch_t")
    assert store.list_batch_ids() == []


def test_concurrent_claims_never_hand_out_a_request_twice(store_location: str) -> None:
    with open_store(store_location) as setup:
        make(setup, 200)
    claimed: list[list[str]] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with open_store(store_location) as own:
                mine: list[str] = []
                while batch := own.claim("msgbatch_t", name, limit=7, lease=60, now=T0):
                    mine.extend(c.custom_id for c in batch)
                claimed.append(mine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [cid for mine in claimed for cid in mine]
    assert len(every) == 200
    assert len(set(every)) == 200


def test_heartbeats_and_pruning_silent_workers(store: BatchStore) -> None:
    make(store, 1)
    store.heartbeat("w1", "msgbatch_t", host="h", pid=1, now=T0)
    store.heartbeat("w2", "msgbatch_t", host="h", pid=2, now=T0)
    store.heartbeat("w2", "msgbatch_t", host="h", pid=2, now=T0 + 50)
    assert [(w, beat) for w, _, _, beat in store.workers("msgbatch_t")] == [
        ("w1", T0), ("w2", T0 + 50),
    ]  # fmt: skip
    store.prune_workers("msgbatch_t", before=T0 + 10)
    assert [w for w, *_ in store.workers("msgbatch_t")] == ["w2"]
    store.forget_worker("w2")
    assert store.workers("msgbatch_t") == []
