"""Secrets stay out of log lines: httpx2's request line, and the client's own logs, over loopback
HTTP against the emulator with every logger at DEBUG."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry
from claude_foundry._redact import hide_secrets_in_http_logs, is_secret_name, redact_query_values
from claude_foundry.emulator import Emulator

API_KEY_IN_QUERY = "query-api-key-0123456789abcdef"
SAS_SIGNATURE = "sasSignature0123+/="
TOKEN_IN_CALL = "call-token-9876543210"
# As given, and as they appear in a URL (a SAS signature is base64: "+/=" travel percent-encoded).
SECRETS = (
    *(API_KEY_IN_QUERY, SAS_SIGNATURE, TOKEN_IN_CALL),
    *(quote(secret, safe="") for secret in (API_KEY_IN_QUERY, SAS_SIGNATURE, TOKEN_IN_CALL)),
    "sasSignature0123",
)
QUERY = {"api-key": API_KEY_IN_QUERY, "sig": SAS_SIGNATURE, "api-version": "2025-11-01"}
HI = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    "name",
    ["api-key", "api_key", "key", "X-Goog-Api-Key", "sig", "SIG", "x-sig", "signature", "token",
     "access_token", "secret", "client_secret", "password", "passwd", "pwd", "code", "auth",
     "Authorization", "session", "credential"],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["api-version", "sv", "se", "sp", "model", "design", "beta"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_query_values_with_secret_names_are_redacted_in_any_text() -> None:
    line = (
        "HTTP Request: POST https://user:hunter22@host/anthropic/v1/messages"
        '?api-version=1&api-key=k1&sig=a%2Bb&sv=2&Token=t "HTTP/1.1 200 OK"'
    )
    assert redact_query_values(line) == (
        "HTTP Request: POST https://[redacted]@host/anthropic/v1/messages"
        '?api-version=1&api-key=[redacted]&sig=[redacted]&sv=2&Token=[redacted] "HTTP/1.1 200 OK"'
    )
    assert redact_query_values("no query here") == "no query here"
    assert (
        redact_query_values("/v1/messages?api%2Dkey=k1&x=")
        == "/v1/messages?api%2Dkey=[redacted]&x="
    )


def assert_no_secrets(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The httpx2 request lines captured, after checking that no record shows a secret."""
    for record in caplog.records:
        for secret in SECRETS:
            assert secret not in record.getMessage(), record.name
    for secret in SECRETS:
        assert secret not in caplog.text
    return [
        r
        for r in caplog.records
        if r.name == "httpx2" and r.getMessage().startswith("HTTP Request: POST")
    ]


def test_the_request_line_shows_the_query_without_its_secrets(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: httpx2, httpcore2, claude_foundry
    emulator.add_fault(kind="status", status=529, retry_after_ms=1)  # one retry, logged by us
    with AnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, default_query=QUERY
    ) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=HI)
        with client.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=8,
            messages=HI,
            extra_query={"access_token": TOKEN_IN_CALL},
        ) as stream:
            stream.get_final_message()
    lines = assert_no_secrets(caplog)
    assert len(lines) == 3  # the 529, its retry and the stream: httpx2 still logs each request
    assert all(r.levelno == logging.INFO for r in lines)
    first = lines[0].getMessage()
    assert "api-key=[redacted]" in first
    assert "sig=[redacted]" in first
    assert "api-version=2025-11-01" in first  # what is not a secret stays readable
    assert '"HTTP/1.1 529' in first
    assert "access_token=[redacted]" in lines[2].getMessage()
    assert any(r.name == "claude_foundry" and "retrying" in r.getMessage() for r in caplog.records)
    # The query did reach the server: only the log line is redacted.
    assert emulator.journal()[0].query.startswith("api-key=[redacted]&sig=[redacted]&api-version=")


async def test_the_async_client_hides_them_too(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with AsyncAnthropicFoundry(
        api_key=emulator.api_key, base_url=emulator.base_url, default_query=QUERY
    ) as client:
        await client.messages.count_tokens(model="claude-haiku-4-5", messages=HI)
    (line,) = assert_no_secrets(caplog)
    assert "api-key=[redacted]" in line.getMessage()
    assert "count_tokens?" in line.getMessage()


def test_a_client_given_its_own_http_client_is_covered(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx2

    caplog.set_level(logging.INFO, logger="httpx2")
    with (
        httpx2.Client() as http,
        AnthropicFoundry(
            api_key=emulator.api_key,
            base_url=emulator.base_url,
            http_client=http,
            default_query=QUERY,
        ) as client,
    ):
        client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=HI)
    (line,) = assert_no_secrets(caplog)
    assert "sig=[redacted]" in line.getMessage()


def test_the_filter_is_added_once_and_leaves_the_logger_as_it_was(emulator: Emulator) -> None:
    logger = logging.getLogger("httpx2")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    for _ in range(3):
        AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url).close()
    hide_secrets_in_http_logs()
    ours = [f for f in logger.filters if type(f).__module__ == "claude_foundry._redact"]
    assert len(ours) == 1
    assert (logger.level, logger.handlers, logger.propagate) == (level, handlers, propagate)
    assert not logger.disabled
