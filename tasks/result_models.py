"""What commands answer, as pydantic models: the ``ok``/``error`` envelope and every ``data``.

These describe contract sections 2 and 5-10 for senders (the typed client, the JSON Schemas,
the AsyncAPI document). The worker builds its answers from the domain; tests check that real
answers parse into these models field for field. Unknown fields are ignored when parsing, so
an older client keeps working against a newer worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ErrorCode = Literal["validation_error", "not_found", "forbidden", "conflict", "invalid_cursor"]
StrategyType = Literal["BUILT_IN", "DSL_EXTEND", "DSL_FULL"]
StrategyStatus = Literal["DRAFT", "PUBLISHED", "ARCHIVED"]
ScheduleStatus = Literal["PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED"]
ParamValue = str | int | float | bool

T = TypeVar("T")


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- the envelope (contract section 2) ---------------------------------------------------


class ErrorBody(Reply):
    code: ErrorCode
    message: str = Field(description="a human sentence")
    details: dict[str, Any] = Field(
        default_factory=dict, description="names the offending field(s) under `fields`"
    )


class Ok(Reply, Generic[T]):
    ok: Literal[True]
    data: T


class Failed(Reply):
    ok: Literal[False]
    error: ErrorBody


# --- games and game tasks ----------------------------------------------------------------


class Game(Reply):
    id: str = Field(description="`gam_...`")
    account_id: str
    name: str
    slug: str
    external_game_id: str | None
    platform: str | None
    description: str | None
    tags: list[str]
    page_url: str | None
    steam_app_id: str | None
    anti_cheat_enabled: bool
    default_board_id: str | None
    strategy_id: str = Field(description="a built-in id or `custom:stg_...`")
    params: dict[str, ParamValue]
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class GameTask(Reply):
    id: str = Field(description="`tsk_...`")
    game_id: str
    external_task_id: str
    strategy_id: str
    status: str
    params: dict[str, ParamValue]
    created_at: datetime
    updated_at: datetime


class Pagination(Reply):
    next_cursor: str | None
    prev_cursor: str | None
    has_next: bool
    has_prev: bool
    count: int
    total: int | None = Field(description="only with `with_total: true`, else null")


class Page(Reply, Generic[T]):
    items: list[T]
    pagination: Pagination


class GameRef(Reply):
    game_id: str
    external_game_id: str | None
    platform: str | None


class GameTaskRef(Reply):
    task_id: str
    external_task_id: str
    game_id: str
    external_game_id: str | None


class GamePurged(Reply):
    game_id: str
    tasks_deleted: int
    params_deleted: int


class ExternalIds(Reply):
    mapping: dict[str, str] = Field(description="game id -> external game id")


class GameTaskDeleted(Reply):
    task_id: str


class GameTaskRemoved(Reply):
    """The data of a ``game_task.deleted`` event."""

    task_id: str
    game_id: str


# --- strategies --------------------------------------------------------------------------


class Strategy(Reply):
    id: str = Field(description="`stg_...`")
    account_id: str
    name: str
    description: str | None
    type: StrategyType
    parent_strategy_id: str | None
    definition: dict[str, Any]
    version: int
    status: StrategyStatus
    created_by: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StrategyChange(Strategy):
    """A version after a publish or archive, with the games and tasks it moved."""

    games_reassigned: int | None = None
    tasks_reassigned: int | None = None


class StrategyVersions(Reply):
    items: list[Strategy] = Field(description="every version of the family, newest first")


class Rollback(Reply):
    strategy: Strategy = Field(description="the promoted version")
    displaced_strategy_id: str | None = Field(description="null when none was PUBLISHED")
    games_reassigned: int
    tasks_reassigned: int


class StrategyUsage(Reply):
    strategy_id: str
    name: str
    version: int
    status: StrategyStatus
    game_count: int
    task_count: int
    games: list[GameRef]
    tasks: list[GameTaskRef]
    next_cursor: str | None = Field(description="the next page of both lists, if any")
    has_next: bool


class AuditEntry(Reply):
    id: str
    at: datetime
    subject: str
    action: str
    strategy_id: str
    outcome: str
    details: dict[str, Any]


class Schedule(Reply):
    schedule_id: str
    strategy_id: str
    action: Literal["publish", "rollback"]
    target_version: int | None
    run_at: datetime
    status: ScheduleStatus
    result: dict[str, Any] | None = Field(description="the answer of the run, once DONE/FAILED")
    created_by: str
    created_at: datetime
    updated_at: datetime


class RefsReconciled(Reply):
    """The data of a ``strategy.refs_reconciled`` event."""

    games: int
    tasks: int


# --- events about commands ---------------------------------------------------------------


class CommandRejected(Reply):
    task: str
    idempotency_key: str
    error: ErrorBody


class CommandFailed(Reply):
    task: str
    idempotency_key: str
    error: str
    attempts: int


class Summary(Reply):
    """What a maintenance task did: counts by name (each task has its own keys)."""

    model_config = ConfigDict(extra="allow", frozen=True)


GamePage = Page[Game]
GameTaskPage = Page[GameTask]
GameRefPage = Page[GameRef]
StrategyPage = Page[Strategy]
AuditPage = Page[AuditEntry]
SchedulePage = Page[Schedule]
