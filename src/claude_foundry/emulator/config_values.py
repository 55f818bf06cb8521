"""Checks on single configuration values, each failing with a message that names the key.

Kept apart from :mod:`.config` (which assembles a whole configuration from them) so that the
checks read on their own: what a header value, an API key, a number of seconds or a list of host
names must look like, and why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .._errors import ConfigurationError

__all__ = [
    "MAX_STREAM_EVENT_DELAY_MS",
    "EmulatorConfigError",
    "api_keys",
    "check_api_key",
    "check_header_value",
    "check_keys",
    "host_names",
    "optional_count",
    "optional_int",
    "optional_str",
    "require_bool",
    "require_str",
    "seconds",
    "stream_event_delay_ms",
]

MAX_STREAM_EVENT_DELAY_MS = 60_000
"""One minute between events. The pause applies to every event of every stream, and a short reply
has a dozen events, so a minute each already stretches it past the official client's ten-minute
default timeout: a longer pace could only hang every stream. A single slow or stalled stream is a
``latency`` fault's ``event_delay_ms`` (up to ten minutes, for the requests it selects)."""


class EmulatorConfigError(ConfigurationError):
    """The emulator configuration is invalid; the message names the key and what it accepts."""


def check_header_value(value: str, where: str) -> None:
    """Refuse a value that cannot travel in an HTTP header as it is.

    Header values are visible ASCII, spaces and tabs (RFC 9110): a CR or LF would end the header
    early and let the rest of the value forge headers or a body in every reply that carries it.
    """
    bad = next((char for char in value if not _is_header_char(char)), None)
    if bad is not None:
        raise EmulatorConfigError(
            f"{where} must be printable ASCII (it is sent in an HTTP header); it contains "
            f"{bad!r} at position {value.index(bad)}"
        )


def _is_header_char(char: str) -> bool:
    return char == "\t" or " " <= char <= "~"


def check_api_key(key: object, where: str) -> str:
    """An API key as configured, or :class:`EmulatorConfigError` saying why it can never match."""
    if not isinstance(key, str) or not key:
        raise EmulatorConfigError(f"{where}: an API key must be a non-empty string")
    if not key.isascii() or not key.isprintable() or key != key.strip():
        raise EmulatorConfigError(
            f"{where}: an API key must be printable ASCII without surrounding spaces: clients "
            "send it in the api-key / x-api-key header, which carries nothing else, so this key "
            "could never match"
        )
    return key


def api_keys(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise EmulatorConfigError(
            f"{where}: api_keys must be a non-empty list of non-empty strings"
        )
    return [check_api_key(key, where) for key in value]


def seconds(value: object, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= 3600
    ):
        raise EmulatorConfigError(
            f"{where} must be a number of seconds in (0, 3600], not {value!r}"
        )
    return float(value)


def stream_event_delay_ms(value: object, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= MAX_STREAM_EVENT_DELAY_MS
    ):
        raise EmulatorConfigError(
            f"{where}: stream_event_delay_ms must be a number of milliseconds from 0 to "
            f"{MAX_STREAM_EVENT_DELAY_MS} (0: as fast as possible), not {value!r}"
        )
    return float(value)


def host_names(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(
        isinstance(host, str) and host and all(c.isalnum() or c in "-._" for c in host)
        for host in value
    ):
        raise EmulatorConfigError(
            "emulator config: allowed_hosts must be a list of host names such as "
            f'["emulator.test"] (no ports or schemes), not {value!r}'
        )
    return frozenset(host.lower() for host in value)


def check_keys(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise EmulatorConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def require_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise EmulatorConfigError(f"{where}: {key} must be a non-empty string, not {value!r}")
    return value


def optional_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    return require_str(data, key, where) if data.get(key) is not None else None


def require_bool(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data[key]
    if not isinstance(value, bool):
        raise EmulatorConfigError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def optional_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise EmulatorConfigError(f"{where}: {key} must be an integer, not {value!r}")
    return value


def optional_count(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EmulatorConfigError(f"{where} must be an integer >= 0 (or omitted), not {value!r}")
    return value
