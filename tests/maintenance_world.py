"""Building what the maintenance tests need straight through the services, on a real database.

Games, game tasks and strategy families are made with the same services the commands run, in
committed units of work; then the tests break things the way a crash, a manual edit or an old
release would (``set_ref``, ``age``) and look at the rows and the outbox afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, update

from domain.actor import Actor
from domain.clock import utcnow
from domain.services import game_tasks, games, strategies, strategy_lifecycle
from persistence.database import Database
from persistence.tables import game_tasks as game_tasks_table
from persistence.tables import games as games_table
from persistence.tables import outbox

ACME = Actor("api-key-acme", "acme", roles=("strategy_admin",))
GLOBEX = Actor("api-key-globex", "globex", roles=("strategy_admin",))


def run(db: Database, service: Any, actor: Actor, data: dict[str, Any]) -> Any:
    with db.unit_of_work() as uow:
        result = service(uow, actor, data)
        uow.commit()
    return result


def game(db: Database, name: str, actor: Actor = ACME, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = run(db, games.create_game, actor, {"name": name, **fields})
    return result


def task(db: Database, game_id: str, ext: str, actor: Actor = ACME, **fields: Any) -> Any:
    data = {"game_id": game_id, "external_task_id": ext, **fields}
    return run(db, game_tasks.create_task, actor, data)


def strategy(db: Database, name: str, actor: Actor = ACME) -> dict[str, Any]:
    result: dict[str, Any] = run(
        db, strategies.create_strategy, actor, {"name": name, "definition": {"v": 1}}
    )
    return result


def new_version(db: Database, strategy_id: str, actor: Actor = ACME) -> dict[str, Any]:
    data = {"strategy_id": strategy_id, "definition": {"v": utcnow().isoformat()}}
    result: dict[str, Any] = run(db, strategies.update_strategy, actor, data)
    return result


def publish(db: Database, strategy_id: str, actor: Actor = ACME) -> Any:
    return run(db, strategy_lifecycle.publish_strategy, actor, {"strategy_id": strategy_id})


def archive(db: Database, strategy_id: str, reassign_to: str, actor: Actor = ACME) -> Any:
    data = {"strategy_id": strategy_id, "reassign_to": reassign_to}
    return run(db, strategy_lifecycle.archive_strategy, actor, data)


def set_ref(db: Database, table: Table, row_id: str, strategy_id: str) -> None:
    """Point a row at a strategy behind the services' back (a manual edit, a crash)."""
    with db.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == row_id).values(strategy_id=strategy_id))


def ref_of(db: Database, table: Table, row_id: str) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(select(table.c.strategy_id).where(table.c.id == row_id)).scalar())


def age(db: Database, table: Table, column: str, days: float, **where: Any) -> None:
    """Move a timestamp ``days`` into the past (rows matching ``where``; all when empty)."""
    stamp: datetime = utcnow() - timedelta(days=days)
    stmt = update(table).values({column: stamp})
    for key, value in where.items():
        stmt = stmt.where(table.c[key] == value)
    with db.engine.begin() as conn:
        conn.execute(stmt)


def events(db: Database, type_: str) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.type == type_).order_by(outbox.c.id))
        return [dict(r._mapping) for r in rows]


def count(db: Database, table: Table) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


GAMES, TASKS = games_table, game_tasks_table
