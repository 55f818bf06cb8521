"""The request pipeline, sans-IO: build a request, classify a response, decide a retry, map errors.

:meth:`Pipeline.request_flow` is a generator. It yields :data:`Step` objects, each one piece of
I/O (send a request, read a chunk, sleep, call the token provider ...), and receives the result
back (or has the I/O's exception thrown into it). :class:`~claude_foundry.AnthropicFoundry` and
:class:`~claude_foundry.AsyncAnthropicFoundry` drive the same flow; the only difference between
them is how they perform a step. Every decision (retry policy, ``Retry-After`` parsing, error
mapping, the first events of a stream) is made here, once; turning a response into its result or
its typed error is :mod:`claude_foundry._responses`.

Retries: 408, 409, 429, every status >= 500, connection errors and timeouts; ``x-should-retry``
overrides the status rule. A stream is read inside the retry loop until its first content: while
only ``message_start`` / ``content_block_start`` / ``ping`` have arrived nothing has reached the
caller, so a stream that fails there (dropped, cut short, stalled, or an ``event: error`` whose
type maps to a retryable status) is retried like any request. The stream is handed over with the
first ``content_block_delta`` (or any other event, or after :data:`MAX_PRELUDE_EVENTS`); from
then on errors reach the caller and nothing is sent twice. A stream that is not retried (an error
of a client type, no retries left) is handed over with the events that arrived, then its error.

Time limits (:mod:`claude_foundry._deadline`): each attempt gets a deadline from its timeout,
carried by the steps it yields; a stream's reads get one from :class:`StreamLimits`, renewed by
every event.
"""

from __future__ import annotations

import contextlib
import email.utils
import itertools
import logging
import random
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx2

from ._admission import AdmissionAsk, AdmissionGate, Outcome, Priority, usage_outcome
from ._config import SENTINEL_TYPE_NAMES
from ._deadline import BODY_DEADLINE, StreamLimits, attempt_limit, stream_total
from ._errors import APIConnectionError, APIError, APIStatusError, RetryableError
from ._events import transport_error as stream_transport_error
from ._redact import CredentialSafeRequest, redact_error
from ._responses import (
    event_decoder,
    invalid_response,
    parse_message,
    parse_token_count,
    status_error_from_response,
    transport_error,
)
from ._steps import (
    Admit,
    Close,
    FetchToken,
    NextChunk,
    OpenChunks,
    ReadBody,
    Send,
    Settle,
    Sleep,
    Step,
)
from .types import ContentBlockStartEvent, MessageStartEvent, StreamEvent

if TYPE_CHECKING:
    from ._auth import Auth
    from ._config import Settings
    from ._events import EventDecoder

__all__ = [
    "Admit",
    "AsyncRequester",
    "Call",
    "CallObservation",
    "Close",
    "FetchToken",
    "NextChunk",
    "OpenChunks",
    "Pipeline",
    "ReadBody",
    "Send",
    "Settle",
    "Sleep",
    "Step",
    "StreamStart",
    "SyncRequester",
    "backoff_delay",
    "parse_message",
    "parse_token_count",
    "requested_retry_delay",
    "retry_delay",
    "should_retry_response",
    "should_retry_status",
    "status_error_from_response",
    "transport_error",
]

log = logging.getLogger("claude_foundry")

MAX_BACKOFF_DELAY = 8.0
INITIAL_BACKOFF_DELAY = 0.5
MAX_PRELUDE_EVENTS = 8
"""How many events before any content a stream holds back while it may still be retried."""


class CallObservation(Protocol):
    """The state a call's observers are told about while it runs (``_observe.CallTrace``;
    declared here so the flow does not import its observers). A router or quota step may set
    ``route``, ``deployment`` (per attempt) and ``failovers``; a stream reports its events and
    its end."""

    route: str | None
    deployment: str | None
    failovers: int

    def events(self, events: Iterable[Any]) -> None: ...

    def stream_ended(self, error: BaseException | None) -> None: ...


@dataclass(slots=True)
class StreamStart:
    """A stream whose first events arrived; the driver wraps it in a Stream / AsyncStream."""

    response: httpx2.Response
    decoder: EventDecoder
    chunks: Any
    pending: Sequence[StreamEvent]
    limits: StreamLimits | None = None
    admission: tuple[AdmissionGate, object] | None = None
    """The gate and grant to settle when the stream ends (the driver wraps its events)."""
    trace: CallObservation | None = None
    """Set when the call is observed: the stream records the call when it ends."""


# --- pure decisions -----------------------------------------------------------------------------


def should_retry_status(status_code: int) -> bool:
    return status_code in (408, 409, 429) or status_code >= 500


def should_retry_response(status_code: int, headers: httpx2.Headers | Mapping[str, str]) -> bool:
    """The retry rule for an error response: ``x-should-retry`` wins, then the status."""
    override = headers.get("x-should-retry")
    if override == "true":
        return True
    if override == "false":
        return False
    return should_retry_status(status_code)


def requested_retry_delay(
    headers: httpx2.Headers | Mapping[str, str] | None, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, else ``retry-after`` (seconds or an
    HTTP date). ``None`` when there is no usable value."""
    if not headers:
        return None
    retry_ms = headers.get("retry-after-ms")
    if retry_ms is not None:
        try:
            return float(retry_ms) / 1000.0
        except ValueError:
            pass
    retry_after = headers.get("retry-after")
    if retry_after is None:
        return None
    try:
        return float(retry_after)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(retry_after)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed) - now())


def backoff_delay(retries_taken: int, rand: Callable[[], float] = random.random) -> float:
    """``min(0.5 * 2**n, 8) * (1 - 0.25 * U)``: about 0.4-0.5 s, then 0.75-1 s, ... up to 8 s."""
    base = min(INITIAL_BACKOFF_DELAY * 2.0 ** min(retries_taken, 64), MAX_BACKOFF_DELAY)
    return base * (1.0 - 0.25 * rand())


def retry_delay(
    headers: httpx2.Headers | Mapping[str, str] | None,
    retries_taken: int,
    *,
    max_retry_delay: float,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """How long to wait before the next attempt: the server's request (capped at
    ``max_retry_delay``) if it made a positive one, else exponential backoff with jitter."""
    requested = requested_retry_delay(headers, now)
    if requested is not None and requested > 0:  # NaN fails the test and falls through
        return min(requested, max_retry_delay)
    return backoff_delay(retries_taken, rand)


# --- the flow -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Call:
    """One API call: where, what, and how to read the answer."""

    path: str
    body: bytes
    stream: bool = False
    # Per-request headers may carry a caller's own Authorization or api-key: never in a repr.
    extra_headers: Mapping[str, Any] | None = field(default=None, repr=False)
    extra_query: Mapping[str, object] | None = None
    timeout: httpx2.Timeout | None = None  # None: the client's timeout
    max_retries: int | None = None  # None: the client's max_retries
    parse: Callable[[httpx2.Response], Any] = field(default=parse_message)
    unread: bool = False
    """Return the successful response with its body unread (``with_streaming_response``)."""
    model: str | None = None
    max_tokens: int | None = None
    """Set for calls that create a message: what admission reserves (none for count_tokens)."""
    deployment: str | None = None
    """The ``model`` (deployment name) the caller sent, count_tokens included: for observers."""
    tags: Mapping[str, str] | None = None
    """The caller's tags for this call's record (never sent)."""
    trace: CallObservation | None = None
    """The call's observation state while it runs; ``None`` when nothing observes the client."""


class SyncRequester(Protocol):
    """What the resources need of :class:`~claude_foundry.AnthropicFoundry`: named here so that
    ``resources`` and ``_client`` do not import each other."""

    _uses_default_timeout: bool

    def _request(self, call: Call) -> Any: ...


class AsyncRequester(Protocol):
    """What the resources need of :class:`~claude_foundry.AsyncAnthropicFoundry`."""

    _uses_default_timeout: bool

    async def _request(self, call: Call) -> Any: ...


# The x-stainless-retry-count header values of the first attempts, formatted once.
_RETRY_COUNT_TEXT = tuple(str(n) for n in range(16))


class Pipeline:
    """Per-client request state (built once) and the request flow."""

    def __init__(
        self,
        settings: Settings,
        auth: Auth,
        *,
        user_agent: str,
        inherited_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.auth = auth
        self.max_retries = settings.max_retries
        self.max_retry_delay = settings.max_retry_delay
        self.retry_budget = settings.retry_budget
        self._base_url = settings.base_url
        self._timeout = settings.timeout
        self._timeout_extension = settings.timeout.as_dict()
        self._attempt_limit = attempt_limit(settings.timeout)
        # Lowest precedence first: a custom HTTP client's headers, ours, the caller's
        # default_headers (as in the official client), then the credential's header.
        headers = {name.lower(): value for name, value in (inherited_headers or {}).items()}
        headers["accept"] = "application/json"
        headers["content-type"] = "application/json"
        headers["user-agent"] = user_agent
        headers["anthropic-version"] = settings.anthropic_version
        for source in (settings.custom_headers, auth.static_headers):
            for name, value in source.items():
                headers[name.lower()] = value
        self.base_headers = headers
        self._query = dict(settings.custom_query)
        self._urls: dict[str, httpx2.URL] = {}
        self.clock: Callable[[], float] = time.monotonic
        self.now: Callable[[], float] = time.time
        self.random: Callable[[], float] = random.random
        self.admission: AdmissionGate | None = None
        """A quota governor asked before each attempt (``AnthropicFoundry(governor=...)``)."""
        self.priority: Priority = "interactive"
        self.pool: str | None = None
        """The quota pool of this client's deployments, when a router's catalogue says."""
        self.hand_over_failed_streams = True
        """A stream that failed before its content and is not retried is handed over with its
        events, then its error; a router sets False to get the error and fail over instead."""

    def url_for(self, path: str) -> httpx2.URL:
        url = self._urls.get(path)
        if url is None:
            url = httpx2.URL(self._base_url + path)
            if self._query:
                url = url.copy_merge_params(self._query)  # type: ignore[arg-type]
            self._urls[path] = url
        return url

    def build_request(self, call: Call, retries_taken: int) -> httpx2.Request:
        headers = self.base_headers.copy()
        headers["x-stainless-retry-count"] = (
            _RETRY_COUNT_TEXT[retries_taken]
            if retries_taken < len(_RETRY_COUNT_TEXT)
            else str(retries_taken)
        )
        if call.extra_headers:
            for name, value in call.extra_headers.items():
                if value is None or type(value).__name__ in SENTINEL_TYPE_NAMES:
                    headers.pop(name.lower(), None)
                else:
                    headers[name.lower()] = value
        url = self.url_for(call.path)
        if call.extra_query:
            url = url.copy_merge_params(call.extra_query)  # type: ignore[arg-type]
        timeout = self._timeout_extension if call.timeout is None else call.timeout.as_dict()
        return CredentialSafeRequest(
            "POST", url, headers=headers, content=call.body, extensions={"timeout": timeout}
        )

    def request_flow(self, call: Call) -> Generator[Step, Any, Any]:
        """Send ``call`` with retries; return the parsed result or a :class:`StreamStart`.

        An error leaves without the caller's secrets, even if the server echoed them.
        """
        try:
            return (yield from self._retrying_flow(call))
        except APIError as exc:
            redact_error(exc)
            raise

    def _retrying_flow(self, call: Call) -> Generator[Step, Any, Any]:
        max_retries = self.max_retries if call.max_retries is None else call.max_retries
        keep = (
            frozenset(name.lower() for name in call.extra_headers)
            if call.extra_headers
            else frozenset()
        )
        started = self.clock()
        retries_taken = 0
        gate = self.admission if call.max_tokens is not None else None
        waited = 0.0
        while True:
            request = self.build_request(call, retries_taken)
            grant: object = None
            if gate is not None:
                grant, waited = yield from self._admit(gate, call, waited)
            # A stream that failed after some events: what the caller gets if it is not retried.
            fallback: StreamStart | None = None
            try:
                result = yield from self._attempt(call, request, keep)
            except GeneratorExit:
                if gate is not None:
                    gate.release(grant)
                raise
            except _StreamFailedEarly as early:
                fallback = early.start
                error, retryable, headers = _retry_decision(early.error, request)
            except (httpx2.RequestError, APIConnectionError, APIStatusError) as exc:
                error, retryable, headers = _retry_decision(exc, request)
            except RetryableError as exc:  # middleware asked for another attempt
                error, retryable, headers = exc, True, None
            else:
                if gate is not None:
                    if type(result) is StreamStart:
                        result.admission = (gate, grant)
                    else:
                        yield Settle(gate, grant, usage_outcome(getattr(result, "usage", None)))
                return result
            if gate is not None:
                yield Settle(gate, grant, self._failure_outcome(error, headers))
            delay = None
            if retryable and retries_taken < max_retries:
                delay = self._delay_within_budget(error, headers, retries_taken, started)
            elif retries_taken:
                error.add_note(f"(gave up after {retries_taken + 1} attempts)")
            if delay is None:
                if fallback is not None and self.hand_over_failed_streams:
                    return fallback
                raise error
            log.info(
                "retrying %s in %.2f s (attempt %d of %d): %s",
                call.path,
                delay,
                retries_taken + 2,
                max_retries + 1,
                type(error).__name__,
            )
            yield Sleep(delay)
            retries_taken += 1

    def _admit(
        self, gate: AdmissionGate, call: Call, waited: float
    ) -> Generator[Step, Any, tuple[object, float]]:
        """Ask until granted (sleeping as told); the gate raises when the wait runs too long."""
        assert call.model is not None
        assert call.max_tokens is not None
        ask = AdmissionAsk(
            model=call.model,
            max_tokens=call.max_tokens,
            body_size=len(call.body),
            priority=self.priority,
            base_url=self._base_url,
            waited=waited,
            pool=self.pool,
        )
        while True:
            verdict = yield Admit(gate, ask)
            if verdict.grant is not None:
                return verdict.grant, ask.waited
            yield Sleep(verdict.wait)
            ask.waited += verdict.wait

    def _failure_outcome(self, error: Exception, headers: httpx2.Headers | None) -> Outcome:
        if isinstance(error, APIStatusError):
            retry_after = requested_retry_delay(headers, self.now) if headers else None
            return Outcome(
                status=error.status_code,
                retry_after=retry_after,
                message=error.api_message,
                output_tokens=0,  # the server answered: nothing was produced
            )
        return Outcome(reached=False)

    def _delay_within_budget(
        self,
        error: Exception,
        headers: httpx2.Headers | None,
        retries_taken: int,
        started: float,
    ) -> float | None:
        """The wait before the next attempt, or ``None`` (said in a note on ``error``) when
        waiting would run past the retry budget."""
        delay = retry_delay(
            headers,
            retries_taken,
            max_retry_delay=self.max_retry_delay,
            rand=self.random,
            now=self.now,
        )
        budget = self.retry_budget
        if budget is not None and self.clock() - started + delay > budget:
            error.add_note(
                f"(not retried: waiting {delay:.1f} s more would exceed the retry budget of "
                f"{budget:g} s after {retries_taken + 1} attempts)"
            )
            return None
        return delay

    def _attempt(
        self, call: Call, request: httpx2.Request, keep: frozenset[str]
    ) -> Generator[Step, Any, Any]:
        timeout = self._timeout if call.timeout is None else call.timeout
        limit = self._attempt_limit if call.timeout is None else attempt_limit(timeout)
        total = stream_total(timeout) if call.stream else None
        if total is not None and (limit is None or total < limit):
            limit = total  # a stream's headers count towards its whole length too
        started = self.clock()
        deadline = None if limit is None else started + limit
        try:
            streamed = call.stream or call.unread
            response: httpx2.Response = yield from self.auth.auth_flow(
                request, stream=streamed, keep=keep, deadline=deadline
            )
            status = response.status_code
            if status < 200 or status >= 300:
                if streamed:
                    # The error is the status; a body we cannot read only loses detail.
                    with contextlib.suppress(httpx2.RequestError):
                        yield ReadBody(response, deadline)
                raise status_error_from_response(response)
            if call.unread:
                if not call.stream:
                    # The caller reads the body later: the attempt's time limit goes with it.
                    response.extensions[BODY_DEADLINE] = deadline
                return response
            if not call.stream:
                return call.parse(response)
        except httpx2.TimeoutException as exc:
            if deadline is None or self.clock() < deadline:
                raise
            # Not one slow operation but the whole attempt: a server that trickles its answer.
            raise transport_error(exc, request, attempt_limit=limit) from exc
        limits = StreamLimits(idle=timeout.read, total=total, started=started, clock=self.clock)
        return (yield from self._open_stream(response, limits))

    def _open_stream(
        self, response: httpx2.Response, limits: StreamLimits
    ) -> Generator[Step, Any, StreamStart]:
        ctype = response.headers.get("content-type")
        if ctype is not None and "event-stream" not in ctype.lower():
            yield ReadBody(response, limits.deadline)
            raise invalid_response(response, "a body that is not an event stream", response.content)
        decoder = event_decoder(response)
        chunks = yield OpenChunks(response)
        # Events that arrived before any content; nothing has reached the caller yet.
        held: list[StreamEvent] = []
        try:
            while True:
                try:
                    chunk = yield NextChunk(chunks, limits.deadline)
                except httpx2.TransportError as exc:
                    if not held and limits.expired() is None:
                        raise
                    raise stream_transport_error(exc, decoder, limits) from exc
                if chunk is None:
                    held += decoder.end()
                    return StreamStart(response, decoder, _exhausted_chunks(chunks), held, limits)
                # Feed one SSE event at a time so that where the retry window closes does not
                # depend on how the bytes were chunked: an error that follows the first delta in
                # the same chunk belongs to the stream (raised while iterating), not to the retry
                # loop.
                start, size = 0, len(chunk)
                while start < size:
                    boundary = _EVENT_END.search(chunk, start)
                    end = boundary.end() if boundary is not None else size
                    events = decoder.feed(chunk[start:end] if start or end < size else chunk)
                    start = end
                    limits.saw(decoder.events_received)
                    if events:
                        held += events
                        if not _only_prelude(events) or len(held) >= MAX_PRELUDE_EVENTS:
                            if start < size:
                                chunks = _prepend(chunk[start:], chunks)
                            return StreamStart(response, decoder, chunks, held, limits)
        except Exception as exc:
            yield Close(response)
            if held:
                failed = StreamStart(response, decoder, _failing_chunks(chunks, exc), held, limits)
                raise _StreamFailedEarly(exc, failed) from None
            raise


_PRELUDE_EVENT_TYPES = (MessageStartEvent, ContentBlockStartEvent)


def _only_prelude(events: list[StreamEvent]) -> bool:
    return all(type(event) in _PRELUDE_EVENT_TYPES for event in events)


class _StreamFailedEarly(Exception):
    """A stream failed after some events but before any content. ``start`` hands the caller
    those events, then ``error``, if the request is not retried. Never leaves the flow."""

    def __init__(self, error: Exception, start: StreamStart) -> None:
        super().__init__(error)
        self.error = error
        self.start = start


def _retry_decision(
    exc: Exception, request: httpx2.Request
) -> tuple[Exception, bool, httpx2.Headers | None]:
    """The error to report for a failed attempt, whether to retry it, and the headers that may
    say when. An error inside a stream is judged by the status its type stands for alone:
    ``x-should-retry`` and ``retry-after`` belong to the 200 response, not to the error."""
    if isinstance(exc, httpx2.RequestError):
        error = transport_error(exc, request)
        error.__cause__ = exc
        return error, True, None
    if isinstance(exc, APIStatusError):
        if exc.in_stream or exc.response is None:
            return exc, should_retry_status(exc.status_code), None
        headers = exc.response.headers
        return exc, should_retry_response(exc.status_code, headers), headers
    if isinstance(exc, APIConnectionError):
        return exc, True, None
    return exc, False, None


_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def _prepend(first: bytes, chunks: Any) -> Any:
    """``chunks`` (sync or async iterator) with ``first`` put back in front."""
    if hasattr(chunks, "__anext__"):

        async def joined_async() -> Any:
            yield first
            async for chunk in chunks:
                yield chunk

        return joined_async()
    return itertools.chain((first,), chunks)


def _exhausted_chunks(chunks: Any) -> Any:
    # The body ended while looking for the first event; hand the stream an iterator that is
    # already finished (of the same kind, sync or async) instead of re-reading a closed one.
    if hasattr(chunks, "__anext__"):

        async def empty_async() -> Any:
            return
            yield

        return empty_async()
    return iter(())


def _failing_chunks(chunks: Any, error: Exception) -> Any:
    """A chunk iterator (of the same kind as ``chunks``) that raises ``error``: a stream handed
    over after an early failure yields the events that arrived, then fails as it did."""
    if hasattr(chunks, "__anext__"):

        async def fail_async() -> Any:
            raise error
            yield

        return fail_async()

    def fail() -> Any:
        raise error
        yield

    return fail()
