"""Numbered SQL migrations kept as package files: what the usage ledger and the batch store share.

A store's package holds ``migrations/<dialect>/NNNN_what_it_does.sql`` (``sqlite``,
``postgresql``). A store records the versions it has applied in a ``*_schema_versions`` table and
applies the newer files in order, in a transaction, under a lock that lets several processes
start at once. Files are never edited once released: a change to the tables is a new file.
"""

from __future__ import annotations

import re
from importlib import resources

__all__ = ["newer_schema_message", "numbered_scripts", "sql_statements"]

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def numbered_scripts(package: str, dialect: str) -> list[tuple[int, str]]:
    """``(version, sql)`` of every migration in ``package``'s ``migrations/<dialect>/``, in
    order."""
    folder = resources.files(package).joinpath("migrations", dialect)
    scripts = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            scripts.append((int(match.group(1)), entry.read_text("utf-8")))
    return sorted(scripts)


def sql_statements(script: str) -> list[str]:
    """A migration's statements, for a driver that runs one at a time (``sqlite3``, whose
    ``executescript`` would commit the surrounding transaction).

    Migration files hold plain statements separated by semicolons (no triggers, no strings
    containing ``;``), so splitting is enough; ``--`` comment lines are dropped."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    text = "\n".join(line.partition(" --")[0].rstrip() for line in lines)  # and trailing ones
    return [statement.strip() for statement in text.split(";") if statement.strip()]


def newer_schema_message(what: str, found: int, newest: int) -> str | None:
    """Why ``what`` (a store named with its location) cannot be used, when its schema version
    ``found`` is newer than the ``newest`` this release has: a newer release may have added
    columns this one would not fill in, or changed what rows mean."""
    if found <= newest:
        return None
    return (
        f"{what} has schema version {found}, newer than this release of claude-foundry can "
        "read: upgrade claude-foundry (pip install -U claude-foundry) to use it; it was left "
        "unchanged"
    )
