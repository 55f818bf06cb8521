"""Observation: one :class:`CallRecord` per finished call, handed to every :class:`CallObserver`.

The client defines this small protocol and never imports an operations package: the usage ledger
(:mod:`claude_foundry.ledger`), OpenTelemetry and anything a user writes are observers.

How a record comes about, written once for the sync and async clients:

- :func:`observe` wraps ``Pipeline.request_flow``
  in :func:`observed_flow`, a sans-IO generator that passes every step through and watches them:
  each ``Send`` is one attempt, its response (or error) gives the status and the Azure correlation
  headers, a ``Sleep`` between them is a retry.
- A call that returns a message or a token count is recorded when it returns; one that raises, when
  it raises; one the caller interrupts (``KeyboardInterrupt``, task cancellation) as ``cancelled``.
- A stream hands its :class:`CallTrace` on to :class:`~claude_foundry.Stream`, which reports its
  events and is recorded when it ends, fails or is closed (``cancelled`` before ``message_stop``),
  with the time to its first content.

A record holds ids, counts and timings only: never a key, a token, a prompt or a reply.
Observers run in the thread that finished the call, so they must be quick (the ledger only queues
the record); an observer that raises is logged and skipped, never breaks the call.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx2

from ._pipeline import Call, StreamStart
from ._steps import Send
from .types import (
    ContentBlockDeltaEvent,
    Message,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    MessageTokensCount,
    TextBlock,
    TextDelta,
    Usage,
)

__all__ = [
    "ROUTING",
    "CallObserver",
    "CallRecord",
    "CallTrace",
    "observe",
    "observed_flow",
]

log = logging.getLogger("claude_foundry")

Outcome = str
"""``"ok"``, ``"error"`` or ``"cancelled"`` (closed or interrupted before the end)."""


@dataclass(slots=True)
class CallRecord:
    """What one API call did: where it went, what it used, how long it took, how it ended.

    Every observer of a call receives the same record: read it, do not change it. (It is not a
    frozen dataclass only because building one of those costs twice as much on every call.)

    Token fields are the response's ``usage`` (``None`` when no usage arrived, as for an error).
    ``deployment`` is the ``model`` the caller sent (a Foundry deployment name); ``model`` is the
    model id the response names, which is what prices are keyed by.
    """

    started_at: float
    """Wall-clock time the call started (seconds since the epoch)."""
    duration: float
    """Seconds from the start to the end (for a stream: to its last event or its close)."""
    operation: str = "chat"
    """``"chat"`` (messages) or ``"count_tokens"``."""
    stream: bool = False
    time_to_first_token: float | None = None
    """Streams: seconds from the start to the first content delta."""
    host: str | None = None
    deployment: str | None = None
    route: str | None = None
    model: str | None = None
    response_id: str | None = None
    request_id: str | None = None
    apim_request_id: str | None = None
    region: str | None = None
    """``x-ms-region``."""
    served_by_cluster: str | None = None
    """``azureml-served-by-cluster``."""
    processed_tier: str | None = None
    """``azureai-processed-tier``."""
    status_code: int | None = None
    outcome: Outcome = "ok"
    error_type: str | None = None
    attempts: int = 1
    retries: int = 0
    failovers: int = 0
    throttled: int = 0
    """How many attempts the service answered with 429 (retried ones included)."""
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_write_5m_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    web_search_requests: int | None = None
    web_fetch_requests: int | None = None
    service_tier: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    request_body: str | None = None
    """The JSON body sent (prompts included): only when the client was built with
    ``record_content=True``."""
    reply_text: str | None = None
    """The reply's text: only with ``record_content=True``."""
    port: int | None = None
    """The TCP port of ``host`` (443 for https unless the URL names another)."""


@runtime_checkable
class CallObserver(Protocol):
    """Receives one :class:`CallRecord` per finished call.

    Called in the thread (or task) that finished the call: return quickly and do slow work
    elsewhere. An exception is logged and does not reach the caller.
    """

    def record_call(self, record: CallRecord) -> None: ...


# Response headers copied into the record, by the CallTrace attribute that holds them.
_CORRELATION_HEADERS = {
    b"request-id": "request_id",
    b"apim-request-id": "apim_request_id",
    b"x-ms-region": "region",
    b"azureml-served-by-cluster": "served_by_cluster",
    b"azureai-processed-tier": "processed_tier",
}
_NO_TAGS: Mapping[str, str] = {}


class CallTrace:
    """The state of one call while it runs. The flow, a router and the stream fill it; it is
    turned into a :class:`CallRecord` exactly once.

    A router or quota step inside the flow may set ``route``, ``deployment`` (per attempt) and
    ``failovers``; ``call.trace`` is ``None`` when nothing observes the client.
    """

    # Class-level defaults: a new trace sets only what it knows at the start, which keeps the
    # caller's cost per call to a few microseconds.
    _first_token: float | None = None
    route: str | None = None
    failovers = 0
    attempts = 0
    throttled = 0
    host: str | None = None
    port: int | None = None
    status_code: int | None = None
    request_id: str | None = None
    apim_request_id: str | None = None
    region: str | None = None
    served_by_cluster: str | None = None
    processed_tier: str | None = None
    message: Message | None = None
    """The message, or for a stream ``message_start``'s."""
    usage: Any = None
    """A ``Usage``, or the cumulative ``MessageDeltaUsage`` of a stream."""
    stop_reason: str | None = None
    stopped = False
    request_body: bytes | None = None
    reply: list[str] | None = None
    """The reply's text pieces, kept only when the caller opted in to recording content."""

    def __init__(
        self,
        observers: Sequence[CallObserver],
        *,
        operation: str = "chat",
        stream: bool = False,
        deployment: str | None = None,
        tags: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._open = True  # until finish() takes it
        self._observers = observers
        self._clock = clock
        self._start = clock()
        self.started_at = now()
        self.operation = operation
        self.stream = stream
        self.deployment = deployment
        self.tags: Mapping[str, str] = tags or _NO_TAGS

    # --- what the flow reports --------------------------------------------------------------

    def sent(self, request: httpx2.Request, response: Any) -> None:
        """One attempt went out; ``response`` is its response, or ``None`` if it failed."""
        self.attempts += 1
        url = request.url
        self.host = url.host
        self.port = url.port or (443 if url.scheme == "https" else 80)
        if isinstance(response, httpx2.Response):
            self.status_code = response.status_code
            if response.status_code == 429:
                self.throttled += 1
            headers = response.headers
            # httpx2 keeps (name, lowercase name, value) triples; reading them directly is several
            # times cheaper than a lookup per header. .raw is the public fallback.
            triples = getattr(headers, "_list", None)
            if triples is not None:
                for _, lower, value in triples:
                    attribute = _CORRELATION_HEADERS.get(lower)
                    if attribute is not None:
                        setattr(self, attribute, value.decode("latin-1"))
            else:
                for name, value in headers.raw:
                    attribute = _CORRELATION_HEADERS.get(name.lower())
                    if attribute is not None:
                        setattr(self, attribute, value.decode("latin-1"))
        else:
            self.status_code = None

    def returned(self, result: Any) -> bool:
        """The flow returned ``result``; record it now unless it is a stream (then ``False``)."""
        if isinstance(result, Message):
            self.message = result
            self.usage = result.usage
            self.stop_reason = result.stop_reason
            if self.reply is not None:
                self.reply = [block.text for block in result.content if type(block) is TextBlock]
        elif isinstance(result, MessageTokensCount):
            self.usage = result
        else:
            if type(result) is StreamStart:
                self.events(result.pending)
                return False
            parsed = getattr(result, "_parsed", None)  # a RawResponse from with_raw_response
            if parsed is not None:
                return self.returned(parsed)
        self.finish("ok")
        return True

    # --- what a stream reports --------------------------------------------------------------

    def events(self, events: Iterable[Any]) -> None:
        """Events of a stream as they arrive (message, usage, stop reason, first content)."""
        for event in events:
            kind = type(event)
            if kind is ContentBlockDeltaEvent:
                if self._first_token is None:
                    self._first_token = self._clock()
                if self.reply is not None and type(event.delta) is TextDelta:
                    self.reply.append(event.delta.text)
            elif kind is MessageDeltaEvent:
                self.usage = event.usage
                self.stop_reason = event.delta.stop_reason
            elif kind is MessageStartEvent:
                self.message = event.message
                if self.usage is None:
                    self.usage = event.message.usage
            elif kind is MessageStopEvent:
                self.stopped = True

    def stream_ended(self, error: BaseException | None) -> None:
        """The stream's iteration ended: exhausted, failed with ``error``, or closed early."""
        if "_open" not in self.__dict__:
            return
        if error is None or isinstance(error, GeneratorExit):
            self.finish("ok" if self.stopped else "cancelled")
        else:
            self.failed(error)

    # --- the end ----------------------------------------------------------------------------

    def failed(self, error: BaseException) -> None:
        if "_open" not in self.__dict__:
            return
        if not isinstance(error, Exception):  # GeneratorExit, KeyboardInterrupt, CancelledError
            # GeneratorExit only says the driver stopped the flow; it is no error of its own.
            name = None if isinstance(error, GeneratorExit) else type(error).__name__
            self.finish("cancelled", name)
            return
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            self.status_code = status
        for attribute in ("request_id", "apim_request_id"):
            value = getattr(error, attribute, None)
            if value and getattr(self, attribute) is None:
                setattr(self, attribute, value)
        self.finish("error", type(error).__name__)

    def finish(self, outcome: Outcome, error_type: str | None = None) -> None:
        """Build the record and hand it to every observer, once."""
        # One atomic step decides who finishes: a stream may be closed from another thread
        # while the thread iterating it reaches its end.
        if self.__dict__.pop("_open", None) is None:
            return
        record = self.record(outcome, error_type)
        for observer in self._observers:
            try:
                observer.record_call(record)
            except Exception:
                log.exception("call observer %r failed; the call is not affected", observer)

    def record(self, outcome: Outcome, error_type: str | None = None) -> CallRecord:
        end = self._clock()
        message = self.message
        usage = self.usage
        if type(usage) is not Usage:
            usage = _merged_usage(usage, message.usage if message is not None else None)
        cache_creation = usage.cache_creation
        server_tools = usage.server_tool_use
        first = self._first_token
        attempts = self.attempts
        # Positional arguments, in RECORD_FIELD_ORDER: a dataclass builds several times faster
        # from them than from 36 keywords, and this runs on the caller's thread for every call.
        return CallRecord(
            self.started_at,
            end - self._start,
            self.operation,
            self.stream,
            None if first is None else first - self._start,
            self.host,
            self.deployment,
            self.route,
            message.model if message is not None else None,
            message.id if message is not None else None,
            self.request_id,
            self.apim_request_id,
            self.region,
            self.served_by_cluster,
            self.processed_tier,
            self.status_code,
            outcome,
            error_type,
            attempts if attempts > 1 else 1,
            attempts - 1 if attempts > 1 else 0,
            self.failovers,
            self.throttled,
            self.stop_reason,
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_creation_input_tokens,
            cache_creation.ephemeral_5m_input_tokens if cache_creation is not None else None,
            cache_creation.ephemeral_1h_input_tokens if cache_creation is not None else None,
            usage.cache_read_input_tokens,
            server_tools.web_search_requests if server_tools is not None else None,
            server_tools.web_fetch_requests if server_tools is not None else None,
            usage.service_tier,
            self.tags,
            (
                self.request_body.decode("utf-8", "replace")
                if self.request_body is not None
                else None
            ),
            "".join(self.reply) if self.reply is not None else None,
            self.port,
        )


RECORD_FIELD_ORDER = (
    "started_at",
    "duration",
    "operation",
    "stream",
    "time_to_first_token",
    "host",
    "deployment",
    "route",
    "model",
    "response_id",
    "request_id",
    "apim_request_id",
    "region",
    "served_by_cluster",
    "processed_tier",
    "status_code",
    "outcome",
    "error_type",
    "attempts",
    "retries",
    "failovers",
    "throttled",
    "stop_reason",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_input_tokens",
    "web_search_requests",
    "web_fetch_requests",
    "service_tier",
    "tags",
    "request_body",
    "reply_text",
    "port",
)
"""The order :meth:`CallTrace.record` passes a record's fields in: the dataclass's own order (a
test holds them equal, so a field added to one and not the other fails there, not in a ledger)."""


class _UsageView:
    """The usage fields a record reads, from whatever usage a call ended with."""

    __slots__ = (
        "cache_creation",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "input_tokens",
        "output_tokens",
        "server_tool_use",
        "service_tier",
    )

    def __init__(self, final: Any, start: Any) -> None:
        for name in self.__slots__:
            value = getattr(final, name, None)
            if value is None and start is not None:
                value = getattr(start, name, None)
            setattr(self, name, value)


def _merged_usage(final: Any, start: Usage | None) -> Any:
    """A stream's ``message_delta`` usage carries cumulative totals; what it leaves out comes from
    ``message_start``'s. A token count has only ``input_tokens``; an error has no usage."""
    if final is start:
        start = None
    return _UsageView(final, start)


def observed_flow(flow: Generator[Any, Any, Any], trace: CallTrace) -> Generator[Any, Any, Any]:
    """``flow``'s steps and result unchanged, reported to ``trace`` on the way through."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                step = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                result = stop.value
                break
            value = error = None
            try:
                value = yield step
            except Exception as exc:
                error = exc
            if type(step) is Send:
                trace.sent(step.request, value)
    except BaseException as exc:
        flow.close()
        trace.failed(exc)
        raise
    if not trace.returned(result):
        result.trace = trace  # the stream records the call when it ends
    return result


def observe(
    flow: Generator[Any, Any, Any],
    call: Call,
    observers: Sequence[CallObserver],
    tags: Mapping[str, str] | None,
    *,
    record_content: bool = False,
) -> Generator[Any, Any, Any]:
    """Start a :class:`CallTrace` for ``call`` (as ``call.trace``) and watch ``flow`` with it.

    ``record_content`` keeps the request body and the reply's text in the record (off by
    default: a record holds no prompt and no reply unless asked)."""
    merged = tags
    if call.tags:
        merged = {**tags, **call.tags} if tags else call.tags
    trace = CallTrace(
        observers,
        operation="count_tokens" if call.path.endswith("count_tokens") else "chat",
        stream=call.stream,
        deployment=call.deployment,
        tags=merged,
    )
    if record_content:
        trace.request_body = call.body
        trace.reply = []
    routing = ROUTING.get()
    if routing is not None:
        trace.route, trace.deployment, trace.failovers = routing
    call.trace = trace
    return observed_flow(flow, trace)


ROUTING: ContextVar[tuple[str, str, int] | None] = ContextVar(
    "claude_foundry_routing", default=None
)
"""Set by a routed client around each attempt: (route, deployment, failovers so far). A trace
started meanwhile (in this thread or task) takes them, so the record names the catalogue
deployment the attempt went to; a stream's trace keeps them until the stream ends."""

LEDGER_ENVIRONMENT_VARIABLE = "CLAUDE_FOUNDRY_LEDGER"


def resolve_observers(
    ledger: Any,
    observers: Iterable[CallObserver] = (),
    environ: Mapping[str, str] | None = None,
) -> tuple[CallObserver, ...]:
    """The observers a client hands its records to.

    ``ledger`` is a URL (``sqlite:///usage.db``, ``postgresql://...``), an observer (a
    :class:`claude_foundry.ledger.Ledger`), ``False`` for none, or ``None`` for the
    ``CLAUDE_FOUNDRY_LEDGER`` environment variable. A URL opens the ledger through
    :func:`claude_foundry.ledger.open_ledger`, imported only then: the ledger builds on the client,
    so the client reaches it by name at run time instead of importing it.
    """
    resolved = list(observers)
    for observer in resolved:
        if not isinstance(observer, CallObserver):
            raise TypeError(
                f"observers must have a record_call(record) method; got {type(observer).__name__}"
            )
    if ledger is None:
        environ = os.environ if environ is None else environ
        ledger = environ.get(LEDGER_ENVIRONMENT_VARIABLE) or None
    if ledger is None or ledger is False:
        return tuple(resolved)
    if isinstance(ledger, str):
        from importlib import import_module

        ledger = import_module("claude_foundry.ledger").open_ledger(ledger)
    if not isinstance(ledger, CallObserver):
        raise TypeError(
            "ledger must be a URL (sqlite:///path or postgresql://...), a Ledger, or False; got "
            f"{type(ledger).__name__}"
        )
    resolved.insert(0, ledger)
    return tuple(resolved)
