"""A repeated count_tokens request is answered from the client's CountTokensCache: one request
reaches the emulator, no ledger row or quota is spent on the repeats, and anything that could
change the count (the body, the deployment, the endpoint, a beta header) is counted again."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from claude_foundry import (
    AnthropicFoundry,
    AsyncAnthropicFoundry,
    CountTokensCache,
    RateLimitError,
)
from claude_foundry.emulator import Emulator
from claude_foundry.ledger import Ledger, open_store

TEST_API_KEY = "test-key"
MODEL = "claude-sonnet-4-6"
COUNT: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "How many tokens is this sentence?"}],
}


def _counts_sent(emulator: Emulator) -> int:
    return len([entry for entry in emulator.journal() if entry.path.endswith("count_tokens")])


def _client(emulator: Emulator, **options: Any) -> AnthropicFoundry:
    return AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, ledger=False, **options
    )


def test_a_repeat_is_answered_from_memory_and_anything_that_changes_a_count_is_sent(
    emulator: Emulator,
) -> None:
    cache = CountTokensCache()
    with _client(emulator, count_tokens_cache=cache) as client:
        first = client.messages.count_tokens(**COUNT)
        again = client.messages.count_tokens(**COUNT)
        assert again == first
        assert again is not first  # a caller may change what it gets
        assert _counts_sent(emulator) == 1
        longer = {**COUNT, "messages": [{"role": "user", "content": "A different prompt."}]}
        client.messages.count_tokens(**longer)
        client.messages.count_tokens(**{**COUNT, "model": "claude-haiku-4-5"})
        client.messages.count_tokens(**COUNT, extra_headers={"anthropic-beta": "some-beta"})
        client.beta.messages.count_tokens(**COUNT)  # sends the token-counting beta header
        assert _counts_sent(emulator) == 5
        # The beta resource's repeat is remembered too.
        client.beta.messages.count_tokens(**COUNT)
        assert _counts_sent(emulator) == 5
    assert (cache.hits, cache.misses) == (2, 5)
    assert "hits=2" in repr(cache)


def test_creates_raw_responses_and_errors_are_never_answered_from_memory(
    emulator: Emulator,
) -> None:
    with _client(emulator, count_tokens_cache=True, max_retries=0) as client:
        request = {**COUNT, "max_tokens": 16}
        client.messages.create(**request)
        client.messages.create(**request)
        raw = client.messages.with_raw_response.count_tokens(**COUNT)
        assert raw.parse().input_tokens > 0
        client.messages.with_raw_response.count_tokens(**COUNT)
        emulator.add_fault(kind="status", status=429, count=1, route="count_tokens")
        with pytest.raises(RateLimitError):
            client.messages.count_tokens(**COUNT)
        client.messages.count_tokens(**COUNT)  # the error was not remembered
        client.messages.count_tokens(**COUNT)
    paths = [entry.path.rsplit("/", 1)[-1] for entry in emulator.journal()]
    assert paths.count("messages") == 2
    assert paths.count("count_tokens") == 4  # two raw, the 429, one real count


def test_ttl_and_size_bound_what_is_kept() -> None:
    now = [0.0]
    cache = CountTokensCache(max_entries=2, ttl=10, clock=lambda: now[0])
    from claude_foundry.types import MessageTokensCount

    cache.put(b"a", MessageTokensCount(input_tokens=1))
    cache.put(b"b", MessageTokensCount(input_tokens=2))
    assert cache.get(b"a") is not None  # a is now the most recent
    cache.put(b"c", MessageTokensCount(input_tokens=3))
    assert cache.get(b"b") is None  # the least recently used went
    assert len(cache) == 2
    now[0] = 10.0
    assert cache.get(b"a") is None  # stale
    assert cache.get(b"c") is None
    assert len(cache) == 0
    cache.put(b"d", object())  # only counts are kept
    assert len(cache) == 0
    for bad in ({"max_entries": 0}, {"ttl": 0}, {"ttl": float("nan")}, {"max_entries": True}):
        with pytest.raises(ValueError, match="must be a positive"):
            CountTokensCache(**bad)
    with pytest.raises(TypeError, match="count_tokens_cache must be"):
        AnthropicFoundry(api_key="k" * 16, resource="example-resource", count_tokens_cache="yes")  # type: ignore[arg-type]


def test_copies_share_the_cache_and_the_ledger_records_only_real_calls(
    emulator: Emulator, tmp_path: Path
) -> None:
    with Ledger(open_store(f"sqlite:///{tmp_path / 'usage.db'}"), flush_interval=0.01) as ledger:
        client = AnthropicFoundry(
            api_key=TEST_API_KEY,
            base_url=emulator.base_url,
            ledger=ledger,
            count_tokens_cache=True,
        )
        with client:
            client.messages.count_tokens(**COUNT)
            client.with_options(max_retries=1).messages.count_tokens(**COUNT)
            client.copy(timeout=30).messages.count_tokens(**COUNT)
        assert ledger.flush()
        rows = ledger.store.query("SELECT operation FROM ledger_calls")
    assert rows == [("count_tokens",)]
    assert _counts_sent(emulator) == 1


def test_threads_share_one_cache(emulator: Emulator) -> None:
    cache = CountTokensCache()
    with _client(emulator, count_tokens_cache=cache) as client:
        client.messages.count_tokens(**COUNT)
        errors: list[BaseException] = []

        def count() -> None:
            try:
                for _ in range(50):
                    client.messages.count_tokens(**COUNT)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=count) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert _counts_sent(emulator) == 1
    assert cache.hits == 200


async def test_the_async_client_answers_repeats_from_memory(emulator: Emulator) -> None:
    client = AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, ledger=False, count_tokens_cache=True
    )
    async with client:
        first = await client.messages.count_tokens(**COUNT)
        assert await client.messages.count_tokens(**COUNT) == first
        assert await client.beta.messages.count_tokens(**COUNT) == first
        assert await client.beta.messages.count_tokens(**COUNT) == first
    assert _counts_sent(emulator) == 2  # the beta resource's request carries another header
