"""The strategy cascade: move every row on one strategy id to another, set-based.

Never loads the moved rows. Up to ``BATCH`` rows it is one UPDATE; past that it walks the
``(strategy_id, id)`` index in keyed batches inside the caller's transaction, reporting progress
between batches. Either way the caller's single commit makes the move atomic.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select, update

from domain.ports import Progress

BATCH = 10_000


def count_on(conn: Connection, table: Table, strategy_id: str) -> int:
    query = select(func.count()).select_from(table).where(table.c.strategy_id == strategy_id)
    return int(conn.execute(query).scalar_one())


def move_strategy(
    conn: Connection, table: Table, old: str, new: str, progress: Progress | None
) -> int:
    total = count_on(conn, table, old) if progress is not None else 0
    if progress is None or total <= BATCH:
        moved = conn.execute(
            update(table).where(table.c.strategy_id == old).values(strategy_id=new)
        ).rowcount
        if progress is not None:
            progress(moved, moved)
        return int(moved)
    done = 0
    last: str | None = None
    while True:
        on_old = table.c.strategy_id == old
        window = select(table.c.id).where(on_old).order_by(table.c.id)
        if last is not None:
            window = window.where(table.c.id > last)
        upper = conn.execute(window.offset(BATCH - 1).limit(1)).scalar_one_or_none()
        batch = update(table).where(on_old).values(strategy_id=new)
        if last is not None:
            batch = batch.where(table.c.id > last)
        if upper is not None:
            batch = batch.where(table.c.id <= upper)
        done += conn.execute(batch).rowcount
        progress(done, max(total, done))
        if upper is None:
            return done
        last = upper
