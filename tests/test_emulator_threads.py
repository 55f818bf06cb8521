"""Message threads: the store (pure unit, with a fake clock), then the official SDK's
`thread()` and tool runner against the emulator over loopback HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic import AnthropicFoundry, AsyncAnthropicFoundry, beta_async_tool, beta_tool

from claude_foundry.emulator import Emulator
from claude_foundry.emulator.threads import THREADS_BETA, ThreadError, ThreadStore, ThreadTurn
from claude_foundry.types import Message, TextBlock, Usage

DEPLOYMENT = "claude-sonnet-4-6"
HEADERS = {"anthropic-beta": f"other-beta, {THREADS_BETA}"}
PROMPT = "What is the weather and the local time in Paris?"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _reply(message_id: str, text: str = "ok") -> Message:
    return Message(
        id=message_id,
        model="m",
        content=[TextBlock(text=text)],
        stop_reason="end_turn",
        usage=Usage(input_tokens=1, output_tokens=1),
    )


def _begin(store: ThreadStore, thread: dict[str, Any], **body: Any) -> ThreadTurn:
    body.setdefault("model", "d")
    body.setdefault("max_tokens", 10)
    body.setdefault("messages", [{"role": "user", "content": "next"}])
    turn = store.begin(
        {**body, "thread": thread}, HEADERS, deployment="d", model="claude", size=100
    )
    assert turn is not None
    return turn


def _answer(store: ThreadStore, turn: ThreadTurn, message_id: str) -> None:
    turn.answered(_reply(message_id, text=f"reply {message_id}"))
    store.settle(turn)


def _continue(previous: str) -> dict[str, str]:
    return {"type": "continue", "previous_message_id": previous}


def _error(store: ThreadStore, thread: dict[str, Any], **body: Any) -> ThreadError:
    with pytest.raises(ThreadError) as caught:
        _begin(store, thread, **body)
    return caught.value


# --- the store -----------------------------------------------------------------------------------


def test_a_continue_is_answered_from_the_whole_conversation() -> None:
    store = ThreadStore()
    first = _begin(
        store,
        {"type": "create"},
        system="Be brief.",
        tools=[{"name": "t", "input_schema": {}}],
        messages=[{"role": "user", "content": "hi"}],
    )
    assert "thread" not in first.data
    assert first.history is None
    _answer(store, first, "msg_1")
    second = _begin(store, _continue("msg_1"))
    assert second.data["system"] == "Be brief."
    assert second.data["tools"] == [{"name": "t", "input_schema": {}}]
    assert second.data["messages"] == [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "reply msg_1", "citations": None}],
        },
        {"role": "user", "content": "next"},
    ]
    assert second.history == second.data["messages"]
    assert second.history_size > 200
    _answer(store, second, "msg_2")
    third = _begin(store, _continue("msg_2"), messages=[])  # a pause_turn resumes from nothing
    assert len(third.data["messages"]) == 4
    store.settle(third)
    # Messages that are not a list are left for the body checks to refuse.
    assert _begin(store, _continue("msg_2"), messages="hi").data["messages"] == "hi"


def test_each_reply_is_continued_once_and_one_request_at_a_time() -> None:
    store = ThreadStore()
    _answer(store, _begin(store, {"type": "create"}), "msg_1")
    turn = _begin(store, _continue("msg_1"))
    busy = _error(store, _continue("msg_1"))
    assert (busy.status, busy.error_code) == (400, "thread_continue_in_flight")
    store.settle(turn)  # the reply never went out: nothing was stored, the thread is free
    turn = _begin(store, _continue("msg_1"))
    _answer(store, turn, "msg_2")
    again = _error(store, _continue("msg_1"))
    assert (again.status, again.error_code) == (400, "thread_already_continued")
    assert "msg_2" in again.message
    body = again.body("req_1")
    assert body["error"]["details"] == {"error_code": "thread_already_continued"}
    assert body["request_id"] == "req_1"


def test_threads_expire_five_minutes_after_their_last_reply() -> None:
    clock = FakeClock()
    store = ThreadStore(clock=clock)
    _answer(store, _begin(store, {"type": "create"}), "msg_1")
    clock.now += 299
    _answer(store, _begin(store, _continue("msg_1")), "msg_2")
    clock.now += 299  # the stored reply restarted the five minutes
    _answer(store, _begin(store, _continue("msg_2")), "msg_3")
    clock.now += 300
    lost = _error(store, _continue("msg_3"))
    assert (lost.status, lost.error_type, lost.error_code) == (
        404,
        "not_found_error",
        "thread_not_found",
    )
    assert lost.message == "No thread state was found for the requested previous_message_id."
    assert len(store) == 0


def test_unknown_replies_and_undelivered_creates_are_not_found() -> None:
    store = ThreadStore()
    assert _error(store, _continue("msg_nowhere")).error_code == "thread_not_found"
    store.settle(_begin(store, {"type": "create"}))  # a create whose reply was cut off
    assert len(store) == 0
    left = _begin(store, {"type": "create"})
    left.answered(_reply("msg_1"))
    store.settle(left, whole=False)  # the client left before the last byte
    store.settle(left)  # a turn is settled once
    assert len(store) == 0


def test_the_store_forgets_the_least_recently_used_threads() -> None:
    store = ThreadStore(max_threads=2)
    for index in range(3):
        _answer(store, _begin(store, {"type": "create"}), f"msg_{index}")
    assert len(store) == 2
    assert _error(store, _continue("msg_0")).error_code == "thread_not_found"
    small = ThreadStore(max_bytes=1000)
    for index in range(4):
        _answer(small, _begin(small, {"type": "create"}), f"msg_{index}")
    assert len(small) < 4


@pytest.mark.parametrize(
    ("thread", "body", "status", "code", "says"),
    [
        (_continue("msg_1"), {"model": "other"}, 400, "thread_fingerprint_mismatch", "model"),
        (_continue("msg_1"), {"system": "new"}, 400, None, "system: leave"),
        (_continue("msg_1"), {"tools": []}, 400, None, "tools: leave"),
        ({"type": "continue"}, {}, 400, None, "previous_message_id: Field required"),
        ({"type": "resume"}, {}, 400, None, "thread.type: Input should be"),
        ("create", {}, 400, None, "thread: Input should be an object"),
    ],
)
def test_refusals(
    thread: Any, body: dict[str, Any], status: int, code: str | None, says: str
) -> None:
    store = ThreadStore()
    _answer(store, _begin(store, {"type": "create"}), "msg_1")
    error = _error(store, thread, **body)
    assert (error.status, error.error_code) == (status, code)
    assert says in error.message
    assert ("details" in error.body("r")["error"]) is (code is not None)


def test_the_beta_header_is_required_and_a_deployment_can_refuse_threads() -> None:
    store = ThreadStore()
    body = {"model": "d", "max_tokens": 1, "messages": [], "thread": {"type": "create"}}
    with pytest.raises(ThreadError, match="anthropic-beta: message-threads-2026-08-12"):
        store.begin(body, {}, deployment="d", model="claude")
    with pytest.raises(ThreadError) as caught:
        store.begin(body, HEADERS, deployment="d", model="claude", unavailable=True)
    assert caught.value.error_code == "thread_unsupported_request"
    assert store.begin({"model": "d"}, HEADERS, deployment="d", model="claude") is None
    plain = store.begin({**body, "thread": None}, {}, deployment="d", model="claude")
    assert plain is not None
    assert "thread" not in plain.data


# --- the official SDK ----------------------------------------------------------------------------


@beta_tool
def get_weather(city: str) -> str:
    """Look up the current weather in a city.

    Args:
        city: The city name.
    """
    return json.dumps({"city": city, "condition": "Sunny", "temperature": "20C"})


@beta_tool
def get_local_time(city: str) -> str:
    """Look up the local time in a city.

    Args:
        city: The city name.
    """
    return f"14:05 in {city}"


@pytest.fixture
def client(emulator: Emulator) -> Iterator[AnthropicFoundry]:
    with AnthropicFoundry(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        max_retries=0,
        _strict_response_validation=True,
    ) as sdk:
        yield sdk


def _kinds(message: Any) -> list[tuple[str, str]]:
    return [(block.type, getattr(block, "name", None) or block.text) for block in message.content]


def _assert_two_tool_conversation(replies: list[Any], emulator: Emulator) -> None:
    assert [reply.stop_reason for reply in replies] == ["tool_use", "tool_use", "end_turn"]
    assert [kind for kind in _kinds(replies[0]) if kind[0] == "tool_use"] == [
        ("tool_use", "get_local_time")
    ]
    # The second call needs the prompt, which only the thread still holds.
    assert [kind for kind in _kinds(replies[1]) if kind[0] == "tool_use"] == [
        ("tool_use", "get_weather")
    ]
    final = replies[2].content[0].text
    assert 'The get_local_time tool returned: "14:05 in example city".' in final
    assert '"condition": "Sunny"' in final

    create, *continues = emulator.journal()
    assert [entry.status for entry in emulator.journal()] == [200, 200, 200]
    assert create.body["thread"] == {"type": "create"}
    assert create.body["messages"] == [{"role": "user", "content": PROMPT}]
    assert THREADS_BETA in (create.header("anthropic-beta") or "")
    assert create.history is None
    for entry, previous in zip(continues, replies[:2], strict=True):
        assert entry.body["thread"] == {"type": "continue", "previous_message_id": previous.id}
        assert "tools" not in entry.body
        [sent] = entry.body["messages"]  # only the tool result goes over the wire
        assert [block["type"] for block in sent["content"]] == ["tool_result"]
    # ...and the journal shows the whole conversation each reply was made from.
    history = continues[-1].history
    assert [message["role"] for message in history] == ["user", "assistant"] * 2 + ["user"]
    assert history[0] == {"role": "user", "content": PROMPT}
    assert history[1]["content"][1]["name"] == "get_local_time"
    assert history[2]["content"][0]["type"] == "tool_result"
    assert history[3]["content"][1]["name"] == "get_weather"
    assert history[-1] == continues[-1].body["messages"][0]
    assert continues[-1].to_dict()["history"] == history


def test_the_official_tool_runner_keeps_its_conversation(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    runner = client.beta.messages.tool_runner(
        model=DEPLOYMENT,
        max_tokens=1024,
        tools=[get_weather, get_local_time],
        messages=[{"role": "user", "content": PROMPT}],
    )
    _assert_two_tool_conversation(list(runner), emulator)


async def test_the_async_streaming_tool_runner_keeps_its_conversation(
    emulator: Emulator,
) -> None:
    @beta_async_tool
    async def get_weather(city: str) -> str:
        """Look up the current weather in a city.

        Args:
            city: The city name.
        """
        return json.dumps({"city": city, "condition": "Sunny", "temperature": "20C"})

    @beta_async_tool
    async def get_local_time(city: str) -> str:
        """Look up the local time in a city.

        Args:
            city: The city name.
        """
        return f"14:05 in {city}"

    async with AsyncAnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, _strict_response_validation=True
    ) as sdk:
        runner = sdk.beta.messages.tool_runner(
            model=DEPLOYMENT,
            max_tokens=1024,
            tools=[get_weather, get_local_time],
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
        )
        replies = []
        async for stream in runner:
            replies.append(await stream.get_final_message())
    assert all(entry.stream for entry in emulator.journal())
    _assert_two_tool_conversation(replies, emulator)


def test_the_sdk_replays_a_lost_thread(client: AnthropicFoundry, emulator: Emulator) -> None:
    thread = client.beta.messages.thread(model=DEPLOYMENT, max_tokens=256, system="Be brief.")
    first = thread.send({"role": "user", "content": "My name is Ada."})
    emulator.state.threads.clear()  # as if the thread expired
    second = thread.send({"role": "user", "content": "What is my name?"})
    assert second.content[0].text.startswith('You said: "What is my name?"')
    lost, replay = emulator.journal()[1:]
    assert lost.status == 404
    assert lost.body["thread"] == {"type": "continue", "previous_message_id": first.id}
    assert replay.status == 200
    assert replay.body["thread"] == {"type": "create"}
    assert replay.body["system"] == "Be brief."
    assert [m["role"] for m in replay.body["messages"]] == ["user", "assistant", "user"]
    third = thread.send({"role": "user", "content": "Thanks."})
    assert emulator.journal()[-1].body["thread"]["previous_message_id"] == second.id
    assert [m["role"] for m in emulator.journal()[-1].history] == ["user", "assistant"] * 2 + [
        "user"
    ]
    assert third.stop_reason == "end_turn"


def test_thread_errors_reach_the_sdk_as_their_classes(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    betas = [THREADS_BETA]
    hello = [{"role": "user", "content": "Hello"}]
    first = client.beta.messages.create(
        model=DEPLOYMENT, max_tokens=64, messages=hello, thread={"type": "create"}, betas=betas
    )
    with pytest.raises(anthropic.NotFoundError) as lost:
        client.beta.messages.create(
            model=DEPLOYMENT,
            max_tokens=64,
            messages=hello,
            thread={"type": "continue", "previous_message_id": "msg_unknown"},
            betas=betas,
        )
    assert lost.value.error_code == "thread_not_found"
    follow = {"type": "continue", "previous_message_id": first.id}
    client.beta.messages.create(
        model=DEPLOYMENT, max_tokens=64, messages=hello, thread=follow, betas=betas
    )
    with pytest.raises(anthropic.BadRequestError) as twice:
        client.beta.messages.create(
            model=DEPLOYMENT, max_tokens=64, messages=hello, thread=follow, betas=betas
        )
    assert twice.value.error_code == "thread_already_continued"
    with pytest.raises(anthropic.BadRequestError, match="message-threads-2026-08-12"):
        client.beta.messages.create(
            model=DEPLOYMENT, max_tokens=64, messages=hello, thread={"type": "create"}
        )


def test_a_continue_in_flight_is_refused(emulator: Emulator) -> None:
    headers = {"api-key": emulator.api_key, "anthropic-beta": THREADS_BETA}
    url = emulator.base_url + "v1/messages"
    body = {"model": DEPLOYMENT, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx2.Client(headers=headers, timeout=30) as http:
        first = http.post(url, json={**body, "thread": {"type": "create"}}).json()
        follow = {**body, "thread": {"type": "continue", "previous_message_id": first["id"]}}
        emulator.configure(stream_event_delay_ms=50)
        with http.stream("POST", url, json={**follow, "stream": True}) as slow:
            assert slow.status_code == 200
            chunks = slow.iter_bytes()
            next(chunks)  # the continue is under way
            busy = http.post(url, json=follow)
            assert busy.status_code == 400, busy.text
            assert busy.json()["error"]["details"] == {"error_code": "thread_continue_in_flight"}
            assert b"message_stop" in b"".join(chunks)
        emulator.configure(stream_event_delay_ms=0)
        assert http.post(url, json=follow).json()["error"]["details"]["error_code"] == (
            "thread_already_continued"
        )


def test_a_client_that_leaves_mid_stream_leaves_the_thread_where_it_was(
    emulator: Emulator,
) -> None:
    headers = {"api-key": emulator.api_key, "anthropic-beta": THREADS_BETA}
    url = emulator.base_url + "v1/messages"
    body = {"model": DEPLOYMENT, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx2.Client(headers=headers, timeout=30) as http:
        first = http.post(url, json={**body, "thread": {"type": "create"}}).json()
        follow = {**body, "thread": {"type": "continue", "previous_message_id": first["id"]}}
        emulator.configure(stream_event_delay_ms=200)
        with http.stream("POST", url, json={**follow, "stream": True}) as slow:
            chunks = slow.iter_bytes()
            next(chunks)
        emulator.configure(stream_event_delay_ms=0)
        for _ in range(100):  # the emulator notices the closed connection within a pause
            again = http.post(url, json=follow)
            if again.status_code == 200:
                break
            assert again.json()["error"]["details"]["error_code"] == "thread_continue_in_flight"
            time.sleep(0.05)
    assert again.status_code == 200
    assert len(emulator.journal()[-1].history) == 3


def test_a_long_history_is_journalled_as_a_note(emulator: Emulator) -> None:
    headers = {"api-key": emulator.api_key, "anthropic-beta": THREADS_BETA}
    url = emulator.base_url + "v1/messages"
    long_text = "word " * 60_000  # 300,000 bytes, more than the journal keeps
    body = {"model": DEPLOYMENT, "max_tokens": 64, "messages": [{"role": "user", "content": "x"}]}
    with httpx2.Client(headers=headers, timeout=30) as http:
        start = [{"role": "user", "content": long_text}]
        first = http.post(url, json={**body, "messages": start, "thread": {"type": "create"}})
        follow = {"type": "continue", "previous_message_id": first.json()["id"]}
        assert http.post(url, json={**body, "thread": follow}).status_code == 200
    note = emulator.journal()[-1].history["_omitted"]
    assert note.startswith("a conversation of about 3")


def test_a_cut_stream_stores_no_reply(emulator: Emulator) -> None:
    headers = {"api-key": emulator.api_key, "anthropic-beta": THREADS_BETA}
    url = emulator.base_url + "v1/messages"
    body = {"model": DEPLOYMENT, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    emulator.add_fault(kind="stream_error", after_events=3)
    with httpx2.Client(headers=headers, timeout=30) as http:
        cut = http.post(url, json={**body, "stream": True, "thread": {"type": "create"}})
        assert b"event: error" in cut.content
        started = json.loads(cut.text.split("data: ", 1)[1].split("\n", 1)[0])
        follow = {"type": "continue", "previous_message_id": started["message"]["id"]}
        lost = http.post(url, json={**body, "thread": follow})
    assert lost.status_code == 404
    assert lost.json()["error"]["details"] == {"error_code": "thread_not_found"}


def test_without_threads_the_tool_runner_goes_on_unthreaded(
    client: AnthropicFoundry, emulator: Emulator
) -> None:
    emulator.configure(deployments={DEPLOYMENT: {"unavailable_features": ["message_threads"]}})
    runner = client.beta.messages.tool_runner(
        model=DEPLOYMENT,
        max_tokens=1024,
        tools=[get_weather, get_local_time],
        messages=[{"role": "user", "content": PROMPT}],
    )
    replies = list(runner)
    assert [reply.stop_reason for reply in replies] == ["tool_use", "tool_use", "end_turn"]
    refused, *rest = emulator.journal()
    assert refused.status == 400
    assert refused.body["thread"] == {"type": "create"}
    assert [entry.status for entry in rest] == [200, 200, 200]
    assert all("thread" not in entry.body for entry in rest)
    assert [len(entry.body["messages"]) for entry in rest] == [1, 3, 5]


def test_concurrent_threads_do_not_mix(emulator: Emulator) -> None:
    def converse(name: str, results: dict[str, str]) -> None:
        with AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url) as sdk:
            thread = sdk.beta.messages.thread(model=DEPLOYMENT, max_tokens=128)
            thread.send({"role": "user", "content": f"I am {name}."})
            reply = thread.send({"role": "user", "content": f"Who am I, {name}?"})
            results[name] = reply.content[0].text

    results: dict[str, str] = {}
    workers = [threading.Thread(target=converse, args=(n, results)) for n in ("Ada", "Bob")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == {
        name: f'You said: "Who am I, {name}?". This is a deterministic reply from the Foundry '
        "emulator."
        for name in ("Ada", "Bob")
    }
    continues = [e for e in emulator.journal() if e.body["thread"]["type"] == "continue"]
    assert len(continues) == 2
    for entry in continues:
        name = entry.body["messages"][0]["content"].split(", ")[1].rstrip("?")
        assert entry.history[0]["content"] == f"I am {name}."
