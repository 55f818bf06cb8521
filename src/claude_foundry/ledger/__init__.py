"""The usage ledger: every call recorded with its ids, tokens, estimated cost and timings.

Anthropic recommends logging activity on at least a 30-day rolling basis, and Foundry's own
monitoring bills Claude Consumption Units with no per-call breakdown. The ledger keeps one row per
call (``request-id`` and ``apim-request-id`` included, which support asks for) in SQLite by default
or in PostgreSQL for several processes or hosts, for 30 days unless told otherwise.

    >>> from claude_foundry import AnthropicFoundry
    >>> client = AnthropicFoundry(resource="example-resource", api_key="...",
    ...                           ledger="sqlite:///usage.db")  # doctest: +SKIP

or set ``CLAUDE_FOUNDRY_LEDGER=sqlite:///usage.db`` (or ``postgresql://...``) and read it with
``claude-foundry usage``. Records never hold a key, a token, a prompt or a reply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
from .._observe import LEDGER_ENVIRONMENT_VARIABLE, CallObserver, CallRecord
from .prices import ModelPrice, PriceTable, load_price_table
from .store import LedgerError, Store
from .writer import DEFAULT_RETENTION_DAYS, Ledger, shared_ledger

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "LEDGER_ENVIRONMENT_VARIABLE",
    "CallObserver",
    "CallRecord",
    "Ledger",
    "LedgerError",
    "ModelPrice",
    "PriceTable",
    "Store",
    "load_price_table",
    "open_ledger",
    "open_store",
]

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(url: str) -> Store:
    """The store a ledger URL names: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, a
    plain file path, or ``postgresql://user@host:5432/db``."""
    from .._config import redact_url

    text = url.strip()
    if text.startswith(_POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        return PostgresStore(text)
    if text.startswith(_SQLITE_PREFIX):
        path = text[len(_SQLITE_PREFIX) :]
    elif "://" in text or not text:
        raise ConfigurationError(
            f"Unsupported ledger URL {redact_url(text)!r}: use sqlite:///path/to/usage.db or "
            "postgresql://user@host:5432/database."
        )
    else:
        path = text
    from .sqlite import SQLiteStore

    return SQLiteStore(Path(path))


def open_ledger(url: str, **options: Any) -> Ledger:
    """The process's ledger for ``url`` (opened on first use, then shared by every client).

    ``options`` go to :class:`Ledger` when it is first opened (``retention_days``, ``prices``, ...).
    """
    return shared_ledger(url.strip(), lambda: Ledger(open_store(url), **options))
