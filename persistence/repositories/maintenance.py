"""The maintenance's SQL: find stale references, expired games, due operations; prune in bulk.

Every query is bounded (``limit``) and walks an index, so one batch stays one short transaction:
the strategy indexes ``(strategy_id, id)``, ``ix_games_deleted``, ``ix_processed_commands_created``,
``ix_scheduled_operations_due`` and the outbox's primary key. A batch of games is purged with a
handful of set-based statements, not a round of statements per game.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, literal, or_, select, tuple_

from domain.rules import CUSTOM_PREFIX
from domain.strategies import ARCHIVED, PENDING
from persistence.repositories.base import Repository
from persistence.tables import (
    game_params,
    game_task_params,
    game_tasks,
    games,
    outbox,
    processed_commands,
    strategies,
)
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

    def claim_deleted_games(self, before: datetime, limit: int) -> list[tuple[str, str]]:
        query = (
            select(games.c.id, games.c.account_id)
            .where(games.c.deleted_at.isnot(None), games.c.deleted_at < before)
            .order_by(games.c.deleted_at, games.c.id)
            .limit(limit)
        )
        if self.dialect != "sqlite":  # SQLite has one writer: the transaction is the lock
            # FOR UPDATE re-checks the condition on a row changed meanwhile (a restore), and
            # SKIP LOCKED leaves a row that a restore or another run holds to a later batch.
            query = query.with_for_update(skip_locked=True)
        return [(row.id, row.account_id) for row in self.conn.execute(query)]

    def purge_games(self, game_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        ids = list(game_ids)
        if not ids:
            return {}
        tasks = self._per_game(
            select(game_tasks.c.game_id, func.count()).where(game_tasks.c.game_id.in_(ids))
        )
        task_params = self._per_game(
            select(game_tasks.c.game_id, func.count())
            .select_from(game_task_params.join(game_tasks))
            .where(game_tasks.c.game_id.in_(ids))
        )
        params = self._per_game(
            select(game_params.c.game_id, func.count()).where(game_params.c.game_id.in_(ids))
        )
        of_games = select(game_tasks.c.id).where(game_tasks.c.game_id.in_(ids))
        self.conn.execute(delete(game_task_params).where(game_task_params.c.task_id.in_(of_games)))
        self.conn.execute(delete(game_tasks).where(game_tasks.c.game_id.in_(ids)))
        self.conn.execute(delete(game_params).where(game_params.c.game_id.in_(ids)))
        self.conn.execute(delete(games).where(games.c.id.in_(ids)))
        return {
            gid: (tasks.get(gid, 0), params.get(gid, 0) + task_params.get(gid, 0)) for gid in ids
        }

    def _per_game(self, query: Select[Any]) -> dict[str, int]:
        grouped = query.group_by(query.selected_columns[0])
        return {row[0]: int(row[1]) for row in self.conn.execute(grouped)}

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
