"""Steps the strategy end-to-end tests share: send, unwrap, look into the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from persistence.database import Database
from persistence.tables import audit_log, outbox
from tests.conftest import OTHER, Send

MANAGER = {"account_id": "acme", "subject": "mia", "roles": ["strategy_admin"]}
OTHER_MANAGER = {**OTHER, "roles": ["strategy_admin"]}


def ok(result: dict[str, Any]) -> Any:
    assert result["ok"], result
    return result["data"]


def error(result: dict[str, Any], code: str) -> dict[str, Any]:
    assert not result["ok"] and result["error"]["code"] == code, result
    failure: dict[str, Any] = result["error"]
    return failure


def create(
    send: Send, name: str = "Points", actor: dict[str, Any] | None = None, **data: Any
) -> Any:
    return ok(
        send("strategies.create", {"name": name, "definition": {"rule": 1}, **data}, actor=actor)
    )


def published(send: Send, name: str = "Points") -> Any:
    made = create(send, name)
    return ok(send("strategies.publish", {"strategy_id": made["id"]}, actor=MANAGER))


def ref(version: dict[str, Any]) -> str:
    return "custom:" + version["id"]


def outbox_types(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [r.type for r in conn.execute(select(outbox.c.type).order_by(outbox.c.id))]


def audit(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.at)))
