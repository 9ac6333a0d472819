"""What every repository shares: its connection, row locks, and conflicts by constraint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.schema import Table

from domain.ports import Lock
from persistence.constraints import as_conflict

T = TypeVar("T")


class Repository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def locked(self, query: Select[Any], lock: Lock) -> Select[Any]:
        """Add a row lock on PostgreSQL (SQLite has one writer: the lock is the transaction)."""
        if lock == "none" or self.dialect == "sqlite":
            return query
        return query.with_for_update(read=lock == "share")

    @contextmanager
    def conflicts(self, savepoint: bool = False) -> Iterator[None]:
        """Turn unique violations into Conflict; ``savepoint`` keeps the transaction usable."""
        nested = self.conn.begin_nested() if savepoint else None
        try:
            yield
        except IntegrityError as exc:
            if nested is not None:
                nested.rollback()
            conflict = as_conflict(exc)
            if conflict is None:
                raise
            raise conflict from exc
        if nested is not None:
            nested.commit()

    def replace_params(
        self, table: Table, owner_col: str, owner_id: str, params: dict[str, Any], fresh: bool
    ) -> None:
        """Make the owner's params rows equal ``params`` (``fresh``: there are none yet)."""
        if not fresh:
            self.conn.execute(delete(table).where(table.c[owner_col] == owner_id))
        if params:
            self.conn.execute(
                insert(table),
                [{owner_col: owner_id, "key": k, "value": v} for k, v in params.items()],
            )

    def params_of(
        self, table: Table, owner_col: str, owner_ids: list[str]
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {i: {} for i in owner_ids}
        if not owner_ids:
            return out
        rows = self.conn.execute(
            table.select().where(table.c[owner_col].in_(owner_ids)).order_by(table.c.key)
        )
        for row in rows:
            out[row._mapping[owner_col]][row.key] = row.value
        return out


def build(rows: Any, make: Callable[[Any], T]) -> list[T]:
    return [make(row._mapping) for row in rows]
