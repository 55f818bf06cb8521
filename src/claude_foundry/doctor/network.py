"""The doctor's network checks: DNS, TCP and TLS, and the proxy the environment names.

Each check returns a :class:`~claude_foundry.doctor.CheckResult`; none sends an HTTP request.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx2

from .._config import is_loopback_host
from .results import CheckResult, Status

__all__ = [
    "check_connect",
    "check_dns",
    "check_tls",
    "display_proxy",
    "proxy_for",
    "proxy_problem",
]


def _result(name: str, status: Status, detail: str, fix: str = "") -> CheckResult:
    return CheckResult(name, status, detail, fix)


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY`` etc., minus ``NO_PROXY``)."""
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL:
        return None
    lowered = {name.lower(): value for name, value in environ.items() if value}
    proxy = lowered.get(f"{parsed.scheme}_proxy") or lowered.get("all_proxy")
    if not proxy:
        return None
    host = parsed.host.lower()
    for entry in lowered.get("no_proxy", "").split(","):
        entry = entry.strip().lower()
        if entry == "*" or (
            entry and (host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")))
        ):
            return None
    return proxy if "://" in proxy else f"http://{proxy}"


def proxy_problem(proxy: str) -> str | None:
    """Why the HTTP client could not use ``proxy``, or None when it can."""
    try:
        parsed = httpx2.Proxy(proxy)
    except (ValueError, httpx2.InvalidURL) as exc:
        return f"the proxy {display_proxy(proxy)} is not usable: {exc}"
    if parsed.url.scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
        return f"the proxy {display_proxy(proxy)} needs the socksio package, which is not installed"
    return None


def display_proxy(proxy: str) -> str:
    """The proxy without any user name or password."""
    try:
        url = httpx2.URL(proxy)
    except httpx2.InvalidURL:
        return "(unparseable proxy URL)"
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _port(url: httpx2.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _is_azure(host: str) -> bool:
    return host.endswith(".azure.com")


class _Lookup:
    """getaddrinfo in a daemon thread: it has no timeout of its own, and a stuck resolver must
    neither hang the check nor keep the process from exiting."""

    def __init__(self, host: str, port: int) -> None:
        self.done = threading.Event()
        self.infos: list[Any] = []
        self.error: OSError | None = None
        threading.Thread(target=self._run, args=(host, port), daemon=True).start()

    def _run(self, host: str, port: int) -> None:
        try:
            self.infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            self.error = exc
        finally:
            self.done.set()


def check_dns(url: httpx2.URL, proxy: str | None, timeout: float) -> CheckResult:
    host = url.host
    if proxy is not None:
        return _result("dns", "skip", f"the proxy {display_proxy(proxy)} resolves {host}")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return _result("dns", "ok", f"{host} is an IP address; nothing to resolve")
    lookup = _Lookup(host, _port(url))
    if not lookup.done.wait(timeout):
        slow = f"looking up {host} took longer than {timeout:g} s"
        return _result("dns", "fail", slow, _dns_fix(host))
    if lookup.error is not None:
        why = lookup.error.strerror or str(lookup.error)
        return _result("dns", "fail", f"cannot resolve {host}: {why}", _dns_fix(host))
    infos = lookup.infos
    addresses = sorted({str(info[4][0]) for info in infos})
    detail = f"{host} → {', '.join(addresses[:4])}"
    if _is_azure(host) and all(ipaddress.ip_address(a).is_private for a in addresses):
        detail += " (private addresses: a private endpoint)"
    return _result("dns", "ok", detail)


def _dns_fix(host: str) -> str:
    if _is_azure(host):
        label = host.split(".", 1)[0]
        return (
            f"Check the resource name {label!r}: it must match the Azure resource exactly (the "
            "portal shows the endpoint on the deployment's Details tab). A resource behind a "
            "private endpoint resolves only inside its network (private DNS zone "
            "privatelink.services.ai.azure.com or privatelink.cognitiveservices.azure.com); run "
            "from there or set HTTPS_PROXY."
        )
    return "Check the host name in the base URL, and your DNS or proxy settings."


def check_connect(url: httpx2.URL, proxy: str | None, timeout: float) -> CheckResult:
    target = f"{url.host}:{_port(url)}"
    if proxy is not None:
        return _result(
            "connect", "skip", f"traffic to {target} goes through the proxy {display_proxy(proxy)}"
        )
    started = time.perf_counter()
    try:
        with socket.create_connection((url.host.strip("[]"), _port(url)), timeout=timeout):
            pass
    except ConnectionRefusedError:
        if is_loopback_host(url.host):
            fix = (
                "Nothing listens on that port: start the service (for a local emulator: "
                "claude-foundry emulator) or correct the port in the base URL."
            )
        else:
            fix = "Check the port in the base URL and any firewall between here and the host."
        return _result("connect", "fail", f"connection to {target} refused", fix)
    except TimeoutError:
        return _result(
            "connect",
            "fail",
            f"no answer from {target} within {timeout:g} s",
            "A firewall, or a resource reachable only through its private endpoint (public "
            "network access disabled): check the resource's Networking settings, or go through "
            "a proxy (HTTPS_PROXY).",
        )
    except OSError as exc:
        return _result(
            "connect",
            "fail",
            f"cannot connect to {target}: {exc.strerror or exc}",
            "Check your network, VPN and proxy settings.",
        )
    elapsed_ms = (time.perf_counter() - started) * 1000
    return _result("connect", "ok", f"TCP connection to {target} in {elapsed_ms:.0f} ms")


def check_tls(url: httpx2.URL, proxy: str | None, timeout: float) -> CheckResult:
    if proxy is not None:
        return _result("tls", "skip", "TLS to the host runs through the proxy tunnel")
    if url.scheme == "http":
        if is_loopback_host(url.host):
            return _result("tls", "skip", "plain http to a loopback host: TLS skipped")
        return _result(
            "tls", "warn", f"plain http to {url.host}: no TLS", "Use an https:// base URL."
        )
    context = httpx2.create_ssl_context()
    host = url.host.strip("[]")
    try:
        with (
            socket.create_connection((host, _port(url)), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = tls.version() or "TLS"
            cert = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as exc:
        return _result(
            "tls",
            "fail",
            f"the certificate of {host} is not trusted: {exc.verify_message or exc}",
            "A TLS-inspecting proxy or firewall? Point SSL_CERT_FILE at your organisation's CA "
            "bundle. Otherwise check that the host name is the resource's endpoint.",
        )
    except (ssl.SSLError, OSError) as exc:
        return _result(
            "tls",
            "fail",
            f"TLS handshake with {host} failed: {exc}",
            "Check proxies and firewalls that intercept TLS.",
        )
    not_after = cert.get("notAfter")
    valid = f", certificate valid until {not_after}" if isinstance(not_after, str) else ""
    return _result("tls", "ok", f"{version} with {host}{valid}")
