"""The results file keeps one line per custom_id across torn writes and repeated appends."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_foundry.batches import ResultsFile
from claude_foundry.batches._format import result_line

IDS = st.lists(st.sampled_from([f"id{i}" for i in range(12)]), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(first=IDS, second=IDS, cut=st.integers(min_value=0, max_value=4000))
def test_any_torn_write_then_reappending_leaves_one_line_per_id(
    first: list[str], second: list[str], cut: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.jsonl"
        results = ResultsFile(path)
        results.append([(cid, result_line(cid, {"type": "expired"})) for cid in first])
        results.close()
        data = path.read_bytes()
        path.write_bytes(data[: min(cut, len(data))])  # a crash anywhere in the last write
        reopened = ResultsFile(path)
        kept = set(reopened.present)
        assert kept <= set(first)
        everything = first + second
        reopened.append([(cid, result_line(cid, {"type": "canceled"})) for cid in everything])
        reopened.close()
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        ids = [line["custom_id"] for line in lines]
        assert sorted(ids) == sorted(set(everything))
        for line in lines:  # a line that survived the crash is never rewritten
            expected = "expired" if line["custom_id"] in kept else "canceled"
            assert line["result"]["type"] == expected


@pytest.mark.parametrize("torn", [b'{"custom_id": "req-1", "resu', b"garbage"])
def test_a_torn_last_line_is_repaired_on_open(tmp_path: Path, torn: bytes) -> None:
    from claude_foundry.batches import ResultsFile

    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"custom_id":"req-0","result":{"type":"expired"}}\n' + torn)
    results = ResultsFile(path)
    assert results.present == {"req-0"}
    written = results.append([("req-0", b"dup\n"), ("req-1", b'{"custom_id":"req-1"}\n')])
    results.close()
    assert written == ["req-0", "req-1"]
    assert path.read_bytes().splitlines() == [
        b'{"custom_id":"req-0","result":{"type":"expired"}}',
        b'{"custom_id":"req-1"}',
    ]
