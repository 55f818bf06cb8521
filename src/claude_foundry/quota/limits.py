"""Per-pool limits: what configuration says a quota pool allows per minute.

>>> PoolLimits(rpm=60, input_tpm=40_000, output_tpm=8_000).as_tuple()
(60, 40000, 8000)
>>> PoolLimits.for_offer("pay-as-you-go", "claude-sonnet-4-6")
PoolLimits(rpm=80, input_tpm=80000, output_tpm=16000)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .._errors import ConfigurationError
from .window import Limits

__all__ = ["OFFERS", "PoolLimits"]

OFFERS = ("pay-as-you-go", "enterprise")


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """Requests, uncached input tokens and output tokens per minute; ``None`` is unlimited."""

    rpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "input_tpm", "output_tpm"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                raise ConfigurationError(
                    f"pool limit {name} must be a whole number >= 0 or None (unlimited), "
                    f"not {value!r}"
                )

    def as_tuple(self) -> Limits:
        return (self.rpm, self.input_tpm, self.output_tpm)

    @classmethod
    def from_mapping(cls, data: Any, where: str = "limits") -> PoolLimits:
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{where} must be a table such as {{ rpm = 60, input_tpm = 40000, "
                f"output_tpm = 8000 }}, not {data!r}"
            )
        unknown = set(data) - {"rpm", "input_tpm", "output_tpm"}
        if unknown:
            raise ConfigurationError(
                f"{where}: unknown key {sorted(unknown)[0]!r}; "
                "the keys are rpm, input_tpm and output_tpm"
            )
        return cls(data.get("rpm"), data.get("input_tpm"), data.get("output_tpm"))

    @classmethod
    def for_offer(cls, offer: str, model: str) -> PoolLimits:
        """The documented default for ``model`` under ``offer`` (see ``offers.toml``)."""
        table = _offers()
        if offer not in table:
            raise ConfigurationError(f"offer must be one of {list(OFFERS)}, not {offer!r}")
        for entry in table[offer]:
            if any(p == "*" or p in model for p in entry["models"]):
                return cls(entry["rpm"], entry["input_tpm"], entry["output_tpm"])
        raise ConfigurationError(f"no default quota for {model!r} under {offer!r}")


@cache
def _offers() -> dict[str, list[dict[str, Any]]]:
    text = resources.files(__package__).joinpath("offers.toml").read_text("utf-8")
    return tomllib.loads(text)
