"""Faults and quotas wired into the emulator's request path, seen over real loopback HTTP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from claude_foundry.emulator import Emulator

MODEL = "claude-sonnet-4-6"
HELLO = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hello!"}]}


def post(emulator: Emulator, body: Any = HELLO, path: str = "messages") -> httpx2.Response:
    return httpx2.post(
        f"{emulator.base_url}v1/{path}",
        headers={"api-key": emulator.api_key},
        json=body,
        timeout=10,
    )


def event_names(text: str) -> list[str]:
    return re.findall(r"^event: (\w+)$", text, re.MULTILINE)


def official(emulator: Emulator, **options: Any) -> anthropic.AnthropicFoundry:
    return anthropic.AnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, **options
    )


# --- status faults ------------------------------------------------------------------------------


def test_status_fault_then_success_with_the_official_client_retrying(emulator: Emulator) -> None:
    rule = emulator.add_fault(kind="status", status=529, count=2, retry_after_ms=1)
    message = official(emulator).messages.create(**HELLO)  # type: ignore[call-overload]
    assert message.content[0].text
    entries = emulator.journal()
    assert [e.status for e in entries] == [529, 529, 200]
    assert [e.retry_count for e in entries] == [0, 1, 2]
    assert [e.fault_id for e in entries] == [rule["id"], rule["id"], None]
    assert emulator.faults()[0]["hits"] == 2


def test_status_fault_body_and_headers(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=429, retry_after=3, should_retry=False)
    response = post(emulator)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["x-should-retry"] == "false"
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    assert body["error"]["type"] == "rate_limit_error"
    assert body["request_id"] == response.headers["request-id"]
    assert post(emulator).status_code == 200  # count defaults to 1


def test_status_fault_with_azure_body_override(emulator: Emulator) -> None:
    azure = {"error": {"code": "PermissionDenied", "message": "The principal lacks the action"}}
    emulator.add_fault(kind="status", status=401, body=azure)
    response = post(emulator)
    assert response.status_code == 401
    assert response.json() == azure
    assert response.headers["apim-request-id"]


def test_status_fault_comes_after_auth_and_before_validation(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=503, count=None)
    bad_key = httpx2.post(f"{emulator.base_url}v1/messages", headers={"api-key": "x"}, json=HELLO)
    assert bad_key.status_code == 401
    assert post(emulator, {"not": "a request"}).status_code == 503


def test_fault_selectors_route_deployment_stream(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=500, route="count_tokens", count=None)
    emulator.add_fault(kind="status", status=502, deployment="claude-haiku-4-5", count=None)
    emulator.add_fault(kind="status", status=504, stream=True, count=None)
    counted = post(
        emulator, {"model": MODEL, "messages": HELLO["messages"]}, "messages/count_tokens"
    )
    assert counted.status_code == 500
    assert post(emulator, {**HELLO, "model": "claude-haiku-4-5"}).status_code == 502
    assert post(emulator, {**HELLO, "stream": True}).status_code == 504
    assert post(emulator).status_code == 200


def test_latency_fault_still_answers(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", delay_ms=20, event_delay_ms=1)
    response = post(emulator, {**HELLO, "stream": True})
    assert event_names(response.text)[-1] == "message_stop"


# --- stream faults ------------------------------------------------------------------------------


def test_mid_stream_error_event(emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error", after_events=3)
    response = post(emulator, {**HELLO, "stream": True})
    assert response.status_code == 200
    names = event_names(response.text)
    assert len(names) == 4
    assert names[-1] == "error"
    assert '"type":"overloaded_error"' in response.text.replace(" ", "")
    assert "message_stop" not in names


def test_mid_stream_error_raises_in_the_official_client(emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error", after_events=2)
    client = official(emulator, max_retries=0)

    def consume() -> None:
        with client.messages.stream(**HELLO) as stream:  # type: ignore[arg-type]
            for _ in stream:
                pass

    with pytest.raises(anthropic.APIStatusError) as caught:
        consume()
    assert "overloaded_error" in str(caught.value)


def test_truncated_stream_ends_cleanly_without_message_stop(emulator: Emulator) -> None:
    emulator.add_fault(kind="truncate", after_events=4)
    response = post(emulator, {**HELLO, "stream": True})
    assert response.status_code == 200
    names = event_names(response.text)
    assert len(names) == 4
    assert "message_stop" not in names
    assert response.text.endswith("\n\n")


def test_disconnect_mid_stream(emulator: Emulator) -> None:
    emulator.add_fault(kind="disconnect", after_events=3)
    received: list[bytes] = []
    statuses: list[int] = []

    def consume() -> None:
        with httpx2.stream(
            "POST",
            f"{emulator.base_url}v1/messages",
            headers={"api-key": emulator.api_key},
            json={**HELLO, "stream": True},
        ) as response:
            statuses.append(response.status_code)
            received.extend(response.iter_bytes())

    with pytest.raises(httpx2.RemoteProtocolError):
        consume()
    assert statuses == [200]
    assert event_names(b"".join(received).decode()) == [
        "message_start",
        "content_block_start",
        "ping",
    ]
    assert post(emulator).status_code == 200  # the server carries on


def test_disconnect_without_body_on_non_streaming(emulator: Emulator) -> None:
    emulator.add_fault(kind="disconnect", count=2)
    with pytest.raises(httpx2.RemoteProtocolError):
        post(emulator)
    with pytest.raises(anthropic.APIConnectionError):
        official(emulator, max_retries=0).messages.create(**HELLO)  # type: ignore[call-overload]


def test_disconnect_is_retried_by_the_official_client(emulator: Emulator) -> None:
    emulator.add_fault(kind="disconnect")
    message = official(emulator).messages.create(**HELLO)  # type: ignore[call-overload]
    assert message.stop_reason == "end_turn"
    assert [e.retry_count for e in emulator.journal()] == [0, 1]


def test_malformed_stream_chunk(emulator: Emulator) -> None:
    emulator.add_fault(kind="malformed", after_events=2)
    response = post(emulator, {**HELLO, "stream": True})
    assert response.status_code == 200
    assert '"ind\n\n' in response.text
    assert "message_stop" not in event_names(response.text)


def test_malformed_and_truncated_json_bodies(emulator: Emulator) -> None:
    emulator.add_fault(kind="malformed")
    emulator.add_fault(kind="truncate")
    for _ in range(2):
        response = post(emulator)
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()


def test_faults_from_the_config_file_survive_reset(tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text(
        'api_key = "k"\n\n[[faults]]\nkind = "status"\nstatus = 529\ncount = 1\n', "utf-8"
    )
    with Emulator(config) as emu:
        assert post(emu).status_code == 529
        assert post(emu).status_code == 200
        emu.reset()
        assert post(emu).status_code == 529


def test_bad_fault_rules_are_refused(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="kind"):
        emulator.add_fault(kind="explode")
    response = httpx2.post(f"{emulator.url}/_emulator/faults", json={"kind": "status"})
    assert response.status_code == 400
    assert response.json()["error"]["message"]


# --- quotas -------------------------------------------------------------------------------------


def test_rpm_quota_answers_429_with_retry_after(emulator: Emulator) -> None:
    emulator.configure(quotas={MODEL: {"rpm": 2}})
    assert post(emulator).status_code == 200
    assert post(emulator, {**HELLO, "stream": True}).status_code == 200
    refused = post(emulator)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.headers["request-id"].startswith("req_")
    assert not any(h.startswith("anthropic-ratelimit") for h in refused.headers)
    # count_tokens is not charged, and other deployments have their own windows.
    counted = post(
        emulator, {"model": MODEL, "messages": HELLO["messages"]}, "messages/count_tokens"
    )
    assert counted.status_code == 200
    assert post(emulator, {**HELLO, "model": "claude-haiku-4-5"}).status_code == 200


def test_quota_refuses_a_request_larger_than_the_limit(emulator: Emulator) -> None:
    emulator.configure(quotas={MODEL: {"output_tpm": 100}})
    refused = post(emulator, {**HELLO, "max_tokens": 500})
    assert refused.status_code == 429
    assert "output" in refused.json()["error"]["message"].lower()


def test_quota_settles_actual_output(emulator: Emulator) -> None:
    # max_tokens is reserved at admission and replaced by the real output afterwards, so many
    # short replies fit in a window that could hold only one full reservation at a time.
    emulator.configure(quotas={MODEL: {"output_tpm": 1000}})
    for _ in range(5):
        assert post(emulator, {**HELLO, "max_tokens": 900}).status_code == 200


def test_reset_clears_quota_windows(emulator: Emulator) -> None:
    emulator.configure(quotas={MODEL: {"rpm": 1}})
    assert post(emulator).status_code == 200
    assert post(emulator).status_code == 429
    emulator.state.quota.reset()
    assert post(emulator).status_code == 200
    emulator.reset()  # configuration back to start: no quotas
    for _ in range(3):
        assert post(emulator).status_code == 200


def test_refused_requests_are_not_charged(emulator: Emulator) -> None:
    emulator.configure(
        deployments={"tiny": {"model": "claude-haiku-4-5", "context_window": 50}},
        quotas={"tiny": {"rpm": 1}},
    )
    long_prompt = {**HELLO, "model": "tiny", "messages": [{"role": "user", "content": "x" * 400}]}
    too_long = post(emulator, long_prompt)
    assert too_long.status_code == 400
    assert "prompt is too long" in too_long.json()["error"]["message"]
    bad_thinking = {**HELLO, "model": "tiny", "thinking": {"type": "enabled", "budget_tokens": 5}}
    assert post(emulator, bad_thinking).status_code == 400
    assert post(emulator, {**HELLO, "model": "tiny"}).status_code == 200
    assert post(emulator, {**HELLO, "model": "tiny"}).status_code == 429


def test_deployments_in_one_quota_pool_share_windows(emulator: Emulator) -> None:
    emulator.configure(
        deployments={
            "east": {"model": MODEL, "quota_pool": "sonnet", "quotas": {"rpm": 1}},
            "west": {"model": MODEL, "quota_pool": "sonnet", "quotas": {"rpm": 1}},
            "own": {"model": MODEL, "quotas": {"rpm": 1}},
        }
    )
    assert post(emulator, {**HELLO, "model": "east"}).status_code == 200
    assert post(emulator, {**HELLO, "model": "west"}).status_code == 429
    assert post(emulator, {**HELLO, "model": "own"}).status_code == 200
