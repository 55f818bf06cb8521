"""Faults, quotas and the journal seen on the wire: raw HTTP and the official client over loopback.

Complements test_emulator_faults.py: every error status as the official client classifies it,
retry headers obeyed, latency, pacing, seeded probability, expiry through the control API,
quota refusals and journal redaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest

from claude_foundry.emulator import Emulator

MODEL = "claude-sonnet-4-6"
HELLO: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello!"}],
}
COUNT = {"model": MODEL, "messages": HELLO["messages"]}


_http: httpx2.Client | None = None


@pytest.fixture(autouse=True, scope="module")
def http_client() -> Iterator[None]:
    """One connection pool for the module: a client per request costs more than the request."""
    global _http
    with httpx2.Client(timeout=10) as client:
        _http = client
        yield
    _http = None


def post(
    emulator: Emulator, body: Any = HELLO, path: str = "messages", **options: Any
) -> httpx2.Response:
    assert _http is not None
    return _http.post(
        f"{emulator.base_url}v1/{path}",
        headers={"api-key": emulator.api_key},
        json=body,
        **options,
    )


def control(emulator: Emulator, method: str, path: str, body: Any = None) -> httpx2.Response:
    assert _http is not None
    return _http.request(method, f"{emulator.url}/_emulator/{path}", json=body)


def official(emulator: Emulator, **options: Any) -> anthropic.AnthropicFoundry:
    return anthropic.AnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, **options
    )


def create(client: anthropic.AnthropicFoundry, **overrides: Any) -> Any:
    return client.messages.create(**{**HELLO, **overrides})


def event_names(text: str) -> list[str]:
    return re.findall(r"^event: (\w+)$", text, re.MULTILINE)


# --- status faults as the official client sees them ----------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "exception"),
    [
        (400, "invalid_request_error", "BadRequestError"),
        (401, "authentication_error", "AuthenticationError"),
        (403, "permission_error", "PermissionDeniedError"),
        (404, "not_found_error", "NotFoundError"),
        (413, "request_too_large", "RequestTooLargeError"),
        (429, "rate_limit_error", "RateLimitError"),
        (500, "api_error", "InternalServerError"),
        (503, "api_error", "ServiceUnavailableError"),
        (504, "timeout_error", "GatewayTimeoutError"),
        (529, "overloaded_error", "OverloadedError"),
    ],
)
def test_every_status_reaches_the_official_client_as_its_class(
    emulator: Emulator, status: int, error_type: str, exception: str
) -> None:
    emulator.add_fault(kind="status", status=status)
    with pytest.raises(getattr(anthropic, exception)) as caught:
        create(official(emulator, max_retries=0))
    error = caught.value
    assert error.status_code == status
    assert error.body["error"]["type"] == error_type
    assert error.request_id == error.response.headers["request-id"]
    assert error.response.headers["apim-request-id"]
    [entry] = emulator.journal()
    assert (entry.status, entry.fault_id) == (status, emulator.faults()[0]["id"])


def test_retry_after_is_obeyed_and_the_rule_expires(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=429, count=2, retry_after=0.01)
    message = create(official(emulator))
    assert message.stop_reason == "end_turn"
    entries = emulator.journal()
    assert [(e.status, e.retry_count) for e in entries] == [(429, 0), (429, 1), (200, 2)]
    [rule] = emulator.faults()
    assert (rule["hits"], rule["remaining"]) == (2, 0)


def test_should_retry_true_retries_even_a_400(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=400, should_retry=True, retry_after_ms=1)
    assert create(official(emulator)).content
    assert [e.status for e in emulator.journal()] == [400, 200]


def test_should_retry_false_stops_retries_even_on_500(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=500, should_retry=False, count=None)
    with pytest.raises(anthropic.InternalServerError):
        create(official(emulator))
    assert [e.status for e in emulator.journal()] == [500]


def test_error_type_and_message_are_configurable(emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=503, error_type="overloaded_error", message="Busy")
    response = post(emulator)
    assert response.status_code == 503
    assert response.json()["error"] == {"type": "overloaded_error", "message": "Busy"}
    assert "retry-after" not in response.headers


# --- latency and pacing --------------------------------------------------------------------------


def test_latency_before_the_first_byte_times_a_client_out() -> None:
    # A private emulator: the delayed request finishes after the client gave up, and its late
    # journal entry must not land in another test's journal.
    with Emulator(api_key="k") as emu:
        emu.add_fault(kind="latency", delay_ms=1000)
        with pytest.raises(httpx2.ReadTimeout):
            post(emu, timeout=0.1)
        emu.add_fault(kind="latency", delay_ms=1000)
        client = official(emu, timeout=0.1, max_retries=1)
        assert create(client).content  # the retry is not delayed: the rule was used up


def test_latency_is_spent_on_the_server(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", delay_ms=50)
    assert post(emulator).status_code == 200
    [entry] = emulator.journal()
    assert entry.duration_ms >= 50
    assert entry.fault_id is not None


def test_event_delay_paces_every_stream_event(emulator: Emulator) -> None:
    emulator.add_fault(kind="latency", event_delay_ms=10, stream=True)
    response = post(emulator, {**HELLO, "stream": True})
    names = event_names(response.text)
    assert names[-1] == "message_stop"
    [entry] = emulator.journal()
    assert entry.duration_ms >= 10 * (len(names) - 1)


# --- stream faults -------------------------------------------------------------------------------


def test_stream_error_type_follows_the_status(emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error", status=429, after_events=1, message="slow down")
    response = post(emulator, {**HELLO, "stream": True})
    assert response.status_code == 200
    assert event_names(response.text) == ["message_start", "error"]
    error = json.loads(response.text.rsplit("data: ", 1)[1])["error"]
    present = {key: value for key, value in error.items() if value is not None}
    assert present == {"type": "rate_limit_error", "message": "slow down"}


def test_stream_error_is_not_retried_by_the_official_client(emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error", after_events=0)
    client = official(emulator)
    with pytest.raises(anthropic.APIStatusError) as caught:
        for _ in create(client, stream=True):
            pass
    assert caught.value.status_code == 200
    assert "overloaded_error" in str(caught.value)
    assert len(emulator.journal()) == 1


def test_stream_error_rule_waits_for_a_streaming_request(emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error")
    assert post(emulator).status_code == 200
    assert post(emulator, COUNT, "messages/count_tokens").status_code == 200
    assert emulator.faults()[0]["remaining"] == 1
    assert "error" in event_names(post(emulator, {**HELLO, "stream": True}).text)


def test_truncated_stream_leaves_the_official_client_without_a_stop_reason(
    emulator: Emulator,
) -> None:
    emulator.add_fault(kind="truncate", after_events=3)
    client = official(emulator, max_retries=0)
    with client.messages.stream(**HELLO) as stream:
        final = stream.get_final_message()
    assert final.stop_reason is None


def test_malformed_stream_fails_the_official_client(emulator: Emulator) -> None:
    emulator.add_fault(kind="malformed", after_events=2)
    client = official(emulator, max_retries=0)
    with pytest.raises(ValueError), client.messages.stream(**HELLO) as stream:
        stream.get_final_message()


@pytest.mark.parametrize("after_events", [0, 1, 5])
def test_disconnect_after_n_events(emulator: Emulator, after_events: int) -> None:
    emulator.add_fault(kind="disconnect", after_events=after_events)
    received = b""
    with (  # noqa: PT012
        pytest.raises(httpx2.RemoteProtocolError),
        httpx2.stream(
            "POST",
            f"{emulator.base_url}v1/messages",
            headers={"api-key": emulator.api_key},
            json={**HELLO, "stream": True},
            timeout=10,
        ) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
    assert len(event_names(received.decode())) == after_events


def test_non_status_faults_apply_to_count_tokens(emulator: Emulator) -> None:
    emulator.add_fault(kind="malformed", route="count_tokens")
    emulator.add_fault(kind="disconnect", route="count_tokens")
    response = post(emulator, COUNT, "messages/count_tokens")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    with pytest.raises(httpx2.RemoteProtocolError):
        post(emulator, COUNT, "messages/count_tokens")
    assert post(emulator, COUNT, "messages/count_tokens").json()["input_tokens"] > 0


# --- rules through the control API ---------------------------------------------------------------


def test_control_api_rules_count_down_and_can_be_removed(emulator: Emulator) -> None:
    added = control(
        emulator,
        "POST",
        "faults",
        [
            {"kind": "status", "status": 529, "count": 2, "deployment": MODEL},
            {"kind": "status", "status": 500, "count": None, "deployment": "claude-haiku-4-5"},
        ],
    )
    assert added.status_code == 201
    first, second = added.json()
    assert [post(emulator).status_code for _ in range(3)] == [529, 529, 200]
    listed = {rule["id"]: rule for rule in control(emulator, "GET", "faults").json()}
    assert (listed[first["id"]]["hits"], listed[first["id"]]["remaining"]) == (2, 0)
    assert listed[second["id"]]["hits"] == 0
    haiku = {**HELLO, "model": "claude-haiku-4-5"}
    assert post(emulator, haiku).status_code == 500
    assert control(emulator, "DELETE", f"faults/{second['id']}").status_code == 200
    assert post(emulator, haiku).status_code == 200


def test_control_api_refuses_a_bad_batch_whole(emulator: Emulator) -> None:
    response = control(
        emulator,
        "POST",
        "faults",
        [{"kind": "status", "status": 529}, {"kind": "status", "status": 529, "cuont": 2}],
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "faults[1]" in message
    assert "'cuont'" in message
    assert control(emulator, "GET", "faults").json() == []


# --- seeded probability --------------------------------------------------------------------------


def coin_flips(emulator: Emulator, n: int = 24) -> list[int]:
    emulator.add_fault(kind="status", status=500, probability=0.5, count=None)
    return [post(emulator).status_code for _ in range(n)]


def test_seeded_probability_repeats_after_reset(emulator: Emulator) -> None:
    first = coin_flips(emulator)
    assert set(first) == {200, 500}
    emulator.reset()
    assert coin_flips(emulator) == first
    emulator.reset()
    emulator.state.faults.reseed(12345)
    reseeded = coin_flips(emulator)
    emulator.reset()
    emulator.state.faults.reseed(12345)
    assert coin_flips(emulator) == reseeded != first


# --- quotas --------------------------------------------------------------------------------------


def test_rpm_quota_with_the_official_client(emulator: Emulator) -> None:
    emulator.configure(quotas={MODEL: {"rpm": 1}})
    client = official(emulator, max_retries=0)
    assert create(client).content
    with pytest.raises(anthropic.RateLimitError) as caught:
        create(client)
    headers = caught.value.response.headers
    assert 1 <= int(headers["retry-after"]) <= 60
    assert 0 < int(headers["retry-after-ms"]) <= 60_000
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert "1 requests per minute" in caught.value.body["error"]["message"]
    assert [e.status for e in emulator.journal()] == [200, 429]


def test_output_quota_through_the_control_api(emulator: Emulator) -> None:
    patched = control(emulator, "PATCH", "config", {"quotas": {MODEL: {"output_tpm": 100}}})
    assert patched.status_code == 200
    assert post(emulator, {**HELLO, "max_tokens": 100}).status_code == 200
    refused = post(emulator, {**HELLO, "max_tokens": 100})
    assert refused.status_code == 429
    assert "output tokens per minute" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1
    # The first reply was settled to its real (short) output, so a small request still fits.
    assert post(emulator, {**HELLO, "max_tokens": 10}).status_code == 200


def test_input_quota_and_a_request_that_can_never_fit(emulator: Emulator) -> None:
    emulator.configure(quotas={MODEL: {"input_tpm": 60}})
    long_text = {**HELLO, "messages": [{"role": "user", "content": "word " * 200}]}
    never = post(emulator, long_text)
    assert never.status_code == 429
    assert "can never be admitted" in never.json()["error"]["message"]
    assert "retry-after" not in never.headers
    medium = {**HELLO, "messages": [{"role": "user", "content": "word " * 30}]}
    assert post(emulator, medium).status_code == 200
    refused = post(emulator, medium)
    assert refused.status_code == 429
    assert "input tokens per minute" in refused.json()["error"]["message"]
    assert "retry-after" in refused.headers


# --- journal -------------------------------------------------------------------------------------


def test_journal_redacts_credentials_on_the_control_api(emulator: Emulator) -> None:
    secret = "very-secret-token-0123456789"
    httpx2.post(
        f"{emulator.base_url}v1/messages?api-key={secret}",
        headers={
            "api-key": emulator.api_key,
            "Authorization": f"Bearer {secret}",
            "Cookie": f"session={secret}",
            "x-stainless-retry-count": "0",
        },
        json=HELLO,
        timeout=10,
    )
    text = control(emulator, "GET", "journal").text
    assert secret not in text
    assert emulator.api_key not in text
    [entry] = json.loads(text)
    assert entry["headers"]["api-key"] == "[redacted]"
    assert entry["headers"]["authorization"] == "[redacted]"
    assert entry["headers"]["cookie"] == "[redacted]"
    assert entry["query"] == "api-key=[redacted]"
    assert entry["retry_count"] == 0
    assert entry["body"]["messages"] == HELLO["messages"]
