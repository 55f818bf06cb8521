"""The quota governor: use the quota Foundry grants without meeting its 429s.

Foundry meters Claude per quota pool (subscription, model, deployment type) in requests, uncached
input tokens and output tokens per minute, and sends no usable rate-limit headers. The governor
keeps each pool's budgets on the client side: before each attempt it reserves one request, the
estimated input and ``max_tokens`` of output, or makes the call wait; afterwards it reconciles
with the real usage and learns from 429s.

    from claude_foundry import AnthropicFoundry
    from claude_foundry.quota import PoolLimits, QuotaGovernor

    governor = QuotaGovernor(pools={"sonnet": PoolLimits(rpm=60, input_tpm=40_000,
                                                         output_tpm=8_000)},
                             deployments={"claude-sonnet-4-6": "sonnet"})
    client = AnthropicFoundry(api_key=..., resource=..., governor=governor)
    background = client.with_options(priority="background")

Several processes or hosts share a pool through Redis: ``backend=RedisBackend.from_url(...)``
(``pip install 'claude-foundry[redis]'``). See ``docs/quota.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .backend import MemoryBackend, QuotaBackend, Reservation, WindowShape
from .errors import QuotaBackendError, QuotaLimitError, QuotaPoolFull, QuotaWaitTimeout
from .estimate import InputEstimator
from .governor import Grant, PoolStatus, QuotaGovernor
from .learning import LearnedLimit
from .limits import OFFERS, PoolLimits

if TYPE_CHECKING:
    from .redis_backend import RedisBackend

__all__ = [
    "Grant",
    "InputEstimator",
    "LearnedLimit",
    "MemoryBackend",
    "OFFERS",
    "PoolLimits",
    "PoolStatus",
    "QuotaBackend",
    "QuotaBackendError",
    "QuotaGovernor",
    "QuotaLimitError",
    "QuotaPoolFull",
    "QuotaWaitTimeout",
    "RedisBackend",
    "Reservation",
    "WindowShape",
]


def __getattr__(name: str) -> Any:
    # The Redis backend imports redis-py on first use only: the extra stays optional.
    if name == "RedisBackend":
        from .redis_backend import RedisBackend

        return RedisBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
