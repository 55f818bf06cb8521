"""The emulator's Foundry routes over real loopback HTTP: paths, headers, auth, bodies, errors."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx2
import pytest

from claude_foundry.emulator import Emulator

MODEL = "claude-sonnet-4-6"
HELLO = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hello!"}]}


@pytest.fixture
def http(emulator: Emulator) -> httpx2.Client:
    with httpx2.Client(base_url=emulator.url, timeout=10) as client:
        yield client  # type: ignore[misc]


def key(emulator: Emulator) -> dict[str, str]:
    return {"api-key": emulator.api_key}


def post(http: httpx2.Client, emulator: Emulator, body: Any, path: str = "messages") -> Any:
    return http.post(f"/anthropic/v1/{path}", headers=key(emulator), json=body)


def assert_correlated(response: httpx2.Response) -> None:
    assert re.fullmatch(r"req_[0-9A-Za-z]{24}", response.headers["request-id"])
    uuid.UUID(response.headers["apim-request-id"])
    assert not any(name.startswith("anthropic-ratelimit") for name in response.headers)


def assert_anthropic_error(response: httpx2.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    assert_correlated(response)
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["request_id"] == response.headers["request-id"]
    message: str = body["error"]["message"]
    assert message
    return message


# --- the documented cURL examples, sent exactly as curl sends them ------------------------------


def curl_headers(auth: dict[str, str]) -> dict[str, str]:
    return {"content-type": "application/json", **auth, "anthropic-version": "2023-06-01"}


CURL_BODY = (
    b'{"model": "claude-opus-4-8", "max_tokens": 1024, '
    b'"messages": [{"role": "user", "content": "Hello!"}]}'
)


@pytest.mark.parametrize("header", ["api-key", "x-api-key"])
def test_curl_example_with_key(emulator: Emulator, header: str) -> None:
    with httpx2.Client() as client:
        request = client.build_request(
            "POST",
            f"{emulator.base_url}v1/messages",
            headers=curl_headers({header: emulator.api_key}),
            content=CURL_BODY,
        )
        for name in ("user-agent", "accept", "accept-encoding"):
            request.headers.pop(name, None)
        response = client.send(request)
    assert response.status_code == 200, response.text
    assert_correlated(response)
    assert response.headers["x-ms-region"]
    message = response.json()
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["model"] == "claude-opus-4-8"
    assert message["content"][0]["type"] == "text"
    assert message["usage"]["input_tokens"] > 0


def test_curl_example_with_bearer_and_no_verifier_is_401(emulator: Emulator) -> None:
    response = httpx2.post(
        f"{emulator.base_url}v1/messages",
        headers=curl_headers({"Authorization": "Bearer eyJ0eXAiOiJKV1QifQ.e30.sig"}),
        content=CURL_BODY,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "401"
    assert_correlated(response)


# --- routes -------------------------------------------------------------------------------------


def test_count_tokens_matches_usage(emulator: Emulator, http: httpx2.Client) -> None:
    counted = post(
        http, emulator, {"model": MODEL, "messages": HELLO["messages"]}, "messages/count_tokens"
    )
    assert counted.status_code == 200
    assert_correlated(counted)
    message = post(http, emulator, HELLO).json()
    assert counted.json() == {"input_tokens": message["usage"]["input_tokens"]}


def test_streaming_is_decided_by_the_body(emulator: Emulator, http: httpx2.Client) -> None:
    response = http.post(
        "/anthropic/v1/messages",
        headers={**key(emulator), "accept": "application/json"},
        json={**HELLO, "stream": True},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert_correlated(response)
    names = re.findall(r"^event: (\w+)$", response.text, re.MULTILINE)
    assert names[0] == "message_start"
    assert "ping" in names
    assert names[-2:] == ["message_delta", "message_stop"]
    blocks = response.text.strip().split("\n\n")
    assert all(block.startswith("event: ") for block in blocks)

    plain = http.post(
        "/anthropic/v1/messages",
        headers={**key(emulator), "accept": "text/event-stream"},
        json=HELLO,
    )
    assert plain.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/anthropic/v1/models", "api_not_supported"),
        ("POST", "/anthropic/v1/messages/batches", "api_not_supported"),
        ("GET", "/anthropic/v1/messages/batches", "api_not_supported"),
        ("GET", "/anthropic/v1/organizations/usage_report/messages", "api_not_supported"),
        ("POST", "/v1/messages", "api_not_supported"),
        ("POST", "/anthropic/v1/messages/v1/messages", "api_not_supported"),
        ("POST", "/openai/deployments/x/chat/completions", "404"),
        ("GET", "/", "404"),
    ],
)
def test_unsupported_paths_get_azure_404s(
    emulator: Emulator, http: httpx2.Client, method: str, path: str, code: str
) -> None:
    response = http.request(method, path, headers=key(emulator), json=HELLO)
    assert response.status_code == 404
    assert_correlated(response)
    error = response.json()["error"]
    assert error["code"] == code
    expected = "Requested API is currently not supported" if code != "404" else "Resource not found"
    assert error["message"] == expected


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_in_anthropic_shape(
    emulator: Emulator, http: httpx2.Client, method: str
) -> None:
    response = http.request(method, "/anthropic/v1/messages", headers=key(emulator))
    assert_anthropic_error(response, 405, "invalid_request_error")
    assert response.headers["allow"] == "POST"


# --- auth ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"api-key": "wrong"}, {"x-api-key": "wrong"}, {"authorization": "Bearer token"}],
)
def test_bad_or_missing_key_is_azure_401(http: httpx2.Client, headers: dict[str, str]) -> None:
    response = http.post("/anthropic/v1/messages", headers=headers, json=HELLO)
    assert response.status_code == 401
    assert_correlated(response)
    assert response.json() == {
        "error": {
            "code": "401",
            "message": (
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                "to provide a valid key for an active subscription and use a correct regional API "
                "endpoint for your resource."
            ),
        }
    }


def test_key_accepted_in_either_header_even_if_the_other_is_stale(
    emulator: Emulator, http: httpx2.Client
) -> None:
    response = http.post(
        "/anthropic/v1/messages",
        headers={"api-key": "old", "x-api-key": emulator.api_key},
        json=HELLO,
    )
    assert response.status_code == 200


# --- deployments and hosting --------------------------------------------------------------------


def test_unknown_deployment_is_deployment_not_found(
    emulator: Emulator, http: httpx2.Client
) -> None:
    response = post(http, emulator, {**HELLO, "model": "Claude-Sonnet-4-5"})
    assert response.status_code == 404
    assert_correlated(response)
    error = response.json()["error"]
    assert error["code"] == "DeploymentNotFound"
    assert error["type"] == "invalid_request_error"
    assert "within the last 5 minutes" in error["message"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"output_format": {"type": "json_schema", "schema": {}}}, "Structured outputs"),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {}}}},
            "Structured outputs",
        ),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "web search"),
        ({"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]}, "web fetch"),
        ({"tools": [{"type": "code_execution_20250825", "name": "code_execution"}]}, "code exec"),
        ({"tools": [{"type": "tool_search_tool_regex_20251119", "name": "ts"}]}, "tool search"),
        ({"mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]}, "MCP connector"),
        (
            {
                "tools": [
                    {
                        "name": "get",
                        "input_schema": {"type": "object"},
                        "allowed_callers": ["code_execution_20250825"],
                    }
                ]
            },
            "Programmatic tool calling",
        ),
        (
            {"container": {"skills": [{"type": "anthropic", "skill_id": "pptx"}]}},
            "Agent Skills",
        ),
    ],
)
def test_azure_hosted_deployment_refuses_anthropic_only_features(
    emulator: Emulator, http: httpx2.Client, extra: dict[str, Any], named: str
) -> None:
    body = {**HELLO, "model": "claude-haiku-4-5", **extra}
    message = assert_anthropic_error(post(http, emulator, body), 400, "invalid_request_error")
    assert named in message
    assert "hosted on Azure" in message
    assert "claude-haiku-4-5" in message
    # The same request against an Anthropic-hosted deployment goes through.
    assert post(http, emulator, {**body, "model": "claude-sonnet-4-6"}).status_code == 200


def test_file_reference_refused_on_azure_hosting(emulator: Emulator, http: httpx2.Client) -> None:
    content = [
        {"type": "document", "source": {"type": "file", "file_id": "file_1"}},
        {"type": "text", "text": "Summarise"},
    ]
    body = {**HELLO, "model": "claude-opus-4-8", "messages": [{"role": "user", "content": content}]}
    message = assert_anthropic_error(post(http, emulator, body), 400, "invalid_request_error")
    assert "Files API" in message


# --- bad requests -------------------------------------------------------------------------------


def raw(**fields: Any) -> bytes:
    """A JSON body: the hello request with ``fields`` replaced (``None`` drops a field)."""
    body = {**HELLO, **fields}
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "error parsing the body"),
        (b"", "body is empty"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (raw(max_tokens=None), "max_tokens: Field required"),
        (raw(model=None), "model: Field required"),
        (raw(messages=None), "messages: Field required"),
        (raw(max_tokens="5"), "max_tokens: Input should be"),
        (raw(max_tokens=True), "max_tokens: Input should be"),
        (raw(model=7), "model: Input should be"),
        (raw(messages=[]), "at least one message"),
        (raw(max_tokens=0), "greater than or equal to 1"),
        (raw(messages={"role": "user"}), "messages: Input should be"),
        (raw(messages=[{"role": "system", "content": "x"}]), "top-level `system`"),
        (raw(messages=[{"role": "user"}]), "messages.0.content: Field required"),
        (raw(messages=[{"role": "user", "content": 5}]), "messages.0.content"),
        (raw(messages=[{"role": "bot", "content": "x"}]), "messages.0.role"),
        (raw(stream="yes"), "stream"),
        (raw(temperature="hot"), "temperature"),
    ],
)
def test_bad_bodies_get_anthropic_400s(
    emulator: Emulator, http: httpx2.Client, content: bytes, fragment: str
) -> None:
    response = http.post(
        "/anthropic/v1/messages",
        headers={**key(emulator), "content-type": "application/json"},
        content=content,
    )
    message = assert_anthropic_error(response, 400, "invalid_request_error")
    assert fragment in message


def test_count_tokens_validates_too(emulator: Emulator, http: httpx2.Client) -> None:
    response = post(http, emulator, {"model": MODEL}, "messages/count_tokens")
    assert "messages: Field required" in assert_anthropic_error(
        response, 400, "invalid_request_error"
    )


def test_wrong_content_type_is_400(emulator: Emulator, http: httpx2.Client) -> None:
    response = http.post(
        "/anthropic/v1/messages",
        headers={**key(emulator), "content-type": "text/plain"},
        content=b"hello",
    )
    assert "content-type" in assert_anthropic_error(response, 400, "invalid_request_error")


def test_oversized_body_is_413(emulator: Emulator, http: httpx2.Client) -> None:
    emulator.configure(max_body_bytes=1000)
    big = {**HELLO, "messages": [{"role": "user", "content": "x" * 2000}]}
    assert_anthropic_error(post(http, emulator, big), 413, "request_too_large")

    def chunks() -> Any:
        yield b'{"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": [{"role": "user", '
        yield b'"content": "' + b"y" * 2000 + b'"}]}'

    streamed = http.post("/anthropic/v1/messages", headers=key(emulator), content=chunks())
    assert_anthropic_error(streamed, 413, "request_too_large")


# --- version skew and strict mode ---------------------------------------------------------------


def test_unknown_fields_and_headers_are_accepted_and_journalled(
    emulator: Emulator, http: httpx2.Client
) -> None:
    response = http.post(
        "/anthropic/v1/messages",
        headers={
            **key(emulator),
            "anthropic-version": "2099-01-01",
            "anthropic-beta": "prompt-caching-2024-07-31, future-thing-2099-01-01",
            "x-stainless-retry-count": "2",
        },
        json={**HELLO, "future_knob": 3},
    )
    assert response.status_code == 200
    (entry,) = emulator.journal()
    assert entry.retry_count == 2
    assert entry.unknown_fields == [
        "future_knob",
        "anthropic-version: 2099-01-01",
        "anthropic-beta: future-thing-2099-01-01",
    ]
    assert entry.headers["api-key"] != emulator.api_key


def test_strict_mode_rejects_unknowns(emulator: Emulator, http: httpx2.Client) -> None:
    emulator.configure(strict=True)
    message = assert_anthropic_error(
        post(http, emulator, {**HELLO, "future_knob": 3}), 400, "invalid_request_error"
    )
    assert "future_knob" in message
    beta = http.post(
        "/anthropic/v1/messages",
        headers={**key(emulator), "anthropic-beta": "future-thing-2099-01-01"},
        json=HELLO,
    )
    assert "future-thing" in assert_anthropic_error(beta, 400, "invalid_request_error")
    known = http.post(
        "/anthropic/v1/messages",
        headers={**key(emulator), "anthropic-version": "2023-06-01"},
        json=HELLO,
    )
    assert known.status_code == 200


def test_no_stainless_headers_needed(emulator: Emulator, http: httpx2.Client) -> None:
    response = post(http, emulator, HELLO)
    assert response.status_code == 200
    assert emulator.journal()[-1].retry_count is None


def test_echo_model_returns_the_model_id(emulator: Emulator, http: httpx2.Client) -> None:
    emulator.configure(
        deployments={
            "my-sonnet": {"model": "claude-sonnet-4-6"},
            "my-echo": {"model": "claude-sonnet-4-6", "echo_model": "model"},
        }
    )
    assert post(http, emulator, {**HELLO, "model": "my-sonnet"}).json()["model"] == "my-sonnet"
    assert post(http, emulator, {**HELLO, "model": "my-echo"}).json()["model"] == MODEL
