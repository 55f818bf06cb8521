from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_foundry.emulator.faults import (
    MALFORMED_JSON_BODY,
    MALFORMED_SSE_CHUNK,
    FaultPlan,
    FaultSpec,
    default_error_type,
    parse_fault_list,
    status_fault_response,
    stream_error_event,
)
from claude_foundry.types import decode_stream_event, encode

# --- validation ----------------------------------------------------------------------------------


def test_unknown_key_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown fault field 'stauts'; allowed: kind, status"):
        FaultSpec.from_dict({"kind": "status", "stauts": 429})


def test_several_unknown_keys_are_all_named() -> None:
    with pytest.raises(ValueError, match=r"unknown fault fields 'a', 'b'"):
        FaultSpec.from_dict({"kind": "status", "status": 429, "b": 1, "a": 2})


def test_kind_is_required_and_checked() -> None:
    with pytest.raises(ValueError, match="needs 'kind'"):
        FaultSpec.from_dict({"status": 429})
    with pytest.raises(ValueError, match="unknown fault kind 'explode'; use one of: status"):
        FaultSpec.from_dict({"kind": "explode"})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kind": "status", "status": 200}, "400-599"),
        ({"kind": "status", "status": 600}, "400-599"),
        ({"kind": "status", "status": "429"}, "whole number"),
        ({"kind": "status", "status": True}, "whole number"),
        ({"kind": "status", "status": 429, "count": 0}, "at least 1"),
        ({"kind": "status", "status": 429, "probability": 0}, r"\(0, 1\]"),
        ({"kind": "status", "status": 429, "probability": 1.5}, r"\(0, 1\]"),
        ({"kind": "status", "status": 429, "retry_after": -1}, "retry_after"),
        ({"kind": "status", "status": 429, "retry_after": float("nan")}, "retry_after"),
        ({"kind": "status", "status": 429, "retry_after_ms": -5}, "retry_after_ms"),
        ({"kind": "status", "status": 429, "should_retry": "yes"}, "true or false"),
        ({"kind": "latency", "delay_ms": -1}, "delay_ms"),
        ({"kind": "latency", "delay_ms": 10_000_000}, "delay_ms"),
        ({"kind": "truncate", "after_events": -1}, "after_events"),
        ({"kind": "status", "status": 429, "route": "models"}, "route"),
        ({"kind": "status", "status": 429, "deployment": ""}, "deployment"),
        ({"kind": "status", "status": 429, "body": [1, 2]}, "JSON object"),
        ({"kind": "status", "status": 429, "body": {"x": object()}}, "JSON-serialisable"),
        ({"kind": "status"}, "needs 'status'"),
        ({"kind": "latency"}, "delay_ms' or 'event_delay_ms"),
        ({"kind": "latency", "delay_ms": 5, "retry_after": 1}, "does not apply to a 'latency'"),
        ({"kind": "status", "status": 500, "after_events": 3}, "does not apply to a 'status'"),
        ({"kind": "stream_error", "stream": False}, "streaming requests only"),
        ({"kind": "stream_error", "route": "count_tokens"}, "count_tokens"),
    ],
)
def test_bad_values_are_refused(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        FaultSpec.from_dict(fields)


def test_status_is_derived_from_error_type() -> None:
    assert FaultSpec(kind="status", error_type="overloaded_error").status == 529
    assert FaultSpec(kind="status", error_type="rate_limit_error").status == 429


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="400-599"):
        FaultSpec(kind="status", status=302)


def test_spec_round_trips_through_json() -> None:
    spec = FaultSpec(kind="status", status=429, retry_after=0.5, count=None, deployment="d")
    again = FaultSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


# --- parse_fault_list ----------------------------------------------------------------------------


def test_parse_fault_list_accepts_list_object_and_wrapper() -> None:
    one = {"kind": "status", "status": 529}
    assert len(parse_fault_list([one, {"kind": "disconnect"}])) == 2
    assert parse_fault_list(one)[0].status == 529
    assert len(parse_fault_list({"faults": [one, one]})) == 2
    assert parse_fault_list([]) == []


def test_parse_fault_list_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"faults\[1\]: unknown fault field 'sttus'"):
        parse_fault_list([{"kind": "status", "status": 529}, {"kind": "status", "sttus": 1}])
    with pytest.raises(ValueError, match=r"faults\[0\]: a fault must be an object"):
        parse_fault_list(["status"])
    with pytest.raises(ValueError, match="list of objects"):
        parse_fault_list("status")


# --- FaultPlan: matching and counting ------------------------------------------------------------


def take(plan: FaultPlan, **overrides: Any) -> Any:
    request: dict[str, Any] = {"route": "messages", "deployment": "d1", "stream": False}
    request.update(overrides)
    return plan.take(**request)


def test_count_based_rule_expires() -> None:
    plan = FaultPlan()
    rule = plan.add({"kind": "status", "status": 529, "count": 2})
    assert rule["id"] == "fault_1"
    assert rule["remaining"] == 2
    first, second = take(plan), take(plan)
    assert (first.id, first.hit, second.hit) == ("fault_1", 1, 2)
    assert take(plan) is None
    [state] = plan.rules()
    assert (state["hits"], state["remaining"]) == (2, 0)


def test_count_none_applies_forever() -> None:
    plan = FaultPlan()
    plan.add(FaultSpec(kind="status", status=500, count=None))
    assert all(take(plan) is not None for _ in range(50))
    assert plan.rules()[0]["hits"] == 50


def test_selectors_route_deployment_stream() -> None:
    plan = FaultPlan()
    plan.add({"kind": "status", "status": 429, "route": "count_tokens", "count": None})
    plan.add({"kind": "status", "status": 503, "deployment": "d2", "count": None})
    plan.add({"kind": "disconnect", "stream": True, "count": None})
    assert take(plan) is None
    assert take(plan, route="count_tokens").spec.status == 429
    assert take(plan, deployment="d2").spec.status == 503
    assert take(plan, stream=True).spec.kind == "disconnect"


def test_stream_error_only_matches_streaming_requests() -> None:
    plan = FaultPlan()
    plan.add({"kind": "stream_error"})
    assert take(plan, stream=False) is None
    assert take(plan, stream=True).spec.kind == "stream_error"


def test_first_live_rule_wins_then_the_next() -> None:
    plan = FaultPlan()
    plan.add({"kind": "status", "status": 529})
    plan.add({"kind": "status", "status": 500})
    assert [take(plan).spec.status, take(plan).spec.status, take(plan)] == [529, 500, None]


def test_remove_clear_and_ids() -> None:
    plan = FaultPlan()
    a = plan.add({"kind": "status", "status": 529})
    b = plan.add({"kind": "status", "status": 500})
    assert plan.remove(a["id"]) is True
    assert plan.remove(a["id"]) is False
    assert [r["id"] for r in plan.rules()] == [b["id"]]
    plan.clear()
    assert plan.rules() == []
    assert len(plan) == 0
    assert plan.add({"kind": "status", "status": 529})["id"] == "fault_1"


def test_rules_are_json_serialisable() -> None:
    plan = FaultPlan()
    plan.add({"kind": "status", "status": 429, "body": {"error": {"code": "429"}}})
    assert json.loads(json.dumps(plan.rules()))[0]["body"] == {"error": {"code": "429"}}


# --- probability ---------------------------------------------------------------------------------


def draws(seed: int | None, n: int = 200) -> list[bool]:
    plan = FaultPlan(seed=seed)
    plan.add({"kind": "status", "status": 500, "probability": 0.3, "count": None})
    return [take(plan) is not None for _ in range(n)]


def test_seeded_probability_is_reproducible() -> None:
    assert draws(42) == draws(42)
    assert draws(None) == draws(0)
    assert draws(42) != draws(43)
    assert 30 < sum(draws(42)) < 90


def test_reseed_restarts_the_draws() -> None:
    plan = FaultPlan(seed=5)
    plan.add({"kind": "status", "status": 500, "probability": 0.5, "count": None})
    first = [take(plan) is not None for _ in range(50)]
    plan.reseed(5)
    assert [take(plan) is not None for _ in range(50)] == first


def test_other_rules_do_not_change_a_rules_draws() -> None:
    plan = FaultPlan(seed=9)
    plan.add(
        {"kind": "status", "status": 500, "probability": 0.3, "count": None, "deployment": "d1"}
    )
    plan.add({"kind": "status", "status": 429, "deployment": "other", "count": None})
    alone = draws(9, 50)
    mixed = []
    for _ in range(50):
        mixed.append(take(plan) is not None)
        assert take(plan, deployment="other").spec.status == 429
    assert mixed == alone


def test_a_lost_draw_gives_later_rules_their_turn() -> None:
    plan = FaultPlan(seed=1)
    plan.add({"kind": "status", "status": 500, "probability": 0.5, "count": None})
    plan.add({"kind": "status", "status": 429, "count": None})
    statuses = {take(plan).spec.status for _ in range(40)}
    assert statuses == {500, 429}
    [maybe, always] = plan.rules()
    assert maybe["evaluated"] == 40
    assert maybe["hits"] + always["hits"] == 40


def test_probability_with_count_consumes_only_on_hit() -> None:
    plan = FaultPlan(seed=3)
    plan.add({"kind": "status", "status": 500, "probability": 0.25, "count": 3})
    hits = sum(take(plan) is not None for _ in range(200))
    assert hits == 3
    assert plan.rules()[0]["remaining"] == 0


# --- thread safety -------------------------------------------------------------------------------


def test_concurrent_takes_never_exceed_the_count() -> None:
    plan = FaultPlan()
    plan.add({"kind": "status", "status": 529, "count": 500})
    fired: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(take(plan) is not None for _ in range(200))
        with lock:
            fired.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 500
    assert plan.rules()[0]["hits"] == 500


@given(count=st.integers(1, 20), calls=st.integers(0, 40))
def test_hits_plus_remaining_is_the_count(count: int, calls: int) -> None:
    plan = FaultPlan()
    plan.add({"kind": "truncate", "count": count})
    fired = sum(take(plan) is not None for _ in range(calls))
    [rule] = plan.rules()
    assert fired == rule["hits"] == min(count, calls)
    assert rule["hits"] + rule["remaining"] == count


# --- rendering -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (418, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "api_error"),
        (504, "timeout_error"),
        (529, "overloaded_error"),
        (599, "api_error"),
    ],
)
def test_status_response_uses_the_anthropic_dialect(status: int, error_type: str) -> None:
    assert default_error_type(status) == error_type
    code, headers, body = status_fault_response(
        FaultSpec(kind="status", status=status), request_id="req_1"
    )
    assert code == status
    assert headers == {"content-type": "application/json"}
    assert json.loads(body) == {
        "type": "error",
        "error": {"type": error_type, "message": json.loads(body)["error"]["message"]},
        "request_id": "req_1",
    }
    assert json.loads(body)["error"]["message"]


def test_overloaded_message_and_retry_headers() -> None:
    spec = FaultSpec(
        kind="status", status=529, retry_after=2, retry_after_ms=1500, should_retry=False
    )
    _, headers, body = status_fault_response(spec, request_id="req_2")
    assert json.loads(body)["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert headers["retry-after"] == "2"
    assert headers["retry-after-ms"] == "1500"
    assert headers["x-should-retry"] == "false"
    _, headers, _ = status_fault_response(
        FaultSpec(kind="status", status=429, retry_after=0.25, should_retry=True),
        request_id="r",
    )
    assert (headers["retry-after"], headers["x-should-retry"]) == ("0.25", "true")


def test_custom_type_message_and_body_override() -> None:
    spec = FaultSpec(kind="status", status=503, error_type="overloaded_error", message="busy")
    _, _, body = status_fault_response(spec, request_id="r")
    assert json.loads(body)["error"] == {"type": "overloaded_error", "message": "busy"}
    azure = {"error": {"code": "404", "message": "Resource not found"}}
    spec = FaultSpec(kind="status", status=404, body=azure, retry_after=1)
    status, headers, body = status_fault_response(spec, request_id="r")
    assert (status, json.loads(body), headers["retry-after"]) == (404, azure, "1")


def test_status_response_needs_a_status() -> None:
    with pytest.raises(ValueError, match="no HTTP status"):
        status_fault_response(FaultSpec(kind="disconnect"), request_id="r")


def test_stream_error_event_defaults_to_overloaded() -> None:
    event = stream_error_event(FaultSpec(kind="stream_error"))
    assert (event.error.type, event.error.message) == ("overloaded_error", "Overloaded")
    decoded = decode_stream_event(encode(event), "error")
    assert decoded == event
    from_status = stream_error_event(FaultSpec(kind="stream_error", status=429))
    assert from_status.error.type == "rate_limit_error"
    custom = stream_error_event(FaultSpec(kind="stream_error", error_type="api_error", message="x"))
    assert (custom.error.type, custom.error.message) == ("api_error", "x")


def test_malformed_payloads_are_not_json() -> None:
    data_line = MALFORMED_SSE_CHUNK.decode().split("data: ", 1)[1].strip()
    for payload in (data_line, MALFORMED_JSON_BODY.decode()):
        with pytest.raises(json.JSONDecodeError):
            json.loads(payload)
