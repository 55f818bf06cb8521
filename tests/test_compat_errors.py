"""``except anthropic.X`` catches our errors once ``anthropic`` is imported."""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic._error_classes import ERROR_CLASSES

import claude_foundry
from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
from claude_foundry._errors import make_status_error
from claude_foundry.emulator import Emulator
from claude_foundry.testing import TEST_API_KEY

HI = [{"role": "user", "content": "Hi"}]


def _official_status_classes() -> set[type]:
    return {
        cls
        for _, cls in inspect.getmembers(anthropic, inspect.isclass)
        if issubclass(cls, anthropic.APIStatusError)
    }


def _body(code: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "api_error", "message": "m"}
    if code is not None:
        error["details"] = {"error_code": code}
    return {"type": "error", "error": error}


# Statuses with no class of their own in the official lookup.
GENERIC = {418: anthropic.APIStatusError, 502: anthropic.InternalServerError}


def _cases() -> list[tuple[int, str | None, type]]:
    cases = [(status, code, cls) for (status, code), cls in ERROR_CLASSES.items()]
    return cases + [(status, None, cls) for status, cls in GENERIC.items()]


def test_import_does_not_load_the_official_package() -> None:
    code = "import sys, claude_foundry; print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_official_status_class_is_covered() -> None:
    covered = {cls for _, _, cls in _cases()}
    assert _official_status_classes() <= covered


@pytest.mark.parametrize(("status", "code", "official"), _cases())
def test_status_errors_are_caught_by_the_official_class(
    status: int, code: str | None, official: type
) -> None:
    error = make_status_error(status, _body(code))
    assert isinstance(error, claude_foundry.APIStatusError)
    with pytest.raises(official):
        raise error
    assert error.status_code == status
    assert error.error_code == code
    assert error.workspace_id is None  # an official attribute our errors otherwise lack


@pytest.mark.parametrize(
    ("ours", "official"),
    [
        (claude_foundry.APIConnectionError(), anthropic.APIConnectionError),
        (claude_foundry.APITimeoutError(), anthropic.APITimeoutError),
        (claude_foundry.APITimeoutError(), anthropic.APIConnectionError),
        (claude_foundry.APIResponseValidationError(), anthropic.APIResponseValidationError),
        (claude_foundry.NotSupportedOnFoundryError("x"), anthropic.AnthropicError),
        (claude_foundry.ConfigurationError("x"), anthropic.AnthropicError),
        (claude_foundry.APIError("x"), anthropic.APIError),
    ],
    ids=lambda value: type(value).__name__,
)
def test_other_errors_are_caught_by_the_official_class(ours: Exception, official: type) -> None:
    with pytest.raises(official):
        raise ours
    # Our own tree and the builtins keep matching.
    assert isinstance(ours, claude_foundry.AnthropicError)


def test_builtin_bases_and_our_names_are_kept() -> None:
    error = claude_foundry.ConfigurationError("bad")
    assert isinstance(error, ValueError)
    assert type(error).__name__ == "ConfigurationError"
    assert type(error).__module__ == "claude_foundry._errors"
    assert isinstance(claude_foundry.NotSupportedOnFoundryError("x"), NotImplementedError)


def test_twins_are_cached_and_pickle() -> None:
    first = make_status_error(429, _body("ramp_limit_exceeded"))
    second = make_status_error(429, _body("ramp_limit_exceeded"))
    assert type(first) is type(second)
    assert isinstance(first, anthropic.RampLimitExceededError)
    copy = pickle.loads(pickle.dumps(first))
    assert type(copy) is type(first)
    assert copy.status_code == 429
    assert str(copy) == str(first)


def test_end_to_end_404_429_and_connection_errors(emulator: Emulator) -> None:
    client = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as not_found:
        client.messages.create(model="no-such-deployment", max_tokens=8, messages=HI)
    assert isinstance(not_found.value, claude_foundry.NotFoundError)
    emulator.add_fault(kind="status", status=429, count=1)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=-1, messages=HI)
    offline = AnthropicFoundry(api_key="k", base_url="http://127.0.0.1:9/anthropic/", max_retries=0)
    with pytest.raises(anthropic.APIConnectionError):
        offline.messages.create(model="m", max_tokens=8, messages=HI)
    client.close()


async def test_async_client_errors(emulator: Emulator) -> None:
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0
    ) as client:
        emulator.add_fault(kind="status", status=529, count=1)
        with pytest.raises(anthropic.OverloadedError):
            await client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
        timeout = httpx2.Timeout(0.000001)
        with pytest.raises(anthropic.APITimeoutError):
            await client.with_options(timeout=timeout).messages.create(
                model="claude-sonnet-4-6", max_tokens=8, messages=HI
            )


# --- errors raised inside streams and the tool runner, with only the client import changed


IN_STREAM = [
    ("rate_limit_error", anthropic.RateLimitError),
    ("overloaded_error", anthropic.OverloadedError),
]


def _stream_failures(client: Any, emulator: Emulator, error_type: str) -> list[BaseException]:
    """The errors an ``event: error`` after content raises: through the stream helper, then
    through ``create(stream=True)``."""
    raised: list[BaseException] = []
    emulator.add_fault(kind="stream_error", error_type=error_type, after_events=4, count=2)
    try:
        with client.messages.stream(model="claude-sonnet-4-6", max_tokens=64, messages=HI) as s:
            s.until_done()
    except Exception as exc:
        raised.append(exc)
    try:
        for _ in client.messages.create(
            model="claude-sonnet-4-6", max_tokens=64, messages=HI, stream=True
        ):
            pass
    except Exception as exc:
        raised.append(exc)
    return raised


@pytest.mark.parametrize(("error_type", "specific"), IN_STREAM)
def test_in_stream_errors_are_caught_by_the_official_class(
    emulator: Emulator, error_type: str, specific: type
) -> None:
    """The official client raises ``anthropic.APIStatusError`` for an in-stream error; ours is
    caught by that and by the class of its type."""
    with anthropic.AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0
    ) as official:
        theirs = _stream_failures(official, emulator, error_type)
    with AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0) as ours:
        mine = _stream_failures(ours, emulator, error_type)
    assert len(theirs) == len(mine) == 2
    for their_error, my_error in zip(theirs, mine, strict=True):
        assert isinstance(my_error, type(their_error))
        assert isinstance(my_error, anthropic.APIStatusError)
        assert isinstance(my_error, specific)


@claude_foundry.beta_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_tool_runner_errors_are_caught_by_the_official_class(emulator: Emulator) -> None:
    client = AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0)
    runner = client.beta.messages.tool_runner(
        model="claude-sonnet-4-6", max_tokens=64, tools=[get_weather], messages=WEATHER
    )
    replies = iter(runner)
    assert next(replies).stop_reason == "tool_use"
    emulator.add_fault(kind="status", status=429, count=1)  # the second turn is refused
    with pytest.raises(anthropic.RateLimitError) as raised:
        next(replies)
    assert isinstance(raised.value, claude_foundry.RateLimitError)
    emulator.add_fault(kind="stream_error", after_events=4, count=1)
    streaming = client.beta.messages.tool_runner(
        model="claude-sonnet-4-6", max_tokens=64, tools=[get_weather], messages=WEATHER, stream=True
    )
    with pytest.raises(anthropic.OverloadedError):  # noqa: PT012 - raised while iterating
        for stream in streaming:
            stream.until_done()
    client.close()


async def test_async_tool_runner_errors_are_caught_by_the_official_class(
    emulator: Emulator,
) -> None:
    emulator.add_fault(kind="status", status=529, count=1)
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0
    ) as client:
        runner = client.beta.messages.tool_runner(
            model="claude-sonnet-4-6", max_tokens=64, tools=[get_weather], messages=WEATHER
        )
        with pytest.raises(anthropic.OverloadedError):
            await runner.until_done()


# Statuses a proxy or gateway in front of Foundry answers with, each with its own class now.
PROXY_STATUSES = {
    412: (claude_foundry.PreconditionFailedError, anthropic.PreconditionFailedError),
    431: (
        claude_foundry.RequestHeaderFieldsTooLargeError,
        anthropic.RequestHeaderFieldsTooLargeError,
    ),
    499: (claude_foundry.ClientClosedRequestError, anthropic.ClientClosedRequestError),
    501: (claude_foundry.HTTPNotImplementedError, anthropic.HTTPNotImplementedError),
    504: (claude_foundry.DeadlineExceededError, anthropic.DeadlineExceededError),
}


@pytest.mark.parametrize("status", sorted(PROXY_STATUSES))
def test_statuses_of_proxies_raise_their_own_class_end_to_end(
    emulator: Emulator, status: int
) -> None:
    ours, official = PROXY_STATUSES[status]
    emulator.add_fault(kind="status", status=status, count=1)
    with (
        AnthropicFoundry(api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0) as c,
        pytest.raises(official) as raised,
    ):
        c.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    assert isinstance(raised.value, ours)
    assert raised.value.status_code == status
    assert type(raised.value).__name__ == ours.__name__


class _RetryOnce:
    """Middleware that asks for another attempt the first time (or every time)."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.attempts: list[int] = []

    def handle(self, request: Any, call_next: Any) -> Any:
        self.attempts.append(request.retries_taken)
        if len(self.attempts) <= self.times:
            raise claude_foundry.RetryableError("the backend is warming up")
        return call_next(request)


def test_retryable_error_from_middleware_retries_the_attempt(emulator: Emulator) -> None:
    middleware = _RetryOnce(times=1)
    with AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, middleware=[middleware]
    ) as client:
        message = client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    assert message.content
    assert middleware.attempts == [0, 1]
    assert len(emulator.journal()) == 1


def test_retryable_error_reaches_the_caller_once_retries_run_out(emulator: Emulator) -> None:
    middleware = _RetryOnce(times=99)
    with (
        AnthropicFoundry(
            api_key=TEST_API_KEY, base_url=emulator.base_url, middleware=[middleware], max_retries=1
        ) as client,
        pytest.raises(anthropic.RetryableError) as raised,
    ):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=HI)
    assert isinstance(raised.value, claude_foundry.RetryableError)
    assert "warming up" in str(raised.value)
    assert middleware.attempts == [0, 1]
    assert emulator.journal() == []
