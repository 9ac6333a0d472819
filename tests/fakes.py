"""In-memory stand-ins for the storage ports of ``domain/ports.py``, for the services' unit tests.

They keep copies (as a database would: changing a loaded object changes nothing until
``update``), enforce the same unique rules as the real constraints (raising ``Conflict`` naming
the same fields), and page in Python with the keyset rules of ``persistence/keyset.py``: NULLs
compare as ``''``, ``id`` breaks ties, a backward page is read in reverse.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Sequence
from typing import Any

from domain.clock import utcnow
from domain.errors import Conflict
from domain.events import Event
from domain.game_tasks import GameTask
from domain.games import Game
from domain.paging import CursorCodec, PageRequest, SortKey, sort_values
from domain.ports import Lock, Progress
from domain.queries import GameFilters, GameScope, GameTaskFilters
from domain.strategies import AuditEntry, ScheduledOperation, Strategy

CURSOR_SECRET = b"unit-test-cursor-secret"


def _copy(entity: Any) -> Any:
    clone = copy.deepcopy(entity)
    clone.events = []
    return clone


def _compare(a: tuple[Any, ...], b: tuple[Any, ...], sort: Sequence[SortKey], flip: bool) -> int:
    for x, y, key in zip(a, b, sort, strict=True):
        if x != y:
            less = x < y
            return -1 if less != (key.descending != flip) else 1
    return 0


def keyset_page(items: Iterable[Any], request: PageRequest) -> list[Any]:
    """Up to ``limit + 1`` items past the position, in reading order (what ``page`` returns)."""
    pos = request.position
    flip = pos is not None and pos.backward
    rows = list(items)
    if pos is not None:
        rows = [
            r
            for r in rows
            if _compare(sort_values(r, request.sort), pos.values, request.sort, flip) > 0
        ]
    rows.sort(
        key=functools.cmp_to_key(
            lambda a, b: _compare(
                sort_values(a, request.sort), sort_values(b, request.sort), request.sort, flip
            )
        )
    )
    return rows[: request.limit + 1]


class FakeGameRepository:
    def __init__(self, tasks: FakeGameTaskRepository) -> None:
        self.rows: dict[str, Game] = {}
        self.tasks = tasks
        tasks.games = self
        self.batch = 10_000
        self.raced_slugs: set[str] = set()
        """Slugs another transaction takes between ``taken_slugs`` and ``add``."""

    def _check(self, game: Game) -> None:
        for other in self.rows.values():
            if other.id == game.id:
                continue
            if other.slug == game.slug:
                raise Conflict.field("slug", "that slug is taken")
            same_account = other.account_id == game.account_id
            live = not other.is_deleted and not game.is_deleted
            if same_account and live and other.name == game.name:
                raise Conflict.field("name", "a game of this account already has that name")
            ext = game.external_game_id
            if same_account and ext is not None and other.external_game_id == ext:
                raise Conflict.field("external_game_id", "a game of this account has that id")

    def add(self, game: Game) -> None:
        if game.slug in self.raced_slugs:
            self.raced_slugs.discard(game.slug)
            raise Conflict.field("slug", "that slug is taken")
        self._check(game)
        self.rows[game.id] = _copy(game)

    def get(self, game_id: str, lock: Lock = "none") -> Game | None:
        found = self.rows.get(game_id)
        return _copy(found) if found else None

    def get_by_slug(self, slug: str) -> Game | None:
        return next((_copy(g) for g in self.rows.values() if g.slug == slug), None)

    def find_by_external_id(self, account_id: str | None, external_game_id: str) -> list[Game]:
        return [
            _copy(g)
            for g in self.rows.values()
            if g.external_game_id == external_game_id
            and (account_id is None or g.account_id == account_id)
        ][:2]

    def update(self, game: Game, params_changed: bool = True) -> None:
        self._check(game)
        self.rows[game.id] = _copy(game)

    def taken_slugs(self, candidates: Sequence[str]) -> set[str]:
        return {g.slug for g in self.rows.values()} & set(candidates)

    def _matching(self, scope: GameScope, f: GameFilters) -> list[Game]:
        def keep(g: Game) -> bool:
            checks = [
                scope.account_id is None or g.account_id == scope.account_id,
                scope.include_deleted or not g.is_deleted,
                f.name_contains is None or f.name_contains.lower() in g.name.lower(),
                f.platform is None or g.platform == f.platform,
                f.external_game_id is None or g.external_game_id in f.external_game_id,
                f.slug is None or g.slug == f.slug,
                f.strategy_id is None or g.strategy_id == f.strategy_id,
                f.tag is None or f.tag in g.tags,
                f.anti_cheat_enabled is None or g.anti_cheat_enabled == f.anti_cheat_enabled,
                f.created_after is None or g.created_at >= f.created_after,
                f.created_before is None or g.created_at < f.created_before,
                f.updated_after is None or g.updated_at >= f.updated_after,
                f.updated_before is None or g.updated_at < f.updated_before,
            ]
            return all(checks)

        return [g for g in self.rows.values() if keep(g)]

    def page(self, scope: GameScope, filters: GameFilters, request: PageRequest) -> list[Game]:
        return [_copy(g) for g in keyset_page(self._matching(scope, filters), request)]

    def count(self, scope: GameScope, filters: GameFilters) -> int:
        return len(self._matching(scope, filters))

    def purge(self, game: Game) -> tuple[int, int]:
        tasks = [t for t in self.tasks.rows.values() if t.game_id == game.id]
        task_params = sum(len(t.params) for t in tasks)
        for task in tasks:
            del self.tasks.rows[task.id]
        params = len(self.rows.pop(game.id).params)
        return len(tasks), params + task_params

    def external_ids(self, account_id: str | None, game_ids: Sequence[str]) -> dict[str, str]:
        return {
            g.id: g.external_game_id
            for g in self.rows.values()
            if g.id in game_ids
            and g.external_game_id is not None
            and (account_id is None or g.account_id == account_id)
        }

    def page_by_strategy(
        self, account_id: str | None, strategy_id: str, request: PageRequest
    ) -> list[dict[str, Any]]:
        rows = [
            {
                "id": g.id,
                "game_id": g.id,
                "external_game_id": g.external_game_id,
                "platform": g.platform,
            }
            for g in self.rows.values()
            if g.strategy_id == strategy_id and (account_id is None or g.account_id == account_id)
        ]
        return keyset_page(rows, request)

    def count_by_strategy(self, strategy_id: str) -> int:
        return sum(g.strategy_id == strategy_id for g in self.rows.values())

    def move_strategy(
        self, old: str, new: str, progress: Progress | None = None, *, by: str | None = None
    ) -> int:
        moved = [g for g in self.rows.values() if g.strategy_id == old]
        now = utcnow()
        for g in moved:
            g.strategy_id, g.updated_at = new, max(now, g.updated_at)
            g.updated_by = by if by is not None else g.updated_by
        _report(len(moved), progress, self.batch)
        return len(moved)


class FakeGameTaskRepository:
    def __init__(self) -> None:
        self.rows: dict[str, GameTask] = {}
        self.games: FakeGameRepository | None = None
        self.batch = 10_000

    def add(self, task: GameTask) -> None:
        for other in self.rows.values():
            if other.game_id == task.game_id and other.external_task_id == task.external_task_id:
                raise Conflict.field("external_task_id", "a task of this game has that id")
        self.rows[task.id] = _copy(task)

    def get(self, task_id: str, lock: Lock = "none") -> GameTask | None:
        found = self.rows.get(task_id)
        return _copy(found) if found else None

    def get_by_external_id(self, game_id: str, external_task_id: str) -> GameTask | None:
        return next(
            (
                _copy(t)
                for t in self.rows.values()
                if t.game_id == game_id and t.external_task_id == external_task_id
            ),
            None,
        )

    def update(self, task: GameTask, params_changed: bool = True) -> None:
        self.rows[task.id] = _copy(task)

    def delete(self, task: GameTask) -> int:
        return len(self.rows.pop(task.id).params)

    def _matching(self, game_id: str, f: GameTaskFilters) -> list[GameTask]:
        return [
            t
            for t in self.rows.values()
            if t.game_id == game_id
            and (f.status is None or t.status == f.status)
            and (f.strategy_id is None or t.strategy_id == f.strategy_id)
        ]

    def page(self, game_id: str, filters: GameTaskFilters, request: PageRequest) -> list[GameTask]:
        return [_copy(t) for t in keyset_page(self._matching(game_id, filters), request)]

    def count(self, game_id: str, filters: GameTaskFilters) -> int:
        return len(self._matching(game_id, filters))

    def page_by_strategy(self, strategy_id: str, request: PageRequest) -> list[dict[str, Any]]:
        assert self.games is not None
        games = self.games.rows
        rows = [
            {
                "id": t.id,
                "task_id": t.id,
                "external_task_id": t.external_task_id,
                "game_id": t.game_id,
                "external_game_id": games[t.game_id].external_game_id,
            }
            for t in self.rows.values()
            if t.strategy_id == strategy_id
        ]
        return keyset_page(rows, request)

    def count_by_strategy(self, strategy_id: str) -> int:
        return sum(t.strategy_id == strategy_id for t in self.rows.values())

    def move_strategy(
        self, old: str, new: str, progress: Progress | None = None, *, by: str | None = None
    ) -> int:
        moved = [t for t in self.rows.values() if t.strategy_id == old]
        now = utcnow()
        for t in moved:
            t.strategy_id, t.updated_at = new, max(now, t.updated_at)
        _report(len(moved), progress, self.batch)
        return len(moved)


class FakeStrategyRepository:
    """Versions by id, with the two unique rules of the table (version per family, one
    PUBLISHED per family) raising the conflicts the constraints map to."""

    def __init__(self) -> None:
        self.rows: dict[str, Strategy] = {}
        self.locked: list[tuple[str, str]] = []
        """The families ``family(lock=True)`` was asked for, in order."""

    def _check(self, s: Strategy) -> None:
        for other in self.rows.values():
            if other.id == s.id or (other.account_id, other.name) != (s.account_id, s.name):
                continue
            if other.version == s.version:
                raise Conflict.field("name", "a strategy of that name already exists")
            if other.status == s.status == "PUBLISHED":
                raise Conflict.field("status", "another version of the family is PUBLISHED")

    def add(self, strategy: Strategy) -> None:
        self._check(strategy)
        self.rows[strategy.id] = _copy(strategy)

    def get(self, strategy_id: str, lock: Lock = "none") -> Strategy | None:
        found = self.rows.get(strategy_id)
        return _copy(found) if found else None

    def family(self, account_id: str, name: str, lock: bool = False) -> list[Strategy]:
        if lock:
            self.locked.append((account_id, name))
        versions = [
            _copy(v) for v in self.rows.values() if (v.account_id, v.name) == (account_id, name)
        ]
        return sorted(versions, key=lambda v: -v.version)

    def update(self, strategy: Strategy) -> None:
        self._check(strategy)
        self.rows[strategy.id] = _copy(strategy)

    def page(
        self, account_id: str | None, filters: dict[str, Any], request: PageRequest
    ) -> list[Strategy]:
        rows = [
            v
            for v in self.rows.values()
            if (account_id is None or v.account_id == account_id)
            and all(getattr(v, k) == filters[k] for k in ("name", "status") if k in filters)
        ]
        return [_copy(v) for v in keyset_page(rows, request)]


class FakeAuditLog:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.entries.append(copy.deepcopy(entry))

    def page(
        self, account_id: str | None, strategy_ids: Sequence[str] | None, request: PageRequest
    ) -> list[AuditEntry]:
        rows = [
            e
            for e in self.entries
            if (account_id is None or e.account_id == account_id)
            and (strategy_ids is None or e.strategy_id in strategy_ids)
        ]
        return keyset_page(rows, request)


def _report(moved: int, progress: Progress | None, batch: int) -> None:
    """Report a move in batches, as the SQL cascade does when given ``progress``."""
    if progress is None:
        return
    while True:
        step = min(moved, batch)
        progress(step)
        moved -= step
        if moved <= 0:
            return


class FakeSchedules:
    def add(self, op: ScheduledOperation) -> None:
        raise NotImplementedError

    def get(self, schedule_id: str, lock: Lock = "none") -> ScheduledOperation | None:
        raise NotImplementedError

    def update(self, op: ScheduledOperation) -> None:
        raise NotImplementedError

    def page(
        self, account_id: str | None, strategy_id: str | None, request: PageRequest
    ) -> list[ScheduledOperation]:
        raise NotImplementedError


class FakeUnitOfWork:
    """The fake repositories, plus the events collected; ``commit`` moves them to ``committed``."""

    def __init__(self) -> None:
        self.game_tasks = FakeGameTaskRepository()
        self.games = FakeGameRepository(self.game_tasks)
        self.strategies = FakeStrategyRepository()
        self.audit = FakeAuditLog()
        self.schedules = FakeSchedules()
        self.cursors = CursorCodec(CURSOR_SECRET)
        self.pending: list[Event] = []
        self.committed: list[Event] = []
        self.progress_reports: list[tuple[int, int]] = []

    def progress(self, done: int, total: int) -> None:
        self.progress_reports.append((done, total))

    def collect(self, entities: Iterable[Any]) -> None:
        for entity in entities:
            self.pending.extend(entity.events)
            entity.events.clear()

    def commit(self) -> None:
        self.committed.extend(self.pending)
        self.pending.clear()

    def event_types(self) -> list[str]:
        return [e.type for e in self.pending]
