"""Claude in Microsoft Foundry for Python.

>>> from claude_foundry import AnthropicFoundry
>>> client = AnthropicFoundry(api_key="...", resource="example-resource")  # doctest: +SKIP
>>> message = client.messages.create(  # doctest: +SKIP
...     model="claude-sonnet-5", max_tokens=1024,
...     messages=[{"role": "user", "content": "Hello!"}])
"""

from __future__ import annotations

import sys as _sys
from typing import Any as _Any

from . import lib as lib
from . import types
from ._aiohttp import DefaultAioHttpClient
from ._client import AnthropicFoundry, AsyncAnthropicFoundry
from ._config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
    Omit,
    omit,
)
from ._count_cache import CountTokensCache
from ._deadline import Timeout
from ._errors import (
    AnthropicError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedRequestError,
    ConfigurationError,
    ConflictError,
    ContentTooLargeError,
    DeadlineExceededError,
    EntraTokenError,
    GatewayTimeoutError,
    HTTPNotImplementedError,
    InternalServerError,
    NotFoundError,
    NotSupportedOnFoundryError,
    OutputParseError,
    OverloadedError,
    PaymentRequiredError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    RequestHeaderFieldsTooLargeError,
    RequestTimeoutError,
    RequestTooLargeError,
    RetryableError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from ._files import file_from_path
from ._http_clients import DEFAULT_CONNECTION_LIMITS, DefaultAsyncHttpxClient, DefaultHttpxClient
from ._middleware import (
    AsyncCallNext,
    AsyncMiddlewareCallable,
    BetaRefusalFallbackMiddleware,
    CallNext,
    Middleware,
    MiddlewareCallable,
    MiddlewareInput,
    RefusalFallbackMiddleware,
)
from ._middleware import MiddlewareRequest as APIRequest
from ._observe import CallObserver, CallRecord
from ._parse import transform_schema
from ._stream import (
    AsyncMessageStream,
    AsyncMessageStreamManager,
    AsyncStream,
    MessageStream,
    MessageStreamEvent,
    MessageStreamManager,
    Stream,
)
from ._tools import ToolError, beta_async_tool, beta_tool
from ._unavailable import UNAVAILABLE as _UNAVAILABLE
from ._unavailable import unavailable_error as _unavailable_error
from ._version import __version__
from .lib.streaming import (
    BetaAsyncMessageStream,
    BetaAsyncMessageStreamManager,
    BetaContentBlockStopEvent,
    BetaInputJsonEvent,
    BetaMessageStopEvent,
    BetaMessageStream,
    BetaMessageStreamEvent,
    BetaMessageStreamManager,
    BetaTextEvent,
    ContentBlockStopEvent,
    InputJsonEvent,
    MessageStopEvent,
    ParsedBetaContentBlockStopEvent,
    ParsedBetaMessageStopEvent,
    ParsedBetaMessageStreamEvent,
    ParsedBetaTextEvent,
    ParsedContentBlockStopEvent,
    ParsedMessageStopEvent,
    ParsedMessageStreamEvent,
    TextEvent,
)
from .resources import AsyncRawResponse, RawResponse
from .resources.messages import RequestOptions
from .types import WireModel as BaseModel

APIResponse = RawResponse
AsyncAPIResponse = AsyncRawResponse
NoneType = type(None)
not_given = NOT_GIVEN

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIRequest",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AnthropicError",
    "AnthropicFoundry",
    "AsyncAPIResponse",
    "AsyncAnthropicFoundry",
    "AsyncCallNext",
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "AsyncMiddlewareCallable",
    "AsyncRawResponse",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BaseModel",
    "BetaAsyncMessageStream",
    "BetaAsyncMessageStreamManager",
    "BetaContentBlockStopEvent",
    "BetaInputJsonEvent",
    "BetaMessageStopEvent",
    "BetaMessageStream",
    "BetaMessageStreamEvent",
    "BetaMessageStreamManager",
    "BetaRefusalFallbackMiddleware",
    "BetaTextEvent",
    "CallNext",
    "CallObserver",
    "CallRecord",
    "ClientClosedRequestError",
    "ConfigurationError",
    "ConflictError",
    "ContentBlockStopEvent",
    "ContentTooLargeError",
    "CountTokensCache",
    "DEFAULT_CONNECTION_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_DELAY",
    "DEFAULT_TIMEOUT",
    "DeadlineExceededError",
    "DefaultAioHttpClient",
    "DefaultAsyncHttpxClient",
    "DefaultHttpxClient",
    "EntraTokenError",
    "GatewayTimeoutError",
    "HTTPNotImplementedError",
    "InputJsonEvent",
    "InternalServerError",
    "MessageStopEvent",
    "MessageStream",
    "MessageStreamEvent",
    "MessageStreamManager",
    "Middleware",
    "MiddlewareCallable",
    "MiddlewareInput",
    "NOT_GIVEN",
    "NoneType",
    "NotFoundError",
    "NotGiven",
    "NotSupportedOnFoundryError",
    "Omit",
    "OutputParseError",
    "OverloadedError",
    "ParsedBetaContentBlockStopEvent",
    "ParsedBetaMessageStopEvent",
    "ParsedBetaMessageStreamEvent",
    "ParsedBetaTextEvent",
    "ParsedContentBlockStopEvent",
    "ParsedMessageStopEvent",
    "ParsedMessageStreamEvent",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "RawResponse",
    "RefusalFallbackMiddleware",
    "RequestHeaderFieldsTooLargeError",
    "RequestOptions",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RetryableError",
    "ServiceUnavailableError",
    "Stream",
    "TextEvent",
    "Timeout",
    "ToolError",
    "UnprocessableEntityError",
    "__version__",
    "beta_async_tool",
    "beta_tool",
    "file_from_path",
    "not_given",
    "omit",
    "transform_schema",
    "types",
]


def __getattr__(name: str) -> _Any:
    # Names of the official package that have no place here fail saying what to use instead.
    raise _unavailable_error(__name__, name, _UNAVAILABLE, _sys._getframe(1))
