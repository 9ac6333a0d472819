"""What a list asks for: the filters of games and game tasks, and the sortable fields."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

GAME_SORT_FIELDS = (
    "id",
    "name",
    "slug",
    "external_game_id",
    "platform",
    "created_at",
    "updated_at",
)
GAME_TASK_SORT_FIELDS = ("id", "external_task_id", "status", "created_at", "updated_at")
STRATEGY_SORT_FIELDS = ("id", "name", "version", "created_at")
DEFAULT_SORT = "created_at:desc"


@dataclass(frozen=True, slots=True)
class GameFilters:
    name_contains: str | None = None
    platform: str | None = None
    external_game_id: tuple[str, ...] | None = None
    slug: str | None = None
    strategy_id: str | None = None
    tag: str | None = None
    anti_cheat_enabled: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None

    @classmethod
    def of(cls, values: dict[str, Any]) -> GameFilters:
        """From a list command's ``filters``: one external id or a list of them."""
        values = dict(values)
        ext = values.get("external_game_id")
        if ext is not None:
            values["external_game_id"] = (ext,) if isinstance(ext, str) else tuple(ext)
        return cls(**values)

    def fingerprint(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class GameScope:
    """Which games a list sees: one account or all (None), deleted ones or not."""

    account_id: str | None
    include_deleted: bool = False


@dataclass(frozen=True, slots=True)
class GameTaskFilters:
    status: str | None = None
    strategy_id: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}
