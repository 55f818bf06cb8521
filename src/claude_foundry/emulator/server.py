"""Run the emulator: uvicorn on a loopback port, in a background thread of this process.

    >>> from claude_foundry.emulator import Emulator
    >>> with Emulator(api_key="test-key") as emu:  # doctest: +SKIP
    ...     client = AnthropicFoundry(api_key=emu.api_key, base_url=emu.base_url)

The socket is bound before the server starts, so the port is known at once and start-up takes a
few milliseconds. :meth:`Emulator.stop` closes open streams and joins the thread.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from .app import EmulatorApp
from .auth import Authenticator, TokenVerifier
from .config import EmulatorConfig, EmulatorConfigError, check_api_key
from .connections import ConnectionGuard
from .faults import FaultSpec
from .guard import is_loopback_host
from .journal import JournalEntry
from .state import EmulatorState

__all__ = ["Emulator", "is_loopback"]

_START_TIMEOUT_S = 10.0
_MAX_HEADER_BYTES = 64 * 1024
"""The request line and headers together; more is answered 400 (room for large Entra tokens)."""


def is_loopback(host: str) -> bool:
    """True for a loopback name or address (see :func:`.guard.is_loopback_host`)."""
    return is_loopback_host(host)


class Emulator:
    """A local Foundry resource. Use as a context manager, or call :meth:`start` / :meth:`stop`.

    ``config`` is an :class:`EmulatorConfig`, a path to a TOML file, or None for the defaults
    (every catalog model deployed under its default name, no quotas). ``api_key`` replaces the
    configured keys. A host other than loopback needs ``allow_remote=True``.

    Authentication: the configured keys in ``api-key`` / ``x-api-key``; pass ``token_verifier``
    to accept ``Authorization: Bearer`` tokens as well, or ``authenticator`` to replace the
    scheme entirely (see :mod:`claude_foundry.emulator.auth`).
    """

    def __init__(
        self,
        config: EmulatorConfig | str | Path | None = None,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        authenticator: Authenticator | None = None,
        token_verifier: TokenVerifier | None = None,
    ) -> None:
        if config is None:
            config = EmulatorConfig.default()
        elif isinstance(config, str | Path):
            config = EmulatorConfig.load(config)
        else:
            config = copy.deepcopy(config)  # the caller's object stays as given
        if api_key is not None:
            config.api_keys = [check_api_key(api_key, "api_key")]
        if not is_loopback(host) and not allow_remote:
            raise EmulatorConfigError(
                f"host {host!r} is not a loopback address; the emulator accepts a well-known key "
                "and has an unauthenticated control API, so pass allow_remote=True (CLI: "
                "--allow-remote) to listen on other interfaces"
            )
        self.host = host
        self._requested_port = port
        self.state = EmulatorState(
            config, authenticator=authenticator, token_verifier=token_verifier
        )
        self.state.control_requires_key = not is_loopback(host)
        self.app = EmulatorApp(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._guard: ConnectionGuard | None = None
        self.port = 0

    def __repr__(self) -> str:
        where = self.url if self.port else "not started"
        return f"Emulator({where}, deployments={len(self.state.config.deployments)})"

    # --- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (the control API lives under ``{url}/_emulator/``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``AnthropicFoundry(base_url=...)`` takes: ``http://HOST:PORT/anthropic/``."""
        return f"{self.url}/anthropic/"

    @property
    def api_key(self) -> str:
        return self.state.config.api_keys[0]

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # An explicit IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; without
        # it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError as exc:
            sock.close()
            raise OSError(
                exc.errno, f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror}"
            ) from None
        self.port = sock.getsockname()[1]
        settings = self.state.config
        self._guard = ConnectionGuard(
            header_timeout_s=settings.header_timeout_s, keep_alive_s=settings.keep_alive_s
        )
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            access_log=False,
            log_config=None,
            log_level="warning",
            http=self._guard.protocol,  # header and keep-alive timeouts (see .connections)
            h11_max_incomplete_event_size=_MAX_HEADER_BYTES,
            ws="none",
            interface="asgi3",
            timeout_graceful_shutdown=1,
            backlog=4096,
            server_header=False,
            proxy_headers=False,  # no proxy in front; keeps a middleware off the hot path
        )
        server = uvicorn.Server(config)
        server.config.load()  # fail here, not in the thread
        self._socket, self._server = sock, server
        self._thread = threading.Thread(
            target=self._run, name=f"claude-foundry-emulator:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start on {self.url}")
            time.sleep(0.001)
        return self

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        assert self._server is not None
        assert self._socket is not None
        assert self._guard is not None
        asyncio.get_running_loop().set_exception_handler(self._guard.handle_loop_error)
        await self._server.serve(sockets=[self._socket])

    def stop(self) -> None:
        """Stop serving; open connections are closed. Safe to call twice."""
        server, thread = self._server, self._thread
        self.state.closing = True
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=5)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self.state.closing = False

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- steering from Python (the control API does the same over HTTP) -----------------------

    def add_fault(
        self, spec: FaultSpec | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> dict[str, Any]:
        """Add a fault rule, e.g. ``add_fault(kind="status", status=529, count=2)``.

        Returns the rule as data (with its ``id``); bad fields raise ValueError.
        """
        if spec is None:
            return self.state.faults.add(fields)
        if fields:
            if isinstance(spec, FaultSpec):
                raise TypeError("pass a FaultSpec or keyword fields, not both")
            return self.state.faults.add({**spec, **fields})
        return self.state.faults.add(spec)

    def remove_fault(self, fault_id: str) -> bool:
        return self.state.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self.state.faults.rules()

    def add_script(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Add a scripted-reply rule (see :mod:`claude_foundry.emulator.scripts`)."""
        return self.state.scripts.add(rule)

    def load_scripts(self, path: str | Path) -> list[dict[str, Any]]:
        return self.state.scripts.load(path)

    def clear_scripts(self) -> None:
        self.state.scripts.clear()

    def journal(
        self, *, deployment: str | None = None, limit: int | None = None
    ) -> list[JournalEntry]:
        """Recorded requests, oldest first (headers redacted)."""
        return self.state.journal.entries(deployment=deployment, limit=limit)

    def clear_journal(self) -> None:
        self.state.journal.clear()

    def configure(self, **changes: Any) -> None:
        """Change the live configuration, as ``PATCH /_emulator/config`` does.

        ``emu.configure(quotas={"claude-haiku-4-5": {"rpm": 2}}, stream_event_delay_ms=5)``
        """
        self.state.patch_config(changes)

    def reset(self) -> None:
        """Faults, journal, quota windows, scripts, ids and configuration back to the start."""
        self.state.reset()
