"""The client against a hostile loopback server: one that trickles, floods, redirects or echoes.

A trickling server sends one byte a second: every single read finishes well within the timeout,
so only a limit on the whole attempt (or, for a stream, on the time between events) ends the
call. Each test carries a pytest timeout as a hang guard; timing itself is measured in
benchmarks/.
"""

from __future__ import annotations

import json

import httpx2
import pytest
from tests.hostile_server import hostile_server
from tests.stream_fixtures import block_start, delta, message_start, sse

from claude_foundry import (
    AnthropicFoundry,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncAnthropicFoundry,
    AuthenticationError,
    Timeout,
)
from claude_foundry._deadline import READ_DEADLINE, StreamLimits, attempt_limit
from claude_foundry._redact import redact_error, request_secrets

pytestmark = pytest.mark.timeout(20)

REQUEST = {"model": "d", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}
MESSAGE = json.dumps(
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "d",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
).encode()
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
STARTED = (
    message_start()
    + block_start(0, {"type": "text", "text": ""})
    + delta(0, type="text_delta", text="Hel")
)


def json_head(length: int) -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    ).encode()


# What each server trickles: the status line and headers; a body; an SSE event that never ends,
# before any event and after the stream was handed over.
TRICKLES = {
    "headers": (b"", b"HTTP/1.1 200 OK\r\n" + b"x-padding: " + b"a" * 200),
    "body": (json_head(len(MESSAGE)), MESSAGE),
}


@pytest.mark.parametrize("where", sorted(TRICKLES))
def test_a_trickle_ends_a_sync_call_at_its_timeout(where: str) -> None:
    prefix, drip = TRICKLES[where]
    with hostile_server(prefix, drip) as server:
        client = AnthropicFoundry(api_key="k", base_url=server.base_url, timeout=3, max_retries=0)
        with client, pytest.raises(APITimeoutError, match="within the timeout of 3 s"):
            client.messages.create(**REQUEST)


@pytest.mark.parametrize("where", sorted(TRICKLES))
async def test_a_trickle_ends_an_async_call_at_its_timeout(where: str) -> None:
    prefix, drip = TRICKLES[where]
    with hostile_server(prefix, drip) as server:
        client = AsyncAnthropicFoundry(
            api_key="k", base_url=server.base_url, timeout=3, max_retries=0
        )
        async with client:
            with pytest.raises(APITimeoutError, match="within the timeout of 3 s"):
                await client.messages.create(**REQUEST)


def test_a_per_call_timeout_bounds_the_call_too() -> None:
    prefix, drip = TRICKLES["body"]
    with hostile_server(prefix, drip, interval=0.25) as server:
        client = AnthropicFoundry(api_key="k", base_url=server.base_url, max_retries=0)
        with client, pytest.raises(APITimeoutError, match="within the timeout of 1 s"):
            client.messages.create(**REQUEST, timeout=1)


def test_a_trickling_call_is_retried_like_any_timeout() -> None:
    prefix, drip = TRICKLES["body"]
    with hostile_server(prefix, drip, interval=0.25) as server:
        client = AnthropicFoundry(api_key="k", base_url=server.base_url, timeout=0.6, max_retries=1)
        with client, pytest.raises(APITimeoutError) as caught:
            client.messages.create(**REQUEST)
    assert len(server.received) == 2
    assert "gave up after 2 attempts" in str(caught.value.__notes__)


READS = {
    "read": lambda response: response.read(),
    "json": lambda response: response.json(),
    "parse": lambda response: response.parse(),
    "iter_bytes": lambda response: list(response.iter_bytes()),
    "iter_lines": lambda response: list(response.iter_lines()),
}


@pytest.mark.parametrize("how", sorted(READS))
def test_a_trickled_body_read_through_with_streaming_response_ends_at_the_timeout(
    how: str,
) -> None:
    # The headers came at once; the caller read the body afterwards, a byte a second, for ever.
    prefix, drip = TRICKLES["body"]
    with hostile_server(prefix, drip, interval=0.25) as server:
        client = AnthropicFoundry(api_key="k", base_url=server.base_url, timeout=1, max_retries=0)
        with (
            client,
            client.messages.with_streaming_response.create(**REQUEST) as response,
            pytest.raises(httpx2.TimeoutException),
        ):
            READS[how](response)


async def test_a_trickled_body_read_through_async_with_streaming_response_ends_too() -> None:
    prefix, drip = TRICKLES["body"]
    with hostile_server(prefix, drip, interval=0.25) as server:
        client = AsyncAnthropicFoundry(
            api_key="k", base_url=server.base_url, timeout=1, max_retries=0
        )
        async with client:
            async with client.messages.with_streaming_response.create(**REQUEST) as response:
                with pytest.raises(httpx2.TimeoutException):
                    await response.read()
            async with client.messages.with_streaming_response.create(**REQUEST) as response:
                with pytest.raises(httpx2.TimeoutException):
                    _ = [chunk async for chunk in response.iter_bytes()]


def test_a_body_read_later_in_time_is_read_whole() -> None:
    with hostile_server(json_head(len(MESSAGE)) + MESSAGE) as server:
        client = AnthropicFoundry(api_key="k", base_url=server.base_url, timeout=5, max_retries=0)
        with client, client.messages.with_streaming_response.create(**REQUEST) as response:
            assert b"".join(response.iter_bytes()) == MESSAGE
    assert READ_DEADLINE.get() is None  # nothing left set after the reads


# A stream that trickles one SSE line that never ends: before any event, and after handover.
STREAM_TRICKLES = {
    "before-any-event": SSE_HEAD,
    "after-handover": SSE_HEAD + STARTED,
}
NEVER_ENDING_LINE = b"data: " + b"x" * 500


@pytest.mark.parametrize("where", sorted(STREAM_TRICKLES))
def test_a_trickling_stream_ends_when_no_event_arrives_in_time(where: str) -> None:
    with hostile_server(STREAM_TRICKLES[where], NEVER_ENDING_LINE, interval=0.25) as server:
        client = AnthropicFoundry(api_key="k", base_url=server.base_url, timeout=1, max_retries=0)
        with client, pytest.raises(APITimeoutError, match="no event arrived within"):
            for _ in client.messages.create(**REQUEST, stream=True):
                pass


@pytest.mark.parametrize("where", sorted(STREAM_TRICKLES))
async def test_a_trickling_async_stream_ends_when_no_event_arrives_in_time(where: str) -> None:
    with hostile_server(STREAM_TRICKLES[where], NEVER_ENDING_LINE, interval=0.25) as server:
        client = AsyncAnthropicFoundry(
            api_key="k", base_url=server.base_url, timeout=1, max_retries=0
        )
        async with client:
            with pytest.raises(APITimeoutError, match="no event arrived within"):
                async for _ in await client.messages.create(**REQUEST, stream=True):
                    pass


PINGS = sse("ping", {"type": "ping"}) * 1000


def test_a_stream_with_steady_events_outlives_its_read_timeout() -> None:
    """The read timeout limits the wait between events, not the stream: pings every 0.01 s (one
    byte at a time) keep a stream with `timeout=1` going until the total limit stops it."""
    with hostile_server(SSE_HEAD + STARTED, PINGS, interval=0.0005) as server:
        client = AnthropicFoundry(
            api_key="k",
            base_url=server.base_url,
            timeout=Timeout(1.0, stream_total=2.5),
            max_retries=0,
        )
        events: list[object] = []
        with client, pytest.raises(APITimeoutError, match=r"stream_total of 2\.5 s"):
            events.extend(client.messages.create(**REQUEST, stream=True))
    assert len(events) == 3  # the pings are not handed over, but they kept the stream alive


async def test_an_async_stream_total_is_per_call() -> None:
    with hostile_server(SSE_HEAD + STARTED, PINGS, interval=0.0005) as server:
        client = AsyncAnthropicFoundry(api_key="k", base_url=server.base_url, max_retries=0)
        async with client:
            stream = await client.messages.create(
                **REQUEST, stream=True, timeout=Timeout(1.0, stream_total=1.5)
            )
            with pytest.raises(APITimeoutError, match=r"stream_total of 1\.5 s"):
                async for _ in stream:
                    pass


def test_the_attempt_limit_is_the_largest_phase_and_none_without_a_read_limit() -> None:
    assert attempt_limit(httpx2.Timeout(3)) == 3
    assert attempt_limit(httpx2.Timeout(600.0, connect=5.0)) == 600
    assert attempt_limit(httpx2.Timeout(5.0, read=60.0)) == 60
    assert attempt_limit(httpx2.Timeout(None, connect=5.0)) is None
    assert attempt_limit(Timeout(3, stream_total=9)) == 3


def test_timeout_keeps_httpx2_semantics_and_adds_a_stream_total() -> None:
    timeout = Timeout(60.0, connect=5.0, stream_total=900)
    assert isinstance(timeout, httpx2.Timeout)
    assert timeout.as_dict() == {"connect": 5.0, "read": 60.0, "write": 60.0, "pool": 60.0}
    assert Timeout(timeout) == timeout
    assert Timeout(60.0, connect=5.0) != timeout
    assert "stream_total=900" in repr(timeout)
    with pytest.raises(ValueError, match="stream_total must be a number of seconds > 0"):
        Timeout(5, stream_total=0)


def test_stream_limits_restart_on_events_and_name_what_ran_out() -> None:
    now = [100.0]
    limits = StreamLimits(idle=2.0, total=5.0, started=99.0, clock=lambda: now[0])
    assert limits.deadline == 102.0
    now[0] = 101.5
    limits.saw(1)
    assert limits.deadline == 103.5
    limits.saw(1)  # no new event: unchanged
    assert limits.deadline == 103.5
    now[0] = 103.0
    limits.saw(2)
    assert limits.deadline == 104.0  # the total caps the idle limit
    assert limits.expired() is None
    now[0] = 104.0
    assert limits.expired() == "the stream ran past its stream_total of 5 s"
    idle_only = StreamLimits(idle=2.0, total=None, started=0.0, clock=lambda: now[0])
    now[0] = 106.5
    assert idle_only.expired() == "no event arrived within the read timeout of 2 s"
    unlimited = StreamLimits(idle=None, total=None, started=0.0, clock=lambda: now[0])
    assert unlimited.deadline is None
    assert unlimited.expired() is None


# --- a flood: an event that never ends ----------------------------------------------------------


@pytest.mark.parametrize("where", sorted(STREAM_TRICKLES))
def test_an_endless_event_is_a_typed_error_not_unbounded_memory(where: str) -> None:
    flood = STREAM_TRICKLES[where] + b"data: " + b"x" * (17 * 1024 * 1024)
    with hostile_server(flood) as server:
        client = AnthropicFoundry(api_key="k", base_url=server.base_url, max_retries=0)
        with client, pytest.raises(APIResponseValidationError, match="went on past 16777216 bytes"):
            for _ in client.messages.create(**REQUEST, stream=True):
                pass


# --- a redirect to another host -----------------------------------------------------------------


def redirect_to(url: str) -> bytes:
    return (
        f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {url}\r\ncontent-length: 0\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("follow", [True, False])
def test_credentials_never_follow_a_redirect_even_when_the_http_client_would(follow: bool) -> None:
    with (
        hostile_server(json_head(len(MESSAGE)) + MESSAGE) as elsewhere,
        hostile_server(redirect_to(elsewhere.base_url + "v1/messages")) as server,
    ):
        http = httpx2.Client(follow_redirects=follow)
        client = AnthropicFoundry(
            api_key="key-that-stays-home", base_url=server.base_url, http_client=http
        )
        with http, pytest.raises(APIStatusError, match="redirected to") as caught:
            client.messages.create(**REQUEST)
    assert caught.value.status_code == 307
    assert server.received[0].headers["x-api-key"] == "key-that-stays-home"
    assert elsewhere.received == []


async def test_credentials_never_follow_a_redirect_with_an_async_http_client() -> None:
    with (
        hostile_server(json_head(len(MESSAGE)) + MESSAGE) as elsewhere,
        hostile_server(redirect_to(elsewhere.base_url + "v1/messages")) as server,
    ):
        http = httpx2.AsyncClient(follow_redirects=True)
        client = AsyncAnthropicFoundry(
            base_url=server.base_url, azure_ad_token_provider=lambda: "token-that-stays-home"
        )
        client = client.copy(http_client=http)
        async with http:
            with pytest.raises(APIStatusError, match="redirected to"):
                await client.messages.create(**REQUEST, stream=True)
    assert elsewhere.received == []


# --- a server that echoes the caller's secrets --------------------------------------------------

KEY = "sk-foundry-0123456789abcdef"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
CALLER_TOKEN = "caller-own-token-42424242"


def echo_response(status: int, *secrets: str) -> bytes:
    text = "rejected credentials: " + " and ".join(secrets)
    body = json.dumps({"error": {"type": "authentication_error", "message": text}}).encode()
    return (
        f"HTTP/1.1 {status} Unauthorized\r\ncontent-type: application/json\r\n"
        f"request-id: req_echo\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    assert isinstance(error, APIStatusError)
    shown = [str(error), repr(error), error.message, json.dumps(error.body), str(error.api_message)]
    for secret in secrets:
        for text in shown:
            assert secret not in text
    assert "[redacted]" in str(error)
    assert error.request_id == "req_echo"  # the rest of the message is kept


def test_a_key_echoed_in_an_error_body_is_redacted() -> None:
    with hostile_server(echo_response(401, KEY, f"?api-key={KEY}")) as server:
        client = AnthropicFoundry(api_key=KEY, base_url=server.base_url, max_retries=0)
        with client, pytest.raises(AuthenticationError) as caught:
            client.messages.create(**REQUEST)
    assert_no_secret(caught.value, KEY)


async def test_a_token_and_a_callers_own_header_echoed_are_redacted() -> None:
    reply = echo_response(401, f"Bearer {TOKEN}", TOKEN, CALLER_TOKEN)
    with hostile_server(reply) as server:
        client = AsyncAnthropicFoundry(
            base_url=server.base_url, azure_ad_token_provider=lambda: TOKEN, max_retries=0
        )
        own = {"ocp-apim-subscription-key": CALLER_TOKEN}
        async with client:
            with pytest.raises(AuthenticationError) as caught:
                await client.messages.create(**REQUEST, stream=True, extra_headers=own)
    assert_no_secret(caught.value, TOKEN, CALLER_TOKEN)


def test_a_key_echoed_in_an_in_stream_error_is_redacted() -> None:
    error = {"type": "invalid_request_error", "message": KEY}
    event = sse("error", {"type": "error", "error": error})
    head = SSE_HEAD.replace(b"\r\n\r\n", b"\r\nrequest-id: req_echo\r\n\r\n")
    with hostile_server(head + STARTED + event) as server:
        client = AnthropicFoundry(api_key=KEY, base_url=server.base_url, max_retries=0)
        with client, pytest.raises(APIStatusError) as caught:
            for _ in client.messages.create(**REQUEST, stream=True):
                pass
    assert_no_secret(caught.value, KEY)


def test_the_timeout_bounds_a_call_through_an_http_client_passed_in() -> None:
    prefix, drip = TRICKLES["body"]
    with hostile_server(prefix, drip, interval=0.25) as server, httpx2.Client() as http:
        client = AnthropicFoundry(
            api_key="k", base_url=server.base_url, http_client=http, timeout=1, max_retries=0
        )
        with pytest.raises(APITimeoutError, match="within the timeout of 1 s"):
            client.messages.create(**REQUEST)
    # Outside the client's calls the HTTP client keeps its own limits: no deadline is left set.
    assert READ_DEADLINE.get() is None


def test_request_secrets_are_found_by_name_and_short_values_are_left_alone() -> None:
    request = httpx2.Request(
        "POST",
        "https://user:pass-word-1@x.invalid/anthropic/v1/messages?api-key=query-secret-1&n=12345678",
        headers={
            "x-api-key": "header-secret-1",
            "authorization": "Bearer bearer-secret-1",
            "x-custom-token": "short",
            "user-agent": "not-a-secret-at-all",
        },
    )
    assert set(request_secrets(request)) == {
        "header-secret-1",
        "Bearer bearer-secret-1",
        "bearer-secret-1",
        "query-secret-1",
        "pass-word-1",
    }
    error = APIStatusError(
        "echo: header-secret-1 query-secret-1", status_code=400, body={"m": ["bearer-secret-1"]}
    )
    error.request = request
    redact_error(error)
    assert "secret" not in error.message + str(error.args) + json.dumps(error.body)


def test_a_stream_total_bounds_its_headers_too() -> None:
    prefix, drip = TRICKLES["headers"]
    with hostile_server(prefix, drip, interval=0.25) as server:
        timeout = Timeout(None, stream_total=1.0)
        client = AnthropicFoundry(
            api_key="k", base_url=server.base_url, timeout=timeout, max_retries=0
        )
        with client, pytest.raises(APITimeoutError, match="within the timeout of 1 s"):
            client.messages.create(**REQUEST, stream=True)
