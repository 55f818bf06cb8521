from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_foundry import AnthropicError
from claude_foundry._events import EventDecoder
from claude_foundry._sse import MAX_EVENT_SIZE, EventTooLargeError, ServerSentEvent, SSEDecoder


def decode_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.end()


def decode_pairs(chunks: list[bytes]) -> list[tuple[str | None, bytes]]:
    decoder = SSEDecoder()
    pairs: list[tuple[str | None, bytes]] = []
    for chunk in chunks:
        pairs += decoder.feed_raw(chunk)
    return pairs + decoder.end_raw()


TRANSCRIPT = (
    b"event: message_start\n"
    b'data: {"type":"message_start"}\n\n'
    b": a comment line\n"
    b"event: ping\n"
    b'data: {"type": "ping"}\n\n'
    b"event: content_block_delta\n"
    b'data: {"text": "h\xc3\xa9llo \xe2\x9c\x93"}\n\n'
    b"id: 7\n"
    b"retry: 1500\n"
    b"event: multi\n"
    b"data: line one\n"
    b"data: line two\n\n"
    b"data: [DONE]\n\n"
)

EXPECTED = [
    ServerSentEvent("message_start", '{"type":"message_start"}'),
    ServerSentEvent("ping", '{"type": "ping"}'),
    ServerSentEvent("content_block_delta", '{"text": "héllo ✓"}'),
    ServerSentEvent("multi", "line one\nline two", "7", 1500),
    ServerSentEvent(None, "[DONE]", "7", None),
]


def test_decodes_a_transcript_in_one_chunk() -> None:
    assert decode_all([TRANSCRIPT]) == EXPECTED


def test_every_line_ending_style_gives_the_same_events() -> None:
    for ending in (b"\r\n", b"\r"):
        assert decode_all([TRANSCRIPT.replace(b"\n", ending)]) == EXPECTED


def test_byte_by_byte_feeding_including_split_crlf() -> None:
    for data in (TRANSCRIPT, TRANSCRIPT.replace(b"\n", b"\r\n"), TRANSCRIPT.replace(b"\n", b"\r")):
        assert decode_all([data[i : i + 1] for i in range(len(data))]) == EXPECTED


def test_event_without_trailing_blank_line_is_flushed_by_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: message_stop\ndata: {}") == []
    assert decoder.end() == [ServerSentEvent("message_stop", "{}")]
    assert decoder.end() == []


def test_trailing_carriage_return_at_end_of_stream() -> None:
    assert decode_all([b"event: a\rdata: 1\r"]) == [ServerSentEvent("a", "1")]


def test_comments_and_blank_runs_produce_nothing() -> None:
    assert decode_all([b": keep-alive\n\n\n\n: another\n\n"]) == []


def test_field_details_follow_the_spec() -> None:
    events = decode_all(
        [
            b"event:tight\ndata:no-space\n\n"  # no space after the colon
            b"event: x\ndata:  two spaces\n\n"  # only one space is dropped
            b"event: \ndata: unnamed\n\n"  # empty event name means unnamed
            b"data\n\n"  # a field with no colon: empty data
            b"event: y\nunknown: field\ndata: 1\nretry: soon\n\n"  # unknown field, bad retry
        ]
    )
    assert events == [
        ServerSentEvent("tight", "no-space"),
        ServerSentEvent("x", " two spaces"),
        ServerSentEvent(None, "unnamed"),
        ServerSentEvent(None, ""),
        ServerSentEvent("y", "1"),
    ]


def test_id_persists_and_retry_does_not() -> None:
    events = decode_all([b"id: 1\nretry: 10\nevent: a\ndata: x\n\nevent: b\ndata: y\n\n"])
    assert events == [ServerSentEvent("a", "x", "1", 10), ServerSentEvent("b", "y", "1", None)]


def test_leading_byte_order_mark_is_dropped_even_when_split() -> None:
    data = b"\xef\xbb\xbfevent: a\ndata: 1\n\n"
    assert decode_all([data]) == [ServerSentEvent("a", "1")]
    assert decode_all([data[:1], data[1:2], data[2:]]) == [ServerSentEvent("a", "1")]


def test_invalid_utf8_is_replaced_in_str_events_and_kept_in_raw_pairs() -> None:
    assert decode_all([b"event: a\ndata: \xff\n\n"]) == [ServerSentEvent("a", "\ufffd")]
    assert decode_pairs([b"event: a\ndata: \xff\n\n"]) == [("a", b"\xff")]


def test_raw_pairs_match_the_full_events() -> None:
    full = [(e.event, e.data.encode()) for e in decode_all([TRANSCRIPT])]
    assert decode_pairs([TRANSCRIPT]) == full


def test_empty_chunks_are_harmless() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"event: a\ndata: 1\n\n") == [ServerSentEvent("a", "1")]
    assert decoder.feed(b"") == []


def test_unicode_line_separators_are_not_line_breaks() -> None:
    # U+2028 inside JSON must stay inside the data (bytes.splitlines would split on it in str).
    payload = '{"text": "a\u2028b\x85c"}'
    assert decode_all([f"event: a\ndata: {payload}\n\n".encode()]) == [
        ServerSentEvent("a", payload)
    ]


def splits(data: bytes) -> st.SearchStrategy[list[bytes]]:
    cuts = st.lists(st.integers(min_value=0, max_value=len(data)), max_size=40)
    return cuts.map(lambda points: _cut(data, sorted(points)))


def _cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


STREAMS = [
    TRANSCRIPT,
    TRANSCRIPT.replace(b"\n", b"\r\n"),
    TRANSCRIPT.replace(b"\n", b"\r"),
    b"\xef\xbb\xbf" + TRANSCRIPT,
]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), which=st.integers(min_value=0, max_value=len(STREAMS) - 1))
def test_any_split_into_chunks_yields_the_same_events(data: st.DataObject, which: int) -> None:
    stream = STREAMS[which]
    chunks = data.draw(splits(stream))
    assert decode_all(chunks) == EXPECTED
    assert decode_pairs(chunks) == decode_pairs([stream])


@settings(max_examples=100, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.text(alphabet="abcdefghij_", min_size=1, max_size=12),
            st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t),
        ),
        max_size=8,
    ),
    data=st.data(),
)
def test_round_trip_of_generated_events(events: list[tuple[str, str]], data: st.DataObject) -> None:
    body = b"".join(f"event: {n}\ndata: {d}\n\n".encode() for n, d in events)
    # Only the one space after "data:" is dropped, so a value that starts with a space keeps it.
    expected = [ServerSentEvent(n, d) for n, d in events]
    assert decode_all(data.draw(splits(body))) == expected


# --- hostile input: linear, bounded, typed ------------------------------------------------------

PIECES = st.sampled_from(
    [
        b"\n", b"\r", b"\r\n", b"\n\n", b"data:", b"data: x", b"event: y", b"event:", b": c",
        b"id: 7", b"id", b"retry: 15", b"retry: x", b"\xef\xbb\xbf", b"\xff\xfe", b"a" * 9, b"\x00",
    ]
)  # fmt: skip
ANY_INPUT = st.one_of(st.binary(max_size=300), st.lists(PIECES, max_size=80).map(b"".join))


def outcome(chunks: list[bytes], limit: int, raw: bool) -> tuple[list[object], str | None]:
    """Everything a decoder gives for ``chunks``: its events, then the error it stopped with.
    Any exception but :class:`EventTooLargeError` fails the test that calls it."""
    decoder = SSEDecoder(max_event_size=limit)
    feed = decoder.feed_raw if raw else decoder.feed
    end = decoder.end_raw if raw else decoder.end
    events: list[object] = []
    try:
        for chunk in chunks:
            events += feed(chunk)
        events += end()
    except EventTooLargeError as exc:
        with pytest.raises(EventTooLargeError):
            decoder.feed(b"\n\n")  # a failed decoder stays failed
        return events, str(exc)
    return events, None


@settings(max_examples=300, deadline=None)
@given(data=st.data(), limit=st.integers(min_value=1, max_value=60), raw=st.booleans())
def test_any_bytes_in_any_chunking_give_the_same_events_or_typed_error(
    data: st.DataObject, limit: int, raw: bool
) -> None:
    body = data.draw(ANY_INPUT)
    chunks = data.draw(splits(body))
    assert outcome(chunks, limit, raw) == outcome([body], limit, raw)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_with_no_event_past_the_limit_the_limit_changes_nothing(data: st.DataObject) -> None:
    body = data.draw(ANY_INPUT)
    chunks = data.draw(splits(body))
    assert outcome(chunks, len(body) + 1, False) == (decode_all([body]), None)


def test_an_event_past_the_limit_is_a_typed_error_after_the_events_before_it() -> None:
    decoder = SSEDecoder(max_event_size=64)
    assert decoder.feed(b"event: a\ndata: 1\n\ndata: " + b"x" * 100) == [ServerSentEvent("a", "1")]
    with pytest.raises(EventTooLargeError, match="went on past 64 bytes without the blank line"):
        decoder.feed(b"more")
    with pytest.raises(EventTooLargeError):
        decoder.end()


def test_a_stream_with_no_blank_line_is_stopped_at_the_limit_in_fine_chunks() -> None:
    # 64 MiB in 4 KiB pieces with no blank line: stopped once the unfinished event passes the
    # default 16 MiB limit. Keeping the event as a list of pieces joined once makes this linear
    # (the quadratic decoder took minutes here; the benchmark measures it).
    decoder = SSEDecoder()
    piece = b"data: " + b"x" * 4090
    fed = 0

    def feed_until_stopped() -> None:
        nonlocal fed
        while fed < 64 * 1024 * 1024:
            decoder.feed_raw(piece)
            fed += len(piece)

    with pytest.raises(EventTooLargeError):
        feed_until_stopped()
    assert MAX_EVENT_SIZE - len(piece) < fed <= MAX_EVENT_SIZE  # stopped by the piece past it


def test_a_large_event_within_the_limit_in_fine_chunks() -> None:
    decoder = SSEDecoder()
    body = b"data: " + b"y" * (4 * 1024 * 1024) + b"\n\n"
    pairs: list[tuple[str | None, bytes]] = []
    for start in range(0, len(body), 1000):
        pairs += decoder.feed_raw(body[start : start + 1000])
    assert pairs == [(None, b"y" * (4 * 1024 * 1024))]


EVENT_PIECES = st.sampled_from(
    [
        b"event: message_start\n", b"event: content_block_delta\n", b"event: error\n",
        b"event: ping\n", b"event: message_stop\n", b"event: future_event\n", b"event:\n",
        b'data: {"type":"message_stop"}\n', b'data: {"type":"ping"}\n', b"data: [DONE]\n",
        b'data: {"type":"error","error":{"type":"overloaded_error","message":"busy"}}\n',
        b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}\n',
        b'data: {"type":"content_block_delta","index":"x"}\n', b"data: {\n", b"data: null\n",
        b"\n", b"\r\n", b": keep-alive\n", b"\xff", b"x" * 40,
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_event_decoder_gives_events_or_typed_errors_for_any_input(
    data: st.DataObject,
) -> None:
    body = data.draw(st.one_of(st.binary(max_size=200), st.lists(EVENT_PIECES).map(b"".join)))
    decoder = EventDecoder(response=None, request_id="req_1", apim_request_id=None)
    message = "no error"
    try:
        for chunk in data.draw(splits(body)):
            decoder.feed(chunk)
        decoder.end()
    except AnthropicError as exc:  # anything else fails the test
        message = str(exc)
    assert message
