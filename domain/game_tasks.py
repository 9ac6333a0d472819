"""The game task: a task players do inside a game, on a scoring strategy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain import events, ids
from domain.clock import iso, utcnow
from domain.events import Event
from domain.rules import Params

PATCH_DEFAULTS: dict[str, Any] = {"strategy_id": "default", "status": "open", "params": {}}


@dataclass(eq=False)
class GameTask:
    id: str
    game_id: str
    account_id: str
    external_task_id: str
    created_at: datetime
    updated_at: datetime
    strategy_id: str = "default"
    status: str = "open"
    params: Params = field(default_factory=dict)
    events: list[Event] = field(default_factory=list, repr=False)

    @classmethod
    def new(cls, game_id: str, account_id: str, fields: dict[str, Any]) -> GameTask:
        now = utcnow()
        task = cls(
            id=ids.new_id(ids.GAME_TASK),
            game_id=game_id,
            account_id=account_id,
            created_at=now,
            updated_at=now,
            **fields,
        )
        task._record(events.GAME_TASK_CREATED)
        return task

    def patch(self, changes: dict[str, Any]) -> set[str]:
        """Apply the keys present; ``None`` resets a field to its default."""
        changed: set[str] = set()
        for key, value in changes.items():
            new = PATCH_DEFAULTS[key] if value is None else value
            if getattr(self, key) != new:
                setattr(self, key, new)
                changed.add(key)
        if changed:
            self.updated_at = max(utcnow(), self.updated_at)
            self._record(events.GAME_TASK_UPDATED)
        return changed

    def deleted(self) -> dict[str, Any]:
        data = {"task_id": self.id, "game_id": self.game_id}
        self.events.append(Event(events.GAME_TASK_DELETED, self.id, self.account_id, data))
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "game_id": self.game_id,
            "external_task_id": self.external_task_id,
            "strategy_id": self.strategy_id,
            "status": self.status,
            "params": dict(self.params),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def _record(self, event_type: str) -> None:
        self.events.append(Event(event_type, self.id, self.account_id, self.to_dict()))
