"""Run locks: at most one run of a maintenance task at a time, on PostgreSQL and SQLite alike.

A lock is a row of ``run_locks`` held as a lease: taking it inserts the row, or takes over one
whose lease has run out (its holder died without letting go); the holder renews the lease while
it works and deletes the row when it is done. Each step is one short statement in its own
transaction, so the work itself can commit in as many transactions as it likes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from domain.clock import utcnow
from persistence.tables import run_locks


class RunLocks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def acquire(self, name: str, holder: str, lease: float) -> bool:
        """Take the lock ``name`` for ``lease`` seconds; False while someone else holds it."""
        now = utcnow()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(run_locks).values(
            name=name, holder=holder, expires_at=now + timedelta(seconds=lease)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[run_locks.c.name],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            # A lease that ran out is free; its own holder (a retry) takes it again.
            where=or_(run_locks.c.expires_at < now, run_locks.c.holder == holder),
        ).returning(run_locks.c.holder)
        with self.engine.begin() as conn:
            taken = conn.execute(stmt).scalar_one_or_none()
        return taken == holder

    def renew(self, name: str, holder: str, lease: float) -> bool:
        """Extend the lease; False when it was lost (it ran out and another took it)."""
        with self.engine.begin() as conn:
            renewed = conn.execute(
                update(run_locks)
                .where(run_locks.c.name == name, run_locks.c.holder == holder)
                .values(expires_at=utcnow() + timedelta(seconds=lease))
            ).rowcount
        return bool(renewed)

    def release(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(run_locks).where(run_locks.c.name == name, run_locks.c.holder == holder)
            )

    def holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds ``name`` and until when (None when nobody does)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(run_locks.c.holder, run_locks.c.expires_at).where(run_locks.c.name == name)
            ).first()
        return (row.holder, row.expires_at) if row else None
