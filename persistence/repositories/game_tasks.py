"""Game tasks in SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, select, true, update

from domain.clock import utcnow
from domain.game_tasks import GameTask
from domain.paging import PageRequest
from domain.ports import Lock, Progress
from domain.queries import GameTaskFilters
from persistence import keyset
from persistence.repositories.base import Repository
from persistence.repositories.cascade import count_on, move_strategy
from persistence.tables import game_task_params, game_tasks, games

SORT_COLUMNS: Mapping[str, ColumnElement[Any]] = {
    "id": game_tasks.c.id,
    "external_task_id": game_tasks.c.external_task_id,
    "status": game_tasks.c.status,
    "created_at": game_tasks.c.created_at,
    "updated_at": game_tasks.c.updated_at,
}
_FIELDS = [c.name for c in game_tasks.columns]


def _row(task: GameTask) -> dict[str, Any]:
    return {name: getattr(task, name) for name in _FIELDS}


class SqlGameTaskRepository(Repository):
    def add(self, task: GameTask) -> None:
        with self.conflicts(savepoint=True):
            self.conn.execute(insert(game_tasks).values(**_row(task)))
        self.replace_params(game_task_params, "task_id", task.id, task.params, fresh=True)

    def get(self, task_id: str, lock: Lock = "none") -> GameTask | None:
        query = self.locked(select(game_tasks).where(game_tasks.c.id == task_id), lock)
        found = self._load(query)
        return found[0] if found else None

    def get_by_external_id(self, game_id: str, external_task_id: str) -> GameTask | None:
        found = self._load(
            select(game_tasks).where(
                game_tasks.c.game_id == game_id, game_tasks.c.external_task_id == external_task_id
            )
        )
        return found[0] if found else None

    def update(self, task: GameTask, params_changed: bool = True) -> None:
        values = _row(task)
        del values["id"]
        self.conn.execute(update(game_tasks).where(game_tasks.c.id == task.id).values(**values))
        if params_changed:
            self.replace_params(game_task_params, "task_id", task.id, task.params, fresh=False)

    def delete(self, task: GameTask) -> int:
        params = self.conn.execute(
            delete(game_task_params).where(game_task_params.c.task_id == task.id)
        ).rowcount
        self.conn.execute(delete(game_tasks).where(game_tasks.c.id == task.id))
        return int(params)

    def page(self, game_id: str, filters: GameTaskFilters, request: PageRequest) -> list[GameTask]:
        query = self._filtered(select(game_tasks), game_id, filters)
        query = keyset.paged(query, SORT_COLUMNS, request, self.dialect)
        return self._load(query)

    def count(self, game_id: str, filters: GameTaskFilters) -> int:
        query = self._filtered(select(func.count()).select_from(game_tasks), game_id, filters)
        return int(self.conn.execute(query).scalar_one())

    def page_by_strategy(self, strategy_id: str, request: PageRequest) -> list[dict[str, Any]]:
        query = (
            select(
                game_tasks.c.id,
                game_tasks.c.id.label("task_id"),
                game_tasks.c.external_task_id,
                game_tasks.c.game_id,
                games.c.external_game_id,
            )
            .join(games, games.c.id == game_tasks.c.game_id)
            .where(game_tasks.c.strategy_id == strategy_id)
        )
        query = keyset.paged(query, SORT_COLUMNS, request, self.dialect)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def count_by_strategy(self, strategy_id: str) -> int:
        return count_on(self.conn, game_tasks, strategy_id)

    def move_strategy(
        self, old: str, new: str, progress: Progress | None = None, *, by: str | None = None
    ) -> int:
        values = {"updated_at": utcnow()}
        return move_strategy(self.conn, game_tasks, old, new, values, progress)

    def _filtered(self, query: Select[Any], game_id: str, f: GameTaskFilters) -> Select[Any]:
        conds: list[ColumnElement[bool]] = [game_tasks.c.game_id == game_id]
        if f.status is not None:
            conds.append(game_tasks.c.status == f.status)
        if f.strategy_id is not None:
            conds.append(game_tasks.c.strategy_id == f.strategy_id)
        return query.where(and_(true(), *conds))

    def _load(self, query: Select[Any]) -> list[GameTask]:
        rows = [dict(r._mapping) for r in self.conn.execute(query)]
        params = self.params_of(game_task_params, "task_id", [r["id"] for r in rows])
        return [GameTask(**row, params=params[row["id"]]) for row in rows]
