"""The Message Batches wire shapes: request lines in, result lines out, the batch object.

Input is Anthropic's: one ``{"custom_id": ..., "params": {...}}`` object per JSONL line, where
``custom_id`` matches ``^[a-zA-Z0-9_-]{1,64}$`` and is unique, and ``params`` is a non-streaming
Messages request. Output lines are what the Batches API's results endpoint sends::

    {"custom_id": "a", "result": {"type": "succeeded", "message": {...}}}
    {"custom_id": "b", "result": {"type": "errored", "error": {"type": "error",
        "error": {"type": "invalid_request_error", "message": "..."}, "request_id": "req_..."}}}
    {"custom_id": "c", "result": {"type": "canceled"}}
    {"custom_id": "d", "result": {"type": "expired"}}

Everything here is pure: validation names the line that is wrong before anything is sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ..types import MessageCreateRequest

__all__ = [
    "CUSTOM_ID_PATTERN",
    "MAX_REQUESTS",
    "BatchInputError",
    "BatchRequest",
    "canceled_result",
    "errored_result",
    "expired_result",
    "file_sha256",
    "read_requests",
    "requests_sha256",
    "result_line",
    "succeeded_result",
    "validate_requests",
]

CUSTOM_ID_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
#: The Batches API's per-batch cap; a larger job is several batches there too.
MAX_REQUESTS = 100_000
_MESSAGE_PARAMS_DECODER = msgspec.json.Decoder()


class BatchInputError(ValueError):
    """A batch's requests are not Anthropic's batch format. ``line`` is 1-based (None for a
    request given as a Python object rather than a file line); nothing was sent."""

    def __init__(self, message: str, *, line: int | None = None, source: str | None = None):
        where = ""
        if line is not None:
            where = f"{source or 'input'}, line {line}: "
        elif source is not None:
            where = f"{source}: "
        super().__init__(where + message)
        self.line = line
        self.source = source


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One validated request: its id, its position (1-based) and its Messages params."""

    custom_id: str
    line: int
    params: dict[str, Any]


def _check_params(params: Any) -> str | None:
    """Why ``params`` is not a non-streaming Messages request, or None when it is."""
    if not isinstance(params, dict):
        return f"'params' must be a JSON object (a Messages request), got {type(params).__name__}"
    if params.get("stream"):
        return "'params.stream' is not allowed in a batch: batch requests are not streamed"
    missing = [name for name in ("model", "max_tokens", "messages") if name not in params]
    if missing:
        return f"'params' is not a Messages request: missing {', '.join(map(repr, missing))}"
    try:
        msgspec.convert(params, MessageCreateRequest)
    except msgspec.ValidationError as exc:
        return f"'params' is not a Messages request: {exc}"
    return None


def _check_request(item: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict):
        raise ValueError(
            f'each request must be an object {{"custom_id": ..., "params": ...}}, '
            f"got {type(item).__name__}"
        )
    unknown = sorted(item.keys() - {"custom_id", "params"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}: a request has only 'custom_id' and 'params'")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or CUSTOM_ID_PATTERN.fullmatch(custom_id) is None:
        raise ValueError(
            f"'custom_id' must be 1 to 64 letters, digits, '_' or '-', got {custom_id!r}"
        )
    problem = _check_params(item.get("params"))
    if problem is not None:
        raise ValueError(problem)
    return custom_id, item["params"]


def validate_requests(
    items: Iterable[tuple[int, Any]], *, source: str | None = None
) -> list[BatchRequest]:
    """Validate ``(line, request)`` pairs; raise :class:`BatchInputError` at the first bad one."""
    requests: list[BatchRequest] = []
    seen: dict[str, int] = {}
    for line, item in items:
        try:
            custom_id, params = _check_request(item)
        except ValueError as exc:
            raise BatchInputError(str(exc), line=line, source=source) from None
        if custom_id in seen:
            raise BatchInputError(
                f"duplicate custom_id {custom_id!r} (first on line {seen[custom_id]}); "
                "each request in a batch needs its own id",
                line=line,
                source=source,
            )
        seen[custom_id] = line
        requests.append(BatchRequest(custom_id, line, params))
        if len(requests) > MAX_REQUESTS:
            raise BatchInputError(
                f"more than {MAX_REQUESTS:,} requests; split the input into several batches",
                line=line,
                source=source,
            )
    if not requests:
        raise BatchInputError("no requests: a batch needs at least one", source=source)
    return requests


def _lines(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            if not raw.strip():
                continue
            try:
                yield number, _MESSAGE_PARAMS_DECODER.decode(raw)
            except msgspec.DecodeError as exc:
                raise BatchInputError(
                    f"not valid JSON ({exc})", line=number, source=str(path)
                ) from None
            except UnicodeDecodeError:
                raise BatchInputError("not UTF-8 text", line=number, source=str(path)) from None


def read_requests(path: str | Path) -> list[BatchRequest]:
    """Read and validate a JSONL request file; raise :class:`BatchInputError` naming the line."""
    path = Path(path)
    try:
        return validate_requests(_lines(path), source=str(path))
    except OSError as exc:
        raise BatchInputError(
            f"cannot read the input file: {exc.strerror}", source=str(path)
        ) from None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def requests_sha256(requests: Iterable[BatchRequest]) -> str:
    """A fingerprint of requests given as objects (the API's ``create(requests=...)``)."""
    digest = hashlib.sha256()
    for request in requests:
        digest.update(msgspec.json.encode([request.custom_id, request.params], order="sorted"))
        digest.update(b"\n")
    return digest.hexdigest()


# --- results ------------------------------------------------------------------------------------


def succeeded_result(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "succeeded", "message": message}


def errored_result(error_type: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    """The API's error envelope, as the Batches API nests it in an ``errored`` result."""
    return {
        "type": "errored",
        "error": {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": request_id,
        },
    }


def canceled_result() -> dict[str, Any]:
    return {"type": "canceled"}


def expired_result() -> dict[str, Any]:
    return {"type": "expired"}


def result_line(custom_id: str, result: dict[str, Any] | bytes) -> bytes:
    """One JSONL line, newline included. ``result`` may already be JSON bytes (from a store)."""
    encoded = result if isinstance(result, bytes) else msgspec.json.encode(result)
    return b'{"custom_id":' + msgspec.json.encode(custom_id) + b',"result":' + encoded + b"}\n"
