"""A stream that fails before its first content is retried; after it, the caller gets the error.

Against the emulator over loopback HTTP, for the sync and async clients and for both the helper
(``messages.stream``) and the raw stream (``create(stream=True)``). The emulator's stream starts
message_start, content_block_start, ping, then content_block_delta events, so a fault
``after_events`` 1-3 lands before any content and 4 or more after it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from claude_foundry import (
    AnthropicFoundry,
    APIConnectionError,
    AsyncAnthropicFoundry,
    BadRequestError,
    OverloadedError,
    _pipeline,
)
from claude_foundry.emulator import Emulator
from claude_foundry.emulator.journal import JournalEntry
from claude_foundry.types import ContentBlockDeltaEvent, TextDelta

HELLO = [{"role": "user", "content": "Hello there, how are you today?"}]
FIRST_DELTA = 4  # message_start, content_block_start, ping, content_block_delta
_tags = itertools.count()


@dataclass
class Seen:
    """What the caller saw of one stream: event types and text, up to an error if one came."""

    kinds: list[str] = field(default_factory=list)
    text: str = ""
    final_text: str | None = None
    error: Exception | None = None


class Streamer:
    """Reads one stream with the sync or async client, through the helper or raw."""

    def __init__(self, client: AnthropicFoundry | AsyncAnthropicFoundry, helper: bool) -> None:
        self.client = client
        self.helper = helper

    async def read(self, model: str) -> Seen:
        params: dict[str, Any] = {"model": model, "max_tokens": 200, "messages": HELLO}
        seen = Seen()
        try:
            if isinstance(self.client, AnthropicFoundry):
                self._read_sync(self.client, params, seen)
            else:
                await self._read_async(self.client, params, seen)
        except Exception as exc:  # the test asserts which
            seen.error = exc
        return seen

    def _read_sync(self, client: AnthropicFoundry, params: dict[str, Any], seen: Seen) -> None:
        if self.helper:
            with client.messages.stream(**params) as stream:
                for event in stream:
                    _note(seen, event)
                seen.final_text = stream.get_final_text()
            return
        with client.messages.create(**params, stream=True) as raw:
            for event in raw:
                _note(seen, event)

    async def _read_async(
        self, client: AsyncAnthropicFoundry, params: dict[str, Any], seen: Seen
    ) -> None:
        if self.helper:
            async with client.messages.stream(**params) as stream:
                async for event in stream:
                    _note(seen, event)
                seen.final_text = await stream.get_final_text()
            return
        raw = await client.messages.create(**params, stream=True)
        async with raw:
            async for event in raw:
                _note(seen, event)


def _note(seen: Seen, event: Any) -> None:
    if event.type == "text":  # the helper's derived event; its delta is counted below
        return
    seen.kinds.append(event.type)
    if type(event) is ContentBlockDeltaEvent and type(event.delta) is TextDelta:
        seen.text += event.delta.text


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-stream errors carry no retry-after, so retries back off; keep that to milliseconds."""
    monkeypatch.setattr(_pipeline, "INITIAL_BACKOFF_DELAY", 0.005)


@pytest.fixture
def model(emulator: Emulator) -> str:
    return next(iter(emulator.state.config.deployments))


class Streamers:
    """Makes clients of one flavour (sync or async, helper or raw) that tag their requests."""

    def __init__(self, emulator: Emulator, variant: str) -> None:
        flavour, style = variant.split("-")
        self.emulator = emulator
        self.cls = AnthropicFoundry if flavour == "sync" else AsyncAnthropicFoundry
        self.helper = style == "helper"
        self.tag = f"stream-retry-{next(_tags)}"
        self.made: list[AnthropicFoundry | AsyncAnthropicFoundry] = []

    def __call__(self, **options: Any) -> Streamer:
        client = self.cls(
            api_key=self.emulator.api_key,
            base_url=self.emulator.base_url,
            default_headers={"x-test-tag": self.tag},
            **options,
        )
        self.made.append(client)
        return Streamer(client, helper=self.helper)

    def journal(self, count: int) -> list[JournalEntry]:
        """This test's entries once there are ``count`` (an entry is recorded after the answer)."""
        deadline = time.monotonic() + 5
        while True:
            entries = [
                e for e in self.emulator.journal() if e.headers.get("x-test-tag") == self.tag
            ]
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(0.005)

    async def close(self) -> None:
        for client in self.made:
            if isinstance(client, AnthropicFoundry):
                client.close()
            else:
                await client.close()


@pytest.fixture(params=["sync-helper", "sync-raw", "async-helper", "async-raw"])
async def streamers(request: pytest.FixtureRequest, emulator: Emulator) -> AsyncIterator[Streamers]:
    made = Streamers(emulator, str(request.param))
    yield made
    await made.close()


def assert_one_clean_stream(seen: Seen, clean: Seen) -> None:
    assert seen.error is None, seen.error
    assert seen.kinds == clean.kinds  # one message_start, each delta once, one message_stop
    assert seen.kinds.count("message_start") == 1
    assert seen.text == clean.text
    if seen.final_text is not None:
        assert seen.final_text == seen.text


@pytest.mark.parametrize("after_events", [1, 2])
async def test_overloaded_before_first_content_is_retried(
    emulator: Emulator, streamers: Streamers, model: str, after_events: int
) -> None:
    streamer = streamers()
    clean = await streamer.read(model)
    emulator.add_fault(kind="stream_error", after_events=after_events, count=1)
    seen = await streamer.read(model)
    assert_one_clean_stream(seen, clean)
    entries = streamers.journal(3)
    assert [entry.retry_count for entry in entries[1:]] == [0, 1]


@pytest.mark.parametrize("after_events", [1, 2])
async def test_disconnect_before_first_content_is_retried(
    emulator: Emulator, streamers: Streamers, model: str, after_events: int
) -> None:
    streamer = streamers()
    clean = await streamer.read(model)
    emulator.add_fault(kind="disconnect", after_events=after_events, count=1, stream=True)
    seen = await streamer.read(model)
    assert_one_clean_stream(seen, clean)
    entries = streamers.journal(3)
    assert [entry.retry_count for entry in entries[1:]] == [0, 1]


async def test_stream_cut_short_before_first_content_is_retried(
    emulator: Emulator, streamers: Streamers, model: str
) -> None:
    streamer = streamers()
    clean = await streamer.read(model)
    emulator.add_fault(kind="truncate", after_events=2, count=1, stream=True)
    seen = await streamer.read(model)
    assert_one_clean_stream(seen, clean)
    assert len(streamers.journal(3)) == 3


async def test_error_after_first_content_reaches_the_caller(
    emulator: Emulator, streamers: Streamers, model: str
) -> None:
    emulator.add_fault(kind="stream_error", after_events=FIRST_DELTA, count=1)
    seen = await streamers().read(model)
    assert isinstance(seen.error, OverloadedError)
    assert (seen.error.in_stream, seen.error.status_code) == (True, 529)
    assert seen.kinds == ["message_start", "content_block_start", "content_block_delta"]
    assert seen.text
    entries = streamers.journal(1)
    assert [entry.retry_count for entry in entries] == [0]


async def test_client_error_type_before_first_content_is_not_retried(
    emulator: Emulator, streamers: Streamers, model: str
) -> None:
    emulator.add_fault(
        kind="stream_error", after_events=1, count=1, error_type="invalid_request_error"
    )
    seen = await streamers().read(model)
    assert isinstance(seen.error, BadRequestError)
    assert seen.error.in_stream
    assert seen.kinds == ["message_start"]  # what arrived, then the error, as without retries
    assert len(streamers.journal(1)) == 1


async def test_max_retries_zero_hands_over_the_early_error(
    emulator: Emulator, streamers: Streamers, model: str
) -> None:
    emulator.add_fault(kind="stream_error", after_events=2, count=1)
    seen = await streamers(max_retries=0).read(model)
    assert isinstance(seen.error, OverloadedError)
    assert seen.error.in_stream
    assert seen.kinds == ["message_start", "content_block_start"]
    assert len(streamers.journal(1)) == 1


@pytest.mark.parametrize("error_type", ["api_error", "rate_limit_error", "timeout_error"])
async def test_other_retryable_error_types_are_retried(
    emulator: Emulator, streamers: Streamers, model: str, error_type: str
) -> None:
    emulator.add_fault(kind="stream_error", after_events=1, count=1, error_type=error_type)
    seen = await streamers().read(model)
    assert seen.error is None, seen.error
    assert seen.kinds.count("message_start") == 1
    assert len(streamers.journal(2)) == 2


async def test_stall_before_first_content_is_retried(
    emulator: Emulator, streamers: Streamers, model: str
) -> None:
    emulator.add_fault(kind="latency", event_delay_ms=2000, count=1, stream=True)
    streamer = streamers(timeout=httpx2.Timeout(5.0, read=0.3))
    seen = await streamer.read(model)
    assert seen.error is None, seen.error
    assert seen.kinds[-1] == "message_stop"
    assert seen.kinds.count("message_start") == 1
    assert len(streamers.journal(2)) == 2


async def test_retries_exhausted_before_first_content(
    emulator: Emulator, streamers: Streamers, model: str
) -> None:
    emulator.add_fault(kind="disconnect", after_events=1, count=None, stream=True)
    seen = await streamers(max_retries=1).read(model)
    assert isinstance(seen.error, APIConnectionError)
    assert "dropped mid-stream after 1 event" in str(seen.error)
    assert "gave up after 2 attempts" in "".join(seen.error.__notes__)
    assert seen.kinds == ["message_start"]
    assert len(streamers.journal(2)) == 2
