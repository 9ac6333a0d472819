"""Two changes to one game's params at once: the second must see the first (no lost update).

Found by the load scenarios: two ``games.params.set`` on one game committed one after the
other, and the second's game had lost the first's param. The second had waited for the game's
row lock, and PostgreSQL (READ COMMITTED) re-reads a locked row after the wait but evaluates a
subquery in the same statement with the snapshot from before it: params read in the locking
statement were stale. Here the first holds the lock until the second is waiting for it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from domain.actor import Actor
from domain.services.games import create_game, patch_game, set_params
from persistence.database import Database

pytestmark = pytest.mark.postgres
ACTOR = Actor("lost-update", "acme")


def _waiting_for_lock(db: Database) -> bool:
    with db.engine.connect() as conn:
        from sqlalchemy import text

        waiting = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        ).scalar_one()
    return int(waiting) > 0


@pytest.mark.parametrize("second", ["params", "patch"])
def test_a_change_waiting_for_the_lock_sees_the_change_that_held_it(
    pg_db: Database, second: str
) -> None:
    with pg_db.unit_of_work() as uow:
        game = create_game(uow, ACTOR, {"name": "Contended", "params": {"a": 1}})
        uow.commit()
    answers: dict[str, Any] = {}

    def later() -> None:
        with pg_db.unit_of_work() as uow:
            if second == "params":
                answers["second"] = set_params(
                    uow, ACTOR, {"game_id": game["id"], "params": {"c": 3}}
                )
            else:
                answers["second"] = patch_game(
                    uow, ACTOR, {"game_id": game["id"], "platform": "pc"}
                )
            uow.commit()

    with pg_db.unit_of_work() as first:
        set_params(first, ACTOR, {"game_id": game["id"], "params": {"b": 2}})
        waiter = threading.Thread(target=later)
        waiter.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_lock(pg_db):
            assert time.monotonic() < deadline, "the second change never waited for the lock"
            time.sleep(0.02)
        first.commit()
    waiter.join(10)
    assert answers["second"]["params"] == {
        "a": 1,
        "b": 2,
        **({"c": 3} if second == "params" else {}),
    }
    with pg_db.unit_of_work() as uow:
        stored = uow.games.get(game["id"])
    assert stored is not None and "b" in stored.params, stored
