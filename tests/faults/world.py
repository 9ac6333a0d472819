"""A small world of accounts for the tenancy and injection properties: games, tasks, strategies.

Objects are made through the commands themselves; a PUBLISHED strategy is written through the
repository when the strategy commands are not there to publish one.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from domain import ids
from domain.clock import utcnow
from domain.strategies import PUBLISHED, Strategy
from persistence.database import Database
from persistence.tables import game_params, game_task_params, game_tasks, games, strategies
from tests.faults.conftest import Call

OBJECT_TABLES = (games, game_params, game_tasks, game_task_params, strategies)


def owner(account: str, *roles: str) -> dict[str, Any]:
    return {"account_id": account, "subject": f"key-{account}", "roles": list(roles)}


ADMIN = {"account_id": None, "subject": "ops-admin", "is_admin": True}


@dataclass
class Account:
    id: str
    games: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)


def add_published_strategy(db: Database, account: str, name: str) -> str:
    """A PUBLISHED strategy of ``account``; its id."""
    now = utcnow()
    strategy = Strategy(
        id=ids.new_id(ids.STRATEGY),
        account_id=account,
        name=name,
        type="DSL_FULL",
        definition={"rules": [name]},
        version=1,
        status=PUBLISHED,
        created_by="tests",
        created_at=now,
        updated_at=now,
        published_at=now,
    )
    with db.unit_of_work() as uow:
        uow.strategies.add(strategy)
        uow.commit()
    return strategy.id


def build(call: Call, db: Database, plan: dict[str, list[tuple[str, str, int]]]) -> list[Account]:
    """Make every account's objects: ``plan`` maps account -> [(name, external id, tasks)]."""
    accounts = []
    for account_id, game_plan in plan.items():
        account = Account(account_id)
        account.strategies.append(add_published_strategy(db, account_id, "scoring"))
        for name, external_id, task_count in game_plan:
            created = call(
                "games.create",
                {"name": name, "external_game_id": external_id, "params": {"level": 1}},
                owner(account_id),
            )
            assert created["ok"], created
            account.games.append(created["data"])
            for n in range(task_count):
                task = call(
                    "game_tasks.create",
                    {"game_id": created["data"]["id"], "external_task_id": f"task-{n}"},
                    owner(account_id),
                )
                assert task["ok"], task
                account.tasks.append(task["data"])
        accounts.append(account)
    return accounts


def snapshot(db: Database, account_id: str) -> list[Any]:
    """Every object row of one account (its games, params, tasks and strategies)."""
    with db.engine.connect() as conn:
        game_ids = select(games.c.id).where(games.c.account_id == account_id)
        task_ids = select(game_tasks.c.id).where(game_tasks.c.account_id == account_id)
        queries = [
            select(games).where(games.c.account_id == account_id).order_by(games.c.id),
            select(game_params)
            .where(game_params.c.game_id.in_(game_ids))
            .order_by(game_params.c.game_id, game_params.c.key),
            select(game_tasks)
            .where(game_tasks.c.account_id == account_id)
            .order_by(game_tasks.c.id),
            select(game_task_params)
            .where(game_task_params.c.task_id.in_(task_ids))
            .order_by(game_task_params.c.task_id, game_task_params.c.key),
            select(strategies)
            .where(strategies.c.account_id == account_id)
            .order_by(strategies.c.id),
        ]
        return [[tuple(r) for r in conn.execute(q)] for q in queries]


def missing_like(value: str) -> str:
    """A value of the same shape (prefix and length) that names nothing."""
    for prefix in (ids.GAME, ids.GAME_TASK, ids.STRATEGY, "custom:" + ids.STRATEGY):
        if value.startswith(prefix):
            body = "".join(random.choices("0123456789abcdefghjkmnpqrstvwxyz", k=26))
            return prefix + body[: len(value) - len(prefix)]
    alphabet = string.ascii_lowercase + string.digits
    return "".join(random.choices(alphabet, k=len(value)))


def replaced(value: Any, old: str, new: str) -> Any:
    """``value`` with every occurrence of ``old`` in its strings replaced by ``new``."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [replaced(v, old, new) for v in value]
    if isinstance(value, dict):
        return {replaced(k, old, new): replaced(v, old, new) for k, v in value.items()}
    return value
