"""Batch input validation, result lines, and the batch/request state tables."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from claude_foundry.batches import BatchInputError, BatchStateError, _state, read_requests
from claude_foundry.batches._format import errored_result, result_line
from claude_foundry.batches._types import (
    MessageBatchErroredResult,
    MessageBatchIndividualResponse,
    result_from_builtins,
)

PARAMS = {
    "model": "claude-sonnet-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


def test_valid_file_reads_every_request_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, {"custom_id": "a", "params": PARAMS}, "", {"custom_id": "b-2_X", "params": PARAMS}
    )
    requests = read_requests(path)
    assert [(r.custom_id, r.line) for r in requests] == [("a", 1), ("b-2_X", 3)]
    assert requests[0].params == PARAMS


@pytest.mark.parametrize(
    ("bad_line", "words"),
    [
        ("{not json", "not valid JSON"),
        ({"custom_id": "a b", "params": PARAMS}, "'custom_id' must be 1 to 64"),
        ({"custom_id": "x" * 65, "params": PARAMS}, "'custom_id' must be 1 to 64"),
        ({"custom_id": "", "params": PARAMS}, "'custom_id' must be 1 to 64"),
        ({"params": PARAMS}, "'custom_id' must be"),
        ({"custom_id": "a", "params": PARAMS}, "duplicate custom_id 'a' (first on line 1)"),
        ({"custom_id": "c", "params": {**PARAMS, "stream": True}}, "not allowed in a batch"),
        ({"custom_id": "c", "params": {"model": "m", "max_tokens": 1}}, "missing 'messages'"),
        ({"custom_id": "c", "params": {**PARAMS, "max_tokens": "many"}}, "not a Messages request"),
        ({"custom_id": "c", "params": [1]}, "must be a JSON object"),
        ({"custom_id": "c", "params": PARAMS, "method": "POST"}, "unknown key 'method'"),
        ([1, 2], "each request must be an object"),
    ],
)
def test_bad_line_is_named_before_anything_is_sent(
    tmp_path: Path, bad_line: object, words: str
) -> None:
    path = write(tmp_path, {"custom_id": "a", "params": PARAMS}, bad_line)
    with pytest.raises(BatchInputError) as caught:
        read_requests(path)
    assert caught.value.line == 2
    assert f"{path}, line 2: " in str(caught.value)
    assert words in str(caught.value)


def test_empty_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BatchInputError, match="no requests"):
        read_requests(write(tmp_path, ""))
    with pytest.raises(BatchInputError, match="cannot read the input file"):
        read_requests(tmp_path / "absent.jsonl")


def test_result_lines_read_as_the_official_shape() -> None:
    line = result_line("r1", errored_result("invalid_request_error", "bad", "req_1"))
    data = json.loads(line)
    assert data == {
        "custom_id": "r1",
        "result": {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "bad"},
                "request_id": "req_1",
            },
        },
    }
    entry = MessageBatchIndividualResponse(
        custom_id="r1", result=result_from_builtins(data["result"])
    )
    assert isinstance(entry.result, MessageBatchErroredResult)
    assert entry.result.type == "errored"
    assert entry.result.error.error.type == "invalid_request_error"
    assert msgspec.json.decode(line)["custom_id"] == "r1"


def test_official_sdk_reads_our_result_lines() -> None:
    from anthropic.types.messages import MessageBatchIndividualResponse as Official

    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }
    for result in (
        {"type": "succeeded", "message": message},
        errored_result("overloaded_error", "busy", "req_2"),
        {"type": "canceled"},
        {"type": "expired"},
    ):
        parsed = Official.model_validate_json(result_line("x", result))
        assert parsed.result.type == result["type"]


ALL_BATCH_EVENTS = ("cancel", "drained", "expire")
ALL_REQUEST_EVENTS = ("claim", "succeed", "fail", "release", "cancel", "expire")


@pytest.mark.parametrize("state", list(_state.BATCH_TRANSITIONS))
@pytest.mark.parametrize("event", ALL_BATCH_EVENTS)
def test_batch_table_every_cell(state: str, event: str) -> None:
    legal = _state.BATCH_TRANSITIONS[state]
    if event in legal:
        assert _state.next_batch_state(state, event) == legal[event]
    else:
        with pytest.raises(BatchStateError, match=f"cannot {event} a batch"):
            _state.next_batch_state(state, event)


@pytest.mark.parametrize("state", list(_state.REQUEST_TRANSITIONS))
@pytest.mark.parametrize("event", ALL_REQUEST_EVENTS)
def test_request_table_every_cell(state: str, event: str) -> None:
    legal = _state.REQUEST_TRANSITIONS[state]
    if event in legal:
        assert _state.next_request_state(state, event) == legal[event]
    else:
        with pytest.raises(BatchStateError):
            _state.next_request_state(state, event)


def test_finished_requests_never_move_and_ended_batches_never_move() -> None:
    for state in _state.FINISHED_REQUEST_STATES:
        assert _state.REQUEST_TRANSITIONS[state] == {}
    assert _state.BATCH_TRANSITIONS[_state.ENDED] == {}
    assert _state.sources(_state.REQUEST_TRANSITIONS, "succeed") == (_state.IN_FLIGHT,)
