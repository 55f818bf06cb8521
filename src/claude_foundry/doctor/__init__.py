"""A preflight check of a Claude-in-Foundry setup: settings, endpoint, credential, network, access.

:func:`run_doctor` reads the same settings as the client (``ANTHROPIC_FOUNDRY_API_KEY``,
``ANTHROPIC_FOUNDRY_RESOURCE``, ``ANTHROPIC_FOUNDRY_BASE_URL`` and the options that override them)
and runs the checks in order, each one a :class:`CheckResult` with a status, what was found and
how to fix it. A check that needs an earlier one that failed is skipped and says why.

    >>> results = run_doctor(DoctorOptions(base_url="http://127.0.0.1:8000/anthropic/"))
    ... # doctest: +SKIP
    >>> [(r.name, r.status) for r in results]  # doctest: +SKIP
    [('environment', 'ok'), ('resource', 'skip'), ('base_url', 'ok'), ('credential', 'ok'), ...]

Secrets stay secret: a key is reported as "set, 32 chars", a token only by the claims that explain
a refusal (audience, tenant, expiry, roles, object id), read from the JWT payload without
verifying it. Every text is passed through :func:`~claude_foundry._token_cache.redact_secrets`
with the key and token before it is returned.
"""

from __future__ import annotations

from .context import DEFAULT_DEPLOYMENT, DoctorOptions
from .results import CheckResult, Status, exit_code
from .runner import CHECK_NAMES, run_doctor

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_DEPLOYMENT",
    "CheckResult",
    "DoctorOptions",
    "Status",
    "exit_code",
    "run_doctor",
]
