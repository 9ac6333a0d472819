"""Every command of the contract by name: its queue, its ``data`` model and its result model.

The one list senders work from: the typed client, ``gameworker send`` and ``gameworker
schema`` read it, and a test checks it against the tasks the worker registers (same names,
same ``data`` models). It imports no service, so a sender can use it without the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks import messages as m
from tasks import result_models as r

QUEUE_BY_PREFIX = (
    ("games.", "games"),
    ("game_tasks.", "games"),
    ("strategies.", "strategies"),
    ("maintenance.", "maintenance"),
    ("events.", "maintenance"),
)


def queue_for(task_name: str) -> str:
    """The queue a task is sent to (contract section 1); ``games`` for anything else."""
    for prefix, queue in QUEUE_BY_PREFIX:
        if task_name.startswith(prefix):
            return queue
    return "games"


@dataclass(frozen=True)
class Command:
    name: str
    data: type[m.Message]
    result: Any
    """The type of ``data`` in an ``ok: true`` answer (a model, or a parametrized page)."""
    writes: bool
    summary: str

    @property
    def queue(self) -> str:
        return queue_for(self.name)


def _c(name: str, data: type[m.Message], result: Any, summary: str, writes: bool = True) -> Command:
    return Command(name, data, result, writes, summary)


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        _c("games.create", m.GameCreate, r.Game, "Create a game."),
        _c("games.get", m.GameGet, r.Game, "Get a game by id, slug or external id.", False),
        _c("games.list", m.GameList, r.GamePage, "A page of games.", False),
        _c("games.patch", m.GamePatch, r.Game, "Change, clear, delete or restore fields."),
        _c("games.delete", m.GameRef, r.Game, "Soft-delete a game."),
        _c("games.restore", m.GameRef, r.Game, "Restore a soft-deleted game."),
        _c("games.purge", m.GameRef, r.GamePurged, "Remove a game and its tasks for good."),
        _c("games.params.set", m.GameParamsSet, r.Game, "Upsert params of a game."),
        _c("games.params.delete", m.GameParamsDelete, r.Game, "Delete params of a game."),
        _c(
            "games.external_ids",
            m.GameExternalIds,
            r.ExternalIds,
            "Map game ids to external game ids.",
            False,
        ),
        _c(
            "games.by_strategy",
            m.GamesByStrategy,
            r.GameRefPage,
            "A page of the games on a strategy.",
            False,
        ),
        _c("game_tasks.create", m.GameTaskCreate, r.GameTask, "Create a game task."),
        _c("game_tasks.get", m.GameTaskGet, r.GameTask, "Get a game task.", False),
        _c("game_tasks.list", m.GameTaskList, r.GameTaskPage, "A page of a game's tasks.", False),
        _c("game_tasks.patch", m.GameTaskPatch, r.GameTask, "Change a game task."),
        _c("game_tasks.delete", m.GameTaskRef, r.GameTaskDeleted, "Delete a game task."),
        _c("strategies.create", m.StrategyCreate, r.Strategy, "Create version 1 (DRAFT)."),
        _c("strategies.get", m.StrategyKey, r.Strategy, "Get a strategy version.", False),
        _c("strategies.list", m.StrategyList, r.StrategyPage, "A page of versions.", False),
        _c(
            "strategies.versions",
            m.StrategyKey,
            r.StrategyVersions,
            "Every version of a family, newest first.",
            False,
        ),
        _c("strategies.update", m.StrategyUpdate, r.Strategy, "Change a draft, or draft anew."),
        _c("strategies.publish", m.StrategyKey, r.Strategy, "Publish a version."),
        _c("strategies.archive", m.StrategyArchive, r.Strategy, "Archive a version."),
        _c("strategies.rollback", m.StrategyRollback, r.Rollback, "Publish an older version."),
        _c("strategies.usage", m.StrategyUsage, r.StrategyUsage, "What uses a version.", False),
        _c("strategies.audit", m.StrategyAudit, r.AuditPage, "A page of the audit log.", False),
        _c("strategies.schedule", m.StrategySchedule, r.Schedule, "Schedule a publish/rollback."),
        _c("strategies.schedule_cancel", m.ScheduleRef, r.Schedule, "Cancel a scheduled one."),
        _c(
            "strategies.schedules",
            m.ScheduleList,
            r.SchedulePage,
            "A page of scheduled operations.",
            False,
        ),
    )
}

SYSTEM_TASKS: dict[str, str] = {
    "maintenance.reconcile_strategy_refs": "Move refs off ARCHIVED custom strategies.",
    "maintenance.purge_deleted_games": "Purge games soft-deleted past their retention.",
    "maintenance.prune": "Drop old idempotency records and published outbox rows.",
    "maintenance.run_due_operations": "Run the scheduled strategy operations that are due.",
    "events.relay": "Publish pending outbox rows to gameworker.events.",
}
"""Beat-driven tasks on the ``maintenance`` queue: no actor, a summary object as result."""


def known(task_name: str) -> bool:
    return task_name in COMMANDS or task_name in SYSTEM_TASKS
