"""One command, one transaction: the change, its idempotency record and its outbox rows.

Leaving the unit of work without ``commit`` rolls everything back, so a forgotten commit
loses nothing silently and an exception never half-writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine

from domain.events import Event
from domain.paging import CursorCodec
from persistence.idempotency import AlreadyProcessed, ProcessedCommands
from persistence.outbox import Outbox
from persistence.repositories.game_tasks import SqlGameTaskRepository
from persistence.repositories.games import SqlGameRepository
from persistence.repositories.maintenance import SqlMaintenance
from persistence.repositories.strategies import SqlAuditLog, SqlSchedules, SqlStrategyRepository


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """What the idempotency record of a command holds."""

    scope: str
    key: str
    task: str
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Causation:
    """Which command caused the events: its idempotency key and Celery task id."""

    correlation_id: str | None = None
    causation_id: str | None = None


NO_CAUSE = Causation()


class SqlUnitOfWork:
    conn: Connection

    def __init__(
        self,
        engine: Engine,
        cursors: CursorCodec,
        causation: Causation = NO_CAUSE,
        on_progress: Callable[[int, int], None] | None = None,
        read_only: bool = False,
    ) -> None:
        self.engine = engine
        self.read_only = read_only
        self.cursors = cursors
        self.causation = causation
        self._on_progress = on_progress
        self._events: list[Event] = []
        self._done = False

    def __enter__(self) -> SqlUnitOfWork:
        self.conn = self.engine.connect()
        if self.read_only and self.conn.dialect.name == "postgresql":
            # A read needs no BEGIN and ROLLBACK around it: each statement sees committed
            # rows (a list and its total may see two moments); the pool resets the mode.
            self.conn.execution_options(isolation_level="AUTOCOMMIT")
        self._tx = self.conn.begin()
        self.games = SqlGameRepository(self.conn)
        self.game_tasks = SqlGameTaskRepository(self.conn)
        self.strategies = SqlStrategyRepository(self.conn)
        self.audit = SqlAuditLog(self.conn)
        self.schedules = SqlSchedules(self.conn)
        self.maintenance = SqlMaintenance(self.conn)
        self.processed = ProcessedCommands(self.conn)
        self.outbox = Outbox(self.conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._done:
                self._tx.rollback()
        finally:
            self.conn.close()

    def collect(self, entities: Iterable[Any]) -> None:
        for entity in entities:
            self._events.extend(entity.events)
            entity.events.clear()

    def record(self, *events: Event) -> None:
        self._events.extend(events)

    @property
    def events(self) -> list[Event]:
        return list(self._events)

    def progress(self, done: int, total: int) -> None:
        if self._on_progress is not None:
            self._on_progress(done, total)

    def commit(self, record: CommandRecord | None = None) -> None:
        """Write the idempotency record, then the outbox rows, then commit.

        The record goes first: a concurrent delivery of the same key waits on it and then fails
        with AlreadyProcessed, before either takes the outbox's commit-order lock.
        """
        if self.read_only:
            raise RuntimeError("a read-only unit of work does not commit")
        cause = self.causation
        if record is not None and self.conn.dialect.name == "postgresql":
            # One round trip writes the record and the outbox rows (persistence/outbox.py).
            row: dict[str, Any] = {
                "scope": record.scope,
                "key": record.key,
                "task": record.task,
                "result": record.result,
            }
            if not self.outbox.add(self._events, cause.correlation_id, cause.causation_id, row):
                raise AlreadyProcessed(record.key)
        else:
            if record is not None:
                self.processed.remember(record.scope, record.key, record.task, record.result)
            self.outbox.add(self._events, cause.correlation_id, cause.causation_id)
        self._tx.commit()
        self._done = True
        self._events.clear()

    def rollback(self) -> None:
        self._tx.rollback()
        self._done = True
