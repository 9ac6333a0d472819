"""Strategy versions, the audit log and scheduled operations in SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, insert, select, update

from domain.paging import PageRequest
from domain.ports import Lock
from domain.strategies import AuditEntry, ScheduledOperation, Strategy
from persistence import keyset
from persistence.repositories.base import Repository
from persistence.tables import audit_log, scheduled_operations, strategies

STRATEGY_SORT: Mapping[str, ColumnElement[Any]] = {
    "id": strategies.c.id,
    "name": strategies.c.name,
    "version": strategies.c.version,
    "created_at": strategies.c.created_at,
}
AUDIT_SORT: Mapping[str, ColumnElement[Any]] = {"id": audit_log.c.id, "at": audit_log.c.at}
SCHEDULE_SORT: Mapping[str, ColumnElement[Any]] = {
    "id": scheduled_operations.c.id,
    "run_at": scheduled_operations.c.run_at,
}
_STRATEGY_FIELDS = [c.name for c in strategies.columns]
_SCHEDULE_FIELDS = [c.name for c in scheduled_operations.columns]


def _paged(
    query: Select[Any], sort: Mapping[str, ColumnElement[Any]], request: PageRequest
) -> Select[Any]:
    start = keyset.after(sort, request)
    if start is not None:
        query = query.where(start)
    return query.order_by(*keyset.order_by(sort, request)).limit(request.limit + 1)


class SqlStrategyRepository(Repository):
    def add(self, strategy: Strategy) -> None:
        row = {f: getattr(strategy, f) for f in _STRATEGY_FIELDS}
        with self.conflicts(savepoint=True):
            self.conn.execute(insert(strategies).values(**row))

    def get(self, strategy_id: str, lock: Lock = "none") -> Strategy | None:
        query = self.locked(select(strategies).where(strategies.c.id == strategy_id), lock)
        row = self.conn.execute(query).first()
        return Strategy(**row._mapping) if row else None

    def family(self, account_id: str, name: str, lock: bool = False) -> list[Strategy]:
        """Every version, newest first; with ``lock``, the family's operations are serialized.

        The lock is the row of the family's first version, taken FOR UPDATE by every family
        operation before anything else (one lock, one order: no deadlock between them). Only
        then are the versions read, by a new statement: in READ COMMITTED it sees every version
        committed before the lock was granted (a version forked by the previous holder
        included), and it locks them all, so a concurrent reference check (FOR SHARE) on any
        of them waits for this transaction. SQLite has one writer: the transaction is the lock.
        """
        of_family = (strategies.c.account_id == account_id, strategies.c.name == name)
        if lock and self.dialect != "sqlite":
            head = select(strategies.c.id).where(*of_family).order_by(strategies.c.version)
            self.conn.execute(head.limit(1).with_for_update())
        query = select(strategies).where(*of_family).order_by(strategies.c.version.desc())
        query = self.locked(query, "update" if lock else "none")
        return [Strategy(**r._mapping) for r in self.conn.execute(query)]

    def update(self, strategy: Strategy) -> None:
        row = {f: getattr(strategy, f) for f in _STRATEGY_FIELDS if f != "id"}
        with self.conflicts():
            self.conn.execute(
                update(strategies).where(strategies.c.id == strategy.id).values(**row)
            )

    def page(
        self, account_id: str | None, filters: dict[str, Any], request: PageRequest
    ) -> list[Strategy]:
        query = select(strategies)
        if account_id is not None:
            query = query.where(strategies.c.account_id == account_id)
        for field in ("name", "status"):
            if filters.get(field) is not None:
                query = query.where(strategies.c[field] == filters[field])
        rows = self.conn.execute(_paged(query, STRATEGY_SORT, request))
        return [Strategy(**r._mapping) for r in rows]


class SqlAuditLog(Repository):
    def add(self, entry: AuditEntry) -> None:
        self.conn.execute(
            insert(audit_log).values(
                id=entry.id,
                at=entry.at,
                account_id=entry.account_id,
                subject=entry.subject,
                action=entry.action,
                strategy_id=entry.strategy_id,
                outcome=entry.outcome,
                details=entry.details,
            )
        )

    def page(
        self, account_id: str | None, strategy_ids: Sequence[str] | None, request: PageRequest
    ) -> list[AuditEntry]:
        query = select(audit_log)
        if account_id is not None:
            query = query.where(audit_log.c.account_id == account_id)
        if strategy_ids is not None:
            query = query.where(audit_log.c.strategy_id.in_(list(strategy_ids)))
        rows = self.conn.execute(_paged(query, AUDIT_SORT, request))
        return [AuditEntry(**r._mapping) for r in rows]


class SqlSchedules(Repository):
    def add(self, op: ScheduledOperation) -> None:
        self.conn.execute(
            insert(scheduled_operations).values(**{f: getattr(op, f) for f in _SCHEDULE_FIELDS})
        )

    def get(self, schedule_id: str, lock: Lock = "none") -> ScheduledOperation | None:
        query = select(scheduled_operations).where(scheduled_operations.c.id == schedule_id)
        row = self.conn.execute(self.locked(query, lock)).first()
        return ScheduledOperation(**row._mapping) if row else None

    def update(self, op: ScheduledOperation) -> None:
        values = {f: getattr(op, f) for f in _SCHEDULE_FIELDS if f != "id"}
        self.conn.execute(
            update(scheduled_operations).where(scheduled_operations.c.id == op.id).values(**values)
        )

    def page(
        self, account_id: str | None, strategy_id: str | None, request: PageRequest
    ) -> list[ScheduledOperation]:
        query = select(scheduled_operations)
        if account_id is not None:
            query = query.where(scheduled_operations.c.account_id == account_id)
        if strategy_id is not None:
            query = query.where(scheduled_operations.c.strategy_id == strategy_id)
        rows = self.conn.execute(_paged(query, SCHEDULE_SORT, request))
        return [ScheduledOperation(**r._mapping) for r in rows]
