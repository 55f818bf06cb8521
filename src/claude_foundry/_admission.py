"""Admission: the small protocol a quota governor implements for the client, and the flow pieces.

The client never imports a governor. It defines what it asks (:class:`AdmissionAsk`), what it is
told (:class:`Verdict`), what it reports afterwards (:class:`Outcome`) and the object it asks
(:class:`AdmissionGate`); :mod:`claude_foundry.quota` implements the gate. Before each attempt
the request flow yields an ``Admit`` step (the driver calls ``reserve`` or ``areserve``): a
verdict either carries a grant, or a wait after which the flow asks again. A gate that will not
admit within the caller's patience raises, and nothing is sent. After the attempt the flow yields
a ``Settle`` step with what the server reported, so the gate can refund what was not used.

A stream is settled when it ends: :func:`settling_events` and :func:`asettling_events` watch the
events the caller reads for the usage in ``message_start`` and ``message_delta``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .types import MessageDeltaEvent, MessageStartEvent, StreamEvent

__all__ = [
    "ROOM_ELSEWHERE",
    "AdmissionAsk",
    "AdmissionGate",
    "Outcome",
    "Priority",
    "Verdict",
    "asettling_events",
    "settling_events",
    "usage_outcome",
]

Priority = Literal["interactive", "background"]
PRIORITIES: tuple[Priority, ...] = ("interactive", "background")

ROOM_ELSEWHERE: ContextVar[bool] = ContextVar("claude_foundry_room_elsewhere", default=False)
"""Set by a router while the call it runs has another quota pool to try: a gate that has no
room at the first ask then says so at once (it raises) instead of making the call wait, so the
router's choice and the reservation are one decision, one round trip to a shared store."""


@dataclass(slots=True)
class AdmissionAsk:
    """One attempt asking for room: where, how big, how urgent, and how long it has waited."""

    model: str
    """The ``model`` sent: on Foundry the deployment name."""
    max_tokens: int
    body_size: int
    """Bytes of the JSON body: what a local input estimate starts from."""
    priority: Priority = "interactive"
    base_url: str = ""
    waited: float = 0.0
    """Seconds this call has already waited for admission (the flow adds each wait)."""
    pool: str | None = None
    """The quota pool, when the caller knows it (a router's catalogue); else the gate decides."""


@dataclass(slots=True)
class Verdict:
    """``grant`` (an opaque token for :meth:`AdmissionGate.settle`) when admitted, else the
    seconds to wait before asking again."""

    grant: object | None = None
    wait: float = 0.0


@dataclass(slots=True)
class Outcome:
    """What an attempt cost, as far as the client knows.

    ``input_tokens`` is the uncached input (input plus cache creation; cache reads are free),
    ``None`` when the reply did not say. ``status`` is the error status (429 ...) or ``None``;
    ``reached`` says whether the server answered at all (a connection error may or may not have
    reached it). ``retry_after`` is the wait a 429 asked for. ``sent`` is false for an attempt
    the caller dropped after admission without sending it (a batch whose deadline came): the
    gate gives back the whole charge, the request included.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    status: int | None = None
    reached: bool = True
    retry_after: float | None = None
    message: str | None = None
    sent: bool = True


class AdmissionGate(Protocol):
    """What the client calls; :class:`claude_foundry.quota.QuotaGovernor` implements it.

    ``reserve`` returns a verdict or raises an :class:`~claude_foundry.AnthropicError` (nothing
    is then sent). ``settle`` is called once per granted attempt and must not raise.
    """

    def reserve(self, ask: AdmissionAsk) -> Verdict: ...

    async def areserve(self, ask: AdmissionAsk) -> Verdict: ...

    def settle(self, grant: object, outcome: Outcome) -> None: ...

    async def asettle(self, grant: object, outcome: Outcome) -> None: ...

    def release(self, grant: object) -> None:
        """The attempt was abandoned (the caller was cancelled or interrupted) before it could
        be settled: forget it in local bookkeeping, without I/O, leaving its charge as
        reserved."""


def usage_outcome(usage: Any) -> Outcome:
    """The outcome of a reply whose ``usage`` is known (a Message's, or a stream's)."""
    if usage is None:
        return Outcome()
    input_tokens = getattr(usage, "input_tokens", None)
    creation = getattr(usage, "cache_creation_input_tokens", None) or 0
    return Outcome(
        input_tokens=None if input_tokens is None else input_tokens + creation,
        output_tokens=getattr(usage, "output_tokens", None),
    )


class _StreamUsage:
    __slots__ = ("input_tokens", "output_tokens")

    def __init__(self) -> None:
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def see(self, event: StreamEvent) -> None:
        if isinstance(event, MessageStartEvent):
            start = usage_outcome(event.message.usage)
            self.input_tokens = start.input_tokens
            self.output_tokens = start.output_tokens
        elif isinstance(event, MessageDeltaEvent):
            usage = event.usage  # cumulative totals
            self.output_tokens = usage.output_tokens
            if usage.input_tokens is not None:
                self.input_tokens = usage.input_tokens + (usage.cache_creation_input_tokens or 0)

    def outcome(self) -> Outcome:
        return Outcome(input_tokens=self.input_tokens, output_tokens=self.output_tokens)


def settling_events(
    events: Iterator[StreamEvent], gate: AdmissionGate, grant: object
) -> Generator[StreamEvent, None, None]:
    """``events`` unchanged; when they end (read to the end, closed or failed) the gate is
    settled with the usage they reported."""
    usage = _StreamUsage()
    try:
        for event in events:
            usage.see(event)
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        gate.settle(grant, usage.outcome())


async def asettling_events(
    events: AsyncIterator[StreamEvent], gate: AdmissionGate, grant: object
) -> AsyncGenerator[StreamEvent, None]:
    """The async twin of :func:`settling_events`."""
    usage = _StreamUsage()
    try:
        async for event in events:
            usage.see(event)
            yield event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
        await gate.asettle(grant, usage.outcome())
