"""The error body of the Anthropic API and its error objects.

These are the wire objects; the exceptions the client raises (``claude_foundry.RateLimitError``,
...) carry the parsed body. Several official names here (``RateLimitError``, ``NotFoundError``,
...) are older aliases of the error *objects*, as in ``anthropic.types``.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from ._base import WireModel

# --- errors -------------------------------------------------------------------------------------


ErrorType: TypeAlias = Literal[
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "rate_limit_error",
    "timeout_error",
    "api_error",
    "overloaded_error",
    "memory_precondition_failed_error",
    "memory_path_conflict_error",
    "conflict_error",
]


class ErrorDetail(WireModel, omit_defaults=True):
    """The ``error`` object of an error body. Decoded, it is the subclass named after its
    ``type`` (``RateLimitErrorObject``, ...) when this version knows the type, else this class."""

    type: str
    message: str = ""
    details: Any = None


#: The official name of the union of error objects; here one class whose ``type`` says which.
ErrorObject: TypeAlias = ErrorDetail


class InvalidRequestErrorObject(ErrorDetail):
    pass


class AuthenticationErrorObject(ErrorDetail):
    pass


class BillingErrorObject(ErrorDetail):
    pass


class PermissionErrorObject(ErrorDetail):
    pass


class NotFoundErrorObject(ErrorDetail):
    pass


class RateLimitErrorObject(ErrorDetail):
    pass


class GatewayTimeoutErrorObject(ErrorDetail):
    pass


class APIErrorObject(ErrorDetail):
    pass


class OverloadedErrorObject(ErrorDetail):
    pass


_OBJECT_BY_TYPE: dict[str, type[ErrorDetail]] = {
    "invalid_request_error": InvalidRequestErrorObject,
    "authentication_error": AuthenticationErrorObject,
    "billing_error": BillingErrorObject,
    "permission_error": PermissionErrorObject,
    "not_found_error": NotFoundErrorObject,
    "rate_limit_error": RateLimitErrorObject,
    "timeout_error": GatewayTimeoutErrorObject,
    "api_error": APIErrorObject,
    "overloaded_error": OverloadedErrorObject,
}

# The older official names of the same objects (not the exceptions of the same name, which
# ``claude_foundry`` exports).
InvalidRequestError = InvalidRequestErrorObject
AuthenticationError = AuthenticationErrorObject
BillingError = BillingErrorObject
PermissionError = PermissionErrorObject
NotFoundError = NotFoundErrorObject
RateLimitError = RateLimitErrorObject
GatewayTimeoutError = GatewayTimeoutErrorObject
OverloadedError = OverloadedErrorObject


def error_object(detail: ErrorDetail) -> ErrorDetail:
    """``detail`` as the class of its ``type`` (unchanged when the type is unknown or it already
    is that class)."""
    cls = _OBJECT_BY_TYPE.get(detail.type)
    if cls is None or type(detail) is cls:
        return detail
    return cls(type=detail.type, message=detail.message, details=detail.details)


#: The HTTP status each Anthropic ``error.type`` stands for. The client maps an in-stream error to
#: its class with it; the emulator picks a status for an injected error type with it.
STATUS_BY_ERROR_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class ErrorResponse(WireModel):
    """The Anthropic error body: ``{"type": "error", "error": {...}, "request_id": ...}``."""

    error: ErrorDetail
    type: str = "error"
    request_id: str | None = None

    def __post_init__(self) -> None:
        self.error = error_object(self.error)


# ``anthropic.types`` also has the same objects under Beta names.
BetaErrorObject: TypeAlias = ErrorDetail
BetaErrorResponse = ErrorResponse
BetaAPIErrorObject = APIErrorObject
BetaAuthenticationErrorObject = AuthenticationErrorObject
BetaBillingErrorObject = BillingErrorObject
BetaGatewayTimeoutErrorObject = GatewayTimeoutErrorObject
BetaInvalidRequestErrorObject = InvalidRequestErrorObject
BetaNotFoundErrorObject = NotFoundErrorObject
BetaOverloadedErrorObject = OverloadedErrorObject
BetaPermissionErrorObject = PermissionErrorObject
BetaRateLimitErrorObject = RateLimitErrorObject
BetaAuthenticationError = AuthenticationErrorObject
BetaBillingError = BillingErrorObject
BetaGatewayTimeoutError = GatewayTimeoutErrorObject
BetaInvalidRequestError = InvalidRequestErrorObject
BetaNotFoundError = NotFoundErrorObject
BetaOverloadedError = OverloadedErrorObject
BetaPermissionError = PermissionErrorObject
BetaRateLimitError = RateLimitErrorObject
