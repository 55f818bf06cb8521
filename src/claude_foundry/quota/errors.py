"""The governor's errors, each an :class:`~claude_foundry.AnthropicError`.

    AnthropicError
    ├── QuotaWaitTimeout (also TimeoutError)   no room in the pool within the caller's patience
    │   └── QuotaPoolFull                      no room now, and the router has another pool
    ├── QuotaLimitError (also ValueError)      a request larger than the pool's whole limit
    └── QuotaBackendError                      the shared store (Redis) failed, policy fail-closed

None of them was sent: the caller may requeue the work or lower its size.
"""

from __future__ import annotations

from .._errors import AnthropicError

__all__ = ["QuotaBackendError", "QuotaLimitError", "QuotaPoolFull", "QuotaWaitTimeout"]


class QuotaWaitTimeout(AnthropicError, TimeoutError):
    """The pool had no room for this request within ``max_wait``; nothing was sent."""

    def __init__(self, message: str, *, pool: str, wait: float) -> None:
        super().__init__(message)
        self.pool = pool
        self.wait = wait
        """Seconds the pool needed before it could admit the request."""


class QuotaPoolFull(QuotaWaitTimeout):
    """The pool had no room at the first ask while the router had another pool to try: the
    router moves the call there (it reaches the caller only through a custom gate loop)."""


class QuotaLimitError(AnthropicError, ValueError):
    """The request can never fit the pool (``max_tokens`` above its whole output limit, or a
    pool with no quota); nothing was sent."""

    def __init__(self, message: str, *, pool: str) -> None:
        super().__init__(message)
        self.pool = pool


class QuotaBackendError(AnthropicError):
    """The shared quota store did not answer and the policy is to fail closed; nothing was sent.
    The message names the store (its URL without credentials) and the cause."""
