"""Responses, sans-IO: a successful body to its result, a failure to a typed, actionable error.

The request flow in :mod:`claude_foundry._pipeline` calls these once a response (or a transport
failure) is in hand; the ``with_streaming_response`` wrappers call the parsers on bodies read later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx2
import msgspec

from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    make_status_error,
)
from ._events import EventDecoder
from .types import Message, MessageTokensCount, decode_message

__all__ = [
    "event_decoder",
    "invalid_response",
    "parse_message",
    "parse_token_count",
    "status_error_from_response",
    "transport_error",
]

_T = TypeVar("_T", Message, MessageTokensCount)


def _preview(content: bytes, limit: int = 200) -> str:
    text = content[:limit].decode("utf-8", "replace")
    return repr(text) + ("..." if len(content) > limit else "")


def invalid_response(
    response: httpx2.Response, problem: str, content: bytes
) -> APIResponseValidationError:
    ctype = response.headers.get("content-type", "(none)")
    return APIResponseValidationError(
        f"The service answered HTTP {response.status_code} with {problem} "
        f"(content-type {ctype!r}; body starts {_preview(content)}). This is not what the "
        "Messages API sends: check that the base URL points at a Foundry /anthropic/ endpoint "
        "and not at a proxy or login page.",
        response,
        body=content[:1000].decode("utf-8", "replace"),
    )


def _decode_json(response: httpx2.Response, decode: Callable[[bytes], _T], what: str) -> _T:
    content = response.content
    ctype = response.headers.get("content-type")
    if ctype is not None and "json" not in ctype.lower():
        raise invalid_response(response, "a body that is not JSON", content)
    try:
        value = decode(content)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: test it first
        raise invalid_response(response, f"JSON that is not {what} ({exc})", content) from None
    except msgspec.DecodeError:
        raise invalid_response(response, "invalid JSON", content) from None
    headers = response.headers
    extra = value.__dict__
    extra["_request_id"] = headers.get("request-id")
    extra["_apim_request_id"] = headers.get("apim-request-id")
    return value


def parse_message(response: httpx2.Response) -> Message:
    return _decode_json(response, decode_message, "a message")


_token_count_decoder = msgspec.json.Decoder(MessageTokensCount)


def parse_token_count(response: httpx2.Response) -> MessageTokensCount:
    return _decode_json(response, _token_count_decoder.decode, "a token count")


def event_decoder(response: httpx2.Response) -> EventDecoder:
    """The decoder for a streamed body, carrying the response's correlation ids into its errors."""
    headers = response.headers
    return EventDecoder(
        response=response,
        request_id=headers.get("request-id"),
        apim_request_id=headers.get("apim-request-id"),
    )


def status_error_from_response(response: httpx2.Response) -> APIStatusError:
    """The typed error for an error response whose body has been read."""
    content = response.content
    body: object = None
    if content:
        try:
            body = msgspec.json.decode(content)
        except msgspec.DecodeError:
            body = content.decode("utf-8", "replace").strip() or None
    headers = response.headers
    error = make_status_error(
        response.status_code,
        body,
        response=response,
        request_id=headers.get("request-id"),
        apim_request_id=headers.get("apim-request-id"),
    )
    location = headers.get("location")
    if 300 <= response.status_code < 400 and location:
        # Redirects are not followed, so credentials never travel to a host nobody configured.
        error.message += (
            f"\nThe service redirected to {location}. If that is the right endpoint, pass it "
            "as base_url (redirects are not followed, so credentials stay on the configured host)."
        )
        error.args = (error.message,)
    return error


_TIMEOUT_PHASES: dict[type[httpx2.TimeoutException], str] = {
    httpx2.ConnectTimeout: "connecting to",
    httpx2.ReadTimeout: "waiting for data from",
    httpx2.WriteTimeout: "sending to",
    httpx2.PoolTimeout: "waiting for a free connection to",
}


def transport_error(
    exc: httpx2.RequestError, request: httpx2.Request, *, attempt_limit: float | None = None
) -> APIConnectionError:
    """A clear :class:`APIConnectionError` / :class:`APITimeoutError` for an httpx2 failure.

    ``attempt_limit``: the timeout stopped the attempt as a whole (each operation was in time).
    """
    target = f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
    detail = str(exc) or type(exc).__name__
    if attempt_limit is not None:
        return APITimeoutError(
            f"Request timed out: the answer from {target} was not complete within the timeout "
            f"of {attempt_limit:g} s (connecting, sending and receiving the whole answer). "
            "Raise `timeout` for long requests, or use stream=True / messages.stream() so "
            "tokens arrive as they are generated.",
            request,
        )
    if isinstance(exc, httpx2.TimeoutException):
        phase = _TIMEOUT_PHASES.get(type(exc), "talking to")
        return APITimeoutError(
            f"Request timed out {phase} {target} ({type(exc).__name__}). Raise `timeout` for "
            "long requests, or use stream=True / messages.stream() so tokens arrive as they are "
            "generated.",
            request,
        )
    if isinstance(exc, httpx2.ConnectError):
        hint = "Check the resource name / base URL, DNS, proxy and firewall settings."
        return APIConnectionError(f"Could not connect to {target}: {detail}. {hint}", request)
    if isinstance(exc, httpx2.RemoteProtocolError):
        return APIConnectionError(
            f"The connection to {target} was closed or broken mid-response: {detail}. If this "
            "keeps happening, look for a proxy or load balancer that cuts connections, or raise "
            "max_retries.",
            request,
        )
    if isinstance(exc, httpx2.ProxyError):
        next_step = "Check the proxy settings (HTTPS_PROXY, NO_PROXY)."
    elif isinstance(exc, httpx2.LocalProtocolError):
        next_step = "Check default_headers and extra_headers for values that are not valid in HTTP."
    else:
        next_step = "Check the base URL and the network path to it (proxy, firewall)."
    return APIConnectionError(
        f"Connection error talking to {target} ({type(exc).__name__}: {detail}). {next_step}",
        request,
    )
