"""Streams of Messages API events: raw (:class:`Stream`) and helped (:class:`MessageStream`).

The decisions live in sans-IO parts written once: :class:`~claude_foundry._events.EventDecoder`
(bytes → typed events, errors classified; re-exported here) and
:class:`~claude_foundry._accumulate.MessageAccumulator` (raw events → helper events and the
message). The sync and async classes here only move bytes and events.

    with client.messages.stream(model=..., max_tokens=..., messages=[...]) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
        message = stream.get_final_message()

What goes wrong mid-stream is raised as the error the user would catch for it:

- ``event: error`` → the class of its ``error.type`` (``overloaded_error`` →
  :class:`OverloadedError` with ``status_code`` 529 and ``in_stream`` set), with the request ids;
- a stream that ends before ``message_stop`` or a dropped connection → :class:`APIConnectionError`,
  no event within the read timeout (or past ``stream_total``) → :class:`APITimeoutError`, each
  saying how many events arrived;
- data that is not JSON → :class:`APIResponseValidationError` naming the event.

Every path out (exhausted, error, ``close()``, leaving a ``with`` block) closes the response.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Sequence,
)
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx2

from ._accumulate import (
    MessageAccumulator,
    MessageStreamEvent,
    StreamEventOrderError,
    ToolInputJSONError,
)
from ._deadline import READ_DEADLINE, StreamLimits
from ._errors import APIError
from ._events import EventDecoder, transport_error
from ._redact import redact_error
from .types import (
    ContentBlockDeltaEvent,
    Message,
    StreamEvent,
    TextBlock,
    TextDelta,
)

if TYPE_CHECKING:
    from ._pipeline import CallObservation

__all__ = [
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "AsyncStream",
    "EventDecoder",
    "MessageStream",
    "MessageStreamEvent",
    "MessageStreamManager",
    "Stream",
    "StreamEventOrderError",
    "ToolInputJSONError",
]


class _Closing:
    """Set by ``close()``; lets a read that fails because of it end quietly, even in another
    thread or task that was blocked reading when the stream was closed."""

    __slots__ = ("requested",)

    def __init__(self) -> None:
        self.requested = False


def _iterate_events(
    response: httpx2.Response,
    decoder: EventDecoder,
    chunks: Iterator[bytes],
    pending: Sequence[StreamEvent],
    closing: _Closing,
    limits: StreamLimits | None,
    trace: CallObservation | None = None,
) -> Generator[StreamEvent, None, None]:
    # A module-level generator (not a method) so it holds no reference to its Stream: a dropped
    # stream is then freed at once and the generator's `finally` closes the response.
    failure: BaseException | None = None
    try:
        yield from pending
        feed = decoder.feed
        while True:
            try:
                if limits is None:
                    chunk = next(chunks, None)
                else:
                    # Set and reset around each read, never across a yield: the caller's code
                    # between events runs in the same context and must not inherit the limit.
                    token = READ_DEADLINE.set(limits.deadline)
                    try:
                        chunk = next(chunks, None)
                    finally:
                        READ_DEADLINE.reset(token)
            except Exception as exc:
                if closing.requested:
                    return
                if isinstance(exc, httpx2.TransportError):
                    raise transport_error(exc, decoder, limits) from exc
                raise
            if chunk is None:
                break
            events = feed(chunk)
            if limits is not None:
                limits.saw(decoder.events_received)
            if events:
                if trace is not None:
                    trace.events(events)
                yield from events
        if not closing.requested:
            events = decoder.end()
            if trace is not None:
                trace.events(events)
            yield from events
    except APIError as exc:
        redact_error(exc)  # the server may have echoed a key or token
        failure = exc
        raise
    except BaseException as exc:
        failure = exc
        raise
    finally:
        response.close()
        if trace is not None:
            trace.stream_ended(failure)


async def _aiterate_events(
    response: httpx2.Response,
    decoder: EventDecoder,
    chunks: AsyncIterator[bytes],
    pending: Sequence[StreamEvent],
    closing: _Closing,
    limits: StreamLimits | None,
    trace: CallObservation | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    failure: BaseException | None = None
    try:
        for event in pending:
            yield event
        feed = decoder.feed
        while True:
            try:
                if limits is None:
                    chunk = await anext(chunks, None)
                else:
                    token = READ_DEADLINE.set(limits.deadline)
                    try:
                        chunk = await anext(chunks, None)
                    finally:
                        READ_DEADLINE.reset(token)
            except Exception as exc:
                if closing.requested:
                    return
                if isinstance(exc, httpx2.TransportError):
                    raise transport_error(exc, decoder, limits) from exc
                raise
            if chunk is None:
                break
            events = feed(chunk)
            if limits is not None:
                limits.saw(decoder.events_received)
            if trace is not None and events:
                trace.events(events)
            for event in events:
                yield event
        if not closing.requested:
            events = decoder.end()
            if trace is not None:
                trace.events(events)
            for event in events:
                yield event
    except APIError as exc:
        redact_error(exc)  # the server may have echoed a key or token
        failure = exc
        raise
    except BaseException as exc:
        failure = exc
        raise
    finally:
        await response.aclose()
        if trace is not None:
            trace.stream_ended(failure)


class _StreamBase:
    __slots__ = ("_decoder", "response")

    def __init__(self, response: httpx2.Response, decoder: EventDecoder) -> None:
        self.response = response
        self._decoder = decoder

    @property
    def request_id(self) -> str | None:
        """The ``request-id`` response header."""
        return self._decoder.request_id

    @property
    def apim_request_id(self) -> str | None:
        """The ``apim-request-id`` response header (Azure API Management); support asks for it."""
        return self._decoder.apim_request_id


class Stream(_StreamBase):
    """The raw events of a streamed response: what ``messages.create(stream=True)`` returns.

    Iterate it (once; a second loop continues where the first stopped), or use it as a context
    manager so the response is closed even when you stop early.
    """

    __slots__ = ("_chunks", "_closing", "_events", "_trace")

    def __init__(
        self,
        *,
        response: httpx2.Response,
        decoder: EventDecoder,
        chunks: Iterator[bytes],
        pending: Sequence[StreamEvent] = (),
        limits: StreamLimits | None = None,
        trace: CallObservation | None = None,
    ) -> None:
        super().__init__(response, decoder)
        self._chunks = chunks
        self._closing = _Closing()
        self._trace = trace
        self._events = _iterate_events(
            response, decoder, chunks, pending, self._closing, limits, trace
        )

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._events

    def __next__(self) -> StreamEvent:
        return next(self._events)

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream and release the connection. Safe to call more than once, and from
        another thread than the one iterating (that iteration then ends quietly)."""
        self._closing.requested = True
        try:
            self._events.close()
        except ValueError:
            # Running in another thread, blocked in a read that closing the response would
            # not interrupt: shut the socket down so the read fails now, and `_closing` turns
            # that failure into a quiet end.
            _shutdown_socket(self.response)
        close_chunks = getattr(self._chunks, "close", None)
        if close_chunks is not None:
            with contextlib.suppress(ValueError):
                close_chunks()
        self.response.close()
        if self._trace is not None:
            self._trace.stream_ended(None)  # closed before its iteration began (else a no-op)

    def __del__(self) -> None:
        # A stream dropped without being iterated or closed never runs its events' cleanup, so
        # its call would go unrecorded; record it as cancelled (a no-op once it has ended).
        trace = getattr(self, "_trace", None)  # unset if __init__ failed
        if trace is not None:
            trace.stream_ended(None)


def _shutdown_socket(response: httpx2.Response) -> None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class AsyncStream(_StreamBase):
    """The async twin of :class:`Stream`: ``async for``, ``async with``, ``await close()``."""

    __slots__ = ("_chunks", "_closing", "_events", "_trace")

    def __init__(
        self,
        *,
        response: httpx2.Response,
        decoder: EventDecoder,
        chunks: AsyncIterator[bytes],
        pending: Sequence[StreamEvent] = (),
        limits: StreamLimits | None = None,
        trace: CallObservation | None = None,
    ) -> None:
        super().__init__(response, decoder)
        self._chunks = chunks
        self._closing = _Closing()
        self._trace = trace
        self._events = _aiterate_events(
            response, decoder, chunks, pending, self._closing, limits, trace
        )

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events

    async def __anext__(self) -> StreamEvent:
        return await anext(self._events)

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the stream and release the connection. Safe to call more than once, and from
        another task than the one iterating (that iteration then ends quietly)."""
        self._closing.requested = True
        # RuntimeError: being iterated by another task right now; closing the response below
        # makes its read fail, and `_closing` turns that into a quiet end.
        with contextlib.suppress(RuntimeError):
            await self._events.aclose()
        close_chunks = getattr(self._chunks, "aclose", None)
        if close_chunks is not None:
            with contextlib.suppress(RuntimeError):
                await close_chunks()
        await self.response.aclose()
        if self._trace is not None:
            self._trace.stream_ended(None)  # closed before its iteration began (else a no-op)

    def __del__(self) -> None:
        # As for Stream: a stream dropped unread and unclosed is still recorded, as cancelled.
        trace = getattr(self, "_trace", None)  # unset if __init__ failed
        if trace is not None:
            trace.stream_ended(None)


# --- the helper ------------------------------------------------------------------------------


def _final_text(message: Message) -> str:
    texts = [block.text for block in message.content if type(block) is TextBlock]
    if not texts:
        kinds = ", ".join(str(block.type) for block in message.content) or "none"
        raise RuntimeError(
            "get_final_text() needs a `text` content block, but the message has "
            f"{kinds}. Read them with get_final_message().content."
        )
    return "".join(texts)


class _Outcome:
    """How the helper's iteration ended, kept apart from the stream to avoid a reference cycle."""

    __slots__ = ("failure",)

    def __init__(self) -> None:
        self.failure: BaseException | None = None


def _helper_events(
    raw: Stream, accumulator: MessageAccumulator, outcome: _Outcome
) -> Generator[MessageStreamEvent, None, None]:
    feed = accumulator.feed
    try:
        for event in raw:
            yield from feed(event)
    except Exception as exc:
        outcome.failure = exc
        raise
    finally:
        raw.close()


async def _ahelper_events(
    raw: AsyncStream, accumulator: MessageAccumulator, outcome: _Outcome
) -> AsyncGenerator[MessageStreamEvent, None]:
    feed = accumulator.feed
    try:
        async for event in raw:
            for out in feed(event):
                yield out
    except Exception as exc:
        outcome.failure = exc
        raise
    finally:
        await raw.close()


# text_stream and until_done read the same raw stream as iteration does (so a loop picks up where
# another stopped) but skip building derived events nobody will see.


def _text_only(
    raw: Stream, accumulator: MessageAccumulator, outcome: _Outcome
) -> Generator[str, None, None]:
    absorb = accumulator.absorb
    try:
        for event in raw:
            absorb(event)
            if type(event) is ContentBlockDeltaEvent and type(event.delta) is TextDelta:
                yield event.delta.text
    except Exception as exc:
        outcome.failure = exc
        raise
    finally:
        raw.close()


async def _atext_only(
    raw: AsyncStream, accumulator: MessageAccumulator, outcome: _Outcome
) -> AsyncGenerator[str, None]:
    absorb = accumulator.absorb
    try:
        async for event in raw:
            absorb(event)
            if type(event) is ContentBlockDeltaEvent and type(event.delta) is TextDelta:
                yield event.delta.text
    except Exception as exc:
        outcome.failure = exc
        raise
    finally:
        await raw.close()


_RawStreamT = TypeVar("_RawStreamT", Stream, AsyncStream)


class _MessageStreamBase(Generic[_RawStreamT]):
    """State and accessors shared by :class:`MessageStream` and :class:`AsyncMessageStream`."""

    def __init__(
        self, raw: _RawStreamT, finish: Callable[[Message], Message] | None = None
    ) -> None:
        self._raw: _RawStreamT = raw
        # Turns the final message into the caller's view of it once (messages.stream with
        # output_format gives a ParsedMessage).
        self._finish = finish
        self._final: Message | None = None
        self._accumulator = MessageAccumulator(
            response=raw.response,
            request_id=raw.request_id,
            apim_request_id=raw.apim_request_id,
        )
        self._outcome = _Outcome()

    @property
    def response(self) -> httpx2.Response:
        return self._raw.response

    @property
    def request_id(self) -> str | None:
        return self._raw.request_id

    @property
    def apim_request_id(self) -> str | None:
        return self._raw.apim_request_id

    @property
    def current_message_snapshot(self) -> Message:
        """The message accumulated so far (complete once the stream has ended)."""
        message = self._accumulator.message
        if message is None:
            raise RuntimeError(
                "No message yet: 'message_start' has not arrived. Iterate the stream first."
            )
        return message

    def _snapshot(self) -> Message | None:
        """The message accumulated so far; ``None`` before ``message_start``."""
        return self._accumulator.message

    def _finished_message(self) -> Message:
        if self._outcome.failure is not None:
            raise self._outcome.failure
        message = self._accumulator.message
        if message is None or not self._accumulator.done:
            raise RuntimeError(
                "The stream was closed before 'message_stop', so there is no final message. "
                "current_message_snapshot holds what arrived before it was closed."
            )
        if self._finish is None:
            return message
        if self._final is None:
            self._final = self._finish(message)
        return self._final


class MessageStream(_MessageStreamBase[Stream]):
    """What ``with client.messages.stream(...) as stream`` gives you.

    Iterating yields each raw event followed by its derived events (``text``, ``thinking``,
    ``signature``, ``input_json``, ``citation``; ``content_block_stop`` with the block and
    ``message_stop`` with the message). ``text_stream`` yields just the text. Both draw from the
    same underlying stream, so a loop picks up where another stopped.
    """

    text_stream: Iterator[str]

    def __init__(self, raw: Stream, finish: Callable[[Message], Message] | None = None) -> None:
        super().__init__(raw, finish)
        self._events = _helper_events(raw, self._accumulator, self._outcome)
        self._text = _text_only(raw, self._accumulator, self._outcome)
        self.text_stream = self._text

    def __iter__(self) -> Iterator[MessageStreamEvent]:
        return self._events

    def __next__(self) -> MessageStreamEvent:
        return next(self._events)

    def _interpose(
        self,
        wrap: Callable[[Generator[StreamEvent, None, None]], Generator[StreamEvent, None, None]],
    ) -> None:
        """Pass the raw events through ``wrap`` before any reader (iteration, ``text_stream``,
        ``get_final_message``) gets them; call it before reading. The tool runner runs tools
        there with ``run_tools_eagerly``. Closing the stream closes ``wrap``'s generator."""
        self._raw._events = wrap(self._raw._events)

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream and release the connection. Safe to call more than once."""
        try:
            self._events.close()
            self._text.close()
        finally:
            self._raw.close()

    def until_done(self) -> None:
        """Read the stream to its end."""
        for _ in self.text_stream:
            pass

    def get_final_message(self) -> Message:
        """Read the stream to its end and return the accumulated message."""
        self.until_done()
        return self._finished_message()

    def get_final_text(self) -> str:
        """The text of every ``text`` block, joined. :class:`RuntimeError` if there is none."""
        return _final_text(self.get_final_message())


class AsyncMessageStream(_MessageStreamBase[AsyncStream]):
    """The async twin of :class:`MessageStream` (``async for``; awaitable helpers)."""

    text_stream: AsyncIterator[str]

    def __init__(
        self, raw: AsyncStream, finish: Callable[[Message], Message] | None = None
    ) -> None:
        super().__init__(raw, finish)
        self._events = _ahelper_events(raw, self._accumulator, self._outcome)
        self._text = _atext_only(raw, self._accumulator, self._outcome)
        self.text_stream = self._text

    def __aiter__(self) -> AsyncIterator[MessageStreamEvent]:
        return self._events

    async def __anext__(self) -> MessageStreamEvent:
        return await anext(self._events)

    def _interpose(
        self,
        wrap: Callable[[AsyncGenerator[StreamEvent, None]], AsyncGenerator[StreamEvent, None]],
    ) -> None:
        """The async twin of :meth:`MessageStream._interpose`."""
        self._raw._events = wrap(self._raw._events)

    async def __aenter__(self) -> AsyncMessageStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the stream and release the connection. Safe to call more than once."""
        try:
            # RuntimeError: being iterated by another task right now; closing the raw stream
            # stops that iteration instead.
            with contextlib.suppress(RuntimeError):
                await self._events.aclose()
            with contextlib.suppress(RuntimeError):
                await self._text.aclose()
        finally:
            await self._raw.close()

    async def until_done(self) -> None:
        """Read the stream to its end."""
        async for _ in self.text_stream:
            pass

    async def get_final_message(self) -> Message:
        """Read the stream to its end and return the accumulated message."""
        await self.until_done()
        return self._finished_message()

    async def get_final_text(self) -> str:
        """The text of every ``text`` block, joined. :class:`RuntimeError` if there is none."""
        return _final_text(await self.get_final_message())


class MessageStreamManager:
    """What ``client.messages.stream(...)`` returns: entering it sends the request.

    HTTP errors are raised at ``with`` entry; leaving the block closes the stream.
    """

    def __init__(
        self,
        open_stream: Callable[[], Stream],
        *,
        finish: Callable[[Message], Message] | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._finish = finish
        self._stream: MessageStream | None = None

    def __enter__(self) -> MessageStream:
        self._stream = MessageStream(self._open_stream(), self._finish)
        return self._stream

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.close()


class AsyncMessageStreamManager:
    """What ``AsyncAnthropicFoundry().messages.stream(...)`` returns; use ``async with``."""

    def __init__(
        self,
        open_stream: Callable[[], Awaitable[AsyncStream]],
        *,
        finish: Callable[[Message], Message] | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._finish = finish
        self._stream: AsyncMessageStream | None = None

    async def __aenter__(self) -> AsyncMessageStream:
        self._stream = AsyncMessageStream(await self._open_stream(), self._finish)
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await self._stream.close()
