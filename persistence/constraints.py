"""Unique constraints mapped to contract conflicts, by constraint name.

PostgreSQL names the violated constraint; SQLite names its columns. Both are looked up in one
table made from the metadata, so a new constraint needs one line here.
"""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from domain.errors import Conflict
from persistence.tables import metadata

# constraint name -> (field, sentence)
CONFLICTS: dict[str, tuple[str, str]] = {
    "uq_games_live_name": ("name", "a game of this account already has that name"),
    "uq_games_slug": ("slug", "that slug is taken"),
    "uq_games_external_id": ("external_game_id", "a game of this account has that external id"),
    "uq_game_tasks_external_id": ("external_task_id", "a task of this game has that external id"),
    "uq_strategies_version": ("name", "a strategy of that name already exists in the account"),
    "uq_strategies_published": ("status", "another version of the family is PUBLISHED"),
    "pk_processed_commands": ("idempotency_key", "this command was already processed"),
}


def _columns_by_constraint() -> dict[str, str]:
    """SQLite's 'UNIQUE constraint failed: t.a, t.b' text -> constraint name."""
    out: dict[str, str] = {}
    for table in metadata.tables.values():
        named: list[tuple[str | None, list[str]]] = [
            (c.name if isinstance(c.name, str) else None, [col.name for col in c.columns])
            for c in table.constraints
            if isinstance(c, UniqueConstraint) or c is table.primary_key
        ]
        named += [
            (ix.name if isinstance(ix.name, str) else None, [col.name for col in ix.columns])
            for ix in table.indexes
            if isinstance(ix, Index) and ix.unique
        ]
        for name, cols in named:
            if name in CONFLICTS:
                out[", ".join(f"{table.name}.{c}" for c in cols)] = name
    return out


_SQLITE_COLUMNS = _columns_by_constraint()


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        name = getattr(diag, "constraint_name", None)
        return str(name) if name else None
    message = str(exc.orig)
    prefix = "UNIQUE constraint failed: "
    if message.startswith(prefix):
        return _SQLITE_COLUMNS.get(message[len(prefix) :].strip())
    return None


def as_conflict(exc: IntegrityError) -> Conflict | None:
    """The contract conflict for a unique violation, or None for any other integrity error."""
    name = constraint_name(exc)
    if name is None or name not in CONFLICTS:
        return None
    field, sentence = CONFLICTS[name]
    return Conflict(f"{field}: {sentence}", {"fields": {field: sentence}, "constraint": name})
