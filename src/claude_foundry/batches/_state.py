"""The batch and request lifecycles as explicit state tables (in the manner of h11's
``_state.py``): named states, every legal transition in one table, and an illegal event raises
:class:`BatchStateError` and changes nothing.

A batch (``processing_status``, as the API names it)::

    in_progress --cancel--> canceling --drained--> ended
    in_progress --drained / expire--> ended
    canceling   --expire--> ended

A request::

    pending --claim--> in_flight --succeed--> succeeded
                                 --fail-----> errored
                                 --release--> pending      (retry later, or a lost lease)
    pending --cancel--> canceled          pending or in_flight --expire--> expired
    in_flight --cancel--> canceled        (only when its lease was lost: nobody holds it)

The stores apply the same transitions in SQL with ``WHERE state IN (...)`` guards built from
these tables, so a transition the table forbids cannot happen in the database either.
"""

from __future__ import annotations

from typing import Final

from .._errors import AnthropicError

__all__ = [
    "BATCH_TRANSITIONS",
    "FINISHED_REQUEST_STATES",
    "REQUEST_TRANSITIONS",
    "BatchStateError",
    "next_batch_state",
    "next_request_state",
    "sources",
]

# batch states
IN_PROGRESS: Final = "in_progress"
CANCELING: Final = "canceling"
ENDED: Final = "ended"

# request states
PENDING: Final = "pending"
IN_FLIGHT: Final = "in_flight"
SUCCEEDED: Final = "succeeded"
ERRORED: Final = "errored"
CANCELED: Final = "canceled"
EXPIRED: Final = "expired"

FINISHED_REQUEST_STATES: Final = (SUCCEEDED, ERRORED, CANCELED, EXPIRED)

BATCH_TRANSITIONS: Final[dict[str, dict[str, str]]] = {
    IN_PROGRESS: {"cancel": CANCELING, "drained": ENDED, "expire": ENDED},
    CANCELING: {"drained": ENDED, "expire": ENDED},
    ENDED: {},
}

REQUEST_TRANSITIONS: Final[dict[str, dict[str, str]]] = {
    PENDING: {"claim": IN_FLIGHT, "cancel": CANCELED, "expire": EXPIRED},
    IN_FLIGHT: {
        "succeed": SUCCEEDED,
        "fail": ERRORED,
        "release": PENDING,
        "cancel": CANCELED,
        "expire": EXPIRED,
    },
    SUCCEEDED: {},
    ERRORED: {},
    CANCELED: {},
    EXPIRED: {},
}


class BatchStateError(AnthropicError, RuntimeError):
    """An event that the current state does not allow, e.g. canceling a batch that has ended."""

    def __init__(self, kind: str, state: str, event: str) -> None:
        super().__init__(f"cannot {event} a {kind} that is {state.replace('_', ' ')}")
        self.kind = kind
        self.state = state
        self.event = event


def _next(table: dict[str, dict[str, str]], kind: str, state: str, event: str) -> str:
    try:
        return table[state][event]
    except KeyError:
        raise BatchStateError(kind, state, event) from None


def next_batch_state(state: str, event: str) -> str:
    return _next(BATCH_TRANSITIONS, "batch", state, event)


def next_request_state(state: str, event: str) -> str:
    return _next(REQUEST_TRANSITIONS, "request", state, event)


def sources(table: dict[str, dict[str, str]], event: str) -> tuple[str, ...]:
    """The states from which ``event`` is legal: the stores' SQL guards."""
    return tuple(state for state, events in table.items() if event in events)
