"""The sans-IO pipeline: retry rules, delays, parsing and the request flow driven by hand."""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx2
import pytest

from claude_foundry import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
)
from claude_foundry._auth import ApiKeyAuth, TokenProviderAuth, check_token
from claude_foundry._config import resolve_settings
from claude_foundry._pipeline import (
    MAX_PRELUDE_EVENTS,
    Call,
    Close,
    FetchToken,
    NextChunk,
    OpenChunks,
    Pipeline,
    ReadBody,
    Send,
    Sleep,
    Step,
    StreamStart,
    backoff_delay,
    parse_message,
    requested_retry_delay,
    retry_delay,
    should_retry_response,
)

MESSAGE = (
    b'{"id":"msg_1","type":"message","role":"assistant","model":"d","content":'
    b'[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,'
    b'"usage":{"input_tokens":3,"output_tokens":1}}'
)
JSON = {"content-type": "application/json"}


# --- retry rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "retry"),
    [
        (408, {}, True), (409, {}, True), (429, {}, True), (500, {}, True), (502, {}, True),
        (503, {}, True), (529, {}, True), (400, {}, False), (401, {}, False), (403, {}, False),
        (404, {}, False), (413, {}, False), (422, {}, False),
        (400, {"x-should-retry": "true"}, True), (500, {"x-should-retry": "false"}, False),
    ],
)  # fmt: skip
def test_should_retry_response(status: int, headers: dict[str, str], retry: bool) -> None:
    assert should_retry_response(status, httpx2.Headers(headers)) is retry


def test_requested_retry_delay_order() -> None:
    both = httpx2.Headers({"retry-after-ms": "1500", "retry-after": "9"})
    assert requested_retry_delay(both) == 1.5
    assert requested_retry_delay(httpx2.Headers({"retry-after": "2.5"})) == 2.5
    assert requested_retry_delay(httpx2.Headers({"retry-after-ms": "x", "retry-after": "3"})) == 3
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert requested_retry_delay(httpx2.Headers({"retry-after": date}), lambda: 1_000_000) == 30
    assert requested_retry_delay(httpx2.Headers({"retry-after": "soon"})) is None
    assert requested_retry_delay(httpx2.Headers({})) is None
    assert requested_retry_delay(None) is None


def test_retry_delay_honours_the_server_up_to_the_cap() -> None:
    def delay(headers: dict[str, str], cap: float = 60.0) -> float:
        return retry_delay(httpx2.Headers(headers), 0, max_retry_delay=cap, rand=lambda: 0.0)

    assert delay({"retry-after": "20"}) == 20
    assert delay({"retry-after": "90"}) == 60  # no fixed 60 s rule; the cap is max_retry_delay
    assert delay({"retry-after": "90"}, cap=120) == 90
    assert delay({"retry-after": "999999999"}, cap=120) == 120
    assert delay({"retry-after": "0"}) == 0.5  # not positive: backoff
    assert delay({"retry-after": "-3"}) == 0.5
    assert delay({"retry-after": "nan"}) == 0.5


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    assert [backoff_delay(n, lambda: 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert backoff_delay(0, lambda: 0.999999) == pytest.approx(0.375, rel=1e-3)
    assert backoff_delay(10_000, lambda: 0.0) == 8


# --- parsing ------------------------------------------------------------------------------------


def response(
    status: int = 200, content: bytes = MESSAGE, headers: dict[str, str] | None = None
) -> httpx2.Response:
    return httpx2.Response(
        status,
        headers=JSON if headers is None else headers,
        content=content,
        request=httpx2.Request("POST", "https://x.services.ai.azure.com/anthropic/v1/messages"),
    )


def test_parse_message_attaches_both_request_ids() -> None:
    message = parse_message(
        response(headers={**JSON, "request-id": "req_1", "apim-request-id": "apim-1"})
    )
    assert message.content[0].text == "Hi"  # type: ignore[union-attr]
    assert message.request_id == "req_1"
    assert message.apim_request_id == "apim-1"
    assert message._request_id == "req_1"


@pytest.mark.parametrize(
    ("content", "headers", "match"),
    [
        (b'{"id": "msg_1", "content": [', JSON, "invalid JSON"),
        (b'{"type": "error", "error": {"type": "api_error"}}', JSON, "not a message"),
        (b"<html>Sign in</html>", {"content-type": "text/html"}, "not JSON"),
    ],
)
def test_parse_message_rejects_what_is_not_a_message(
    content: bytes, headers: dict[str, str], match: str
) -> None:
    with pytest.raises(APIResponseValidationError, match=match) as info:
        parse_message(response(content=content, headers=headers))
    assert "HTTP 200" in str(info.value)
    assert info.value.status_code == 200


# --- auth ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "  ", 42, b"bytes"])
def test_bad_token_values_are_rejected_without_echo(value: object) -> None:
    with pytest.raises(ConfigurationError, match="azure_ad_token_provider returned") as info:
        check_token(value)
    assert "bytes'" not in str(info.value)


def test_awaitable_token_in_sync_client_is_explained() -> None:
    async def token() -> str:
        return "t"

    with pytest.raises(ConfigurationError, match="AsyncAnthropicFoundry"):
        check_token(token())


# --- the flow, driven by hand -------------------------------------------------------------------


def make_pipeline(**overrides: Any) -> Pipeline:
    options: dict[str, Any] = {
        "api_key": "k",
        "resource": None,
        "base_url": "https://x.services.ai.azure.com/anthropic/",
        "azure_ad_token_provider": None,
        "timeout": 600.0,
        "max_retries": 2,
        "max_retry_delay": 60.0,
        "retry_budget": None,
        "default_headers": None,
        "default_query": None,
        "anthropic_version": "2023-06-01",
        "http_client": None,
    }
    options.update(overrides)
    settings = resolve_settings(**options)
    auth = (
        TokenProviderAuth(settings.azure_ad_token_provider)
        if settings.azure_ad_token_provider
        else ApiKeyAuth(settings.api_key or "")
    )
    pipeline = Pipeline(settings, auth, user_agent="claude-foundry/test")
    pipeline.random = lambda: 0.0
    return pipeline


class Driver:
    """Performs the steps of a flow from a script of canned results; records what was asked."""

    def __init__(self, answers: list[Any], token: Callable[[], Any] = lambda: "tok") -> None:
        self.answers = answers
        self.token = token
        self.sent: list[httpx2.Request] = []
        self.sleeps: list[float] = []
        self.closed = 0

    def run(self, flow: Generator[Step, Any, Any]) -> Any:
        value: Any = None
        error: Exception | None = None
        while True:
            try:
                step = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self.perform(step)
            except Exception as exc:
                error = exc

    def perform(self, step: Step) -> Any:
        if isinstance(step, Send):
            self.sent.append(step.request)
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        if isinstance(step, Sleep):
            self.sleeps.append(step.seconds)
            return None
        if isinstance(step, FetchToken):
            return self.token()
        if isinstance(step, OpenChunks):
            chunks: Iterator[bytes] = iter(self.answers.pop(0))
            return chunks
        if isinstance(step, NextChunk):
            item = next(step.chunks, None)
            if isinstance(item, Exception):
                raise item
            return item
        if isinstance(step, Close | ReadBody):
            self.closed += 1
            return None
        raise AssertionError(step)


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> httpx2.Response:
    return response(code, body or b'{"type":"error","error":{"type":"x","message":"m"}}',
                    {**JSON, **(headers or {})})  # fmt: skip


def create_call(**kwargs: Any) -> Call:
    return Call(path="v1/messages", body=b"{}", **kwargs)


def test_flow_retries_then_succeeds_with_fresh_retry_count() -> None:
    driver = Driver([status(529), status(429, {"retry-after": "3"}), response()])
    message = driver.run(make_pipeline().request_flow(create_call()))
    assert message.id == "msg_1"
    assert [r.headers["x-stainless-retry-count"] for r in driver.sent] == ["0", "1", "2"]
    assert driver.sleeps == [0.5, 3.0]


def test_flow_headers_and_url() -> None:
    pipeline = make_pipeline(default_headers={"X-Team": "a"}, default_query={"api-version": "1"})
    driver = Driver([response()])
    call = create_call(extra_headers={"X-Extra": "b", "x-team": "c"}, extra_query={"q": "2"})
    driver.run(pipeline.request_flow(call))
    sent = driver.sent[0]
    assert sent.url == "https://x.services.ai.azure.com/anthropic/v1/messages?api-version=1&q=2"
    assert sent.headers["x-api-key"] == "k"
    assert "api-key" not in sent.headers
    assert "authorization" not in sent.headers
    assert sent.headers["x-team"] == "c"
    assert sent.headers["x-extra"] == "b"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["user-agent"] == "claude-foundry/test"
    assert sent.extensions["timeout"] == httpx2.Timeout(600.0).as_dict()


def test_extra_headers_override_and_remove_auth() -> None:
    driver = Driver([response()])
    call = create_call(extra_headers={"X-Api-Key": "other"})
    driver.run(make_pipeline().request_flow(call))
    assert driver.sent[0].headers.get_list("x-api-key") == ["other"]


def test_flow_token_per_attempt_and_no_key_header() -> None:
    tokens = iter(["t1", "t2"])
    driver = Driver([status(500), response()], token=lambda: next(tokens))
    pipeline = make_pipeline(api_key=None, azure_ad_token_provider=lambda: "unused")
    driver.run(pipeline.request_flow(create_call()))
    assert [r.headers["authorization"] for r in driver.sent] == ["Bearer t1", "Bearer t2"]
    assert all("x-api-key" not in r.headers and "api-key" not in r.headers for r in driver.sent)


def test_provider_exception_propagates_unchanged() -> None:
    class CredentialFailure(Exception):
        pass

    def fail() -> str:
        raise CredentialFailure("no az login")

    driver = Driver([], token=fail)
    pipeline = make_pipeline(api_key=None, azure_ad_token_provider=fail)
    with pytest.raises(CredentialFailure):
        driver.run(pipeline.request_flow(create_call()))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (status(400), BadRequestError),
        (status(401), AuthenticationError),
        (status(404), NotFoundError),
        (status(500, {"x-should-retry": "false"}), Exception),
    ],
)
def test_not_retried(answer: httpx2.Response, error: type[Exception]) -> None:
    driver = Driver([answer])
    with pytest.raises(error):
        driver.run(make_pipeline().request_flow(create_call()))
    assert len(driver.sent) == 1


def test_gives_up_after_max_retries_with_a_note() -> None:
    driver = Driver([status(529)] * 3)
    with pytest.raises(OverloadedError) as info:
        driver.run(make_pipeline().request_flow(create_call()))
    assert len(driver.sent) == 3
    assert "gave up after 3 attempts" in "".join(info.value.__notes__)


def test_per_call_max_retries() -> None:
    driver = Driver([status(529)])
    with pytest.raises(OverloadedError):
        driver.run(make_pipeline().request_flow(create_call(max_retries=0)))
    assert len(driver.sent) == 1


def test_transport_errors_are_mapped_and_retried() -> None:
    driver = Driver(
        [httpx2.ConnectError("refused"), httpx2.ReadTimeout("slow"), httpx2.ConnectError("x")]
    )
    with pytest.raises(APIConnectionError, match=r"Could not connect to https://x\.services"):
        driver.run(make_pipeline().request_flow(create_call()))
    assert len(driver.sent) == 3
    driver = Driver([httpx2.ReadTimeout("slow")])
    with pytest.raises(APITimeoutError, match="waiting for data") as info:
        driver.run(make_pipeline(max_retries=0).request_flow(create_call()))
    assert isinstance(info.value.__cause__, httpx2.ReadTimeout)


def test_retry_budget_stops_retrying() -> None:
    pipeline = make_pipeline(retry_budget=10.0)
    driver = Driver([status(429, {"retry-after": "4"}), status(429, {"retry-after": "7"})])
    pipeline.clock = lambda: sum(driver.sleeps)  # time passes only while sleeping
    with pytest.raises(RateLimitError) as info:
        driver.run(pipeline.request_flow(create_call()))
    assert driver.sleeps == [4.0]  # 4 + 7 > 10: the second wait would break the budget
    assert "retry budget" in "".join(info.value.__notes__)


SSE_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",'
    b'"type":"message","role":"assistant","model":"d","content":[],"stop_reason":null,'
    b'"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
)
SSE_PING = b'event: ping\ndata: {"type":"ping"}\n\n'
SSE_OVERLOADED = (
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
    b'"message":"Overloaded"}}\n\n'
)
SSE_INVALID = (
    b'event: error\ndata: {"type":"error","error":{"type":"invalid_request_error",'
    b'"message":"bad"}}\n\n'
)
SSE = {"content-type": "text/event-stream"}


def stream_response() -> httpx2.Response:
    return response(200, b"", SSE)


SSE_BLOCK = (
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
)
SSE_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
)
PRELUDE = ["message_start", "content_block_start"]


def open_stream(driver: Driver, **options: Any) -> StreamStart:
    start = driver.run(make_pipeline(**options).request_flow(create_call(stream=True)))
    assert isinstance(start, StreamStart)
    return start


def test_stream_is_held_until_its_first_content() -> None:
    driver = Driver(
        [stream_response(), [SSE_PING, SSE_START[:40], SSE_START[40:], SSE_BLOCK, SSE_DELTA + b"r"]]
    )
    start = open_stream(driver)
    assert [event.type for event in start.pending] == [*PRELUDE, "content_block_delta"]
    assert next(start.chunks) == b"r"  # the remaining chunks are the stream's


def test_stream_is_handed_over_after_a_bounded_prelude() -> None:
    driver = Driver([stream_response(), [SSE_START + SSE_BLOCK * 20]])
    start = open_stream(driver)
    assert len(start.pending) == MAX_PRELUDE_EVENTS
    assert next(start.chunks) == SSE_BLOCK * (21 - MAX_PRELUDE_EVENTS)


def test_stream_error_before_first_event_is_retried() -> None:
    driver = Driver(
        [stream_response(), [SSE_PING, SSE_OVERLOADED], stream_response(), [SSE_START, SSE_DELTA]]
    )
    start = open_stream(driver)
    assert [event.type for event in start.pending] == ["message_start", "content_block_delta"]
    assert len(driver.sent) == 2
    assert driver.closed == 1


@pytest.mark.parametrize("before", [[SSE_START], [SSE_START, SSE_PING, SSE_BLOCK]])
def test_stream_error_before_first_content_is_retried(before: list[bytes]) -> None:
    driver = Driver(
        [
            stream_response(),
            [b"".join(before) + SSE_OVERLOADED],
            stream_response(),
            [SSE_START, SSE_BLOCK, SSE_DELTA],
        ]
    )
    start = open_stream(driver)
    assert [event.type for event in start.pending] == [*PRELUDE, "content_block_delta"]
    assert [r.headers["x-stainless-retry-count"] for r in driver.sent] == ["0", "1"]
    assert driver.closed == 1


def test_stream_error_after_first_content_is_the_callers() -> None:
    driver = Driver([stream_response(), [SSE_START + SSE_DELTA + SSE_OVERLOADED]])
    start = open_stream(driver)
    assert [event.type for event in start.pending] == ["message_start", "content_block_delta"]
    assert next(start.chunks) == SSE_OVERLOADED  # raised while the caller iterates
    assert len(driver.sent) == 1


def test_stream_error_of_a_client_type_is_not_retried() -> None:
    driver = Driver([stream_response(), [SSE_INVALID]])
    with pytest.raises(BadRequestError) as info:
        driver.run(make_pipeline().request_flow(create_call(stream=True)))
    assert info.value.in_stream
    assert len(driver.sent) == 1


def test_stream_not_retried_gets_its_events_then_its_error() -> None:
    driver = Driver([stream_response(), [SSE_START, SSE_INVALID]])
    start = open_stream(driver)
    assert [event.type for event in start.pending] == ["message_start"]
    with pytest.raises(BadRequestError) as info:
        next(start.chunks)
    assert info.value.in_stream
    assert (len(driver.sent), driver.closed) == (1, 1)

    driver = Driver([stream_response(), [SSE_START, SSE_OVERLOADED]])
    start = open_stream(driver, max_retries=0)
    with pytest.raises(OverloadedError):
        next(start.chunks)
    assert len(driver.sent) == 1


def test_stream_out_of_retries_gets_its_events_then_its_error() -> None:
    driver = Driver([stream_response(), [SSE_START, SSE_OVERLOADED]] * 3)
    start = open_stream(driver)
    assert [event.type for event in start.pending] == ["message_start"]
    with pytest.raises(OverloadedError) as info:
        next(start.chunks)
    assert "gave up after 3 attempts" in "".join(info.value.__notes__)
    assert len(driver.sent) == 3


def test_stream_beyond_the_retry_budget_gets_its_events_then_its_error() -> None:
    driver = Driver([stream_response(), [SSE_START, SSE_OVERLOADED]])
    start = open_stream(driver, retry_budget=0.1)
    assert [event.type for event in start.pending] == ["message_start"]
    with pytest.raises(OverloadedError) as info:
        next(start.chunks)
    assert "retry budget" in "".join(info.value.__notes__)
    assert len(driver.sent) == 1


def test_stream_dropped_before_first_content_is_retried() -> None:
    driver = Driver(
        [
            stream_response(),
            [SSE_PING, httpx2.RemoteProtocolError("peer closed")],
            stream_response(),
            [SSE_START, SSE_BLOCK],  # ends before any content: cut short
            stream_response(),
            [SSE_START, httpx2.ReadTimeout("stalled")],
            stream_response(),
            [SSE_START, SSE_DELTA],
        ]
    )
    start = open_stream(driver, max_retries=3)
    assert [event.type for event in start.pending] == ["message_start", "content_block_delta"]
    assert len(driver.sent) == 4


def test_stream_dropped_with_no_retries_left_reports_the_events() -> None:
    driver = Driver([stream_response(), [SSE_START, httpx2.RemoteProtocolError("peer closed")]])
    start = open_stream(driver, max_retries=0)
    with pytest.raises(APIConnectionError, match=r"dropped mid-stream after 1 event") as info:
        next(start.chunks)
    assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)


def test_stream_with_a_json_body_is_a_validation_error() -> None:
    driver = Driver([response(200, MESSAGE, JSON)])
    with pytest.raises(APIResponseValidationError, match="not an event stream"):
        driver.run(make_pipeline().request_flow(create_call(stream=True)))


def test_stream_status_error_reads_body() -> None:
    driver = Driver([status(404, body=b'{"error":{"code":"DeploymentNotFound","message":"m"}}')])
    with pytest.raises(NotFoundError) as info:
        driver.run(make_pipeline().request_flow(create_call(stream=True)))
    assert info.value.code == "DeploymentNotFound"
    assert driver.closed == 1


def test_token_whitespace_is_stripped() -> None:
    assert check_token("tok\n") == "tok"
