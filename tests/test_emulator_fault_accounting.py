"""Which request takes a fault, and what a rule does at the edges, over real loopback HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from claude_foundry.emulator import Emulator

MODEL = "claude-sonnet-4-6"
HELLO: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello!"}],
}
STREAM = {**HELLO, "stream": True}
COUNT = {"model": MODEL, "messages": HELLO["messages"]}
CUTTING_KINDS = ("stream_error", "truncate", "disconnect", "malformed")

_http: httpx2.Client | None = None


@pytest.fixture(autouse=True, scope="module")
def http_client() -> Iterator[None]:
    global _http
    with httpx2.Client(timeout=10) as client:
        _http = client
        yield
    _http = None


def post(emulator: Emulator, body: Any = HELLO, path: str = "messages") -> httpx2.Response:
    assert _http is not None
    url = f"{emulator.base_url}v1/{path}"
    headers = {"api-key": emulator.api_key}
    if isinstance(body, bytes):
        return _http.post(url, headers=headers, content=body)
    return _http.post(url, headers=headers, json=body)


def control(emulator: Emulator, method: str, path: str, body: Any = None) -> httpx2.Response:
    assert _http is not None
    return _http.request(method, f"{emulator.url}/_emulator/{path}", json=body)


def stream_text(emulator: Emulator) -> tuple[str, bool]:
    """The bytes of a streamed reply as text, and whether the connection was dropped under it."""
    received = b""
    try:
        with httpx2.stream(
            "POST",
            f"{emulator.base_url}v1/messages",
            headers={"api-key": emulator.api_key},
            json=STREAM,
            timeout=10,
        ) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                received += chunk
    except httpx2.RemoteProtocolError:
        return received.decode(), True
    return received.decode(), False


def event_names(text: str) -> list[str]:
    return re.findall(r"^event: (\w+)$", text, re.MULTILINE)


def hits(emulator: Emulator) -> list[int]:
    return [rule["hits"] for rule in emulator.faults()]


# --- (a) a cut beyond the stream's end still happens ----------------------------------------------


@pytest.mark.parametrize("kind", CUTTING_KINDS)
def test_a_cut_beyond_the_last_event_lands_before_message_stop(
    emulator: Emulator, kind: str
) -> None:
    whole = event_names(post(emulator, STREAM).text)
    assert whole[-1] == "message_stop"
    emulator.add_fault(kind=kind, after_events=len(whole) + 50)
    text, dropped = stream_text(emulator)
    names = event_names(text)
    assert names[: len(whole) - 1] == whole[:-1]
    assert "message_stop" not in names
    assert dropped == (kind == "disconnect")
    if kind == "stream_error":
        assert names[-1] == "error"
    if kind == "malformed":
        assert text.endswith('"ind\n\n')
    assert hits(emulator) == [1]


def test_a_cut_exactly_at_the_stream_length_also_lands_before_message_stop(
    emulator: Emulator,
) -> None:
    whole = event_names(post(emulator, STREAM).text)
    emulator.add_fault(kind="truncate", after_events=len(whole))
    assert event_names(post(emulator, STREAM).text) == whole[:-1]


# --- (b) only a request that reaches the reply takes a non-status fault -------------------------


@pytest.mark.parametrize("kind", [*CUTTING_KINDS, "latency"])
def test_refused_requests_leave_reply_faults_for_the_next_good_one(
    emulator: Emulator, kind: str
) -> None:
    fields: dict[str, Any] = {"delay_ms": 1} if kind == "latency" else {"after_events": 2}
    rule = emulator.add_fault(kind=kind, **fields)
    refused = [
        post(emulator, {**STREAM, "max_tokens": "many"}),  # 400: invalid body
        post(emulator, {**STREAM, "model": "no-such-deployment"}),  # 404: no deployment
        post(emulator, b"not json"),  # 400: not JSON
    ]
    assert [r.status_code for r in refused] == [400, 404, 400]
    assert hits(emulator) == [0]
    assert [entry.fault_id for entry in emulator.journal()] == [None, None, None]
    text, dropped = stream_text(emulator)
    assert hits(emulator) == [1]
    assert emulator.journal()[-1].fault_id == rule["id"]
    if kind == "latency":
        assert event_names(text)[-1] == "message_stop"
    else:
        assert "message_stop" not in event_names(text)
        assert dropped == (kind == "disconnect")


def test_a_quota_refusal_does_not_take_a_reply_fault(emulator: Emulator) -> None:
    emulator.configure(quotas={MODEL: {"rpm": 1}})
    assert post(emulator).status_code == 200
    emulator.add_fault(kind="malformed")
    assert post(emulator).status_code == 429
    assert hits(emulator) == [0]


def test_status_faults_still_come_before_validation(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=503)
    assert post(emulator, {**HELLO, "model": "no-such-deployment"}).status_code == 503
    assert hits(emulator) == [1]


def test_a_status_rule_behind_a_reply_rule_fires_on_arrival(emulator: Emulator) -> None:
    emulator.add_fault(kind="truncate")
    emulator.add_fault(kind="status", status=529)
    assert post(emulator).status_code == 529
    truncated = post(emulator)
    assert truncated.status_code == 200
    with pytest.raises(ValueError):
        truncated.json()
    assert hits(emulator) == [1, 1]


def test_count_tokens_takes_its_reply_fault_only_when_it_answers(emulator: Emulator) -> None:
    emulator.add_fault(kind="malformed", route="count_tokens")
    bad = post(emulator, {"model": MODEL}, "messages/count_tokens")
    assert bad.status_code == 400
    assert hits(emulator) == [0]
    response = post(emulator, COUNT, "messages/count_tokens")
    with pytest.raises(ValueError):
        response.json()
    assert hits(emulator) == [1]


# --- (c) PATCH /_emulator/config reseeds the fault plan ------------------------------------------


def coin_flips(emulator: Emulator, n: int = 24) -> list[int]:
    emulator.state.faults.clear()
    emulator.add_fault(kind="status", status=500, probability=0.5, count=None)
    return [post(emulator).status_code for _ in range(n)]


def test_patch_config_seed_reseeds_the_fault_plan(emulator: Emulator) -> None:
    unseeded = coin_flips(emulator)
    patched = control(emulator, "PATCH", "config", {"seed": 12345})
    assert patched.status_code == 200
    assert patched.json()["seed"] == 12345
    seeded = coin_flips(emulator)
    assert seeded != unseeded
    assert control(emulator, "PATCH", "config", {"seed": 12345}).status_code == 200
    assert coin_flips(emulator) == seeded
    first = coin_flips(emulator, 8)
    control(emulator, "PATCH", "config", {"seed": 12345})  # restarts draws of existing rules
    assert [post(emulator).status_code for _ in range(8)] == first
    assert control(emulator, "PATCH", "config", {"seed": None}).json()["seed"] is None
    assert coin_flips(emulator) == unseeded


def test_patch_config_refuses_a_bad_seed_and_changes_nothing(emulator: Emulator) -> None:
    control(emulator, "PATCH", "config", {"seed": 7})
    refused = control(emulator, "PATCH", "config", {"seed": "seven", "strict": True})
    assert refused.status_code == 400
    assert "seed must be an integer" in refused.json()["error"]["message"]
    config = control(emulator, "GET", "config").json()
    assert (config["seed"], config["strict"]) == (7, False)
    assert emulator.state.faults.seed == 7


def test_reset_restores_the_configured_seed(emulator: Emulator) -> None:
    control(emulator, "PATCH", "config", {"seed": 99})
    emulator.reset()
    assert emulator.state.faults.seed is None
    assert control(emulator, "GET", "config").json()["seed"] is None


# --- (d) POST /_emulator/faults takes an object, a list or {"faults": [...]} --------------------


def test_post_faults_accepts_every_shape(emulator: Emulator) -> None:
    one = control(emulator, "POST", "faults", {"kind": "status", "status": 529})
    assert one.status_code == 201
    assert one.json()["id"] == "fault_1"
    listed = control(emulator, "POST", "faults", [{"kind": "status", "status": 500}])
    assert [rule["id"] for rule in listed.json()] == ["fault_2"]
    wrapped = control(
        emulator,
        "POST",
        "faults",
        {"faults": [{"kind": "status", "status": 503}, {"kind": "truncate"}]},
    )
    assert wrapped.status_code == 201
    assert [rule["id"] for rule in wrapped.json()] == ["fault_3", "fault_4"]
    assert [post(emulator).status_code for _ in range(4)] == [529, 500, 503, 200]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"faults": [{"kind": "status", "status": 529}, {"kind": "nope"}]}, "faults[1]"),
        ({"faults": "everything"}, "faults must be a list"),
        ({"kind": "status", "stauts": 529}, "'stauts'"),
        (None, "send a fault rule"),
        (7, "faults must be a list"),
    ],
)
def test_post_faults_refuses_bad_shapes_whole(emulator: Emulator, body: Any, expected: str) -> None:
    response = control(emulator, "POST", "faults", body)
    assert response.status_code == 400
    assert expected in response.json()["error"]["message"]
    assert emulator.faults() == []
