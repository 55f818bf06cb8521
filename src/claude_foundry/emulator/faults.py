"""Deterministic fault injection for the emulator: which request fails, and how.

A :class:`FaultPlan` holds rules (:class:`FaultSpec`). A request asks the plan,
:meth:`FaultPlan.take`, and gets the first live rule that matches its route, deployment and
stream flag. Rules are count-based ("the next 2 calls get 529") unless they carry a
``probability``, which draws from a per-rule RNG seeded from the plan's seed, so a run repeats
exactly. Nothing here does I/O: the app turns an :class:`ActiveFault` into bytes on the wire.

What each kind means for the app:

- ``status``: answer with :func:`status_fault_response` instead of calling the model.
- ``latency``: wait ``delay_ms`` before the first byte and ``event_delay_ms`` between stream
  events, then answer normally.
- ``stream_error``: send ``after_events`` events, then :func:`stream_error_event`, then end the
  stream (HTTP status stays 200).
- ``truncate``: send ``after_events`` events, then end the response cleanly but early (no
  ``message_stop``). For a non-streaming reply: send part of the JSON body.
- ``disconnect``: send ``after_events`` events, then drop the connection without finishing the
  response. For a non-streaming reply: drop it before any body.
- ``malformed``: send ``after_events`` events, then :data:`MALFORMED_SSE_CHUNK`. For a
  non-streaming reply: a 200 with :data:`MALFORMED_JSON_BODY`.

For every stream-cutting kind, an ``after_events`` at or beyond the stream's length cuts just
before ``message_stop``: the whole reply arrives except its last event, so the rule always
takes effect, however short the reply.

``status`` rules are asked when a request arrives (after auth, before any check of the body);
the other kinds only once the reply is ready, so a request refused on the way does not use
them up. ``delay_ms`` applies to every kind, so a slow 529 is one rule.

Example::

    plan = FaultPlan(seed=7)
    plan.add({"kind": "status", "status": 529, "count": 2, "retry_after": 0})
    fault = plan.take(route="messages", deployment="claude-sonnet", stream=False)
    status, headers, body = status_fault_response(fault.spec, request_id="req_01")
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from claude_foundry.types import STATUS_BY_ERROR_TYPE, ErrorDetail, ErrorEvent

__all__ = [
    "FAULT_KINDS",
    "MALFORMED_JSON_BODY",
    "MALFORMED_SSE_CHUNK",
    "ActiveFault",
    "FaultKind",
    "FaultPlan",
    "FaultSpec",
    "default_error_type",
    "parse_fault_list",
    "status_fault_response",
    "stream_error_event",
]

FaultKind = Literal["status", "latency", "stream_error", "truncate", "disconnect", "malformed"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
_ROUTES = ("messages", "count_tokens")

MAX_DELAY_MS = 600_000
"""Ten minutes: the official client's default read timeout; longer delays only hang tests."""
MAX_RETRY_AFTER_S = 4_294_967.0
"""The largest ``retry-after`` the official Python client will still honour."""
MAX_RETRY_AFTER_MS = 2**31 - 1
"""The largest ``retry-after-ms`` the official TypeScript client will still honour."""
MAX_AFTER_EVENTS = 1_000_000

MALFORMED_SSE_CHUNK = b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n'
"""An SSE event whose ``data`` is cut-off JSON: the client's parser must fail on it."""
MALFORMED_JSON_BODY = b'{"id": "msg_malformed", "type": "message", "content": [{"type": "te'
"""A 200 body that is not JSON."""

# Fields beyond the selectors (count, probability, route, deployment, stream) that each kind
# reads; setting any other field is a mistake worth reporting, not silently ignoring.
_KIND_FIELDS: dict[str, frozenset[str]] = {
    "status": frozenset(
        {
            "status",
            "error_type",
            "message",
            "body",
            "retry_after",
            "retry_after_ms",
            "should_retry",
            "delay_ms",
        }
    ),
    "latency": frozenset({"delay_ms", "event_delay_ms"}),
    "stream_error": frozenset(
        {"status", "error_type", "message", "delay_ms", "event_delay_ms", "after_events"}
    ),
    "truncate": frozenset({"delay_ms", "event_delay_ms", "after_events"}),
    "disconnect": frozenset({"delay_ms", "event_delay_ms", "after_events"}),
    "malformed": frozenset({"delay_ms", "event_delay_ms", "after_events"}),
}
_STREAM_ONLY_KINDS = frozenset({"stream_error"})

# Anthropic's error.type per HTTP status. 503 has no type of its own in the Anthropic API;
# ``api_error`` is what an unexpected 5xx carries (set error_type="overloaded_error" to vary it).
_ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found.",
    "conflict_error": "The request conflicts with another request.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Rate limit exceeded. Retry after the delay in the retry-after header.",
    "api_error": "Internal server error.",
    "timeout_error": "Request timed out.",
    "overloaded_error": "Overloaded",
}


def default_error_type(status: int) -> str:
    """The Anthropic ``error.type`` for an HTTP status (any other 4xx: invalid request)."""
    if status in _ERROR_TYPE_BY_STATUS:
        return _ERROR_TYPE_BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


@dataclass
class FaultSpec:
    """One fault rule. Every field is checked on construction; bad values raise ValueError.

    ``count`` is how many matching requests the rule applies to (None: every one);
    ``probability`` makes each matching request a seeded coin flip instead.
    """

    kind: FaultKind
    status: int | None = None
    error_type: str | None = None
    message: str | None = None
    body: dict[str, Any] | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    should_retry: bool | None = None
    delay_ms: int = 0
    event_delay_ms: int = 0
    after_events: int = 0
    count: int | None = 1
    probability: float | None = None
    route: Literal["messages", "count_tokens"] | None = None
    deployment: str | None = None
    stream: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; use one of: {', '.join(FAULT_KINDS)}"
            )
        self._check_types()
        self._check_ranges()
        self._check_kind_fields()
        if self.kind == "status" and self.status is None:
            derived = STATUS_BY_ERROR_TYPE.get(self.error_type or "")
            if derived is None:
                raise ValueError(
                    "a 'status' fault needs 'status' (an HTTP status 400-599, e.g. 429 or 529)"
                )
            self.status = derived

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultSpec:
        """Build a spec from a config table or JSON object, refusing keys it does not know."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a fault must be an object/table, not {type(data).__name__}")
        allowed = _field_names()
        unknown = sorted(str(key) for key in data if key not in allowed)
        if unknown:
            raise ValueError(
                f"unknown fault field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(key) for key in unknown)}; allowed: {', '.join(allowed)}"
            )
        if "kind" not in data:
            raise ValueError(f"a fault needs 'kind', one of: {', '.join(FAULT_KINDS)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def _check_types(self) -> None:
        _expect_int("status", self.status, optional=True)
        _expect_str("error_type", self.error_type)
        _expect_str("message", self.message)
        if self.body is not None:
            if not isinstance(self.body, dict):
                raise ValueError(f"'body' must be a JSON object, not {type(self.body).__name__}")
            try:
                json.dumps(self.body)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"'body' must be JSON-serialisable: {exc}") from None
        if self.retry_after is not None and (
            isinstance(self.retry_after, bool) or not isinstance(self.retry_after, int | float)
        ):
            raise ValueError(f"'retry_after' must be a number of seconds, not {self.retry_after!r}")
        _expect_int("retry_after_ms", self.retry_after_ms, optional=True)
        _expect_bool("should_retry", self.should_retry)
        _expect_int("delay_ms", self.delay_ms)
        _expect_int("event_delay_ms", self.event_delay_ms)
        _expect_int("after_events", self.after_events)
        _expect_int("count", self.count, optional=True)
        if self.probability is not None and (
            isinstance(self.probability, bool) or not isinstance(self.probability, int | float)
        ):
            raise ValueError(f"'probability' must be a number in (0, 1], not {self.probability!r}")
        _expect_str("deployment", self.deployment)
        _expect_bool("stream", self.stream)
        if self.route is not None and self.route not in _ROUTES:
            raise ValueError(f"'route' must be one of {', '.join(_ROUTES)}, not {self.route!r}")

    def _check_ranges(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"'status' must be an HTTP error status 400-599, not {self.status}")
        if self.error_type is not None and not self.error_type:
            raise ValueError("'error_type' must not be empty")
        if self.retry_after is not None and not (
            math.isfinite(self.retry_after) and 0 <= self.retry_after <= MAX_RETRY_AFTER_S
        ):
            raise ValueError(
                f"'retry_after' must be 0-{MAX_RETRY_AFTER_S:.0f} seconds, not {self.retry_after}"
            )
        if self.retry_after_ms is not None and not 0 <= self.retry_after_ms <= MAX_RETRY_AFTER_MS:
            raise ValueError(
                f"'retry_after_ms' must be 0-{MAX_RETRY_AFTER_MS}, not {self.retry_after_ms}"
            )
        for name in ("delay_ms", "event_delay_ms"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_DELAY_MS:
                raise ValueError(f"{name!r} must be 0-{MAX_DELAY_MS} ms, not {value}")
        if not 0 <= self.after_events <= MAX_AFTER_EVENTS:
            raise ValueError(
                f"'after_events' must be 0-{MAX_AFTER_EVENTS}, not {self.after_events}"
            )
        if self.count is not None and self.count < 1:
            raise ValueError(
                f"'count' must be at least 1 (or null for every matching request), not {self.count}"
            )
        if self.probability is not None and not 0 < self.probability <= 1:
            raise ValueError(f"'probability' must be in (0, 1], not {self.probability}")
        if self.deployment is not None and not self.deployment:
            raise ValueError("'deployment' must not be empty (omit it to match every deployment)")

    def _check_kind_fields(self) -> None:
        applies = _KIND_FIELDS[self.kind]
        defaults = _field_defaults()
        for name, default in defaults.items():
            if name in applies or name in _SELECTORS or name == "kind":
                continue
            if getattr(self, name) != default:
                users = [kind for kind, names in _KIND_FIELDS.items() if name in names]
                raise ValueError(
                    f"field {name!r} does not apply to a {self.kind!r} fault "
                    f"(it applies to: {', '.join(users)})"
                )
        if self.kind == "latency" and self.delay_ms == 0 and self.event_delay_ms == 0:
            raise ValueError("a 'latency' fault needs 'delay_ms' or 'event_delay_ms' above 0")
        if self.kind in _STREAM_ONLY_KINDS:
            if self.stream is False:
                raise ValueError(f"a {self.kind!r} fault applies to streaming requests only")
            if self.route == "count_tokens":
                raise ValueError(f"a {self.kind!r} fault cannot apply to count_tokens (no stream)")


_SELECTORS = frozenset({"count", "probability", "route", "deployment", "stream"})


def _field_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(FaultSpec))


def _field_defaults() -> dict[str, Any]:
    return {
        f.name: f.default
        for f in dataclasses.fields(FaultSpec)
        if f.default is not dataclasses.MISSING
    }


def _expect_int(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name!r} must be a whole number, not {value!r}")


def _expect_str(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string, not {value!r}")


def _expect_bool(name: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{name!r} must be true or false, not {value!r}")


def parse_fault_list(data: object) -> list[FaultSpec]:
    """Fault specs from a config file's ``[[faults]]`` tables or a control-API JSON payload.

    Accepts a list of objects, one object, or an object with a ``faults`` list. Errors name the
    offending entry: ``faults[2]: unknown fault field 'stauts'; allowed: ...``.
    """
    if isinstance(data, Mapping) and set(data) == {"faults"}:
        data = data["faults"]
    if isinstance(data, Mapping):
        return [FaultSpec.from_dict(data)]
    if not isinstance(data, list | tuple):
        raise ValueError(
            f"faults must be a list of objects or one object, not {type(data).__name__}"
        )
    specs = []
    for index, item in enumerate(data):
        try:
            specs.append(item if isinstance(item, FaultSpec) else FaultSpec.from_dict(item))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"faults[{index}]: {exc}") from None
    return specs


@dataclass(frozen=True)
class ActiveFault:
    """A rule that fired for one request. ``hit`` counts from 1 for that rule."""

    id: str
    spec: FaultSpec
    hit: int


@dataclass
class _Rule:
    id: str
    spec: FaultSpec
    rng: random.Random
    remaining: int | None
    hits: int = 0
    evaluated: int = 0

    def live(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def matches(self, route: str, deployment: str | None, stream: bool) -> bool:
        spec = self.spec
        if spec.route is not None and spec.route != route:
            return False
        if spec.deployment is not None and spec.deployment != deployment:
            return False
        wants_stream = True if spec.kind in _STREAM_ONLY_KINDS else spec.stream
        return wants_stream is None or wants_stream == stream

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.to_dict(),
            "hits": self.hits,
            "evaluated": self.evaluated,
            "remaining": self.remaining,
        }


class FaultPlan:
    """The live fault rules, first match wins. Safe to call from several threads.

    ``seed`` drives ``probability`` rules; each rule draws from its own RNG seeded from the
    plan's seed and the rule's id, so adding a rule does not change another rule's draws.
    Without a seed the plan uses 0: runs repeat unless you ask otherwise.
    """

    def __init__(self, seed: int | None = None) -> None:
        _expect_int("seed", seed, optional=True)
        self.seed = seed
        self._rules: dict[str, _Rule] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FaultPlan(seed={self.seed!r}, rules={len(self)})"

    def add(self, spec: FaultSpec | Mapping[str, Any]) -> dict[str, Any]:
        """Add a rule after the existing ones; returns it as JSON-able data with its ``id``."""
        if not isinstance(spec, FaultSpec):
            spec = FaultSpec.from_dict(spec)
        with self._lock:
            fault_id = f"fault_{self._next_id}"
            self._next_id += 1
            rule = _Rule(fault_id, spec, self._rng_for(fault_id), spec.count)
            self._rules[fault_id] = rule
            return rule.to_dict()

    def take(
        self,
        *,
        route: str,
        deployment: str | None,
        stream: bool,
        kinds: Collection[str] | None = None,
    ) -> ActiveFault | None:
        """The first live rule matching this request, with one use consumed; None if none fires.

        ``kinds`` limits the rules asked to those kinds: the app asks for ``status`` rules when
        a request arrives and for the others only once its reply is ready, so a request that is
        refused on the way (400, 404, 429) never uses up a stream or latency rule.
        A ``probability`` rule that loses its draw lets later rules have their turn.
        """
        with self._lock:
            for rule in self._rules.values():
                if kinds is not None and rule.spec.kind not in kinds:
                    continue
                if not rule.live() or not rule.matches(route, deployment, stream):
                    continue
                rule.evaluated += 1
                probability = rule.spec.probability
                if probability is not None and rule.rng.random() >= probability:
                    continue
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                return ActiveFault(rule.id, rule.spec, rule.hits)
            return None

    def rules(self) -> list[dict[str, Any]]:
        """Every rule in order, spent ones included: id, spec fields, hits, remaining."""
        with self._lock:
            return [rule.to_dict() for rule in self._rules.values()]

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            return self._rules.pop(fault_id, None) is not None

    def clear(self) -> None:
        """Drop every rule and restart ids at ``fault_1``."""
        with self._lock:
            self._rules.clear()
            self._next_id = 1

    def reseed(self, seed: int | None) -> None:
        """Set the seed and restart every rule's draws from it."""
        _expect_int("seed", seed, optional=True)
        with self._lock:
            self.seed = seed
            for rule in self._rules.values():
                rule.rng = self._rng_for(rule.id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)

    def _rng_for(self, fault_id: str) -> random.Random:
        return random.Random(f"{self.seed or 0}:{fault_id}")


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def status_fault_response(spec: FaultSpec, *, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a ``status`` fault, in the Anthropic error dialect.

    ``spec.body`` replaces the body verbatim (e.g. an Azure-shaped error). The headers are
    ``content-type`` plus ``retry-after`` / ``retry-after-ms`` / ``x-should-retry`` when the
    spec sets them; the app adds ``request-id`` and ``apim-request-id`` as on every response.
    """
    if spec.status is None:
        raise ValueError(f"a {spec.kind!r} fault has no HTTP status to answer with")
    status = spec.status
    headers = {"content-type": "application/json"}
    if spec.retry_after is not None:
        headers["retry-after"] = _format_seconds(spec.retry_after)
    if spec.retry_after_ms is not None:
        headers["retry-after-ms"] = str(spec.retry_after_ms)
    if spec.should_retry is not None:
        headers["x-should-retry"] = "true" if spec.should_retry else "false"
    if spec.body is not None:
        return status, headers, json.dumps(spec.body).encode()
    error_type = spec.error_type or default_error_type(status)
    body = {
        "type": "error",
        "error": {"type": error_type, "message": _message_for(spec, error_type)},
        "request_id": request_id,
    }
    return status, headers, json.dumps(body).encode()


def stream_error_event(spec: FaultSpec) -> ErrorEvent:
    """The ``event: error`` a ``stream_error`` fault sends; default ``overloaded_error``."""
    if spec.error_type is not None:
        error_type = spec.error_type
    elif spec.status is not None:
        error_type = default_error_type(spec.status)
    else:
        error_type = "overloaded_error"
    return ErrorEvent(error=ErrorDetail(type=error_type, message=_message_for(spec, error_type)))


def _message_for(spec: FaultSpec, error_type: str) -> str:
    if spec.message is not None:
        return spec.message
    return _DEFAULT_MESSAGES.get(error_type, "The service returned an error.")
