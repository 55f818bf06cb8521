"""The steps of a sans-IO flow: each one piece of I/O that a driver performs.

The request flow (:mod:`claude_foundry._pipeline`) and the credential flows
(:mod:`claude_foundry._auth`) yield these and get the result back (or have the I/O's exception
thrown in). They live apart from both so that neither flow module imports the other to name them.
:class:`~claude_foundry.AnthropicFoundry` and :class:`~claude_foundry.AsyncAnthropicFoundry` each
perform every step, and a new kind of step fails type checking until both drivers handle it.

A ``deadline`` is a point on :func:`time.monotonic`'s scale by which the step's I/O must be done
(``None``: only the per-operation limits of the request's ``httpx2.Timeout`` apply). The drivers
enforce it with :mod:`claude_foundry._deadline`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from ._admission import AdmissionAsk, AdmissionGate, Outcome

__all__ = [
    "Admit",
    "Close",
    "FetchToken",
    "NextChunk",
    "OpenChunks",
    "ReadBody",
    "Send",
    "Settle",
    "Sleep",
    "Step",
]


@dataclass(slots=True)
class Send:
    """Send ``request``; the result is the response (body read unless ``stream``)."""

    request: httpx2.Request
    stream: bool
    deadline: float | None = None
    """When the response (its headers, and its body unless ``stream``) must have arrived."""


@dataclass(slots=True)
class FetchToken:
    """Call ``provider`` (awaiting the result in the async client); the result is its value."""

    provider: Callable[[], Any]


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class ReadBody:
    """Read a streamed response's body to the end (which also releases the connection)."""

    response: httpx2.Response
    deadline: float | None = None


@dataclass(slots=True)
class Close:
    response: httpx2.Response


@dataclass(slots=True)
class OpenChunks:
    """The result is an iterator (sync) or async iterator of the response's body chunks."""

    response: httpx2.Response


@dataclass(slots=True)
class NextChunk:
    """The result is the next chunk of ``chunks``, or ``None`` at the end."""

    chunks: Any
    deadline: float | None = None


@dataclass(slots=True)
class Admit:
    """Ask ``gate`` for room for one attempt (``reserve``, or ``areserve`` in the async
    client); the result is a :class:`~claude_foundry._admission.Verdict`."""

    gate: AdmissionGate
    ask: AdmissionAsk


@dataclass(slots=True)
class Settle:
    """Tell ``gate`` what a granted attempt cost (``settle`` / ``asettle``); no result."""

    gate: AdmissionGate
    grant: object
    outcome: Outcome


Step = Send | FetchToken | Sleep | ReadBody | Close | OpenChunks | NextChunk | Admit | Settle
