"""Our errors caught by the official SDK's ``except`` clauses.

Code written for the official client imports its exceptions from ``anthropic``, often far from
where the client is built, so after switching the client ``except anthropic.NotFoundError:`` must
still catch our 404. An ``except`` clause matches subclasses only, so when ``anthropic`` is
already imported, each error is created as a *twin*: a class that subclasses both our class and
the official class the official client would raise for the same failure (for a status error its
``(status, error_code)`` lookup; otherwise the official class of the same name, or the nearest
ancestor that has one). Twins are made once per pair and cached.

``anthropic`` is never imported here: without it in ``sys.modules`` nobody can be catching its
classes, and ``import claude_foundry`` stays cheap.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["official_twin"]

_twins: dict[tuple[type, type], type] = {}
# Attributes the official classes set in their __init__ (which a twin does not run) that ours lack.
_OFFICIAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "APIStatusError": {"workspace_id": None},
}


def _official_by_name(ours: type, official: Any) -> type | None:
    for cls in ours.__mro__:
        candidate = getattr(official, cls.__name__, None)
        if isinstance(candidate, type) and issubclass(candidate, BaseException):
            return candidate
    return None


def _official_status_class(official: Any, status: int, body: object) -> type | None:
    error_classes = getattr(getattr(official, "_error_classes", None), "ERROR_CLASSES", None)
    if not isinstance(error_classes, Mapping):
        return None
    error = body.get("error") if isinstance(body, Mapping) else None
    details = error.get("details") if isinstance(error, Mapping) else None
    code = details.get("error_code") if isinstance(details, Mapping) else None
    found = error_classes.get((status, code if isinstance(code, str) else None))
    found = found or error_classes.get((status, None))
    if found is None:
        name = "InternalServerError" if status >= 500 else "APIStatusError"
        found = getattr(official, name, None)
    return found if isinstance(found, type) else None


def official_twin(ours: type, kwargs: Mapping[str, Any]) -> type | None:
    """The class to instantiate in place of ``ours`` so the official ``except`` clauses match,
    or ``None`` when ``anthropic`` is not imported (or has no matching class)."""
    official = sys.modules.get("anthropic")
    if official is None:
        return None
    target: type | None = None
    status = kwargs.get("status_code")
    if isinstance(status, int):
        target = _official_status_class(official, status, kwargs.get("body"))
    by_name = _official_by_name(ours, official)
    if target is None or (by_name is not None and not issubclass(target, by_name)):
        target = by_name
    if target is None or issubclass(ours, target):
        return None
    key = (ours, target)
    twin = _twins.get(key)
    if twin is None:
        namespace: dict[str, Any] = {
            "__module__": ours.__module__,
            "__qualname__": ours.__qualname__,
            "__doc__": ours.__doc__,
            "_foundry_class": ours,
        }
        for name, defaults in _OFFICIAL_DEFAULTS.items():
            base = getattr(official, name, None)
            if isinstance(base, type) and issubclass(target, base):
                namespace.update(defaults)
        try:
            twin = type(ours.__name__, (ours, target), namespace)
        except TypeError:  # layouts that cannot be combined: keep our class alone
            return None
        _twins[key] = twin
    return twin
