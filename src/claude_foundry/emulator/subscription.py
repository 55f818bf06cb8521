"""Several emulators as several resources of one subscription: quota pools shared across them.

On Foundry, quota belongs to the subscription: every Global Standard deployment of one model
draws from one pool, whichever resource (region) it lives in. Each :class:`Emulator` stands for
one resource (its own deployments, keys, region and faults); :func:`share_quota` makes several of
them meter one set of windows, so deployments naming the same ``quota_pool`` (or the same
deployment name) share their limits across the emulators, as across regions.

    with Emulator(api_key="k") as sweden, Emulator(api_key="k") as eastus:
        share_quota(sweden, eastus, window_s=5.0)      # 5 s "minutes" for a quick test
        for emulator in (sweden, eastus):
            emulator.configure(quotas={"claude-haiku-4-5": {"rpm": 10}})
        take_down(sweden)                               # the whole resource answers 503
        bring_up(sweden)

``window_s`` shortens the quota minute for tests and benchmarks. A region outage is a fault rule
on every request (HTTP 503 by default) that :func:`bring_up` removes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .quota import QuotaBook

if TYPE_CHECKING:
    from .server import Emulator

__all__ = ["bring_up", "share_quota", "take_down"]

_OUTAGE = "region outage"


def share_quota(*emulators: Emulator, window_s: float = 60.0) -> QuotaBook:
    """One quota book (window ``window_s``) for every emulator given; returns it."""
    book = QuotaBook(window_s=window_s)
    for emulator in emulators:
        emulator.state.quota = book
    return book


def take_down(emulator: Emulator, *, status: int = 503) -> dict[str, Any]:
    """Every request to ``emulator`` fails with ``status`` until :func:`bring_up`."""
    return emulator.add_fault(kind="status", status=status, count=None, message=_OUTAGE)


def bring_up(emulator: Emulator) -> None:
    """End an outage started by :func:`take_down` (other fault rules stay)."""
    for rule in emulator.faults():
        if rule.get("message") == _OUTAGE:
            emulator.remove_fault(rule["id"])
