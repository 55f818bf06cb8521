"""Opening a batch store from where it lives: a path, ``sqlite:///path`` or ``postgresql://``.

Apart from :mod:`.store` so that the seam does not import the stores that implement it."""

from __future__ import annotations

from pathlib import Path

from .store import BatchStore, BatchStoreError

__all__ = ["open_store"]


def open_store(location: str | Path) -> BatchStore:
    """A store from a location: a file path (or ``sqlite:///path``) for SQLite, a
    ``postgresql://`` URL for PostgreSQL (needs ``pip install 'claude-foundry[postgres]'``)."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from ._postgres import PostgresBatchStore

        return PostgresBatchStore(text)
    from ._sqlite import SQLiteBatchStore

    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text:
        raise BatchStoreError(
            f"unknown batch store {text.split('://')[0]}://...: use a file path, "
            "sqlite:///path or postgresql://..."
        )
    return SQLiteBatchStore(text)
