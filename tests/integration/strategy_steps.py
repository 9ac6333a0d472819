"""Steps the strategy integration tests share: run a use case in its own unit of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from domain.actor import Actor
from domain.errors import DomainError
from domain.services import games as game_svc
from domain.services import strategies as svc
from domain.services import strategy_lifecycle as life
from persistence.database import Database
from persistence.tables import audit_log, game_tasks, games, outbox, strategies
from persistence.unit_of_work import SqlUnitOfWork

ACME = Actor("alice", "acme")
MANAGER = Actor("mia", "acme", roles=("strategy_admin",))

Patch = Callable[[SqlUnitOfWork], None]


def run(
    db: Database,
    use_case: Callable[..., Any],
    actor: Actor,
    cmd: dict[str, Any],
    patch: Patch | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Run one use case in a unit of work of its own and commit; a domain error is returned."""
    with db.unit_of_work(on_progress=progress) as uow:
        if patch is not None:
            patch(uow)
        try:
            result = use_case(uow, actor, cmd)
        except DomainError as error:
            return error
        uow.commit()
        return result


def family(db: Database, versions: int = 2, name: str = "Points") -> list[dict[str, Any]]:
    """A family of ``versions`` versions: the last one PUBLISHED, the others ARCHIVED."""
    made = [run(db, svc.create_strategy, ACME, {"name": name, "definition": {"v": 1}})]
    run(db, life.publish_strategy, MANAGER, {"strategy_id": made[0]["id"]})
    for n in range(2, versions + 1):
        cmd = {"strategy_id": made[-1]["id"], "definition": {"v": n}}
        fork = run(db, svc.update_strategy, ACME, cmd)
        run(db, life.publish_strategy, MANAGER, {"strategy_id": fork["id"]})
        made.append(fork)
    return [run(db, svc.get_strategy, ACME, {"strategy_id": v["id"]}) for v in made]


def game(db: Database, ref: str, name: str = "Game") -> dict[str, Any]:
    made: dict[str, Any] = run(db, game_svc.create_game, ACME, {"name": name, "strategy_id": ref})
    return made


def status_of(db: Database, strategy_id: str) -> str:
    with db.engine.connect() as conn:
        query = select(strategies.c.status).where(strategies.c.id == strategy_id)
        return str(conn.execute(query).scalar_one())


def count_on(db: Database, ref: str) -> tuple[int, int]:
    with db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c.strategy_id == ref)
                ).scalar_one()
            )
            for t in (games, game_tasks)
        )


def rows(db: Database, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audit_rows(db: Database) -> int:
    return rows(db, audit_log)


def outbox_types(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [r.type for r in conn.execute(select(outbox.c.type).order_by(outbox.c.id))]
