"""Games in SQL: rows, params, pages, purges and the strategy cascade."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    true,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from domain.clock import utcnow
from domain.games import Game
from domain.paging import PageRequest
from domain.ports import Lock, Progress
from domain.queries import GameFilters, GameScope
from persistence import keyset
from persistence.repositories.base import Repository
from persistence.repositories.cascade import count_on, move_strategy
from persistence.tables import game_params, game_task_params, game_tasks, games

SORT_COLUMNS: Mapping[str, ColumnElement[Any]] = {
    "id": games.c.id,
    "name": games.c.name,
    "slug": games.c.slug,
    "external_game_id": func.coalesce(games.c.external_game_id, text("''")),
    "platform": func.coalesce(games.c.platform, text("''")),
    "created_at": games.c.created_at,
    "updated_at": games.c.updated_at,
}
_FIELDS = [c.name for c in games.columns]
PARAMS_LABEL = "params_of_game"
# A game's params as one JSON object, read with the game (PostgreSQL).
PARAMS_OF_GAME = (
    select(
        func.coalesce(
            func.jsonb_object_agg(game_params.c.key, game_params.c.value), literal({}, JSONB)
        )
    )
    .where(game_params.c.game_id == games.c.id)
    .scalar_subquery()
    .label(PARAMS_LABEL)
)


def _row(game: Game) -> dict[str, Any]:
    return {name: getattr(game, name) for name in _FIELDS}


class SqlGameRepository(Repository):
    def add(self, game: Game) -> None:
        if self.dialect == "postgresql" and self._insert_new(game):
            return
        # A unique constraint holds (or SQLite): insert again where a savepoint keeps the
        # transaction usable, so the violation names its constraint (the Conflict's field).
        with self.conflicts(savepoint=True):
            self.conn.execute(insert(games).values(**_row(game)))
            self.replace_params(game_params, "game_id", game.id, game.params, fresh=True)

    def _insert_new(self, game: Game) -> bool:
        """The game and its params in one statement, or nothing if a unique value is taken."""
        row = pg_insert(games).values(**_row(game)).on_conflict_do_nothing()
        if not game.params:
            return self._inserted(row)
        made = row.returning(games.c.id).cte("made")
        pairs = values(column("key", String), column("value", JSONB), name="pairs").data(
            list(game.params.items())
        )
        rows = select(made.c.id, pairs.c.key, pairs.c.value).select_from(made).join(pairs, true())
        both = insert(game_params).from_select(["game_id", "key", "value"], rows).add_cte(made)
        return self._inserted(both)

    def _inserted(self, statement: Any) -> bool:
        done = self.conn.execute(statement.execution_options(preserve_rowcount=True))
        return bool(done.rowcount > 0)

    def get(self, game_id: str, lock: Lock = "none") -> Game | None:
        query = self.locked(select(games).where(games.c.id == game_id), lock)
        # A locking read takes the params in a statement of their own, after the lock: in READ
        # COMMITTED a statement that waited for a row lock re-reads the row but evaluates its
        # subqueries with the snapshot from before the wait, so params read alongside would
        # miss the change of the lock's previous holder (a lost update: tests/faults).
        found = self._load(query, params_alongside=lock == "none")
        return found[0] if found else None

    def get_by_slug(self, slug: str) -> Game | None:
        found = self._load(select(games).where(games.c.slug == slug))
        return found[0] if found else None

    def find_by_external_id(self, account_id: str | None, external_game_id: str) -> list[Game]:
        query = select(games).where(games.c.external_game_id == external_game_id)
        if account_id is not None:
            query = query.where(games.c.account_id == account_id)
        return self._load(query.limit(2))

    def update(self, game: Game, params_changed: bool = True) -> None:
        values = _row(game)
        del values["id"]
        with self.conflicts():
            self.conn.execute(update(games).where(games.c.id == game.id).values(**values))
        if params_changed:
            self.replace_params(game_params, "game_id", game.id, game.params, fresh=False)

    def taken_slugs(self, candidates: Sequence[str]) -> set[str]:
        rows = self.conn.execute(select(games.c.slug).where(games.c.slug.in_(list(candidates))))
        return {r.slug for r in rows}

    def page(self, scope: GameScope, filters: GameFilters, request: PageRequest) -> list[Game]:
        query = self._filtered(select(games), scope, filters)
        query = keyset.paged(query, SORT_COLUMNS, request, self.dialect)
        return self._load(query)

    def count(self, scope: GameScope, filters: GameFilters) -> int:
        query = self._filtered(select(func.count()).select_from(games), scope, filters)
        return int(self.conn.execute(query).scalar_one())

    def purge(self, game: Game) -> tuple[int, int]:
        task_ids = select(game_tasks.c.id).where(game_tasks.c.game_id == game.id)
        task_params = self.conn.execute(
            delete(game_task_params).where(game_task_params.c.task_id.in_(task_ids))
        ).rowcount
        tasks = self.conn.execute(
            delete(game_tasks).where(game_tasks.c.game_id == game.id)
        ).rowcount
        params = self.conn.execute(
            delete(game_params).where(game_params.c.game_id == game.id)
        ).rowcount
        self.conn.execute(delete(games).where(games.c.id == game.id))
        return tasks, params + task_params

    def external_ids(self, account_id: str | None, game_ids: Sequence[str]) -> dict[str, str]:
        query = select(games.c.id, games.c.external_game_id).where(
            games.c.id.in_(list(game_ids)), games.c.external_game_id.isnot(None)
        )
        if account_id is not None:
            query = query.where(games.c.account_id == account_id)
        return {r.id: r.external_game_id for r in self.conn.execute(query)}

    def page_by_strategy(
        self, account_id: str | None, strategy_id: str, request: PageRequest
    ) -> list[dict[str, Any]]:
        query = select(
            games.c.id, games.c.id.label("game_id"), games.c.external_game_id, games.c.platform
        ).where(games.c.strategy_id == strategy_id)
        if account_id is not None:
            query = query.where(games.c.account_id == account_id)
        query = keyset.paged(query, SORT_COLUMNS, request, self.dialect)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def count_by_strategy(self, strategy_id: str) -> int:
        return count_on(self.conn, games, strategy_id)

    def move_strategy(
        self, old: str, new: str, progress: Progress | None = None, *, by: str | None = None
    ) -> int:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if by is not None:
            values["updated_by"] = by
        return move_strategy(self.conn, games, old, new, values, progress)

    def _filtered(self, query: Select[Any], scope: GameScope, f: GameFilters) -> Select[Any]:
        c = games.c
        conds: list[ColumnElement[bool]] = []
        if scope.account_id is not None:
            conds.append(c.account_id == scope.account_id)
        if not scope.include_deleted:
            conds.append(c.deleted_at.is_(None))
        if f.name_contains is not None:
            conds.append(c.name.icontains(f.name_contains, autoescape=True))
        if f.platform is not None:
            conds.append(c.platform == f.platform)
        if f.external_game_id is not None:
            conds.append(c.external_game_id.in_(list(f.external_game_id)))
        if f.slug is not None:
            conds.append(c.slug == f.slug)
        if f.strategy_id is not None:
            conds.append(c.strategy_id == f.strategy_id)
        if f.tag is not None:
            conds.append(self._has_tag(f.tag))
        if f.anti_cheat_enabled is not None:
            conds.append(c.anti_cheat_enabled == f.anti_cheat_enabled)
        if f.created_after is not None:
            conds.append(c.created_at >= f.created_after)
        if f.created_before is not None:
            conds.append(c.created_at < f.created_before)
        if f.updated_after is not None:
            conds.append(c.updated_at >= f.updated_after)
        if f.updated_before is not None:
            conds.append(c.updated_at < f.updated_before)
        return query.where(and_(true(), *conds))

    def _has_tag(self, tag: str) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            return games.c.tags.op("@>")(literal([tag], JSONB))
        each = func.json_each(games.c.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))

    def _load(self, query: Select[Any], params_alongside: bool = True) -> list[Game]:
        if self.dialect == "postgresql" and params_alongside:  # the params in one round trip
            loaded = []
            for r in self.conn.execute(query.add_columns(PARAMS_OF_GAME)):
                row = dict(r._mapping)
                params = row.pop(PARAMS_LABEL)
                loaded.append(Game(**row, params=dict(sorted(params.items()))))
            return loaded
        rows = [dict(r._mapping) for r in self.conn.execute(query)]
        params = self.params_of(game_params, "game_id", [r["id"] for r in rows])
        return [Game(**row, params=params[row["id"]]) for row in rows]
