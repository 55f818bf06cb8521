"""The control API under ``/_emulator/``: a test or a person steers a running emulator over HTTP.

    GET    /_emulator/health            liveness and counts
    POST   /_emulator/reset             faults, journal, quotas, scripts, ids, config back to start
    GET    /_emulator/faults            the fault rules with hit counters
    POST   /_emulator/faults            add a rule (object), rules (array) or {"faults": [...]}
    DELETE /_emulator/faults            remove every rule
    DELETE /_emulator/faults/{id}       remove one rule
    GET    /_emulator/journal           recorded requests, oldest first (?deployment=&limit=)
    DELETE /_emulator/journal           forget them
    GET    /_emulator/config            the live configuration (keys counted, never shown)
    PATCH  /_emulator/config            change deployments, quotas, keys, seed and switches
    GET    /_emulator/scripts           the scripted-reply rules
    POST   /_emulator/scripts           add a rule, an array of rules, or {"path": "file.toml"}
    DELETE /_emulator/scripts           remove every rule
    DELETE /_emulator/scripts/{id}      remove one rule

Other parts add their routes with :meth:`EmulatorState.mount` (e.g. ``/_emulator/entra``).
JSON in and out: a request body must say ``content-type: application/json`` (415 otherwise) and
stays under ``max_body_bytes`` (413), the one limit of every route. Bad input gets 400 with
``{"error": {"type": ..., "message": ...}}``. No Foundry path starts with ``/_emulator``, so a
real client can never reach these routes. On loopback, requests naming a foreign ``Host`` or
``Origin`` are refused with 403 (see :mod:`.guard`); an emulator listening beyond loopback
(``allow_remote``) asks for its API key here instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs

import msgspec

from ..types import encode
from .auth import Principal
from .bodies import BodyTimeout, BodyTooLarge, is_json_content_type, read_body, replay
from .config import EmulatorConfigError
from .faults import parse_fault_list
from .guard import foreign_request
from .journal import JournalEntry
from .state import EmulatorState

__all__ = ["build_control_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("claude_foundry.emulator")

_T = TypeVar("_T")
_PREFIX = "/_emulator/"
_STREAM_CHUNK_BYTES = 256 * 1024  # journal bytes encoded per hop to the worker thread


class ControlError(Exception):
    def __init__(self, status: int, message: str, error_type: str = "invalid_request") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type


class _Call:
    """What a handler sees: the state, the JSON body, the query and a path parameter."""

    def __init__(
        self, state: EmulatorState, body: object, query: Mapping[str, str], param: str | None
    ) -> None:
        self.state = state
        self.body = body
        self.query = query
        self.param = param

    def object_body(self) -> Mapping[str, Any]:
        if not isinstance(self.body, Mapping):
            raise ControlError(400, "expected a JSON object as the request body")
        return self.body


Handler = Callable[[_Call], tuple[int, object]]


def _health(call: _Call) -> tuple[int, object]:
    state = call.state
    return 200, {
        "status": "ok",
        "deployments": len(state.config.deployments),
        "faults": len(state.faults),
        "journal": len(state.journal),
        "journal_bytes": state.journal.body_bytes,
        "scripts": len(state.scripts),
    }


def _reset(call: _Call) -> tuple[int, object]:
    call.state.reset()
    return 200, {"reset": True}


def _list_faults(call: _Call) -> tuple[int, object]:
    return 200, call.state.faults.rules()


def _add_faults(call: _Call) -> tuple[int, object]:
    body = call.body
    if body is None:
        raise ControlError(
            400, 'send a fault rule: an object, a list of objects or {"faults": [...]}'
        )
    # Validate all before adding any, so a bad rule in the middle adds nothing.
    specs = _valid(lambda: parse_fault_list(body))
    added = [call.state.faults.add(spec) for spec in specs]
    # One rule sent alone comes back alone; a list (or {"faults": [...]}) comes back as a list.
    single = isinstance(body, Mapping) and set(body) != {"faults"}
    return 201, added[0] if single else added


def _clear_faults(call: _Call) -> tuple[int, object]:
    call.state.faults.clear()
    return 200, {"deleted": True}


def _delete_fault(call: _Call) -> tuple[int, object]:
    return _deleted(call, "fault", call.state.faults.remove)


def _journal(call: _Call) -> tuple[int, object]:
    deployment = call.query.get("deployment")
    limit_text = call.query.get("limit")
    limit = None
    if limit_text is not None:
        if not limit_text.isdigit():
            raise ControlError(400, f"limit must be a whole number, not {limit_text!r}")
        limit = int(limit_text)
    entries = call.state.journal.entries(deployment=deployment, limit=limit)
    return 200, _Streamed(entries, JournalEntry.to_json)


def _clear_journal(call: _Call) -> tuple[int, object]:
    call.state.journal.clear()
    return 200, {"deleted": True}


def _get_config(call: _Call) -> tuple[int, object]:
    return 200, call.state.config.to_dict()


def _patch_config(call: _Call) -> tuple[int, object]:
    body = call.object_body()
    _valid(lambda: call.state.patch_config(body))
    return 200, call.state.config.to_dict()


def _list_scripts(call: _Call) -> tuple[int, object]:
    return 200, call.state.scripts.rules()


def _add_scripts(call: _Call) -> tuple[int, object]:
    scripts = call.state.scripts
    body = call.body
    if isinstance(body, Mapping) and set(body) == {"path"}:
        path = body["path"]
        if not isinstance(path, str):
            raise ControlError(400, "path must be a string naming a TOML or JSON script file")
        return 201, _valid(lambda: scripts.load(path))
    return 201, _valid(lambda: scripts.load_data(body))


def _clear_scripts(call: _Call) -> tuple[int, object]:
    call.state.scripts.clear()
    return 200, {"deleted": True}


def _delete_script(call: _Call) -> tuple[int, object]:
    return _deleted(call, "script", call.state.scripts.remove)


def _deleted(call: _Call, kind: str, remove: Callable[[str], bool]) -> tuple[int, object]:
    """Remove the rule named by the path, or 404 saying which id was not found."""
    rule_id = call.param
    assert rule_id is not None  # routes ending in /* always carry one
    if not remove(rule_id):
        raise ControlError(404, f"no {kind} rule with id {rule_id!r}", "not_found")
    return 200, {"deleted": rule_id}


def _valid(action: Callable[[], _T]) -> _T:
    try:
        return action()
    except (ValueError, TypeError, EmulatorConfigError) as exc:
        raise ControlError(400, str(exc)) from None


_ROUTES: dict[str, dict[str, Handler]] = {
    "health": {"GET": _health},
    "reset": {"POST": _reset},
    "faults": {"GET": _list_faults, "POST": _add_faults, "DELETE": _clear_faults},
    "faults/*": {"DELETE": _delete_fault},
    "journal": {"GET": _journal, "DELETE": _clear_journal},
    "config": {"GET": _get_config, "PATCH": _patch_config},
    "scripts": {"GET": _list_scripts, "POST": _add_scripts, "DELETE": _clear_scripts},
    "scripts/*": {"DELETE": _delete_script},
}
_OFF_LOOP = frozenset({_add_scripts, _reset})
"""Handlers that may read files (scripts; a reset loads the configuration's again), so they run
in a worker thread."""


def _resolve(path: str) -> tuple[dict[str, Handler] | None, str | None]:
    rest = path[len(_PREFIX) :].strip("/") if path.startswith(_PREFIX) else ""
    if rest in _ROUTES:
        return _ROUTES[rest], None
    head, _, param = rest.partition("/")
    if param and "/" not in param:
        return _ROUTES.get(f"{head}/*"), param
    return None, None


class _Streamed(Generic[_T]):
    """A JSON array answered in pieces, each made off the event loop.

    Serialising a journal of many large bodies takes time and memory in proportion; done on the
    event loop in one piece it would stall every other request, and built whole it would hold a
    second copy of every body. Here items are encoded in a worker thread, a chunk of about
    ``_STREAM_CHUNK_BYTES`` at a time, and each chunk is sent before the next is made.
    """

    def __init__(self, items: Sequence[_T], encode_item: Callable[[_T], bytes]) -> None:
        self._items = items
        self._encode_item = encode_item

    def _encode_chunk(self, start: int) -> tuple[bytes, int]:
        """The items from ``start`` that fill one chunk, and the index after them."""
        pieces: list[bytes] = []
        size = 0
        index = start
        while index < len(self._items) and size < _STREAM_CHUNK_BYTES:
            if index:
                pieces.append(b",")
            piece = self._encode_item(self._items[index])
            pieces.append(piece)
            size += len(piece)
            index += 1
        return b"".join(pieces), index

    async def chunks(self) -> AsyncIterator[bytes]:
        yield b"["
        index = 0
        while index < len(self._items):
            chunk, index = await asyncio.to_thread(self._encode_chunk, index)
            yield chunk
        yield b"]"


def build_control_app(state: EmulatorState) -> ASGIApp:
    """The ASGI callable serving ``/_emulator/...`` for ``state``."""

    async def control(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            _require_key(state, scope, headers)
            raw = await _read(state, headers, receive)
            mounted = state.mounted_app(path)
            if mounted is None:
                status, payload = await _dispatch(state, scope, raw)
        except ControlError as exc:
            status, payload = (
                exc.status,
                {"error": {"type": exc.error_type, "message": exc.message}},
            )
        except Exception as exc:  # a bug must still answer in JSON; the traceback goes to the log
            logger.exception("unexpected error in control route %s %s", scope["method"], path)
            status = 500
            payload = {"error": {"type": "internal", "message": f"{type(exc).__name__}: {exc}"}}
        else:
            if mounted is not None:
                # The body is read already (under the one limit); the mounted app gets it again.
                await mounted(scope, replay(raw, receive), send)
                return
        if isinstance(payload, _Streamed):
            start = {"type": "http.response.start", "status": status, "headers": _JSON_HEADERS}
            await send(start)
            async for chunk in payload.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        body = encode(payload)
        response_headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        if status == 405:
            methods = _resolve(path)[0] or {}
            response_headers.append((b"allow", ", ".join(sorted(methods)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return control


_JSON_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


def _require_key(state: EmulatorState, scope: Scope, headers: Mapping[str, str]) -> None:
    if not state.control_requires_key:
        # On loopback the control API has no key; a web page must not be able to reach it.
        reason = foreign_request(headers, state.config.allowed_hosts)
        if reason is not None:
            raise ControlError(403, reason, "forbidden")
        return
    if scope["path"] in state.keyless_paths:
        return
    if not isinstance(state.authenticator.authenticate(headers), Principal):
        raise ControlError(
            401,
            "this emulator listens beyond loopback, so its control API needs the API key "
            "in api-key or x-api-key",
            "authentication",
        )


async def _dispatch(state: EmulatorState, scope: Scope, raw: bytes) -> tuple[int, object]:
    methods, param = _resolve(scope["path"])
    if methods is None:
        raise ControlError(
            404,
            f"no control route {scope['path']}; routes: "
            + ", ".join(_PREFIX + name.replace("*", "{id}") for name in _ROUTES),
            "not_found",
        )
    handler = methods.get(scope["method"])
    if handler is None:
        raise ControlError(
            405,
            f"{scope['method']} is not allowed on {scope['path']}; "
            f"use {', '.join(sorted(methods))}",
            "method_not_allowed",
        )
    body: object = None
    if raw.strip():
        try:
            body = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise ControlError(400, f"the request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ControlError(400, "the request body is nested too deeply") from None
    query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    call = _Call(state, body, query, param)
    if handler in _OFF_LOOP:
        return await asyncio.to_thread(handler, call)
    return handler(call)


async def _read(state: EmulatorState, headers: Mapping[str, str], receive: Receive) -> bytes:
    """The body under the emulator's one limit; a body must be declared as JSON."""
    limit = state.config.max_body_bytes
    try:
        raw = await read_body(
            receive, limit, headers.get("content-length"), state.config.body_timeout_s
        )
    except BodyTooLarge as exc:
        raise ControlError(413, f"request bodies are limited to {exc.limit} bytes") from None
    except BodyTimeout as exc:
        raise ControlError(408, str(exc), "timeout") from None
    if raw is None:
        return b""
    content_type = headers.get("content-type")
    if raw.strip() and not is_json_content_type(content_type):
        # Also what keeps a cross-site form or text/plain POST (no CORS preflight) out.
        raise ControlError(
            415,
            f"send control request bodies as JSON with content-type: application/json, "
            f"not {content_type!r}",
            "unsupported_media_type",
        )
    return raw
