"""What the games end-to-end tests share: reading the outbox and checking result shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from persistence.database import Database
from persistence.tables import games, outbox, processed_commands

GAME_FIELDS = [
    "id",
    "account_id",
    "name",
    "slug",
    "external_game_id",
    "platform",
    "description",
    "tags",
    "page_url",
    "steam_app_id",
    "anti_cheat_enabled",
    "default_board_id",
    "strategy_id",
    "params",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "deleted_at",
]
TASK_FIELDS = [
    "id",
    "game_id",
    "external_task_id",
    "strategy_id",
    "status",
    "params",
    "created_at",
    "updated_at",
]
PAGINATION = ["next_cursor", "prev_cursor", "has_next", "has_prev", "count", "total"]


def data(result: dict[str, Any]) -> Any:
    """The data of a successful result, after checking its shape."""
    assert result.get("ok") is True and set(result) == {"ok", "data"}, result
    return result["data"]


def error(result: dict[str, Any], code: str, *fields: str) -> dict[str, Any]:
    """The error of a failed result, after checking its shape, code and named fields."""
    assert result.get("ok") is False and set(result) == {"ok", "error"}, result
    err: dict[str, Any] = result["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["details"], dict), err
    for field in fields:
        assert field in err["details"].get("fields", {}), (field, err)
    return err


def events(db: Database, *types: str) -> list[Any]:
    """Outbox rows in sequence order (of the given types, if any)."""
    query = select(outbox).order_by(outbox.c.id)
    if types:
        query = query.where(outbox.c.type.in_(types))
    with db.engine.connect() as conn:
        return list(conn.execute(query))


def counts(db: Database) -> tuple[int, int, int]:
    """(games, outbox rows, idempotency records)."""
    with db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (games, outbox, processed_commands)
        )


def is_game(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == GAME_FIELDS


def is_page(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"items", "pagination"}
        and list(value["pagination"]) == PAGINATION
    )
