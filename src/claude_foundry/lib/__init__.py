"""Helpers at the import paths the official SDK uses (``anthropic.lib.tools``,
``anthropic.lib.streaming``, ``anthropic.lib.middleware``, ``anthropic.lib.foundry``), so code
that imports them from there ports by changing the package name."""

from __future__ import annotations

import sys
from typing import Any

from .._unavailable import UNAVAILABLE_IN_LIB, unavailable_error


def __getattr__(name: str) -> Any:
    raise unavailable_error(__name__, name, UNAVAILABLE_IN_LIB, sys._getframe(1))
