from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_foundry.emulator import Emulator
from claude_foundry.emulator.journal import (
    BODY_LIMIT,
    HISTORY_LIMIT,
    REDACTED,
    Journal,
    JournalEntry,
    is_credential_header,
    redact_headers,
    redact_query,
)

SECRET = "sk-very-secret-value-123"


@pytest.mark.parametrize(
    "name",
    [
        "api-key",
        "API-Key",
        "x-api-key",
        "Authorization",
        "proxy-authorization",
        "Ocp-Apim-Subscription-Key",
        "cookie",
        "Set-Cookie",
        "x-ms-token-aad-id-token",
        "X-MS-TOKEN-AAD-ACCESS-TOKEN",
    ],
)
def test_credential_headers_are_redacted(name: str) -> None:
    assert is_credential_header(name)
    assert redact_headers({name: SECRET}) == {name.lower(): REDACTED}
    assert redact_headers([(name, SECRET)]) == {name.lower(): REDACTED}


def test_other_headers_are_kept_with_lower_case_names() -> None:
    headers = redact_headers(
        [
            ("Content-Type", "application/json"),
            ("X-Stainless-Retry-Count", "2"),
            ("anthropic-version", "2026-10-21"),
            ("Accept", "application/json"),
            ("accept", "text/event-stream"),
        ]
    )
    assert headers == {
        "content-type": "application/json",
        "x-stainless-retry-count": "2",
        "anthropic-version": "2026-10-21",
        "accept": "application/json, text/event-stream",
    }


def test_raw_byte_headers_and_repeated_credentials() -> None:
    headers = redact_headers([(b"Cookie", b"a=1"), (b"cookie", b"b=2"), (b"x-trace", b"t")])
    assert headers == {"cookie": REDACTED, "x-trace": "t"}


@given(
    name=st.sampled_from(["api-key", "x-api-key", "authorization", "cookie", "x-ms-token-x"]),
    secret=st.text(min_size=1),
    upper=st.booleans(),
)
def test_no_credential_value_survives(name: str, secret: str, upper: bool) -> None:
    entry = JournalEntry(headers={(name.upper() if upper else name): secret, "a": "b"})
    assert entry.header(name) == REDACTED
    assert list(entry.to_dict()["headers"].values()) == [REDACTED, "b"]


def test_query_credentials_are_redacted() -> None:
    assert redact_query("") == ""
    assert redact_query("api-version=2025-01-01") == "api-version=2025-01-01"
    assert redact_query(f"api-version=1&api-key={SECRET}") == f"api-version=1&api-key={REDACTED}"
    assert SECRET not in redact_query(f"sig={SECRET}&Token={SECRET}&x")


def test_entry_redacts_on_construction_and_reads_retry_count() -> None:
    entry = JournalEntry(
        method="POST",
        path="/anthropic/v1/messages",
        query=f"api-key={SECRET}",
        headers={"Authorization": f"Bearer {SECRET}", "x-stainless-retry-count": "1"},
        raw_body=b'{"model": "d1", "max_tokens": 5, "messages": []}',
        status=200,
        deployment="d1",
    )
    assert entry.retry_count == 1
    dumped = json.dumps(entry.to_dict())
    assert SECRET not in dumped
    assert SECRET not in repr(entry)
    assert entry.to_dict()["body"]["model"] == "d1"
    assert entry.id.startswith("j_")
    assert JournalEntry().id != entry.id


def test_retry_count_absent_or_garbage_is_none() -> None:
    assert JournalEntry().retry_count is None
    assert JournalEntry(headers={"x-stainless-retry-count": "lots"}).retry_count is None
    assert JournalEntry(retry_count=3).retry_count == 3


def test_to_dict_has_every_field_and_copies_the_body() -> None:
    entry = JournalEntry(
        raw_body=b'{"messages": [{"role": "user", "content": "hi"}]}', fault_id="f"
    )
    dumped = entry.to_dict()
    assert set(dumped) == {
        "id",
        "time",
        "method",
        "path",
        "query",
        "headers",
        "body",
        "status",
        "deployment",
        "request_id",
        "apim_request_id",
        "stream",
        "retry_count",
        "unknown_fields",
        "fault_id",
        "fault_kind",
        "history",
        "duration_ms",
    }
    dumped["body"]["messages"].clear()
    assert entry.body["messages"]
    assert json.loads(json.dumps(dumped))["fault_id"] == "f"


def test_journal_is_a_bounded_ring_oldest_first() -> None:
    journal = Journal(maxlen=3)
    for index in range(5):
        journal.record(JournalEntry(path=str(index)))
    assert [entry.path for entry in journal.entries()] == ["2", "3", "4"]
    assert len(journal) == 3
    journal.clear()
    assert journal.entries() == []


def test_entries_filter_by_deployment_and_limit() -> None:
    journal = Journal()
    for index, deployment in enumerate(["a", "b", "a", "a", "b"]):
        journal.record(JournalEntry(path=str(index), deployment=deployment))
    assert [e.path for e in journal.entries(deployment="a")] == ["0", "2", "3"]
    assert [e.path for e in journal.entries(deployment="a", limit=2)] == ["2", "3"]
    assert [e.path for e in journal.entries(limit=10)] == ["0", "1", "2", "3", "4"]
    assert journal.entries(limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        journal.entries(limit=-1)


def test_maxlen_is_validated() -> None:
    with pytest.raises(ValueError, match="maxlen"):
        Journal(maxlen=0)


def test_concurrent_records_are_all_kept() -> None:
    journal = Journal(maxlen=10_000)

    def worker() -> None:
        for _ in range(500):
            journal.record(JournalEntry())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = journal.entries()
    assert len(entries) == 4000
    assert len({entry.id for entry in entries}) == 4000


# --- credentials by pattern, not by list ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "x-api-key",
        "authorization",
        "password",
        "Ocp-Apim-Subscription-Key",
        "client_secret",
        "refresh_token",
        "X-Goog-Api-Key",
        "passwd",
        "sas_signature",
        "sig",
        "x-amz-security-token",
        "session_id",
        "credentials",
    ],
)
def test_query_credentials_are_redacted_by_pattern(name: str) -> None:
    redacted = redact_query(f"api-version=1&{name}={SECRET}")
    assert SECRET not in redacted
    assert redacted.startswith("api-version=1&")
    entry = JournalEntry(query=f"{name}={SECRET}", headers={name: SECRET})
    assert SECRET not in entry.to_json().decode()


@pytest.mark.parametrize("name", ["api-version", "deployment", "limit", "stream", "design"])
def test_ordinary_query_parameters_are_kept(name: str) -> None:
    assert redact_query(f"{name}=1") == f"{name}=1"


# --- bounded in bytes ------------------------------------------------------------------------


def test_body_is_kept_as_bytes_and_decoded_afresh() -> None:
    raw = b'{"messages": [{}, {}, {}]}'
    entry = JournalEntry(raw_body=raw)
    assert entry.raw_body is raw
    assert entry.body == {"messages": [{}, {}, {}]}
    entry.body["messages"].clear()  # a decoded copy; the entry is unchanged
    assert entry.body["messages"] == [{}, {}, {}]
    assert json.loads(entry.to_json())["body"] == {"messages": [{}, {}, {}]}


def test_a_body_over_the_entry_limit_becomes_a_note() -> None:
    entry = JournalEntry(raw_body=b"[" + b"{}," * (BODY_LIMIT // 3) + b"{}]")
    assert entry.raw_body is None
    assert "_omitted" in entry.body
    assert json.loads(entry.to_json())["body"] == entry.body


def test_journal_keeps_at_most_max_bytes_of_bodies() -> None:
    journal = Journal(maxlen=1000, max_bytes=10_000)
    body = b'{"x": "' + b"a" * 3000 + b'"}'
    for _ in range(20):
        journal.record(JournalEntry(raw_body=body))
    assert journal.body_bytes <= 10_000
    entries = journal.entries()
    assert len(entries) == 20  # entries stay; only the oldest bodies give way
    kept = [entry for entry in entries if entry.raw_body is not None]
    assert len(kept) == 10_000 // len(body)
    assert entries[-1].raw_body is body
    assert "dropped" in entries[0].body["_omitted"]


def test_evicted_entries_release_their_bytes() -> None:
    journal = Journal(maxlen=3, max_bytes=10**9)
    for _ in range(10):
        journal.record(JournalEntry(raw_body=b'{"x": 1}'))
    assert journal.body_bytes == 3 * len(b'{"x": 1}')
    journal.clear()
    assert journal.body_bytes == 0


def test_entries_serialise_while_newer_ones_push_their_bodies_out() -> None:
    journal = Journal(maxlen=50, max_bytes=2_000)
    body = b'{"x": "' + b"a" * 300 + b'"}'
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            journal.record(JournalEntry(raw_body=body))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(200):
            for entry in journal.entries():
                decoded = json.loads(entry.to_json())
                assert (
                    decoded["body"] is None
                    or "x" in decoded["body"]
                    or "_omitted" in decoded["body"]
                )
    finally:
        stop.set()
        thread.join()
    assert journal.body_bytes <= 2_000


def test_history_is_kept_as_bytes_within_a_limit() -> None:
    conversation = [{"role": "user", "content": "hi"}]
    entry = JournalEntry(raw_history=json.dumps(conversation).encode())
    assert entry.history == conversation
    entry.history.clear()  # each access decodes afresh
    assert entry.history == conversation
    assert entry.to_dict()["history"] == conversation
    assert "raw_history" not in repr(entry)
    huge = JournalEntry(raw_history=json.dumps(["x" * (HISTORY_LIMIT + 1)]).encode())
    assert "conversation of about" in huge.history["_omitted"]
    assert JournalEntry().history is None


def test_history_counts_against_the_byte_budget() -> None:
    journal = Journal(max_bytes=300)
    history = json.dumps([{"role": "user", "content": "x" * 200}]).encode()
    first = JournalEntry(raw_body=b'{"a": 1}', raw_history=history)
    journal.record(first)
    assert journal.body_bytes == first.size == len(history) + 8
    journal.record(JournalEntry(raw_history=history))
    assert first.raw_history is None
    assert "dropped" in first.history["_omitted"]
    assert first.body == {"_omitted": first.body_note}
    assert journal.body_bytes <= 300
    as_json = json.loads(journal.entries()[-1].to_json())
    assert as_json["history"][0]["content"] == "x" * 200


def test_a_request_in_flight_at_a_reset_stays_out_of_the_next_journal(
    emulator: Emulator,
) -> None:
    from claude_foundry import AnthropicFoundry

    client = AnthropicFoundry(api_key="test-key", base_url=emulator.base_url, ledger=False)
    request = {
        "model": "claude-sonnet-5",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "slow"}],
    }
    emulator.add_fault(kind="latency", delay_ms=400, count=1)
    slow = threading.Thread(target=lambda: client.messages.create(**request))
    slow.start()
    while True:  # until the slow request has arrived and taken the fault
        rules = emulator.faults()
        if not rules or rules[0].get("hits", 0) >= 1:
            break
        threading.Event().wait(0.01)
    emulator.reset()  # the next test begins
    client.messages.create(**request)
    slow.join()
    entries = emulator.journal()
    assert len(entries) == 1  # the request of the previous test, finished later, is not there
    assert entries[0].fault_id is None
    client.close()
