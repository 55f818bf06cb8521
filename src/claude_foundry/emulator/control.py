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
JSON in and out. Bad input gets 400 with ``{"error": {"type": ..., "message": ...}}``.
No Foundry path starts with ``/_emulator``, so a real client can never reach these routes. An
emulator listening beyond loopback (``allow_remote``) asks for its API key here too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, TypeVar
from urllib.parse import parse_qs

import msgspec

from ..types import encode
from .auth import Principal
from .config import EmulatorConfigError
from .faults import parse_fault_list
from .state import EmulatorState

__all__ = ["build_control_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("claude_foundry.emulator")

_T = TypeVar("_T")
_PREFIX = "/_emulator/"
_MAX_BODY = 8 * 1024 * 1024


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
    return 200, [entry.to_dict() for entry in entries]


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


def _resolve(path: str) -> tuple[dict[str, Handler] | None, str | None]:
    rest = path[len(_PREFIX) :].strip("/") if path.startswith(_PREFIX) else ""
    if rest in _ROUTES:
        return _ROUTES[rest], None
    head, _, param = rest.partition("/")
    if param and "/" not in param:
        return _ROUTES.get(f"{head}/*"), param
    return None, None


def build_control_app(state: EmulatorState) -> ASGIApp:
    """The ASGI callable serving ``/_emulator/...`` for ``state``."""

    async def control(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        try:
            _require_key(state, scope)
            mounted = state.mounted_app(path)
            if mounted is None:
                status, payload = await _dispatch(state, scope, receive)
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
                await mounted(scope, receive, send)
                return
        body = encode(payload)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 405:
            methods = _resolve(path)[0] or {}
            headers.append((b"allow", ", ".join(sorted(methods)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return control


def _require_key(state: EmulatorState, scope: Scope) -> None:
    if not state.control_requires_key or scope["path"] in state.keyless_paths:
        return
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    if not isinstance(state.authenticator.authenticate(headers), Principal):
        raise ControlError(
            401,
            "this emulator listens beyond loopback, so its control API needs the API key "
            "in api-key or x-api-key",
            "authentication",
        )


async def _dispatch(state: EmulatorState, scope: Scope, receive: Receive) -> tuple[int, object]:
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
    raw = await _read(receive)
    body: object = None
    if raw.strip():
        try:
            body = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise ControlError(400, f"the request body is not valid JSON: {exc}") from None
    query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    return handler(_Call(state, body, query, param))


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise ControlError(413, f"control request bodies are limited to {_MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
