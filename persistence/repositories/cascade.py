"""The strategy cascade: move every row on one strategy id to another, set-based.

Never loads the moved rows. Without a progress callback it is one UPDATE. With one it walks the
``(strategy_id, id)`` index in keyed batches of ``batch`` rows inside the caller's transaction,
reporting after each batch. Either way the caller's single commit makes the move atomic.

A batch is bounded by the id of its last row, found by stepping ``batch - 1`` entries along the
index from where the previous batch ended: rows already moved have left the ``old`` range of the
index, so no batch rescans them and the cost stays linear in the rows moved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, func, select, update

from domain.ports import Progress

BATCH = 10_000


def count_on(conn: Connection, table: Table, strategy_id: str) -> int:
    query = select(func.count()).select_from(table).where(table.c.strategy_id == strategy_id)
    return int(conn.execute(query).scalar_one())


def move_strategy(
    conn: Connection,
    table: Table,
    old: str,
    new: str,
    values: dict[str, Any],
    progress: Progress | None = None,
    batch: int | None = None,
) -> int:
    """Set ``strategy_id = new`` (and ``values``) on every row of ``table`` on ``old``.

    ``batch`` defaults to the module's ``BATCH`` as it is when called.
    """
    batch = batch or BATCH
    on_old = table.c.strategy_id == old
    change = update(table).where(on_old).values(strategy_id=new, **values)
    if progress is None:
        return int(conn.execute(change).rowcount)
    done = 0
    last: str | None = None
    while True:
        window = select(table.c.id).where(on_old)
        statement = change
        if last is not None:
            window = window.where(table.c.id > last)
            statement = statement.where(table.c.id > last)
        upper = conn.execute(
            window.order_by(table.c.id).offset(batch - 1).limit(1)
        ).scalar_one_or_none()
        if upper is not None:
            statement = statement.where(table.c.id <= upper)
        moved = int(conn.execute(statement).rowcount)
        done += moved
        progress(moved)
        if upper is None:
            return done
        last = upper
