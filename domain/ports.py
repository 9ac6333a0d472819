"""What the services need from storage: repository and unit-of-work protocols.

``page`` methods return up to ``limit + 1`` rows read in the request's direction from its
position; ``domain.paging.page_from_rows`` shapes them into a page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from domain.events import Event
from domain.game_tasks import GameTask
from domain.games import Game
from domain.paging import CursorCodec, PageRequest
from domain.queries import GameFilters, GameScope, GameTaskFilters
from domain.strategies import AuditEntry, ScheduledOperation, Strategy

Lock = Literal["none", "share", "update"]


class Progress(Protocol):
    def __call__(self, moved: int) -> None:
        """Called after each batch of a cascade with the number of rows the batch moved."""


class GameRepository(Protocol):
    def add(self, game: Game) -> None:
        """Insert; a taken name, slug or external id raises Conflict naming the field."""

    def get(self, game_id: str, lock: Lock = "none") -> Game | None: ...
    def get_by_slug(self, slug: str) -> Game | None: ...
    def find_by_external_id(self, account_id: str | None, external_game_id: str) -> list[Game]: ...
    def update(self, game: Game, params_changed: bool = True) -> None:
        """Write back every field (and the params when they changed); conflicts as in add."""

    def taken_slugs(self, candidates: Sequence[str]) -> set[str]: ...
    def page(self, scope: GameScope, filters: GameFilters, request: PageRequest) -> list[Game]: ...
    def count(self, scope: GameScope, filters: GameFilters) -> int: ...
    def purge(self, game: Game) -> tuple[int, int]:
        """Remove the game, its params, its tasks and their params: (tasks, params) deleted."""

    def external_ids(self, account_id: str | None, game_ids: Sequence[str]) -> dict[str, str]: ...
    def page_by_strategy(
        self, account_id: str | None, strategy_id: str, request: PageRequest
    ) -> list[dict[str, Any]]:
        """Rows ``{id, game_id, external_game_id, platform}`` of the games on a strategy."""

    def count_by_strategy(self, strategy_id: str) -> int: ...
    def move_strategy(
        self, old: str, new: str, progress: Progress | None = None, *, by: str | None = None
    ) -> int:
        """Point every game on ``old`` at ``new`` set-based (stamping updated_at, and updated_by
        with ``by``); the number moved. Without ``progress`` one statement, with it keyed
        batches that report after each."""


class GameTaskRepository(Protocol):
    def add(self, task: GameTask) -> None: ...
    def get(self, task_id: str, lock: Lock = "none") -> GameTask | None: ...
    def get_by_external_id(self, game_id: str, external_task_id: str) -> GameTask | None: ...
    def update(self, task: GameTask, params_changed: bool = True) -> None: ...
    def delete(self, task: GameTask) -> int:
        """Hard delete with its params; the number of params deleted."""

    def page(
        self, game_id: str, filters: GameTaskFilters, request: PageRequest
    ) -> list[GameTask]: ...
    def count(self, game_id: str, filters: GameTaskFilters) -> int: ...
    def page_by_strategy(self, strategy_id: str, request: PageRequest) -> list[dict[str, Any]]:
        """Rows ``{id, task_id, external_task_id, game_id, external_game_id}``."""

    def count_by_strategy(self, strategy_id: str) -> int: ...
    def move_strategy(
        self, old: str, new: str, progress: Progress | None = None, *, by: str | None = None
    ) -> int:
        """As for games (game tasks have no updated_by: ``by`` is ignored)."""


class StrategyRepository(Protocol):
    def add(self, strategy: Strategy) -> None: ...
    def get(self, strategy_id: str, lock: Lock = "none") -> Strategy | None: ...
    def family(self, account_id: str, name: str, lock: bool = False) -> list[Strategy]:
        """Every version of the family, newest first (empty if there is none).

        ``lock`` serializes the operations on one family: it waits for the family's lock, then
        reads every version committed before it got it, and locks them all.
        """

    def update(self, strategy: Strategy) -> None: ...
    def page(
        self, account_id: str | None, filters: dict[str, Any], request: PageRequest
    ) -> list[Strategy]: ...


class AuditLog(Protocol):
    def add(self, entry: AuditEntry) -> None: ...
    def page(
        self, account_id: str | None, strategy_ids: Sequence[str] | None, request: PageRequest
    ) -> list[AuditEntry]:
        """Entries of the account (None: all) about any of ``strategy_ids`` (None: any)."""


class Schedules(Protocol):
    def add(self, op: ScheduledOperation) -> None: ...
    def get(self, schedule_id: str, lock: Lock = "none") -> ScheduledOperation | None: ...
    def update(self, op: ScheduledOperation) -> None: ...
    def page(
        self, account_id: str | None, strategy_id: str | None, request: PageRequest
    ) -> list[ScheduledOperation]: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving it without ``commit`` rolls everything back."""

    @property
    def games(self) -> GameRepository: ...
    @property
    def game_tasks(self) -> GameTaskRepository: ...
    @property
    def strategies(self) -> StrategyRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def schedules(self) -> Schedules: ...
    @property
    def cursors(self) -> CursorCodec: ...

    def progress(self, done: int, total: int) -> None:
        """Report how far a long cascade has come (PROGRESS state on the task)."""

    def collect(self, entities: Iterable[Any]) -> None:
        """Take the events the entities recorded, to be written to the outbox at commit."""


class MaintenanceRepository(Protocol):
    """What the beat-driven maintenance reads and deletes in bulk."""

    def stale_versions(self, limit: int) -> list[str]:
        """Ids of ARCHIVED strategy versions that games or game tasks still refer to."""

    def claim_deleted_games(self, before: datetime, limit: int) -> list[tuple[str, str]]:
        """``(game_id, account_id)`` of up to ``limit`` games soft-deleted before ``before``,
        oldest deletion first, locked for this transaction (rows another transaction holds
        are left for a later batch)."""

    def purge_games(self, game_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Remove the games, their params, their tasks and the tasks' params, set-based:
        ``{game_id: (tasks deleted, params deleted)}``, as ``GameRepository.purge`` counts."""

    def prune_processed(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` idempotency records made before ``before``; how many."""

    def prune_outbox(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` outbox rows published before ``before`` (never the newest)."""

    def due_operations(self, now: datetime, limit: int) -> list[str]:
        """Ids of PENDING scheduled operations due at ``now``, earliest first."""


class MaintenanceUnitOfWork(UnitOfWork, Protocol):
    """A unit of work the maintenance opens itself, one per batch, and commits."""

    @property
    def maintenance(self) -> MaintenanceRepository: ...

    def __enter__(self) -> MaintenanceUnitOfWork: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def record(self, *events: Event) -> None: ...
