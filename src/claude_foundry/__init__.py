"""Claude in Microsoft Foundry for Python.

>>> from claude_foundry import AnthropicFoundry
>>> client = AnthropicFoundry(api_key="...", resource="example-resource")  # doctest: +SKIP
>>> message = client.messages.create(  # doctest: +SKIP
...     model="claude-sonnet-4-5", max_tokens=1024,
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
)
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
    OverloadedError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AnthropicError",
    "AnthropicFoundry",
    "AsyncAnthropicFoundry",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ContentTooLargeError",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_DELAY",
    "DEFAULT_TIMEOUT",
    "EntraTokenError",
    "GatewayTimeoutError",
    "InternalServerError",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "NotSupportedOnFoundryError",
    "OverloadedError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "__version__",
    "types",
]
