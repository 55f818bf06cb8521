"""Both clients end to end over loopback HTTP against the emulator.

Every test runs twice, with :class:`AnthropicFoundry` and :class:`AsyncAnthropicFoundry`; the
``Api`` wrapper only awaits what the async client returns.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from claude_foundry import (
    AnthropicFoundry,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncAnthropicFoundry,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    NotSupportedOnFoundryError,
    OverloadedError,
    RateLimitError,
)
from claude_foundry.emulator import Emulator
from claude_foundry.emulator.journal import JournalEntry
from claude_foundry.types import Message, TextBlock, ToolUseBlock

HI = [{"role": "user", "content": "hi"}]
FAST = {"retry_after_ms": 1}  # the server asks for a 1 ms wait: retries without slowing tests


class Api:
    """One interface over the sync and async clients, so every test covers both."""

    def __init__(self, client: AnthropicFoundry | AsyncAnthropicFoundry, model: str) -> None:
        self.client = client
        self.model = model
        self.is_async = isinstance(client, AsyncAnthropicFoundry)

    async def _await(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    def params(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"model": self.model, "max_tokens": 64, "messages": HI, **kwargs}

    async def create(self, **kwargs: Any) -> Any:
        return await self._await(self.client.messages.create(**self.params(kwargs)))

    async def count_tokens(self, **kwargs: Any) -> Any:
        params = {"model": self.model, "messages": HI, **kwargs}
        return await self._await(self.client.messages.count_tokens(**params))

    async def events(self, **kwargs: Any) -> tuple[Any, list[Any]]:
        stream = await self.create(stream=True, **kwargs)
        if self.is_async:
            return stream, [event async for event in stream]
        return stream, list(stream)

    async def stream_text(self, resource: Any = None, **kwargs: Any) -> tuple[str, Message, Any]:
        manager = (resource or self.client.messages).stream(**self.params(kwargs))
        if self.is_async:
            async with manager as stream:
                text = "".join([chunk async for chunk in stream.text_stream])
                return text, await stream.get_final_message(), stream
        with manager as stream:
            text = "".join(stream.text_stream)
            return text, stream.get_final_message(), stream

    async def close(self) -> None:
        await self._await(self.client.close())


_tags = itertools.count()


def journal(emu: Emulator, count: int) -> list[JournalEntry]:
    """This test's journal entries once there are ``count`` of them.

    The server records a request after it has answered, so an entry can lag the response; and a
    request of an earlier test may still be finishing, so entries are picked by the test's tag.
    """
    deadline = time.monotonic() + 5
    while True:
        entries = [e for e in emu.journal() if e.headers.get("x-test-tag") == CURRENT_TAG[0]]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.005)


CURRENT_TAG = [""]


@pytest.fixture
def model(emulator: Emulator) -> str:
    return next(iter(emulator.state.config.deployments))


@pytest.fixture(params=["sync", "async"])
async def make_api(
    request: pytest.FixtureRequest, emulator: Emulator, model: str
) -> AsyncIterator[Callable[..., Api]]:
    cls = AnthropicFoundry if request.param == "sync" else AsyncAnthropicFoundry
    made: list[Api] = []

    CURRENT_TAG[0] = f"t{next(_tags)}"

    def make(**options: Any) -> Api:
        options["default_headers"] = {
            "x-test-tag": CURRENT_TAG[0],
            **options.get("default_headers", {}),
        }
        options.setdefault("api_key", emulator.api_key)
        options.setdefault("base_url", emulator.base_url)
        api = Api(cls(**options), model)
        made.append(api)
        return api

    yield make
    for api in made:
        await api.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


# --- the happy path and what goes over the wire -------------------------------------------------


async def test_create_and_wire_format(api: Api, emulator: Emulator) -> None:
    message = await api.create(system="be brief", metadata={"user_id": "u1"})
    assert isinstance(message, Message)
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text
    assert message.usage.output_tokens > 0
    [entry] = journal(emulator, 1)
    assert entry.path == "/anthropic/v1/messages"
    assert message.request_id == entry.request_id is not None
    assert message.apim_request_id == entry.apim_request_id is not None
    assert entry.body == {
        "model": api.model,
        "max_tokens": 64,
        "messages": HI,
        "system": "be brief",
        "metadata": {"user_id": "u1"},
    }
    headers = entry.headers
    assert headers["x-api-key"] == "[redacted]"
    assert "api-key" not in headers
    assert "authorization" not in headers
    assert headers["anthropic-version"] == "2026-10-21"
    assert headers["user-agent"].startswith("claude-foundry/")
    assert headers["content-type"] == "application/json"
    assert entry.retry_count == 0


async def test_previous_response_content_can_be_sent_back(api: Api, emulator: Emulator) -> None:
    first = await api.create()
    turns = [
        *HI,
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": "ok"},
    ]
    second = await api.create(messages=(turn for turn in turns))  # any iterable
    assert second.content
    sent = journal(emulator, 2)[1].body["messages"][1]["content"][0]
    assert sent["type"] == "text"
    assert sent["text"] == first.content[0].text


async def test_tool_use_round_trip(api: Api, emulator: Emulator) -> None:
    tool = {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    first = await api.create(tools=[tool], tool_choice={"type": "tool", "name": "get_weather"})
    assert first.stop_reason == "tool_use"
    use = next(block for block in first.content if block.type == "tool_use")
    assert isinstance(use, ToolUseBlock)
    turns = [
        *HI,
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
        },
    ]
    second = await api.create(tools=[tool], messages=turns)
    assert second.content
    sent = journal(emulator, 2)[1].body["messages"][1]["content"]
    tool_use = next(block for block in sent if block["type"] == "tool_use")
    assert tool_use["id"] == use.id
    assert tool_use["input"] == use.input


async def test_per_call_options(api: Api, emulator: Emulator) -> None:
    await api.create(
        extra_headers={"X-Trace": "t1"},
        extra_query={"api-version": "2025-01-01"},
        extra_body={"temperature": 0.5},
        workspace_id="ws",
        timeout=30,
    )
    [entry] = journal(emulator, 1)
    assert entry.headers["x-trace"] == "t1"
    assert entry.headers["anthropic-workspace-id"] == "ws"
    assert "api-version=2025-01-01" in entry.query
    assert entry.body["temperature"] == 0.5


async def test_default_headers_query_and_version(
    make_api: Callable[..., Api], emulator: Emulator
) -> None:
    api = make_api(
        default_headers={"X-Team": "a"},
        default_query={"api-version": "v"},
        anthropic_version="2026-10-21",
    )
    await api.create()
    [entry] = journal(emulator, 1)
    assert entry.headers["x-team"] == "a"
    assert entry.headers["anthropic-version"] == "2026-10-21"
    assert "api-version=v" in entry.query


async def test_count_tokens(api: Api, emulator: Emulator) -> None:
    count = await api.count_tokens(system="s")
    assert count.input_tokens > 0
    [entry] = journal(emulator, 1)
    assert entry.path == "/anthropic/v1/messages/count_tokens"
    assert count.request_id == entry.request_id


async def test_raw_events(api: Api, emulator: Emulator) -> None:
    stream, events = await api.events()
    assert events[0].type == "message_start"
    assert events[-1].type == "message_stop"
    assert "ping" not in [event.type for event in events]
    [entry] = journal(emulator, 1)
    assert entry.stream
    assert entry.body["stream"] is True
    assert stream.request_id == entry.request_id
    assert stream.apim_request_id == entry.apim_request_id


async def test_stream_helper(api: Api, emulator: Emulator) -> None:
    text, final, stream = await api.stream_text()
    assert text == final.content[0].text
    assert final.stop_reason == "end_turn"
    [entry] = journal(emulator, 1)
    assert entry.body["stream"] is True
    assert entry.headers["x-stainless-helper-method"] == "stream"
    assert stream.request_id == entry.request_id


async def test_beta_messages_send_the_beta_header(api: Api, emulator: Emulator) -> None:
    beta = api.client.beta.messages
    await api._await(beta.create(**api.params({"betas": ["a-2025", "b-2025"]})))
    await api._await(beta.count_tokens(model=api.model, messages=HI, betas=["a-2025"]))
    text, _, _ = await api.stream_text(resource=beta, betas=["c-2025"])
    assert text
    entries = journal(emulator, 3)
    assert entries[0].headers["anthropic-beta"] == "a-2025,b-2025"
    assert entries[0].path == "/anthropic/v1/messages"
    assert "betas" not in entries[0].body
    assert entries[1].headers["anthropic-beta"] == "a-2025,token-counting-2024-11-01"
    assert entries[2].headers["anthropic-beta"] == "c-2025"


async def test_with_raw_response(api: Api, emulator: Emulator) -> None:
    raw = await api._await(api.client.messages.with_raw_response.create(**api.params({})))
    assert raw.status_code == 200
    assert raw.headers["request-id"] == raw.request_id
    assert raw.http_response.status_code == 200
    message = await api._await(raw.parse())  # awaited on the async client, as officially
    assert isinstance(message, Message)
    assert message.request_id == raw.request_id
    raw_count = await api._await(
        api.client.messages.with_raw_response.count_tokens(model=api.model, messages=HI)
    )
    assert (await api._await(raw_count.parse())).input_tokens > 0


async def test_client_level_raw_response(api: Api, emulator: Emulator) -> None:
    raw_api = api.client.with_raw_response
    raw = await api._await(raw_api.messages.create(**api.params({})))
    assert (await api._await(raw.parse())).content
    raw = await api._await(raw_api.beta.messages.create(**api.params({"betas": ["x-2025"]})))
    assert (await api._await(raw.parse())).request_id == raw.request_id
    raw = await api._await(raw_api.messages.create(**api.params({"stream": True})))
    stream = await api._await(raw.parse())
    events = [event async for event in stream] if api.is_async else list(stream)
    assert events[-1].type == "message_stop"
    assert journal(emulator, 3)[1].headers["anthropic-beta"] == "x-2025"
    with pytest.raises(NotSupportedOnFoundryError):
        raw_api.models.list()


async def test_with_streaming_response(api: Api, emulator: Emulator) -> None:
    resource = api.client.with_streaming_response.messages
    if api.is_async:
        async with resource.create(**api.params({})) as response:
            assert response.status_code == 200
            assert response.request_id
            message = await response.parse()
        async with resource.create(**api.params({"stream": True})) as response:
            events = [event async for event in await response.parse()]
        async with resource.count_tokens(model=api.model, messages=HI) as response:
            assert (await response.json())["input_tokens"] > 0
    else:
        with resource.create(**api.params({})) as response:
            assert response.status_code == 200
            assert response.request_id
            message = response.parse()
        with resource.create(**api.params({"stream": True})) as response:
            events = list(response.parse())
        with resource.count_tokens(model=api.model, messages=HI) as response:
            assert response.json()["input_tokens"] > 0
    assert message.content
    assert message.request_id
    assert events[-1].type == "message_stop"
    assert len(journal(emulator, 3)) == 3


async def test_streaming_response_errors_are_raised_at_open(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=400, count=1)
    manager = api.client.messages.with_streaming_response.create(**api.params({}))
    enter = manager.__aenter__ if api.is_async else manager.__enter__
    with pytest.raises(BadRequestError):
        await api._await(enter())


# --- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503, 529])
async def test_retryable_status_is_retried(api: Api, emulator: Emulator, status: int) -> None:
    emulator.add_fault(kind="status", status=status, count=2, **FAST)
    message = await api.create()
    assert message.content
    entries = journal(emulator, 3)
    assert [entry.retry_count for entry in entries] == [0, 1, 2]
    assert [entry.status for entry in entries] == [status, status, 200]


async def test_exhausted_retries_raise_the_classified_error(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=529, count=None, **FAST)
    with pytest.raises(OverloadedError) as info:
        await api.create()
    error = info.value
    entries = journal(emulator, 3)
    assert len(entries) == 3
    assert error.status_code == 529
    assert error.request_id == entries[-1].request_id
    assert error.apim_request_id == entries[-1].apim_request_id
    assert error.type == "overloaded_error"
    assert "overloaded" in error.hint.lower()
    assert "gave up after 3 attempts" in "".join(error.__notes__)


async def test_max_retries_per_client_and_per_copy(
    make_api: Callable[..., Api], emulator: Emulator
) -> None:
    emulator.add_fault(kind="status", status=429, count=None, **FAST)
    api = make_api(max_retries=0)
    with pytest.raises(RateLimitError):
        await api.create()
    assert len(journal(emulator, 1)) == 1
    more = Api(api.client.with_options(max_retries=1), api.model)
    with pytest.raises(RateLimitError):
        await more.create()
    assert len(journal(emulator, 3)) == 3


async def test_should_retry_header_overrides(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=500, should_retry=False, count=1)
    with pytest.raises(InternalServerError):
        await api.create()
    assert len(journal(emulator, 1)) == 1
    emulator.reset()
    emulator.add_fault(kind="status", status=400, should_retry=True, count=1, **FAST)
    assert (await api.create()).content
    assert len(journal(emulator, 2)) == 2


async def test_client_errors_are_not_retried(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=400, count=None)
    with pytest.raises(BadRequestError) as info:
        await api.create()
    assert info.value.status_code == 400
    assert len(journal(emulator, 1)) == 1


async def test_unknown_deployment_gives_a_hint(api: Api) -> None:
    with pytest.raises(NotFoundError) as info:
        await api.create(model="no-such-deployment")
    assert info.value.code == "DeploymentNotFound"
    assert "deployment name" in info.value.hint
    assert "Hint:" in str(info.value)


async def test_bad_key_is_an_authentication_error(make_api: Callable[..., Api]) -> None:
    api = make_api(api_key="wrong-key")
    with pytest.raises(AuthenticationError) as info:
        await api.create()
    assert info.value.status_code == 401
    assert "wrong-key" not in str(info.value)
    assert info.value.api_message


async def test_dropped_connection_is_retried(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="disconnect", count=1, stream=False)
    assert (await api.create()).content
    assert len(journal(emulator, 2)) == 2


async def test_dropped_connections_end_in_connection_error(
    make_api: Callable[..., Api], emulator: Emulator
) -> None:
    api = make_api(max_retries=1)
    emulator.add_fault(kind="disconnect", count=None, stream=False)
    with pytest.raises(APIConnectionError) as info:
        await api.create()
    assert not isinstance(info.value, APITimeoutError)
    assert "127.0.0.1" in str(info.value)


async def test_timeout(make_api: Callable[..., Api], emulator: Emulator) -> None:
    api = make_api(max_retries=0, timeout=0.2)
    emulator.add_fault(kind="latency", delay_ms=3000, count=1)
    with pytest.raises(APITimeoutError, match="timed out"):
        await api.create()


async def test_connection_refused(make_api: Callable[..., Api]) -> None:
    api = make_api(base_url="http://127.0.0.1:9/anthropic/", max_retries=1)
    with pytest.raises(APIConnectionError, match=r"Could not connect to http://127\.0\.0\.1:9"):
        await api.create()


# --- malformed answers --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["malformed", "truncate"])
async def test_bad_json_body_is_a_validation_error(api: Api, emulator: Emulator, kind: str) -> None:
    emulator.add_fault(kind=kind, count=1, stream=False)
    with pytest.raises(APIResponseValidationError, match="HTTP 200") as info:
        await api.create()
    assert "body starts" in str(info.value)
    assert len(journal(emulator, 1)) == 1  # not retried


# --- streams that fail --------------------------------------------------------------------------


async def test_stream_error_after_content_is_classified(api: Api, emulator: Emulator) -> None:
    # message_start, content_block_start, ping, the first content_block_delta, then the error
    emulator.add_fault(kind="stream_error", after_events=4, count=1)
    with pytest.raises(OverloadedError) as info:
        await api.events()
    assert info.value.in_stream
    assert info.value.status_code == 529
    [entry] = journal(emulator, 1)
    assert info.value.request_id == entry.request_id


async def test_stream_error_before_the_first_event_is_retried(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="stream_error", after_events=0, count=1)
    _, events = await api.events()
    assert events[-1].type == "message_stop"
    assert [entry.retry_count for entry in journal(emulator, 2)] == [0, 1]


async def test_stream_dropped_before_the_first_event_is_retried(
    api: Api, emulator: Emulator
) -> None:
    emulator.add_fault(kind="disconnect", after_events=0, count=1, stream=True)
    text, final, _ = await api.stream_text()
    assert text == final.content[0].text
    assert len(journal(emulator, 2)) == 2


@pytest.mark.parametrize("kind", ["truncate", "disconnect"])
async def test_stream_cut_mid_way_is_a_connection_error(
    api: Api, emulator: Emulator, kind: str
) -> None:
    emulator.add_fault(kind=kind, after_events=4, count=1, stream=True)
    with pytest.raises(APIConnectionError):
        await api.events()


async def test_stream_with_malformed_data(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="malformed", after_events=3, count=1, stream=True)
    with pytest.raises(APIResponseValidationError):
        await api.events()


async def test_stream_http_error_raised_at_open(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(kind="status", status=429, count=None, **FAST)
    with pytest.raises(RateLimitError):
        await api.stream_text()
    assert len(journal(emulator, 3)) == 3


# --- the non-streaming guard, arguments, unsupported APIs ---------------------------------------


async def test_nonstreaming_guard(api: Api, emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="Streaming is required for operations that may take"):
        await api.create(max_tokens=21_334)
    assert journal(emulator, 0) == []
    # An explicit timeout or streaming lifts the guard, as in the official client.
    # (The deployment may refuse so many tokens; what matters is that the guard let it through.)
    with contextlib.suppress(APIStatusError):
        await api.create(max_tokens=21_334, timeout=30)


async def test_unknown_and_missing_arguments(api: Api) -> None:
    with pytest.raises(TypeError, match="extra_body"):
        await api.create(temprature=1)
    with pytest.raises(TypeError, match="missing required keyword argument: 'max_tokens'"):
        await api._await(api.client.messages.create(model=api.model, messages=HI))


async def test_not_given_values_are_omitted(api: Api, emulator: Emulator) -> None:
    from claude_foundry import NOT_GIVEN, omit

    await api.create(
        temperature=NOT_GIVEN, system=omit, extra_headers={"x-stainless-retry-count": omit}
    )
    [entry] = journal(emulator, 1)
    assert set(entry.body) == {"model", "max_tokens", "messages"}
    assert "x-stainless-retry-count" not in entry.headers


def test_unsupported_apis_name_the_alternative(api: Api) -> None:
    client = api.client
    cases: list[tuple[Any, str]] = [
        (client.models, "list"),
        (client.messages.batches, "create"),
        (client.beta.messages.batches, "list"),
        (client.beta.models, "list"),
        (client.beta.files, "upload"),
        (client.completions, "create"),
    ]
    for resource, method in cases:
        assert not resource
        with pytest.raises(NotSupportedOnFoundryError, match="not available on Microsoft Foundry"):
            getattr(resource, method)()
    with pytest.raises(NotSupportedOnFoundryError, match="deployment"):
        client.models.list()
    with pytest.raises(NotSupportedOnFoundryError, match=r"messages\.create"):
        client.messages.batches.create()
    assert isinstance(NotSupportedOnFoundryError("x"), NotImplementedError)


# --- Microsoft Entra ID -------------------------------------------------------------------------


async def test_token_provider_called_per_attempt(
    make_api: Callable[..., Api], emulator: Emulator
) -> None:
    calls: list[int] = []
    emulator.configure(require_auth=False)

    def provider() -> str:
        calls.append(1)
        return f"token-{len(calls)}"

    api = make_api(api_key=None, azure_ad_token_provider=provider)
    emulator.add_fault(kind="status", status=503, count=1, **FAST)
    await api.create()
    entries = journal(emulator, 2)
    assert len(calls) == 2
    for entry in entries:
        assert entry.headers["authorization"] == "[redacted]"
        assert "x-api-key" not in entry.headers
        assert "api-key" not in entry.headers


async def test_bad_token_value_sends_nothing(
    make_api: Callable[..., Api], emulator: Emulator
) -> None:
    api = make_api(api_key=None, azure_ad_token_provider=lambda: None)
    with pytest.raises(ConfigurationError, match="non-empty str"):
        await api.create()
    assert journal(emulator, 0) == []
