"""The runner's calls, seen through a stand-in client (a pure unit: no HTTP here; the
end-to-end tests run the real client against the emulator)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec

from claude_foundry.batches import BatchRunner, SQLiteBatchStore
from claude_foundry.batches._format import BatchRequest
from claude_foundry.types import decode_message

BODY = msgspec.json.encode(
    {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2}, "a_newer_field": {"kept": True},
    }
)  # fmt: skip


class _Raw:
    content = BODY

    def parse(self) -> Any:
        return decode_message(BODY)


class _StandIn:
    """``messages.with_raw_response.create`` that records its keyword arguments."""

    def __init__(self, *, takes_tags: bool) -> None:
        self.takes_tags = takes_tags
        self.calls: list[dict[str, Any]] = []
        self.messages = self
        self.with_raw_response = self

    def create(self, **kwargs: Any) -> _Raw:
        if "tags" in kwargs and not self.takes_tags:
            raise TypeError("create() got an unexpected keyword argument 'tags'")
        self.calls.append(kwargs)
        return _Raw()


def run(tmp_path: Path, client: _StandIn, count: int = 3) -> SQLiteBatchStore:
    store = SQLiteBatchStore(tmp_path / "s.sqlite")
    params = {"model": "m", "max_tokens": 5, "messages": [], "temperature": 0.5, "new_knob": 1}
    requests = [BatchRequest(f"c{i}", i + 1, params) for i in range(count)]
    now = time.time()
    store.create_batch(
        "msgbatch_u", requests, input_sha256="-", created_at=now, expires_at=now + 60
    )
    BatchRunner(store, "msgbatch_u", client, tags={"team": "data"}).run()
    return store


def test_calls_carry_the_batch_tags_and_the_params_as_given(tmp_path: Path) -> None:
    client = _StandIn(takes_tags=True)
    store = run(tmp_path, client)
    assert len(client.calls) == 3
    call = next(c for c in client.calls if c["tags"]["custom_id"] == "c1")
    assert call["tags"] == {"team": "data", "batch": "msgbatch_u", "custom_id": "c1"}
    assert (call["model"], call["max_tokens"], call["messages"]) == ("m", 5, [])
    assert call["extra_body"] == {"temperature": 0.5, "new_knob": 1}
    results = dict(store.results("msgbatch_u"))
    # the body as the service sent it, a field this version does not model included
    assert results["c0"]["message"]["a_newer_field"] == {"kept": True}


def test_a_client_without_call_tags_is_called_without_them(tmp_path: Path) -> None:
    client = _StandIn(takes_tags=False)
    store = run(tmp_path, client)
    assert len(client.calls) == 3
    assert all("tags" not in call for call in client.calls)
    assert store.get_batch("msgbatch_u").counts == {"succeeded": 3}


def test_adaptive_limit_grows_on_answers_and_shrinks_on_throttles() -> None:
    from claude_foundry.batches import AdaptiveLimit

    limit = AdaptiveLimit(initial=4, minimum=2, maximum=6)
    for _ in range(5):  # about one step per full window of answers
        limit.observe(throttled=False)
    assert limit.limit == 5
    for _ in range(100):
        limit.observe(throttled=False)
    assert limit.limit == 6  # never past the maximum
    limit.observe(throttled=True)
    assert limit.limit == 4  # 6 * 0.7
    for _ in range(10):
        limit.observe(throttled=True)
    assert limit.limit == 2  # never under the minimum
    assert limit.capacity(0, None) == 2
    assert limit.describe() == "concurrency 2"
