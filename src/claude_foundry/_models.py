"""Model lifecycle: the default model of the command line and examples, and deprecated models.

The dates live in ``model_lifecycle.toml`` (data, read once on first use), not in code. On
Foundry ``model`` is a deployment name; default deployment names equal the model ids, so a call
that names a deprecated model id gets a :class:`DeprecationWarning`, once per model and process,
pointing at the caller's line, as the official client warns.

    >>> deprecation("claude-sonnet-4-5").end_of_life.isoformat()
    '2026-11-30'
    >>> deprecation(DEFAULT_MODEL) is None
    True
"""

from __future__ import annotations

import datetime
import functools
import sys
import threading
import tomllib
import warnings
from dataclasses import dataclass
from importlib import resources
from typing import Final

__all__ = ["DEFAULT_MODEL", "Deprecation", "deprecation", "warn_if_deprecated"]

DEFAULT_MODEL: Final = "claude-sonnet-5"
"""A current model available on Foundry (hosted on Azure or on Anthropic): the default of
``claude-foundry chat --model`` and ``doctor --deployment``."""

_DEPRECATIONS_URL: Final = "https://docs.anthropic.com/en/docs/resources/model-deprecations"


@dataclass(frozen=True, slots=True)
class Deprecation:
    model: str
    end_of_life: datetime.date
    replacement: str

    def message(self, today: datetime.date) -> str:
        when = self.end_of_life.isoformat()
        if today >= self.end_of_life:
            status = f"reached its end of life on {when}"
        else:
            status = f"is deprecated and reaches its end of life on {when}"
        return (
            f"The model {self.model!r} {status}. Deploy a current model such as "
            f"{self.replacement!r} and pass its deployment name as `model` "
            f"({_DEPRECATIONS_URL})."
        )


@functools.cache
def _table() -> dict[str, Deprecation]:
    text = resources.files(__package__).joinpath("model_lifecycle.toml").read_text("utf-8")
    return {
        entry["model"]: Deprecation(entry["model"], entry["end_of_life"], entry["replacement"])
        for entry in tomllib.loads(text)["deprecated"]
    }


def deprecation(model: object) -> Deprecation | None:
    """What the table says about ``model``, or None for a current model or any other name."""
    return _table().get(model) if isinstance(model, str) else None


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_if_deprecated(model: object) -> None:
    """Warn (DeprecationWarning) the first time a call names a deprecated model."""
    found = deprecation(model)
    if found is None:
        return
    with _warned_lock:
        if found.model in _warned:
            return
        _warned.add(found.model)
    warnings.warn(
        found.message(datetime.date.today()), DeprecationWarning, stacklevel=_callers_level()
    )


def _callers_level() -> int:
    """The stack level of the first frame outside this package: the user's call."""
    frame = sys._getframe(2)  # the caller of warn_if_deprecated
    level = 2
    while frame is not None:
        if not frame.f_globals.get("__name__", "").startswith(f"{__package__}."):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 2
