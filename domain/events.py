"""What happened, as past-tense facts that become CloudEvents after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GAME_CREATED = "game.created"
GAME_UPDATED = "game.updated"
GAME_DELETED = "game.deleted"
GAME_RESTORED = "game.restored"
GAME_PURGED = "game.purged"
GAME_TASK_CREATED = "game_task.created"
GAME_TASK_UPDATED = "game_task.updated"
GAME_TASK_DELETED = "game_task.deleted"
STRATEGY_CREATED = "strategy.created"
STRATEGY_UPDATED = "strategy.updated"
STRATEGY_PUBLISHED = "strategy.published"
STRATEGY_ARCHIVED = "strategy.archived"
STRATEGY_ROLLED_BACK = "strategy.rolled_back"
STRATEGY_REFS_RECONCILED = "strategy.refs_reconciled"
COMMAND_REJECTED = "command.rejected"
COMMAND_FAILED = "command.failed"


@dataclass(frozen=True, slots=True)
class Event:
    """One fact: its contract type, the object it is about, its account and its data."""

    type: str
    subject: str
    account_id: str | None
    data: dict[str, Any]


class Recorder:
    """Mixin for objects that record the events of their changes."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, event: Event) -> None:
        self.events.append(event)
