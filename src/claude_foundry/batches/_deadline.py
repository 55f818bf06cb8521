"""Nothing is sent after a batch's deadline or cancel: a gate in front of the quota governor.

A batch request may wait at the governor (background priority) longer than its batch has left.
:class:`DeadlineGate` wraps the governor the runner's client asks before each attempt and raises
:class:`DeadlinePassed` instead of letting the request go out late:

- asked at or after the deadline (after any wait), it does not ask the governor;
- told to wait past the deadline, it does not wait: the request could only be sent late;
- admitted, but the deadline came while the governor answered (a slow shared store), it gives
  the whole charge back (``Outcome(sent=False)``), so the quota pays nothing for it.

Nothing is reserved when it raises, and the client sends nothing; the runner then records the
request as ``expired``, as the deadline does for every request not yet finished. A cancel of the
batch is checked the same way (:class:`BatchCanceling`): a request that waited at the governor
while the batch was canceled is recorded ``canceled`` instead of being sent once admitted.
"""

from __future__ import annotations

from collections.abc import Callable

from .._admission import AdmissionAsk, AdmissionGate, Outcome, Verdict
from .._errors import AnthropicError

__all__ = ["BatchCanceling", "DeadlineGate", "DeadlinePassed"]


class DeadlinePassed(AnthropicError):
    """The batch's deadline came before this request could be sent; nothing was sent."""


class BatchCanceling(AnthropicError):
    """The batch is being canceled; this request was not sent."""


class DeadlineGate:
    """``gate`` (a quota governor) that admits nothing at or after ``deadline()`` (epoch seconds
    by ``clock``). Everything else is the gate's: settling, releasing, waiting in line."""

    def __init__(
        self,
        gate: AdmissionGate,
        deadline: Callable[[], float],
        clock: Callable[[], float],
        canceling: Callable[[], bool] = lambda: False,
    ) -> None:
        self.gate = gate
        self.deadline = deadline
        self.clock = clock
        self.canceling = canceling

    def __repr__(self) -> str:
        return f"DeadlineGate({self.gate!r})"

    def _before_asking(self) -> None:
        if self.canceling():
            raise BatchCanceling("the batch is being canceled; this request was not sent")
        if self.clock() >= self.deadline():
            raise DeadlinePassed("the batch's deadline passed before this request was sent")

    def _late(self, verdict: Verdict) -> bool:
        """Whether the answer comes too late: admitted at or after the deadline, or told to
        wait until then."""
        wait = 0.0 if verdict.grant is not None else verdict.wait
        return self.clock() + wait >= self.deadline()

    def reserve(self, ask: AdmissionAsk) -> Verdict:
        self._before_asking()
        verdict = self.gate.reserve(ask)
        if verdict.grant is not None and self.canceling():  # canceled while it was in line
            self.gate.settle(verdict.grant, Outcome(sent=False))
            raise BatchCanceling("the batch is being canceled; this request was not sent")
        if self._late(verdict):
            if verdict.grant is not None:
                self.gate.settle(verdict.grant, Outcome(sent=False))
            raise DeadlinePassed("the batch's deadline comes before this request could be sent")
        return verdict

    async def areserve(self, ask: AdmissionAsk) -> Verdict:
        self._before_asking()
        verdict = await self.gate.areserve(ask)
        if verdict.grant is not None and self.canceling():  # canceled while it was in line
            await self.gate.asettle(verdict.grant, Outcome(sent=False))
            raise BatchCanceling("the batch is being canceled; this request was not sent")
        if self._late(verdict):
            if verdict.grant is not None:
                await self.gate.asettle(verdict.grant, Outcome(sent=False))
            raise DeadlinePassed("the batch's deadline comes before this request could be sent")
        return verdict

    def settle(self, grant: object, outcome: Outcome) -> None:
        self.gate.settle(grant, outcome)

    async def asettle(self, grant: object, outcome: Outcome) -> None:
        await self.gate.asettle(grant, outcome)

    def release(self, grant: object) -> None:
        self.gate.release(grant)
