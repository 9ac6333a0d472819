"""Dead letters: commands that failed for good, kept with what is needed to send them again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from domain.clock import utcnow
from persistence.tables import dead_letters


class DeadLetters:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        task_id: str | None,
        task: str,
        queue: str | None,
        arguments: dict[str, Any],
        error: str,
        attempts: int,
    ) -> int:
        """Record a dead letter (once per Celery task id: a repeat updates it); its row id."""
        now = utcnow()
        if task_id is not None:
            found = self.conn.execute(
                select(dead_letters.c.id).where(dead_letters.c.task_id == task_id)
            ).scalar_one_or_none()
            if found is not None:
                self.conn.execute(
                    update(dead_letters)
                    .where(dead_letters.c.id == found)
                    .values(error=error, attempts=attempts, last_seen=now)
                )
                return int(found)
        row = self.conn.execute(
            insert(dead_letters)
            .values(
                task_id=task_id,
                task=task,
                queue=queue,
                arguments=arguments,
                error=error,
                attempts=attempts,
                first_seen=now,
                last_seen=now,
            )
            .returning(dead_letters.c.id)
        )
        return int(row.scalar_one())

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
        )
        return [dict(r._mapping) for r in rows]

    def get(self, row_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(dead_letters).where(dead_letters.c.id == row_id)).first()
        return dict(row._mapping) if row else None

    def mark_resent(self, row_id: int) -> None:
        self.conn.execute(
            update(dead_letters).where(dead_letters.c.id == row_id).values(resent_at=utcnow())
        )
