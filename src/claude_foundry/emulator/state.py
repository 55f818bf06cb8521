"""Everything a running emulator holds, shared by the server thread and the caller's thread.

:class:`EmulatorState` owns the configuration, the authenticator, the fault plan, the quota book,
the journal, the script book, the responder and the message threads. The parts guard themselves
with locks, and the configuration is swapped whole rather than edited in place, so the app reads
it without locking.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .auth import AllowAll, Authenticator, KeyAuthenticator, TokenVerifier
from .config import EmulatorConfig, EmulatorConfigError
from .entra_http import ENTRA_PREFIX, MANAGED_IDENTITY_PATH
from .faults import FaultPlan
from .journal import Journal
from .quota import QuotaBook
from .responder import Responder
from .scripts import ScriptBook
from .threads import ThreadStore

if TYPE_CHECKING:
    from .entra import EntraDirectory

__all__ = ["EmulatorState", "build_authenticator"]


def build_authenticator(
    config: EmulatorConfig, token_verifier: TokenVerifier | None = None
) -> Authenticator:
    """Keys from the configuration; bearer tokens only when a verifier is given."""
    if not config.require_auth:
        return AllowAll()
    return KeyAuthenticator(config.api_keys, token_verifier=token_verifier)


class EmulatorState:
    """The live state of one emulator; :meth:`reset` returns it to how it started."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        authenticator: Authenticator | None = None,
        token_verifier: TokenVerifier | None = None,
    ) -> None:
        self._initial_config = copy.deepcopy(config)
        self._custom_authenticator = authenticator
        self.entra: EntraDirectory | None = None
        """Entra ID tokens, principals and the managed identity, when ``[entra]`` is enabled."""
        if config.entra.enabled:
            from .entra import EntraDirectory  # the crypto stack loads only when it is used

            self.entra = EntraDirectory(config.entra)
            token_verifier = token_verifier or self.entra.authenticator()
        self.token_verifier = token_verifier
        self.config = config
        self.authenticator: Authenticator = authenticator or build_authenticator(
            config, token_verifier
        )
        self.faults = FaultPlan(seed=config.seed)
        self.quota = QuotaBook(window_s=config.quota_window_s)
        self.journal = Journal(maxlen=config.journal_size, max_bytes=config.journal_max_bytes)
        self.scripts = ScriptBook()
        self.responder = Responder(self.scripts)
        self.threads = ThreadStore()
        self._counter = itertools.count(1)
        self.closing = False
        """Set while the server stops: paused requests end instead of being cancelled."""
        self.control_requires_key = False
        """Set for an emulator reachable beyond loopback: the control API then needs a key."""
        self.mounts: dict[str, Callable[..., Awaitable[None]]] = {}
        """Extra ASGI apps under the control prefix, e.g. ``{"/_emulator/entra": app}``."""
        self.keyless_paths: set[str] = set()
        """Control paths that guard themselves with a secret of their own, so that an emulator
        beyond loopback does not ask for its API key there (the managed-identity endpoint)."""
        if self.entra is not None:
            self.mount(ENTRA_PREFIX, self.entra.asgi_app)
            self.keyless_paths.add(MANAGED_IDENTITY_PATH)
        self._load_config_rules()

    def mount(self, prefix: str, app: Callable[..., Awaitable[None]]) -> None:
        """Serve ``prefix`` (under ``/_emulator/``) and everything below it with ``app``."""
        if not prefix.startswith("/_emulator/") or prefix.endswith("/"):
            raise ValueError(f"mount prefixes look like '/_emulator/name', not {prefix!r}")
        self.mounts[prefix] = app

    def mounted_app(self, path: str) -> Callable[..., Awaitable[None]] | None:
        """The app mounted at ``path`` or above it, if any."""
        for prefix, app in self.mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                return app
        return None

    def _load_config_rules(self) -> None:
        for index, fault in enumerate(self.config.faults):
            try:
                self.faults.add(fault)
            except ValueError as exc:
                raise EmulatorConfigError(f"faults[{index}]: {exc}") from None
        for path in self.config.scripts:
            try:
                self.scripts.load(path)
            except ValueError as exc:
                raise EmulatorConfigError(str(exc)) from None

    def next_ids(self) -> tuple[str, str, str]:
        """``request-id``, ``apim-request-id`` and message id for the next request.

        Ids come from a counter (restarted by :meth:`reset`), so a test run sees the same ids.
        The apim id is a version-4-shaped UUID whose last group is the counter.
        """
        number = next(self._counter)
        token = f"{number:022d}"
        return f"req_01{token}", f"00c1a0de-0000-4000-8000-{number % 16**12:012x}", f"msg_01{token}"

    def patch_config(self, changes: Mapping[str, Any]) -> None:
        """Change deployments, quotas and switches at run time (see EmulatorConfig.patch).

        A ``seed`` restarts every fault rule's draws from it, as :meth:`FaultPlan.reseed` does.
        """
        self.config.patch(changes)
        self.rebuild_authenticator()
        if "seed" in changes:
            self.faults.reseed(self.config.seed)

    def rebuild_authenticator(self) -> None:
        """Apply a change of keys, ``require_auth`` or token verifier."""
        if self._custom_authenticator is None:
            self.authenticator = build_authenticator(self.config, self.token_verifier)

    def reset(self) -> None:
        """Faults, journal, quotas, scripts, prompt cache, message threads, ids and config back
        to the start."""
        self.config = copy.deepcopy(self._initial_config)
        if self.entra is not None:
            self.entra.set_principals(self.config.entra.principals)
        self.rebuild_authenticator()
        self.faults.clear()
        self.faults.reseed(self.config.seed)
        self.quota.reset()
        self.journal.clear()
        self.scripts.clear()
        self.responder.reset()
        self.threads.clear()
        self._counter = itertools.count(1)
        self._load_config_rules()
