"""The game: what an account runs, with its params, soft deletion and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain import events, ids
from domain.clock import iso, utcnow
from domain.events import Event
from domain.rules import Params

# Fields a patch may set, and the value a ``null`` resets them to.
PATCH_DEFAULTS: dict[str, Any] = {
    "external_game_id": None,
    "platform": None,
    "description": None,
    "tags": [],
    "page_url": None,
    "steam_app_id": None,
    "anti_cheat_enabled": True,
    "default_board_id": None,
    "strategy_id": "default",
    "params": {},
}
REQUIRED_ON_PATCH = frozenset({"name"})


@dataclass(eq=False)
class Game:
    id: str
    account_id: str
    name: str
    slug: str
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    external_game_id: str | None = None
    platform: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    page_url: str | None = None
    steam_app_id: str | None = None
    anti_cheat_enabled: bool = True
    default_board_id: str | None = None
    strategy_id: str = "default"
    params: Params = field(default_factory=dict)
    deleted_at: datetime | None = None
    events: list[Event] = field(default_factory=list, repr=False)

    @classmethod
    def new(cls, account_id: str, slug: str, by: str, fields: dict[str, Any]) -> Game:
        now = utcnow()
        game = cls(
            id=ids.new_id(ids.GAME),
            account_id=account_id,
            slug=slug,
            created_by=by,
            updated_by=by,
            created_at=now,
            updated_at=now,
            **fields,
        )
        game._record(events.GAME_CREATED)
        return game

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def patch(self, changes: dict[str, Any], by: str) -> set[str]:
        """Apply the keys present; ``None`` resets a field to its default. Returns what changed."""
        changed: set[str] = set()
        for key, value in changes.items():
            new = PATCH_DEFAULTS.get(key) if value is None else value
            if getattr(self, key) != new:
                setattr(self, key, new)
                changed.add(key)
        if changed:
            self._touch(by)
            self._record(events.GAME_UPDATED)
        return changed

    def soft_delete(self, by: str) -> bool:
        if self.is_deleted:
            return False
        self.deleted_at = self._touch(by)
        self._record(events.GAME_DELETED)
        return True

    def restore(self, by: str) -> bool:
        if not self.is_deleted:
            return False
        self.deleted_at = None
        self._touch(by)
        self._record(events.GAME_RESTORED)
        return True

    def set_params(self, values: Params, by: str) -> None:
        merged = {**self.params, **values}
        if merged != self.params:
            self.params = merged
            self._touch(by)
            self._record(events.GAME_UPDATED)

    def delete_params(self, keys: list[str], by: str) -> None:
        kept = {k: v for k, v in self.params.items() if k not in set(keys)}
        if kept != self.params:
            self.params = kept
            self._touch(by)
            self._record(events.GAME_UPDATED)

    def purged(self, tasks_deleted: int, params_deleted: int) -> dict[str, Any]:
        summary = {
            "game_id": self.id,
            "tasks_deleted": tasks_deleted,
            "params_deleted": params_deleted,
        }
        self.events.append(Event(events.GAME_PURGED, self.id, self.account_id, summary))
        return summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "name": self.name,
            "slug": self.slug,
            "external_game_id": self.external_game_id,
            "platform": self.platform,
            "description": self.description,
            "tags": list(self.tags),
            "page_url": self.page_url,
            "steam_app_id": self.steam_app_id,
            "anti_cheat_enabled": self.anti_cheat_enabled,
            "default_board_id": self.default_board_id,
            "strategy_id": self.strategy_id,
            "params": dict(self.params),
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "deleted_at": iso(self.deleted_at),
        }

    def _touch(self, by: str) -> datetime:
        now = max(utcnow(), self.updated_at)
        self.updated_at = now
        self.updated_by = by
        return now

    def _record(self, event_type: str) -> None:
        # The data is taken when the event is recorded: it shows the game as of that change.
        self.events.append(Event(event_type, self.id, self.account_id, self.to_dict()))
