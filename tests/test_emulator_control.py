"""The control API under /_emulator/, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from claude_foundry.emulator import Emulator

MODEL = "claude-sonnet-4-6"
HELLO = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hello!"}]}


@pytest.fixture
def control(emulator: Emulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=f"{emulator.url}/_emulator/", timeout=10) as client:
        yield client


def ask(emulator: Emulator, body: Any = HELLO) -> httpx2.Response:
    return httpx2.post(
        f"{emulator.base_url}v1/messages", headers={"x-api-key": emulator.api_key}, json=body
    )


def test_health(control: httpx2.Client) -> None:
    response = control.get("health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["deployments"] >= 10


def test_faults_round_trip(emulator: Emulator, control: httpx2.Client) -> None:
    created = control.post("faults", json={"kind": "status", "status": 529, "count": 1})
    assert created.status_code == 201
    fault_id = created.json()["id"]
    several = control.post(
        "faults",
        json=[{"kind": "latency", "delay_ms": 1}, {"kind": "truncate", "after_events": 2}],
    )
    assert [rule["kind"] for rule in several.json()] == ["latency", "truncate"]
    assert ask(emulator).status_code == 529
    rules = control.get("faults").json()
    assert rules[0]["id"] == fault_id
    assert rules[0]["hits"] == 1
    assert control.delete(f"faults/{fault_id}").json() == {"deleted": fault_id}
    assert control.delete(f"faults/{fault_id}").status_code == 404
    assert control.delete("faults").status_code == 200
    assert control.get("faults").json() == []


def test_a_bad_rule_in_a_list_adds_nothing(control: httpx2.Client) -> None:
    response = control.post("faults", json=[{"kind": "latency", "delay_ms": 1}, {"kind": "nope"}])
    assert response.status_code == 400
    assert "nope" in response.json()["error"]["message"]
    assert control.get("faults").json() == []


def test_journal_lists_and_clears(emulator: Emulator, control: httpx2.Client) -> None:
    ask(emulator)
    ask(emulator, {**HELLO, "model": "claude-haiku-4-5"})
    entries = control.get("journal").json()
    assert [e["deployment"] for e in entries] == [MODEL, "claude-haiku-4-5"]
    assert entries[0]["headers"]["x-api-key"] == "[redacted]"
    assert emulator.api_key not in str(entries)
    only = control.get("journal", params={"deployment": "claude-haiku-4-5"}).json()
    assert len(only) == 1
    assert len(control.get("journal", params={"limit": "1"}).json()) == 1
    assert control.get("journal", params={"limit": "many"}).status_code == 400
    assert control.delete("journal").status_code == 200
    assert control.get("journal").json() == []


def test_control_requests_are_not_journalled(emulator: Emulator, control: httpx2.Client) -> None:
    control.get("health")
    control.get("faults")
    assert emulator.journal() == []


def test_config_get_hides_keys(emulator: Emulator, control: httpx2.Client) -> None:
    config = control.get("config").json()
    assert config["api_keys"] == 1
    assert emulator.api_key not in str(config)
    by_name = {d["name"]: d for d in config["deployments"]}
    assert by_name["claude-haiku-4-5"]["hosting"] == "azure"
    assert by_name["claude-sonnet-4-6"]["hosting"] == "anthropic"
    assert "structured_outputs" in by_name["claude-haiku-4-5"]["unavailable_features"]


def test_config_patch_deployments_and_quotas(emulator: Emulator, control: httpx2.Client) -> None:
    patched = control.patch(
        "config",
        json={
            "deployments": {
                "team-a": {"model": "claude-haiku-4-5", "hosting": "anthropic"},
                "claude-opus-4-1": None,
            },
            "quotas": {"team-a": {"rpm": 1}},
            "stream_event_delay_ms": 0,
        },
    )
    assert patched.status_code == 200
    names = {d["name"] for d in patched.json()["deployments"]}
    assert "team-a" in names
    assert "claude-opus-4-1" not in names
    assert ask(emulator, {**HELLO, "model": "team-a"}).status_code == 200
    assert ask(emulator, {**HELLO, "model": "team-a"}).status_code == 429
    assert ask(emulator, {**HELLO, "model": "claude-opus-4-1"}).status_code == 404


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"nonsense": 1}, "nonsense"),
        ({"deployments": {"x": {"hosting": "moon"}}}, "hosting"),
        ({"quotas": {"no-such-deployment": {"rpm": 1}}}, "no-such-deployment"),
        ({"quotas": {MODEL: {"rpm": -1}}}, "rpm"),
        ({"quotas": {MODEL: {"rpmm": 1}}}, "rpmm"),
        ({"strict": "yes"}, "strict"),
        ({"quota_preset": "platinum"}, "quota_preset"),
        ({"stream_event_delay_ms": -1}, "stream_event_delay_ms must be a number of milliseconds"),
        ({"stream_event_delay_ms": 60_001}, "from 0 to 60000"),
        ({"stream_event_delay_ms": 1e300}, "from 0 to 60000"),
        ([1, 2], "JSON object"),
    ],
)
def test_config_patch_refuses_bad_input_and_changes_nothing(
    control: httpx2.Client, patch: Any, fragment: str
) -> None:
    before = control.get("config").json()
    response = control.patch("config", json=patch)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]
    assert control.get("config").json() == before


def test_quota_preset_via_patch(control: httpx2.Client) -> None:
    config = control.patch("config", json={"quota_preset": "pay-as-you-go"}).json()
    by_name = {d["name"]: d for d in config["deployments"]}
    assert by_name["claude-haiku-4-5"]["quotas"] == {
        "rpm": 80,
        "input_tpm": 80_000,
        "output_tpm": 16_000,
    }
    assert by_name["claude-opus-4-8"]["quotas"]["rpm"] == 40
    assert by_name["claude-fable-5"]["quotas"]["rpm"] == 0


def test_scripts_round_trip(emulator: Emulator, control: httpx2.Client, tmp_path: Path) -> None:
    added = control.post("scripts", json={"contains": "weather", "reply": {"text": "Sunny."}})
    assert added.status_code == 201
    rule_id = added.json()[0]["id"]
    weather = {**HELLO, "messages": [{"role": "user", "content": "The weather?"}]}
    assert ask(emulator, weather).json()["content"][0]["text"] == "Sunny."
    assert control.get("scripts").json()[0]["id"] == rule_id
    assert control.delete(f"scripts/{rule_id}").status_code == 200
    assert control.delete(f"scripts/{rule_id}").status_code == 404

    script = tmp_path / "replies.toml"
    script.write_text('[[scripts]]\ncontains = "ping"\nreply = { text = "pong" }\n', "utf-8")
    assert control.post("scripts", json={"path": str(script)}).status_code == 201
    ping = {**HELLO, "messages": [{"role": "user", "content": "ping"}]}
    assert ask(emulator, ping).json()["content"][0]["text"] == "pong"
    assert control.delete("scripts").status_code == 200
    assert control.get("scripts").json() == []
    assert control.post("scripts", json={"nonsense": True}).status_code == 400
    assert control.post("scripts", json={"path": str(tmp_path / "missing.toml")}).status_code == 400


def test_reset_restores_the_start_state(emulator: Emulator, control: httpx2.Client) -> None:
    control.post("faults", json={"kind": "status", "status": 500, "count": None})
    control.patch("config", json={"strict": True})
    ask(emulator)
    assert control.post("reset").json() == {"reset": True}
    assert control.get("faults").json() == []
    assert control.get("config").json()["strict"] is False
    response = ask(emulator)
    assert response.status_code == 200
    assert response.headers["request-id"] == "req_01" + "0" * 21 + "1"  # ids restart


def test_journal_shows_a_dropped_connection_without_a_status(
    emulator: Emulator, control: httpx2.Client
) -> None:
    rules = control.post(
        "faults",
        json=[
            {"kind": "disconnect", "stream": False},
            {"kind": "disconnect", "stream": True, "after_events": 2},
        ],
    ).json()
    with pytest.raises(httpx2.RemoteProtocolError):
        ask(emulator)
    with pytest.raises(httpx2.RemoteProtocolError):
        ask(emulator, {**HELLO, "stream": True})
    assert ask(emulator).status_code == 200
    entries = control.get("journal").json()
    assert [(e["status"], e["fault_id"], e["fault_kind"], e["stream"]) for e in entries] == [
        (None, rules[0]["id"], "disconnect", False),
        (None, rules[1]["id"], "disconnect", True),
        (200, None, None, False),
    ]


def test_journal_names_the_kind_of_an_answered_fault(
    emulator: Emulator, control: httpx2.Client
) -> None:
    control.post("faults", json={"kind": "status", "status": 529})
    assert ask(emulator).status_code == 529
    (entry,) = control.get("journal").json()
    assert (entry["status"], entry["fault_kind"]) == (529, "status")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "nowhere", 404),
        ("GET", "faults/x/y", 404),
        ("POST", "health", 405),
        ("GET", "reset", 405),
        ("PUT", "config", 405),
    ],
)
def test_unknown_routes_and_methods(
    control: httpx2.Client, method: str, path: str, status: int
) -> None:
    response = control.request(method, path)
    assert response.status_code == status
    assert response.json()["error"]["message"]
    if status == 405:
        assert response.headers["allow"]


def test_invalid_json_is_400(control: httpx2.Client) -> None:
    response = control.post(
        "faults", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_journal_omits_large_bodies(emulator: Emulator, control: httpx2.Client) -> None:
    big = {**HELLO, "messages": [{"role": "user", "content": "z" * 300_000}]}
    assert ask(emulator, big).status_code == 200
    (entry,) = control.get("journal").json()
    assert "_omitted" in entry["body"]
    assert entry["deployment"] == MODEL


def test_key_rotation_via_patch(emulator: Emulator, control: httpx2.Client) -> None:
    old = emulator.api_key
    assert control.patch("config", json={"api_keys": ["new-key", old]}).status_code == 200
    during = httpx2.post(f"{emulator.base_url}v1/messages", headers={"api-key": old}, json=HELLO)
    assert during.status_code == 200  # the old key still works during the rotation
    control.patch("config", json={"api_keys": ["new-key"]})
    stale = httpx2.post(f"{emulator.base_url}v1/messages", headers={"api-key": old}, json=HELLO)
    assert stale.status_code == 401
    assert emulator.api_key == "new-key"
    fresh = httpx2.post(
        f"{emulator.base_url}v1/messages", headers={"api-key": "new-key"}, json=HELLO
    )
    assert fresh.status_code == 200
    assert control.patch("config", json={"api_keys": []}).status_code == 400
    assert "new-key" not in control.get("config").text
