"""Processed commands: idempotency key -> the first result, kept with the change it made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from domain.clock import utcnow
from persistence.constraints import constraint_name
from persistence.tables import processed_commands


class AlreadyProcessed(Exception):
    """Another delivery of the same command committed first."""


@dataclass(frozen=True, slots=True)
class Processed:
    task: str
    result: dict[str, Any]


class ProcessedCommands:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find(self, scope: str, key: str) -> Processed | None:
        row = self.conn.execute(
            select(processed_commands.c.task, processed_commands.c.result).where(
                processed_commands.c.scope == scope, processed_commands.c.key == key
            )
        ).first()
        return Processed(row.task, row.result) if row else None

    def remember(self, scope: str, key: str, task: str, result: dict[str, Any]) -> None:
        try:
            self.conn.execute(
                insert(processed_commands).values(
                    scope=scope, key=key, task=task, result=result, created_at=utcnow()
                )
            )
        except IntegrityError as exc:
            if constraint_name(exc) == "pk_processed_commands":
                raise AlreadyProcessed(key) from exc
            raise
