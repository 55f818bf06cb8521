"""Who may talk to an emulator on loopback: requests for a loopback host, from no foreign page.

A web page the user opens can send requests to ``127.0.0.1``: a cross-origin ``POST`` that needs
no preflight (CSRF), or, after rebinding its own DNS name to ``127.0.0.1``, any request at all
with its own name in ``Host`` (DNS rebinding). Local development servers refuse both, and so does
the emulator while it listens on loopback only:

* ``Host`` must name a loopback address (``localhost``, ``*.localhost``, ``127.0.0.0/8``,
  ``::1``) or one of the configured ``allowed_hosts``;
* ``Origin``, when a browser sends one, must name such a host too (``null`` is foreign).

Clients that are not browsers (the official SDKs, curl, azure-identity) send the host they were
given and no ``Origin``, so they pass. An emulator listening beyond loopback asks for its API key
on the control routes instead (see :mod:`.control`).

    >>> foreign_request({"host": "127.0.0.1:8011"}, ()) is None
    True
    >>> foreign_request({"host": "attacker.example:8011"}, ())[:31]
    "Host 'attacker.example' is not "
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

__all__ = ["foreign_request", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` and loopback IP addresses (IPv6 bracketed or not)."""
    host = host.strip().lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_of(authority: str) -> str:
    """``host`` from ``host[:port]`` or ``[v6]:port``."""
    authority = authority.strip()
    if authority.startswith("["):
        return authority.partition("]")[0] + "]"
    return authority.rpartition(":")[0] if authority.count(":") == 1 else authority


def _allowed(host: str, allowed_hosts: Collection[str]) -> bool:
    return is_loopback_host(host) or host.lower() in allowed_hosts


def foreign_request(headers: Mapping[str, str], allowed_hosts: Collection[str]) -> str | None:
    """Why a request to a loopback emulator looks like it comes from a web page, or None.

    ``headers`` has lower-case names; ``allowed_hosts`` lower-case host names.
    """
    host_header = headers.get("host")
    if host_header is not None:
        host = _host_of(host_header)
        if not _allowed(host, allowed_hosts):
            return (
                f"Host {host!r} is not a loopback name; the emulator listens on loopback and "
                "refuses other names (DNS rebinding). Call it as 127.0.0.1 or localhost, or add "
                "the name to allowed_hosts in the emulator configuration."
            )
    origin = headers.get("origin")
    if origin is not None:
        origin_host = urlsplit(origin.strip()).hostname or ""
        if origin.strip().lower() == "null" or not _allowed(origin_host, allowed_hosts):
            return (
                f"Origin {origin!r} is not a loopback page; the emulator refuses requests from "
                "other web pages (CSRF). Call it from a local tool or page, or add the host to "
                "allowed_hosts in the emulator configuration."
            )
    return None
