"""Middleware at the official SDK's import path (``anthropic.lib.middleware``)."""

from __future__ import annotations

import sys
from typing import Any

from ..._middleware import BetaRefusalFallbackMiddleware, RefusalFallbackMiddleware
from ..._unavailable import UNAVAILABLE_IN_LIB_MIDDLEWARE, unavailable_error

__all__ = ["BetaRefusalFallbackMiddleware", "RefusalFallbackMiddleware"]


def __getattr__(name: str) -> Any:
    raise unavailable_error(__name__, name, UNAVAILABLE_IN_LIB_MIDDLEWARE, sys._getframe(1))
