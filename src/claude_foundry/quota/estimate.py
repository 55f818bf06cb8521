"""A local estimate of a request's uncached input tokens, corrected by what ``usage`` reports.

The estimate starts from the size of the JSON body (no tokenizer, no network call) times a
tokens-per-byte ratio kept per model family (haiku, sonnet, opus, ...: families share a
tokenizer). After each reply the real uncached input (``input_tokens`` +
``cache_creation_input_tokens``) moves the ratio (an exponentially weighted mean) and the mean
relative error; the estimate adds twice that error on top, so it errs high while it is unsure
and tightens as traffic flows. A prompt served mostly from the cache teaches a lower ratio.

    >>> estimator = InputEstimator()
    >>> estimator.estimate("claude-sonnet-4-6", 4000) > 0
    True
    >>> for _ in range(100):
    ...     estimator.observe("claude-sonnet-4-6", 4000, 1000)
    >>> 1000 <= estimator.estimate("claude-sonnet-4-6", 4000) <= 1002
    True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["InputEstimator", "model_family"]

_FAMILY = re.compile(r"(haiku|sonnet|opus|fable)", re.IGNORECASE)


def model_family(model: str) -> str:
    """``claude-sonnet-4-6`` → ``sonnet``; a name without a family word is its own family."""
    found = _FAMILY.search(model)
    return found.group(1).lower() if found else model


@dataclass(slots=True)
class _Ratio:
    tokens_per_byte: float
    error: float  # mean relative error of the ratio
    observations: int = 0


class InputEstimator:
    """One per governor. Safe to share between threads: a lost update under a race only
    weakens one observation and breaks no invariant, so the hot path takes no lock."""

    def __init__(
        self,
        initial_tokens_per_byte: float = 0.3,
        initial_error: float = 0.25,
        smoothing: float = 0.1,
    ) -> None:
        self._initial = (initial_tokens_per_byte, initial_error)
        self._smoothing = smoothing
        self._ratios: dict[str, _Ratio] = {}
        self._families: dict[str, str] = {}

    def _family(self, model: str) -> str:
        family = self._families.get(model)
        if family is None:
            family = self._families[model] = model_family(model)
        return family

    def estimate(self, model: str, body_size: int) -> int:
        family = self._families.get(model) or self._family(model)
        ratio = self._ratios.get(family)
        per_byte, error = self._initial if ratio is None else (ratio.tokens_per_byte, ratio.error)
        return max(1, math.ceil(body_size * per_byte * (1.0 + 2.0 * error)))

    def observe(self, model: str, body_size: int, uncached_input: int) -> None:
        if body_size <= 0 or uncached_input < 0:
            return
        seen = uncached_input / body_size
        family = self._families.get(model) or self._family(model)
        ratio = self._ratios.get(family)
        if ratio is None:
            per_byte, error = self._initial
            ratio = self._ratios.setdefault(family, _Ratio(per_byte, error))
        # Faster at first, then the steady smoothing.
        count = ratio.observations
        alpha = self._smoothing if count >= 8 else max(self._smoothing, 1.0 / (count + 2))
        expected = ratio.tokens_per_byte
        miss = abs(seen - expected) / expected if expected > 1e-9 else 4.0
        ratio.error += alpha * ((miss if miss < 4.0 else 4.0) - ratio.error)
        ratio.tokens_per_byte = expected + alpha * (seen - expected)
        ratio.observations = count + 1

    def error(self, model: str) -> float:
        """The family's mean relative error so far (what the estimate adds twice of)."""
        ratio = self._ratios.get(self._family(model))
        return self._initial[1] if ratio is None else ratio.error
