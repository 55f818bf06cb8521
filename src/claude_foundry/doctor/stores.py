"""The usage ledger the client would record to (``CLAUDE_FOUNDRY_LEDGER``): reachable, and at a
schema this release can use. It only reads: a SQLite file that does not exist yet is not created
(its folder must be writable), and a database without ledger tables is left for the first call
to set up."""

from __future__ import annotations

import os
from pathlib import Path

from .._config import redact_url
from .._errors import ConfigurationError
from .._observe import LEDGER_ENVIRONMENT_VARIABLE
from .context import DoctorContext
from .results import CheckResult

__all__ = ["check_ledger"]

_NAME = "ledger"
_URL_FIX = (
    f"Set {LEDGER_ENVIRONMENT_VARIABLE} to sqlite:///path/to/usage.db or "
    "postgresql://user@host:5432/database (or unset it to record nothing)."
)


def check_ledger(ctx: DoctorContext) -> CheckResult:
    url = ctx.env(LEDGER_ENVIRONMENT_VARIABLE)
    if url is None:
        return CheckResult(
            _NAME, "skip", f"{LEDGER_ENVIRONMENT_VARIABLE} is not set: no usage ledger"
        )
    from ..ledger import LedgerError, open_store
    from ..ledger.sqlite import SQLiteStore
    from ..ledger.store import migration_scripts

    try:
        store = open_store(url)
    except (ConfigurationError, LedgerError) as exc:
        return CheckResult(_NAME, "fail", str(exc), _URL_FIX)
    where = redact_url(url).partition("?")[0]
    if isinstance(store, SQLiteStore) and not Path(store.path).expanduser().exists():
        folder = Path(store.path).expanduser().parent
        if not os.access(folder, os.W_OK):
            return CheckResult(
                _NAME,
                "fail",
                f"{where}: the folder {str(folder)!r} is not writable",
                "Point the ledger at a folder this user can write, or fix its permissions.",
            )
        return CheckResult(_NAME, "ok", f"{where}: created with the first recorded call")
    try:
        version = store.schema_version()
    except LedgerError as exc:
        return CheckResult(_NAME, "fail", str(exc), _URL_FIX)
    finally:
        store.close()
    newest = migration_scripts(store.dialect)[-1][0]
    if version is None:
        return CheckResult(_NAME, "ok", f"{where}: reachable; the first call creates its tables")
    if version > newest:
        return CheckResult(
            _NAME,
            "fail",
            f"{where}: schema version {version}, newer than this release knows ({newest})",
            "Upgrade claude-foundry (pip install -U claude-foundry) on this machine.",
        )
    if version < newest:
        return CheckResult(
            _NAME,
            "ok",
            f"{where}: schema version {version}; the first call brings it to {newest}",
        )
    return CheckResult(_NAME, "ok", f"{where}: reachable, schema version {version}")
