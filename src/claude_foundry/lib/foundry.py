"""The Foundry clients at the official SDK's import path (``anthropic.lib.foundry``)."""

from __future__ import annotations

from .._client import AnthropicFoundry, AsyncAnthropicFoundry

__all__ = ["AnthropicFoundry", "AsyncAnthropicFoundry"]
