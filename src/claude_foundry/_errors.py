"""The exception tree. Names match the official ``anthropic`` SDK so ``except`` clauses port over.

    AnthropicError
    ├── APIError                                  (message, request, body)
    │   ├── APIStatusError                        (status_code, response, request_id,
    │   │   │                                      apim_request_id, type, code, api_message, hint)
    │   │   ├── BadRequestError                   400
    │   │   ├── AuthenticationError               401
    │   │   ├── PaymentRequiredError              402
    │   │   ├── PermissionDeniedError             403
    │   │   ├── NotFoundError                     404
    │   │   ├── RequestTimeoutError               408
    │   │   ├── ConflictError                     409
    │   │   ├── PreconditionFailedError           412
    │   │   ├── ContentTooLargeError              413  (alias RequestTooLargeError)
    │   │   ├── UnprocessableEntityError          422
    │   │   ├── RateLimitError                    429
    │   │   ├── RequestHeaderFieldsTooLargeError  431
    │   │   ├── ClientClosedRequestError          499
    │   │   └── InternalServerError               5xx
    │   │       ├── HTTPNotImplementedError       501
    │   │       ├── ServiceUnavailableError       503
    │   │       ├── GatewayTimeoutError           504  (alias DeadlineExceededError)
    │   │       └── OverloadedError               529
    │   ├── APIConnectionError                    network failure, dropped or cut stream
    │   │   └── APITimeoutError
    │   └── APIResponseValidationError            the server sent something that is not the API
    ├── RetryableError                            raised by middleware: retry this attempt
    ├── ConfigurationError  (also a ValueError)   bad arguments or environment; nothing was sent
    ├── EntraTokenError                           no Entra ID token from the credential; not sent
    ├── NotSupportedOnFoundryError (also NotImplementedError)
    │                                             an Anthropic API that Foundry does not offer
    └── OutputParseError (also ValueError)        messages.parse: the reply text does not match
                                                  output_format

An error that arrives inside a stream (``event: error`` after HTTP 200) raises the class of its
``error.type`` with the status that type stands for (``overloaded_error`` →
:class:`OverloadedError`, 529), with ``in_stream`` set, rather than a status-200 error.
"""

from __future__ import annotations

import sys
from typing import Any

import httpx2

from .types import STATUS_BY_ERROR_TYPE

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AnthropicError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ClientClosedRequestError",
    "ConflictError",
    "ContentTooLargeError",
    "DeadlineExceededError",
    "EntraTokenError",
    "GatewayTimeoutError",
    "HTTPNotImplementedError",
    "InternalServerError",
    "NotFoundError",
    "NotSupportedOnFoundryError",
    "OutputParseError",
    "OverloadedError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "RequestHeaderFieldsTooLargeError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RetryableError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "error_class_for_status",
    "hint_for",
    "ids_suffix",
    "make_status_error",
    "status_for_error_type",
]


class AnthropicError(Exception):
    """Root of every error this package raises.

    When the official ``anthropic`` package is imported, errors are created as instances of a
    class that also subclasses the matching official class, so ``except anthropic.X`` catches
    them (see ``_compat.py``).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if "anthropic" in sys.modules and "_foundry_class" not in cls.__dict__:
            from ._compat import official_twin

            cls = official_twin(cls, kwargs) or cls
        return super().__new__(cls, *args)

    def __init__(self, *args: Any) -> None:
        # Straight to Exception: in a twin class the next __init__ would be the official one.
        Exception.__init__(self, *args)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat Exception's default pickling, which errors need to
        # cross process pools. The HTTP exchange stays behind: it holds sockets, not facts.
        state = {
            key: None if key in ("request", "response") else value
            for key, value in self.__dict__.items()
        }
        return _rebuild_error, (getattr(type(self), "_foundry_class", type(self)), self.args, state)


def _rebuild_error(
    cls: type[AnthropicError], args: tuple[Any, ...], state: dict[str, Any]
) -> AnthropicError:
    # status_code and body pick the same official twin class as the original had.
    error: AnthropicError = cls.__new__(
        cls, status_code=state.get("status_code"), body=state.get("body")
    )
    error.args = args
    error.__dict__.update(state)
    return error


class RetryableError(AnthropicError):
    """Raise it from middleware to have the attempt retried, as the official ``RetryableError``:
    the call is tried again (with the usual backoff) while ``max_retries`` allows, and then this
    error reaches the caller as it is."""


class ConfigurationError(AnthropicError, ValueError):
    """The client's arguments or environment are wrong; nothing was sent."""


class EntraTokenError(AnthropicError):
    """The azure-identity credential could not produce a token; the message names the scope,
    the tenant when known, and the fix. The credential's own error is ``__cause__``."""

    scope: str
    tenant_id: str | None
    credential_name: str

    def __init__(
        self, message: str, *, scope: str, tenant_id: str | None, credential_name: str
    ) -> None:
        super().__init__(message)
        self.message = message
        self.scope = scope
        self.tenant_id = tenant_id
        self.credential_name = credential_name


class NotSupportedOnFoundryError(AnthropicError, NotImplementedError):
    """The Anthropic API exists, but Microsoft Foundry does not offer it."""


class OutputParseError(AnthropicError, ValueError):
    """``messages.parse``: the model's text does not decode into ``output_format``.

    The message says what failed and shows the start of the text; ``text`` holds all of it. The
    decoder's own error (pydantic's or msgspec's) is ``__cause__``.
    """

    text: str
    output_format: object
    stop_reason: str | None
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        text: str,
        output_format: object,
        stop_reason: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.output_format = output_format
        self.stop_reason = stop_reason
        self.request_id = request_id


class APIError(AnthropicError):
    message: str
    request: httpx2.Request | None
    body: object | None

    def __init__(
        self, message: str, request: httpx2.Request | None = None, *, body: object | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body


class APIConnectionError(APIError):
    def __init__(
        self, message: str = "Connection error.", request: httpx2.Request | None = None
    ) -> None:
        super().__init__(message, request, body=None)


class APITimeoutError(APIConnectionError):
    def __init__(
        self,
        message: str = (
            "Request timed out or interrupted. Raise `timeout` for long requests, or use "
            "stream=True / messages.stream() so tokens arrive as they are generated."
        ),
        request: httpx2.Request | None = None,
    ) -> None:
        super().__init__(message, request)


class APIResponseValidationError(APIError):
    """The response is not what the Messages API sends (bad JSON, wrong shape, wrong type)."""

    response: httpx2.Response | None
    status_code: int | None

    def __init__(
        self,
        message: str = "Data returned by the API is invalid for the expected schema.",
        response: httpx2.Response | None = None,
        *,
        body: object | None = None,
    ) -> None:
        super().__init__(message, response.request if response is not None else None, body=body)
        self.response = response
        self.status_code = response.status_code if response is not None else None


class APIStatusError(APIError):
    """The service answered with an error status (or an ``error`` event inside a stream)."""

    status_code: int
    response: httpx2.Response | None
    request_id: str | None
    apim_request_id: str | None
    type: str | None
    """``error.type`` of an Anthropic-shaped body, e.g. ``rate_limit_error``."""
    code: str | None
    """``error.code`` of an Azure-shaped body, e.g. ``DeploymentNotFound``."""
    api_message: str | None
    hint: str
    in_stream: bool

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        response: httpx2.Response | None = None,
        body: object | None = None,
        request_id: str | None = None,
        apim_request_id: str | None = None,
        in_stream: bool = False,
    ) -> None:
        super().__init__(message, response.request if response is not None else None, body=body)
        self.status_code = status_code
        self.response = response
        self.request_id = request_id
        self.apim_request_id = apim_request_id
        self.in_stream = in_stream
        error = _error_object(body)
        self.type = _str_or_none(error.get("type"))
        self.code = _str_or_none(error.get("code"))
        self.api_message = _str_or_none(error.get("message"))
        self.hint = hint_for(status_code, self.type, self.code)

    @property
    def details(self) -> Any:
        return _error_object(self.body).get("details")

    @property
    def error_code(self) -> str | None:
        details = self.details
        return _str_or_none(details.get("error_code")) if isinstance(details, dict) else None


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PaymentRequiredError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class RequestTimeoutError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    pass


class PreconditionFailedError(APIStatusError):
    pass


class ContentTooLargeError(APIStatusError):
    pass


RequestTooLargeError = ContentTooLargeError


class UnprocessableEntityError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    pass


class RequestHeaderFieldsTooLargeError(APIStatusError):
    """431: a proxy or gateway in front of the service found the headers too large."""


class ClientClosedRequestError(APIStatusError):
    """499: a proxy reports that the connection to the client closed first."""


class InternalServerError(APIStatusError):
    pass


class HTTPNotImplementedError(InternalServerError):
    pass


class ServiceUnavailableError(InternalServerError):
    pass


class GatewayTimeoutError(InternalServerError):
    pass


DeadlineExceededError = GatewayTimeoutError


class OverloadedError(InternalServerError):
    pass


_CLASS_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: ContentTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    431: RequestHeaderFieldsTooLargeError,
    499: ClientClosedRequestError,
    501: HTTPNotImplementedError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
    529: OverloadedError,
}


def error_class_for_status(status_code: int) -> type[APIStatusError]:
    cls = _CLASS_BY_STATUS.get(status_code)
    if cls is not None:
        return cls
    return InternalServerError if status_code >= 500 else APIStatusError


def status_for_error_type(error_type: str | None) -> int | None:
    """The HTTP status an Anthropic ``error.type`` stands for (``overloaded_error`` → 529)."""
    return STATUS_BY_ERROR_TYPE.get(error_type) if error_type else None


# Hints follow the troubleshooting table of the Claude-in-Foundry guide and the failures users
# report most (see the reference). Keyed most specific first.
_HINT_BY_CODE: dict[str, str] = {
    "DeploymentNotFound": (
        "No deployment has this name. Pass the deployment name as `model` (it is case-sensitive "
        "and may differ from the model id); find it under Build > Models in the Foundry portal. "
        "A deployment created in the last 5 minutes may not be ready yet."
    ),
    "api_not_supported": (
        "Foundry does not serve this path. The base URL must end in /anthropic/ "
        "(https://{resource}.services.ai.azure.com/anthropic/) and must not include /v1/messages."
    ),
    "404": (
        "The resource or path was not found. Check the resource name and that the base URL is "
        "https://{resource}.services.ai.azure.com/anthropic/."
    ),
    "PermissionDenied": (
        "The identity is authenticated but lacks a data-plane role on the resource. Assign "
        "'Foundry User' (formerly Azure AI User) or 'Cognitive Services User'; role changes can "
        "take several minutes to apply."
    ),
}

_HINT_BY_STATUS: dict[int, str] = {
    400: "The request was rejected as invalid. Check the parameters; a feature the deployment "
    "does not support (for example on a deployment hosted on Azure) also gives 400.",
    401: "Authentication failed. Check the API key (Foundry portal: your deployment's Details "
    "tab, under Build > Models) and that it belongs to this resource; with Microsoft Entra ID, "
    "check that the token has not expired (they last about an hour) and was issued for the "
    "scope https://ai.azure.com/.default.",
    403: "Your identity lacks permission on this resource. Assign an Azure RBAC role such as "
    "'Foundry User' (formerly Azure AI User) or 'Cognitive Services User'.",
    404: "Not found. Check that `model` is your deployment name (not the model id), that the "
    "deployment exists in this resource, and that the base URL ends in /anthropic/.",
    408: "The request timed out on the service side; it is safe to retry.",
    409: "The request conflicted with another one; it is safe to retry.",
    413: "The request body is too large. Send fewer or smaller images and documents.",
    429: "The deployment's quota (requests, input or output tokens per minute) is exhausted. "
    "Back off and retry, lower concurrency or max_tokens, or request a quota increase in the "
    "Azure portal.",
    529: "The service is temporarily overloaded. Retry with backoff, or fail over to another "
    "deployment.",
}


def hint_for(status_code: int, error_type: str | None = None, code: str | None = None) -> str:
    """What to do about an error: the troubleshooting table turned into one sentence."""
    if code and code in _HINT_BY_CODE:
        return _HINT_BY_CODE[code]
    if error_type == "overloaded_error":
        return _HINT_BY_STATUS[529]
    if error_type == "rate_limit_error":
        return _HINT_BY_STATUS[429]
    if status_code in _HINT_BY_STATUS:
        return _HINT_BY_STATUS[status_code]
    if status_code >= 500:
        return (
            "The service failed on its side. Retry; if it persists, give both request ids "
            "to support."
        )
    return "Check the request; if it persists, give both request ids to support."


def make_status_error(
    status_code: int,
    body: object,
    *,
    response: httpx2.Response | None = None,
    request_id: str | None = None,
    apim_request_id: str | None = None,
    in_stream: bool = False,
) -> APIStatusError:
    """Build the right :class:`APIStatusError` subclass for a status (or in-stream error) and body.

    For an in-stream error the class and ``status_code`` come from ``error.type``.
    """
    error = _error_object(body)
    error_type = _str_or_none(error.get("type"))
    if in_stream:
        status_code = status_for_error_type(error_type) or 500
    cls = error_class_for_status(status_code)
    detail = _str_or_none(error.get("message"))
    label = error_type or _str_or_none(error.get("code"))
    if detail is None:
        detail = body if isinstance(body, str) and body else "(no error message)"
    where = " in stream" if in_stream else ""
    summary = f"Error code: {status_code}{where} - {label + ': ' if label else ''}{detail}"
    err = cls(
        summary + ids_suffix(request_id, apim_request_id),
        status_code=status_code,
        response=response,
        body=body,
        request_id=request_id,
        apim_request_id=apim_request_id,
        in_stream=in_stream,
    )
    err.message = f"{err.message}\nHint: {err.hint}"
    err.args = (err.message,)
    return err


def ids_suffix(request_id: str | None, apim_request_id: str | None) -> str:
    """`` (request-id: ..., apim-request-id: ...)`` for an error message, naming the ids that
    support asks for; empty when neither is known."""
    ids = ", ".join(
        f"{name}: {value}"
        for name, value in (("request-id", request_id), ("apim-request-id", apim_request_id))
        if value
    )
    return f" ({ids})" if ids else ""


def _error_object(body: object) -> dict[str, Any]:
    """The ``error`` object of an error body, or ``{}`` when the body has none (a proxy's HTML
    page, an empty body)."""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
