"""Claude in Microsoft Foundry for Python.

>>> from claude_foundry import AnthropicFoundry
>>> client = AnthropicFoundry(api_key="...", resource="example-resource")  # doctest: +SKIP
>>> message = client.messages.create(  # doctest: +SKIP
...     model="claude-sonnet-5", max_tokens=1024,
...     messages=[{"role": "user", "content": "Hello!"}])
"""

from __future__ import annotations

from . import types
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
    ConfigurationError,
    ConflictError,
    ContentTooLargeError,
    EntraTokenError,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    NotSupportedOnFoundryError,
    OutputParseError,
    OverloadedError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from ._observe import CallObserver, CallRecord
from ._stream import (
    AsyncMessageStream,
    AsyncMessageStreamManager,
    AsyncStream,
    MessageStream,
    MessageStreamManager,
    Stream,
)
from ._tools import ToolError, beta_async_tool, beta_tool
from ._version import __version__
from .resources import RawResponse

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AnthropicError",
    "AnthropicFoundry",
    "AsyncAnthropicFoundry",
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "CallObserver",
    "CallRecord",
    "ConfigurationError",
    "ConflictError",
    "ContentTooLargeError",
    "CountTokensCache",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_DELAY",
    "DEFAULT_TIMEOUT",
    "EntraTokenError",
    "GatewayTimeoutError",
    "InternalServerError",
    "MessageStream",
    "MessageStreamManager",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "NotSupportedOnFoundryError",
    "Omit",
    "OutputParseError",
    "OverloadedError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "ServiceUnavailableError",
    "Stream",
    "Timeout",
    "ToolError",
    "UnprocessableEntityError",
    "__version__",
    "beta_async_tool",
    "beta_tool",
    "omit",
    "types",
]
