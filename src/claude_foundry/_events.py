"""Sans-IO: the bytes of a Messages API event stream in, typed stream events out.

:class:`EventDecoder` frames the bytes with :class:`~claude_foundry._sse.SSEDecoder`, decodes each
event's data straight into the struct its name stands for, and turns what goes wrong into the
error a user would catch: ``event: error`` → the class of its ``error.type``; data that is not
JSON, or an event past the size limit → :class:`APIResponseValidationError`; an end before
``message_stop`` → :class:`APIConnectionError`. :func:`transport_error` words a failed read the
same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx2
import msgspec

from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ids_suffix,
    make_status_error,
)
from ._sse import EventTooLargeError, SSEDecoder

if TYPE_CHECKING:
    from ._deadline import StreamLimits
from .types import ErrorEvent, MessageStopEvent, PingEvent, StreamEvent, decode_stream_event

__all__ = ["EventDecoder", "transport_error"]


class EventDecoder:
    """Sans-IO: bytes of an SSE response → typed :data:`~claude_foundry.types.StreamEvent` objects.

    Skips ``ping``, unnamed events and a ``[DONE]`` terminator (some gateways append one); passes
    unknown event names through as :class:`~claude_foundry.types.UnknownEvent`; raises the
    classified status error on ``event: error`` and :class:`APIResponseValidationError` on data
    that is not JSON. :meth:`end` raises :class:`APIConnectionError` if ``message_stop`` never came.
    """

    __slots__ = (
        "_sse",
        "apim_request_id",
        "events_received",
        "message_stopped",
        "request_id",
        "response",
    )

    def __init__(
        self,
        *,
        response: httpx2.Response | None,
        request_id: str | None,
        apim_request_id: str | None,
    ) -> None:
        self._sse = SSEDecoder()
        self.response = response
        self.request_id = request_id
        self.apim_request_id = apim_request_id
        self.events_received = 0
        """SSE events received so far, pings included (reported when a stream breaks)."""
        self.message_stopped = False

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        try:
            raw_events = self._sse.feed_raw(chunk)
        except EventTooLargeError as exc:
            raise self._too_large(exc) from None
        return self._convert(raw_events)

    def end(self) -> list[StreamEvent]:
        try:
            raw_events = self._sse.end_raw()
        except EventTooLargeError as exc:
            raise self._too_large(exc) from None
        events = self._convert(raw_events)
        if not self.message_stopped:
            raise APIConnectionError(
                f"The stream ended before message_stop, after {self.events_received} event(s): "
                "the connection was closed or the service stopped sending, so the message is "
                f"incomplete. Retry the request.{self.ids_suffix()}",
                _request_of(self.response),
            )
        return events

    def _convert(self, raw_events: list[tuple[str | None, bytes]]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        append = events.append
        for name, data in raw_events:
            self.events_received += 1
            if name is None or name == "ping":
                continue
            if name == "error":
                raise self._status_error(data)
            if not data or data == b"[DONE]":
                continue
            try:
                event = decode_stream_event(data, name)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise self._validation_error(name, data, exc) from exc
            kind = type(event)
            if kind is MessageStopEvent:
                self.message_stopped = True
            elif kind is PingEvent:
                continue
            elif kind is ErrorEvent:
                raise self._status_error(data)
            append(event)
        return events

    def _status_error(self, data: bytes) -> Exception:
        body: object
        try:
            body = msgspec.json.decode(data)
        except msgspec.DecodeError:
            body = data.decode("utf-8", "replace")
        return make_status_error(
            200,
            body,
            response=self.response,
            request_id=self.request_id,
            apim_request_id=self.apim_request_id,
            in_stream=True,
        )

    def _validation_error(
        self, name: str, data: bytes, exc: Exception
    ) -> APIResponseValidationError:
        excerpt = data[:120].decode("utf-8", "replace") + ("..." if len(data) > 120 else "")
        return APIResponseValidationError(
            f"Could not decode the {name!r} stream event ({exc}); data: {excerpt!r}. The service, "
            "or a proxy in front of it, sent something that is not a Messages API event. Retry; "
            f"if it persists, give both request ids to support.{self.ids_suffix()}",
            self.response,
            body=data.decode("utf-8", "replace"),
        )

    def _too_large(self, exc: EventTooLargeError) -> APIResponseValidationError:
        return APIResponseValidationError(
            f"{exc} Events received before it: {self.events_received}.{self.ids_suffix()}",
            self.response,
        )

    def ids_suffix(self) -> str:
        return ids_suffix(self.request_id, self.apim_request_id)


def _request_of(response: httpx2.Response | None) -> httpx2.Request | None:
    if response is None:
        return None
    try:
        return response.request
    except RuntimeError:
        return None


def transport_error(
    exc: Exception, decoder: EventDecoder, limits: StreamLimits | None = None
) -> APIConnectionError:
    received = decoder.events_received
    request = _request_of(decoder.response)
    ids = decoder.ids_suffix()
    expired = limits.expired() if limits is not None else None
    if expired is not None:
        return APITimeoutError(
            f"The stream was stopped after {received} event(s): {expired}. Retry the request; "
            "raise `timeout` if the model needs longer between events, or pass "
            f"claude_foundry.Timeout(..., stream_total=...) for a longer stream.{ids}",
            request,
        )
    if isinstance(exc, httpx2.TimeoutException):
        return APITimeoutError(
            f"The stream stalled: no data arrived within the read timeout after {received} "
            f"event(s) ({type(exc).__name__}). Retry the request, or raise `timeout` if the model "
            f"needs longer between events.{ids}",
            request,
        )
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(
        f"The connection dropped mid-stream after {received} event(s): {detail}. The message is "
        f"incomplete; retry the request.{ids}",
        request,
    )
