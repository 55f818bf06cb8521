"""The emulator's ASGI application: Foundry's two Messages routes, its errors, and the control API.

The Foundry routes are served by a plain ASGI callable rather than a framework router: every
request pays for auth, one JSON decode, validation and the reply, and nothing else. On loopback
a request from a foreign web page (``Host`` / ``Origin``, see :mod:`.guard`) gets 403 first; then
the order of checks follows the service: path, method, auth (Azure-shaped 401), status faults, body,
deployment (Azure-shaped 404), strict mode and hosting features (400), quota (429), then the
reply, where the other fault kinds (latency, stream cuts, malformed bodies) are taken, so that
a request refused on the way does not use them up.

Every response, errors included, carries ``request-id`` and ``apim-request-id``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from ..types import CountTokensRequest, Message, MessageCreateRequest, MessageStopEvent, encode
from .auth import AuthFailure, azure_error
from .config import DeploymentConfig
from .control import build_control_app
from .exchange import (
    Exchange,
    Receive,
    Refusal,
    Scope,
    Send,
    Stopping,
    body_chunk,
    drop_connection,
    drop_connection_soon,
    error_body,
    pause,
    read_request_body,
    record_exchange,
)
from .faults import (
    MALFORMED_JSON_BODY,
    MALFORMED_SSE_CHUNK,
    ActiveFault,
    status_fault_response,
    stream_error_event,
)
from .guard import foreign_request
from .journal import HISTORY_LIMIT, history_note
from .quota import QuotaLimits, uncached_input_tokens
from .responder import InvalidRequestError, check_request, stream_events
from .sse import CONTENT_TYPE as SSE_CONTENT_TYPE
from .sse import encode_event
from .state import EmulatorState
from .threads import THREADS_FEATURE, ThreadError
from .tokens import count_input_tokens
from .validation import (
    COUNT_FIELDS,
    CREATE_FIELDS,
    NESTED_TOO_DEEPLY,
    InvalidRequest,
    blocked_feature,
    check_count,
    check_create,
    check_max_tokens,
    feature_message,
    parse_body,
    unknown_header_values,
)

__all__ = ["CONTROL_PREFIX", "EmulatorApp"]

logger = logging.getLogger("claude_foundry.emulator")


CONTROL_PREFIX = "/_emulator"
_ROUTES = {
    "/anthropic/v1/messages": "messages",
    "/anthropic/v1/messages/count_tokens": "count_tokens",
}
_JSON = b"application/json"
_STREAM_CUTS = frozenset({"stream_error", "truncate", "disconnect", "malformed"})
_ON_ARRIVAL = frozenset({"status"})
_ON_REPLY = frozenset({"latency"}) | _STREAM_CUTS
_FLUSH_BYTES = 4096  # unpaced streams are written in chunks of about this size

_API_NOT_SUPPORTED = azure_error(
    404,
    "api_not_supported",
    "Requested API is currently not supported",
    details="Requested API is currently not supported",
)
_RESOURCE_NOT_FOUND = azure_error(404, "404", "Resource not found")
_DEPLOYMENT_NOT_FOUND = encode(
    {
        "error": {
            "type": "invalid_request_error",
            "code": "DeploymentNotFound",
            "message": (
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again."
            ),
        }
    }
)


class EmulatorApp:
    """ASGI application of one emulator. ``state`` may be changed while it serves."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.control = build_control_app(state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no websockets; lifespan is switched off in the server
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self.control(scope, receive, send)  # mounted apps (Entra) are served there too
            return
        exchange = Exchange(self.state, scope)
        try:
            await self._serve(exchange, scope, receive, send)
        except Refusal as refusal:
            await self._respond(exchange, send, refusal.status, refusal.body, refusal.headers)
        except Stopping:
            exchange.dropped = True
            await drop_connection_soon(send)
        except RecursionError:
            # Deeply nested JSON that decoded can still be too deep for a later step: it is the
            # request's fault, so it gets a 400, never a 500.
            if exchange.status == 0:
                body = error_body("invalid_request_error", NESTED_TOO_DEEPLY, exchange.request_id)
                await self._respond(exchange, send, 400, body)
            else:
                exchange.dropped = True
                drop_connection(send)
        except Exception:
            logger.exception("unexpected error while serving %s %s", scope["method"], path)
            if exchange.status == 0:
                body = error_body("api_error", "Internal server error", exchange.request_id)
                await self._respond(exchange, send, 500, body)
            else:
                exchange.dropped = True
                drop_connection(send)
        finally:
            record_exchange(self.state, exchange)
            self._settle_thread(exchange, whole=False)

    # --- the request path ---------------------------------------------------------------------

    async def _serve(self, ex: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        config = state.config
        route = _ROUTES.get(scope["path"])
        ex.headers = headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        if not state.control_requires_key:  # on loopback only: no foreign web page may call
            reason = foreign_request(headers, config.allowed_hosts)
            if reason is not None:
                raise ex.refuse(403, "permission_error", reason)
        if route is None:
            path: str = scope["path"]
            body = _API_NOT_SUPPORTED if path.startswith(("/anthropic/", "/v1/")) else None
            raise Refusal(404, body or _RESOURCE_NOT_FOUND)
        if scope["method"] != "POST":
            refusal = ex.refuse(
                405,
                "invalid_request_error",
                f"Method {scope['method']} is not allowed on {scope['path']}; use POST.",
            )
            refusal.headers.append((b"allow", b"POST"))
            raise refusal

        principal = state.authenticator.authenticate(headers)
        if isinstance(principal, AuthFailure):
            raise Refusal(
                principal.status,
                principal.body,
                [(k.encode(), v.encode()) for k, v in principal.headers],
            )

        raw = await read_request_body(ex, receive, config.max_body_bytes, config.body_timeout_s)
        if raw is None:
            return  # the client went away while sending
        data: dict[str, Any] | None = None
        problem: InvalidRequest | None = None
        try:
            data = parse_body(raw)
        except InvalidRequest as exc:
            problem = exc
        if data is not None:
            ex.raw_body = raw  # the journal keeps bytes (or a note), never the decoded tree
            model = data.get("model")
            ex.deployment = model if isinstance(model, str) else None
            ex.stream = data.get("stream") is True and route == "messages"

        # Status faults come before any check of the request, so a test can fail any call.
        await self._apply_status_fault(
            ex, self._take_fault(ex, route, ex.deployment, ex.stream, _ON_ARRIVAL)
        )

        content_type = headers.get("content-type")
        if content_type is not None and "json" not in content_type.lower():
            raise ex.refuse(
                400,
                "invalid_request_error",
                f"Unsupported content-type {content_type!r}: send the body as JSON with "
                "content-type: application/json.",
            )
        if data is None:
            assert problem is not None
            raise ex.refuse(400, "invalid_request_error", problem.message)
        if route == "messages" and "thread" in data:
            data = self._begin_thread(ex, data, len(raw))

        request: MessageCreateRequest | CountTokensRequest
        try:
            request = check_create(data) if route == "messages" else check_count(data)
        except InvalidRequest as exc:
            raise ex.refuse(400, "invalid_request_error", exc.message) from None

        deployment = config.deployments.get(request.model)
        if deployment is None:
            raise Refusal(404, _DEPLOYMENT_NOT_FOUND)

        known = CREATE_FIELDS if route == "messages" else COUNT_FIELDS
        ex.unknown_fields = [key for key in data if key not in known]
        ex.unknown_fields += unknown_header_values(headers)
        if config.strict and ex.unknown_fields:
            raise ex.refuse(
                400,
                "invalid_request_error",
                f"Unknown request field(s) or header value(s): {', '.join(ex.unknown_fields)}. "
                "The emulator runs in strict mode; remove them or turn strict mode off.",
            )
        blocked = deployment.blocked_features and blocked_feature(
            request, deployment.blocked_features
        )
        if blocked:
            message = feature_message(
                blocked,
                deployment=deployment.name,
                model=deployment.model,
                hosting=deployment.hosting,
            )
            raise ex.refuse(400, "invalid_request_error", message)

        if isinstance(request, CountTokensRequest):
            body = encode({"input_tokens": count_input_tokens(request)})
            fault = await self._take_reply_fault(ex, route, request.model)
            await self._send_message(ex, body, fault, send)
            return
        await self._create(ex, request, deployment, raw, receive, send)

    async def _create(
        self,
        ex: Exchange,
        request: MessageCreateRequest,
        deployment: DeploymentConfig,
        raw: bytes,
        receive: Receive,
        send: Send,
    ) -> None:
        state = self.state
        try:
            check_max_tokens(request, limit=deployment.max_output_tokens, model=deployment.model)
        except InvalidRequest as exc:
            raise ex.refuse(400, "invalid_request_error", exc.message) from None
        try:
            check_request(request, context_window=deployment.context_window)
        except InvalidRequestError as exc:
            raise ex.refuse(400, "invalid_request_error", str(exc)) from None
        ticket = None
        if (
            deployment.rpm is not None
            or deployment.input_tpm is not None
            or deployment.output_tpm is not None
        ):
            limits = QuotaLimits(deployment.rpm, deployment.input_tpm, deployment.output_tpm)
            admission = state.quota.admit(
                deployment.quota_key,
                limits,
                input_tokens=count_input_tokens(request),
                max_tokens=request.max_tokens,
            )
            if not admission.admitted:
                refusal = ex.refuse(
                    429,
                    "rate_limit_error",
                    admission.message or f"Rate limit exceeded for deployment '{deployment.name}'.",
                )
                refusal.headers += [
                    (k.encode(), v.encode()) for k, v in admission.headers().items()
                ]
                raise refusal
            ticket = admission.ticket
        output_tokens = 0
        input_tokens: int | None = None
        try:
            try:
                message = state.responder.reply(
                    request,
                    model=deployment.reply_model,
                    message_id=ex.message_id,
                    deployment=deployment.name,
                    body_hash=hashlib.sha256(raw).hexdigest(),
                )
            except InvalidRequestError as exc:
                raise ex.refuse(400, "invalid_request_error", str(exc)) from None
            fault = await self._take_reply_fault(ex, "messages", request.model)
            usage = message.usage
            output_tokens = usage.output_tokens
            input_tokens = uncached_input_tokens(
                usage.input_tokens,
                usage.cache_creation_input_tokens or 0,
                usage.cache_read_input_tokens or 0,
            )
            cut = fault is not None and fault.spec.kind in _STREAM_CUTS
            if ex.thread_turn is not None and not cut:
                ex.thread_turn.answered(message)  # kept by the thread if it goes out whole
            if ex.stream:
                await self._stream(ex, message, fault, receive, send)
            else:
                await self._send_message(ex, encode(message), fault, send)
        finally:
            if ticket is not None:
                # The window keeps what was really produced, and the input that was not
                # served from the prompt cache.
                state.quota.settle(ticket, output_tokens=output_tokens, input_tokens=input_tokens)

    async def _send_message(
        self, ex: Exchange, body: bytes, fault: ActiveFault | None, send: Send
    ) -> None:
        kind = fault.spec.kind if fault is not None else None
        if kind == "malformed":
            body = MALFORMED_JSON_BODY
        elif kind == "truncate":
            body = body[: max(1, len(body) // 2)]
        elif kind == "disconnect":
            await self._start(ex, send, 200, _JSON, [(b"content-length", str(len(body)).encode())])
            ex.dropped = True
            record_exchange(self.state, ex)
            await drop_connection_soon(send)
            return
        await self._respond(ex, send, 200, body)

    async def _stream(
        self,
        ex: Exchange,
        message: Message,
        fault: ActiveFault | None,
        receive: Receive,
        send: Send,
    ) -> None:
        delay_ms = self.state.config.stream_event_delay_ms
        cut_at = -1
        if fault is not None:
            delay_ms += fault.spec.event_delay_ms
            if fault.spec.kind in _STREAM_CUTS:
                cut_at = fault.spec.after_events
        delay = delay_ms / 1000
        await self._start(ex, send, 200, SSE_CONTENT_TYPE, [(b"cache-control", b"no-cache")])
        pending: list[bytes] = []
        pending_size = 0
        for index, event in enumerate(stream_events(message)):
            # A cut beyond the last event lands just before message_stop, so it always happens.
            if cut_at >= 0 and (index == cut_at or isinstance(event, MessageStopEvent)):
                assert fault is not None
                kind = fault.spec.kind
                if kind == "disconnect":
                    if pending:
                        await send(body_chunk(b"".join(pending)))
                    ex.dropped = True
                    record_exchange(self.state, ex)
                    await drop_connection_soon(send)
                    return
                if kind == "stream_error":
                    pending.append(encode_event(stream_error_event(fault.spec)))
                elif kind == "malformed":
                    pending.append(MALFORMED_SSE_CHUNK)
                break
            chunk = encode_event(event)
            if delay:
                await send(body_chunk(chunk))
                if not await pause(self.state, delay, receive):
                    ex.dropped = True
                    if self.state.closing:
                        await drop_connection_soon(send)
                    return  # the client is gone, or the server is stopping
            else:
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= _FLUSH_BYTES:
                    await send(body_chunk(b"".join(pending)))
                    pending.clear()
                    pending_size = 0
        record_exchange(self.state, ex)
        self._settle_thread(ex, whole=True)
        await send({"type": "http.response.body", "body": b"".join(pending), "more_body": False})

    # --- helpers ------------------------------------------------------------------------------

    def _begin_thread(self, ex: Exchange, data: dict[str, Any], size: int) -> dict[str, Any]:
        """The body to answer from: for a request that continues a message thread, the thread's
        conversation and fields with the new messages; ``thread`` itself removed."""
        model = data.get("model")
        deployment = self.state.config.deployments.get(model) if isinstance(model, str) else None
        if deployment is None:
            return data  # refused as DeploymentNotFound further on
        try:
            turn = self.state.threads.begin(
                data,
                ex.headers,
                deployment=deployment.name,
                model=deployment.model,
                unavailable=THREADS_FEATURE in deployment.blocked_features,
                size=size,
            )
        except ThreadError as exc:
            raise Refusal(exc.status, encode(exc.body(ex.request_id))) from None
        if turn is None:
            return data
        ex.thread_turn = turn
        if turn.history is not None:
            # Kept as bytes, as bodies are; a conversation too long to keep is not even encoded.
            size = turn.history_size
            if size <= HISTORY_LIMIT:
                ex.raw_history = encode(turn.history)
            else:
                ex.history_note = history_note(size)
        return turn.data

    def _take_fault(
        self,
        ex: Exchange,
        route: str,
        deployment: str | None,
        stream: bool,
        kinds: frozenset[str],
    ) -> ActiveFault | None:
        fault = self.state.faults.take(
            route=route, deployment=deployment, stream=stream, kinds=kinds
        )
        if fault is not None:
            ex.fault_id = fault.id
            ex.fault_kind = fault.spec.kind
        return fault

    async def _take_reply_fault(
        self, ex: Exchange, route: str, deployment: str
    ) -> ActiveFault | None:
        """The latency or cutting fault for a reply that is ready to go, its delay waited."""
        fault = self._take_fault(ex, route, deployment, ex.stream, _ON_REPLY)
        await self._wait_fault_delay(fault)
        return fault

    async def _wait_fault_delay(self, fault: ActiveFault | None) -> None:
        delay_ms = fault.spec.delay_ms if fault is not None else 0
        if delay_ms and not await pause(self.state, delay_ms / 1000):
            raise Stopping

    async def _apply_status_fault(self, ex: Exchange, fault: ActiveFault | None) -> None:
        if fault is None:
            return
        await self._wait_fault_delay(fault)
        if fault.spec.kind == "status":
            status, headers, body = status_fault_response(fault.spec, request_id=ex.request_id)
            raise Refusal(
                status,
                body,
                [(k.encode(), v.encode()) for k, v in headers.items() if k != "content-type"],
            )

    async def _start(
        self,
        ex: Exchange,
        send: Send,
        status: int,
        content_type: bytes,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        ex.status = status
        headers = [(b"content-type", content_type), *ex.response_headers, *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})

    async def _respond(
        self,
        ex: Exchange,
        send: Send,
        status: int,
        body: bytes,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        length = [(b"content-length", str(len(body)).encode())]
        await self._start(ex, send, status, _JSON, length + (extra or []))
        record_exchange(self.state, ex)
        self._settle_thread(ex, whole=True)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _settle_thread(self, ex: Exchange, *, whole: bool) -> None:
        """End the exchange's message-thread turn, if any, once. Like the journal entry, this
        happens before the last byte goes out, so a client that has read the whole reply can
        continue from it at once; ``whole`` is False when the reply was cut or never sent."""
        if ex.thread_turn is not None:
            self.state.threads.settle(ex.thread_turn, whole=whole)
