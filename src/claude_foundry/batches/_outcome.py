"""What one attempt's answer means for a batch request (pure; no I/O).

A message is ``succeeded``. A 429, 529, other 5xx, 408 or 409, a connection failure or timeout,
and a quota wait that ran out are *retryable*: retried inside the batch and never written until
the attempts run out. Anything else (a 400, 401, 403, 404, a request the client refuses to
build) is ``errored`` at once, carrying the API's error envelope and request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._errors import AnthropicError, APIConnectionError, APIStatusError
from .._pipeline import requested_retry_delay, should_retry_status
from ..types import STATUS_BY_ERROR_TYPE, Message
from ._format import errored_result, succeeded_result

__all__ = ["Verdict", "error_type_for_status", "judge_error", "judge_message"]

_TYPE_BY_STATUS = {status: kind for kind, status in STATUS_BY_ERROR_TYPE.items()}
_THROTTLE_STATUSES = (429, 529)


@dataclass(frozen=True, slots=True)
class Verdict:
    """``result`` is final unless ``retryable``; ``retry_after`` is the server's requested wait;
    ``throttled`` tells admission to slow down."""

    result: dict[str, Any]
    retryable: bool = False
    retry_after: float | None = None
    throttled: bool = False
    input_tokens: int = 0
    output_tokens: int = 0


def error_type_for_status(status: int) -> str:
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def judge_message(message: Message, body: dict[str, Any] | None = None) -> Verdict:
    """``body`` is the response as sent (kept verbatim in the result); else the message's own."""
    usage = message.usage
    return Verdict(
        succeeded_result(body if body is not None else message.to_dict()),
        input_tokens=int(usage.input_tokens or 0),
        output_tokens=int(usage.output_tokens or 0),
    )


def _envelope(exc: APIStatusError) -> dict[str, Any]:
    body = exc.body
    inner = body.get("error") if isinstance(body, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("type"), str):
        error = {"type": inner["type"], "message": str(inner.get("message", ""))}
    else:  # an Azure-shaped or empty body: the type its status stands for
        error = {"type": error_type_for_status(exc.status_code), "message": exc.message}
    request_id = exc.request_id
    if request_id is None and isinstance(body, dict):
        request_id = body.get("request_id")
    result = errored_result(error["type"], error["message"], request_id)
    return result


def judge_error(exc: BaseException) -> Verdict:
    """The verdict on an exception raised by ``messages.create``."""
    if isinstance(exc, APIStatusError):
        headers = exc.response.headers if exc.response is not None else None
        return Verdict(
            _envelope(exc),
            retryable=should_retry_status(exc.status_code),
            retry_after=requested_retry_delay(headers),
            throttled=exc.status_code in _THROTTLE_STATUSES,
        )
    if isinstance(exc, APIConnectionError):
        return Verdict(errored_result("api_error", exc.message), retryable=True)
    if isinstance(exc, TimeoutError) and isinstance(exc, AnthropicError):
        # the quota governor found no room within its patience: nothing was sent
        return Verdict(errored_result("rate_limit_error", str(exc)), retryable=True)
    if isinstance(exc, TypeError | ValueError):  # the client would not build this request
        return Verdict(errored_result("invalid_request_error", str(exc)))
    return Verdict(errored_result("api_error", f"{type(exc).__name__}: {exc}"))
