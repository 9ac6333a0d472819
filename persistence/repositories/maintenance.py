"""The maintenance's SQL: find stale references, expired games, due operations; prune in bulk.

Every query is bounded (``limit``) and walks an index, so one batch stays one short transaction:
the strategy indexes ``(strategy_id, id)``, ``ix_games_deleted``, ``ix_processed_commands_created``,
``ix_scheduled_operations_due`` and the outbox's primary key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, literal, or_, select, tuple_

from domain.rules import CUSTOM_PREFIX
from domain.strategies import ARCHIVED, PENDING
from persistence.repositories.base import Repository
from persistence.tables import game_tasks, games, outbox, processed_commands, strategies
from persistence.tables import scheduled_operations as ops


class SqlMaintenance(Repository):
    def stale_versions(self, limit: int) -> list[str]:
        # Probe the (strategy_id, id) indexes once per ARCHIVED version, instead of scanning
        # every game for the distinct strategy ids it uses.
        ref = literal(CUSTOM_PREFIX) + strategies.c.id
        used = or_(
            exists().where(games.c.strategy_id == ref),
            exists().where(game_tasks.c.strategy_id == ref),
        )
        query = (
            select(strategies.c.id)
            .where(strategies.c.status == ARCHIVED, used)
            .order_by(strategies.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def games_deleted_before(self, cutoff: datetime, limit: int) -> list[str]:
        query = (
            select(games.c.id)
            .where(games.c.deleted_at.isnot(None), games.c.deleted_at < cutoff)
            .order_by(games.c.deleted_at, games.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def prune_processed(self, before: datetime, limit: int) -> int:
        oldest = (
            select(processed_commands.c.scope, processed_commands.c.key)
            .where(processed_commands.c.created_at < before)
            .order_by(processed_commands.c.created_at)
            .limit(limit)
        )
        keys = tuple_(processed_commands.c.scope, processed_commands.c.key)
        return int(self.conn.execute(delete(processed_commands).where(keys.in_(oldest))).rowcount)

    def prune_outbox(self, before: datetime, limit: int) -> int:
        # The newest row always stays: SQLite hands out max(id) + 1, so an empty outbox would
        # start the events' ``sequence`` over.
        newest = select(func.max(outbox.c.id)).scalar_subquery()
        oldest = (
            select(outbox.c.id)
            .where(
                outbox.c.published_at.isnot(None),
                outbox.c.published_at < before,
                outbox.c.id < newest,
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return int(self.conn.execute(delete(outbox).where(outbox.c.id.in_(oldest))).rowcount)

    def due_operations(self, now: datetime, limit: int) -> list[str]:
        query = (
            select(ops.c.id)
            .where(ops.c.status == PENDING, ops.c.run_at <= now)
            .order_by(ops.c.run_at, ops.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())
