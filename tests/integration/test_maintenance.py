"""The maintenance use cases on both stores: what they change, what they publish, what they keep.

The services are called directly with the database's units of work and an always-true
``keep_going``; the tasks around them (run lock, budget, summary) are tested in
``tests/e2e/test_maintenance_tasks.py``.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from domain.clock import utcnow
from domain.services import games
from domain.services import maintenance as service
from persistence.database import Database
from persistence.tables import game_params, outbox, processed_commands
from tests import maintenance_world as w

POLICY = service.MaintenancePolicy(batch_size=2)


def always() -> bool:
    return True


def reconcile(db: Database, policy: service.MaintenancePolicy = POLICY) -> Any:
    return service.reconcile_strategy_refs(db.unit_of_work, policy, always)


# --- reconcile_strategy_refs -----------------------------------------------------------


def test_reconcile_moves_refs_of_an_archived_version_to_the_published_one(db: Database) -> None:
    v1 = w.strategy(db, "Scoring")
    w.publish(db, v1["id"])
    v2 = w.new_version(db, v1["id"])
    w.publish(db, v2["id"])  # v1 is ARCHIVED now
    game = w.game(db, "Chess", strategy_id=f"custom:{v2['id']}")
    other = w.game(db, "Go", strategy_id=f"custom:{v2['id']}")
    task = w.task(db, game["id"], "t-1", strategy_id=f"custom:{v2['id']}")
    untouched = w.game(db, "Checkers")
    for row_id in (game["id"], other["id"]):
        w.set_ref(db, w.GAMES, row_id, f"custom:{v1['id']}")  # left by a crash
    w.set_ref(db, w.TASKS, task["id"], f"custom:{v1['id']}")

    summary = reconcile(db)

    assert (summary.games, summary.tasks, summary.families, summary.complete) == (2, 1, 1, True)
    assert w.ref_of(db, w.GAMES, game["id"]) == f"custom:{v2['id']}"
    assert w.ref_of(db, w.GAMES, other["id"]) == f"custom:{v2['id']}"
    assert w.ref_of(db, w.TASKS, task["id"]) == f"custom:{v2['id']}"
    assert w.ref_of(db, w.GAMES, untouched["id"]) == "default"
    [event] = w.events(db, "strategy.refs_reconciled")
    assert event["data"] == {"games": 2, "tasks": 1}
    assert (event["subject"], event["account_id"]) == (v1["id"], "acme")


def test_reconcile_moves_refs_to_default_when_the_family_has_no_published_version(
    db: Database,
) -> None:
    v1 = w.strategy(db, "Scoring")
    w.publish(db, v1["id"])
    game = w.game(db, "Chess")
    w.archive(db, v1["id"], reassign_to="default")
    w.set_ref(db, w.GAMES, game["id"], f"custom:{v1['id']}")  # an old release wrote it back

    summary = reconcile(db)

    assert (summary.games, summary.tasks) == (1, 0)
    assert w.ref_of(db, w.GAMES, game["id"]) == "default"


def test_reconcile_with_nothing_stale_changes_and_publishes_nothing(db: Database) -> None:
    v1 = w.strategy(db, "Scoring")
    w.publish(db, v1["id"])
    w.game(db, "Chess", strategy_id=f"custom:{v1['id']}")
    before = w.count(db, outbox)

    summary = reconcile(db)

    assert (summary.games, summary.tasks, summary.families, summary.complete) == (0, 0, 0, True)
    assert w.count(db, outbox) == before
    assert w.events(db, "strategy.refs_reconciled") == []


def test_reconcile_walks_many_families_in_batches(db: Database) -> None:
    stale = []
    for n in range(5):  # five families, batch size two: three rounds
        v1 = w.strategy(db, f"Family {n}")
        w.publish(db, v1["id"])
        v2 = w.new_version(db, v1["id"])
        w.publish(db, v2["id"])
        game = w.game(db, f"Game {n}")
        w.set_ref(db, w.GAMES, game["id"], f"custom:{v1['id']}")
        stale.append((game["id"], v2["id"]))

    summary = reconcile(db)

    assert (summary.games, summary.families, summary.complete) == (5, 5, True)
    for game_id, published in stale:
        assert w.ref_of(db, w.GAMES, game_id) == f"custom:{published}"
    assert len(w.events(db, "strategy.refs_reconciled")) == 5
    assert reconcile(db).games == 0  # idempotent: a second run finds nothing


def test_reconcile_stops_when_keep_going_says_so(db: Database) -> None:
    v1 = w.strategy(db, "Scoring")
    w.publish(db, v1["id"])
    w.publish(db, w.new_version(db, v1["id"])["id"])
    game = w.game(db, "Chess")
    w.set_ref(db, w.GAMES, game["id"], f"custom:{v1['id']}")

    summary = service.reconcile_strategy_refs(db.unit_of_work, POLICY, lambda: False)

    assert (summary.games, summary.complete) == (0, False)
    assert w.ref_of(db, w.GAMES, game["id"]) == f"custom:{v1['id']}"


# --- purge_deleted_games ---------------------------------------------------------------


def deleted_game(db: Database, name: str, days_ago: float, tasks: int = 0) -> str:
    game = w.game(db, name, params={"level": 3, "mode": "x"})
    for n in range(tasks):
        w.task(db, game["id"], f"t-{n}", params={"p": n})
    with db.engine.begin() as conn:
        stamp = utcnow() - timedelta(days=days_ago)
        conn.execute(update(w.GAMES).where(w.GAMES.c.id == game["id"]).values(deleted_at=stamp))
    return str(game["id"])


def test_purge_removes_games_deleted_longer_than_the_retention_with_their_rows(
    db: Database,
) -> None:
    old = deleted_game(db, "Old", days_ago=31, tasks=2)
    older = deleted_game(db, "Older", days_ago=90)
    recent = deleted_game(db, "Recent", days_ago=29)
    live = w.game(db, "Live")["id"]

    summary = service.purge_deleted_games(db.unit_of_work, POLICY, utcnow(), always)

    assert (summary.games, summary.tasks_deleted, summary.complete) == (2, 2, True)
    assert summary.params_deleted == 2 + 2 + 2  # two game params each, one per task
    with db.engine.connect() as conn:
        left = set(conn.execute(select(w.GAMES.c.id)).scalars())
        params_left = set(conn.execute(select(game_params.c.game_id)).scalars())
    assert left == {recent, live}
    assert old not in params_left and older not in params_left
    assert w.count(db, w.TASKS) == 0
    purged = w.events(db, "game.purged")
    assert sorted(e["data"]["game_id"] for e in purged) == sorted([old, older])
    assert {e["account_id"] for e in purged} == {"acme"}
    by_id = {e["data"]["game_id"]: e["data"] for e in purged}
    assert by_id[old] == {"game_id": old, "tasks_deleted": 2, "params_deleted": 4}


def test_purge_uses_the_retention_setting(db: Database) -> None:
    game = deleted_game(db, "Old", days_ago=3)
    keep_a_week = service.MaintenancePolicy(purge_retention_days=7)
    assert service.purge_deleted_games(db.unit_of_work, keep_a_week, utcnow(), always).games == 0
    keep_a_day = service.MaintenancePolicy(purge_retention_days=1)
    summary = service.purge_deleted_games(db.unit_of_work, keep_a_day, utcnow(), always)
    assert summary.games == 1
    assert w.events(db, "game.purged")[0]["data"]["game_id"] == game


def test_purge_walks_batches_until_done(db: Database) -> None:
    for n in range(5):
        deleted_game(db, f"Old {n}", days_ago=40)
    summary = service.purge_deleted_games(db.unit_of_work, POLICY, utcnow(), always)
    assert (summary.games, summary.complete) == (5, True)
    assert w.count(db, w.GAMES) == 0


def test_purge_leaves_a_game_that_is_being_restored(db: Database) -> None:
    """A restore holding the game when the purge comes: the game survives, on both stores."""
    game_id = deleted_game(db, "Old", days_ago=40)
    restore = db.unit_of_work()
    uow = restore.__enter__()
    try:
        games.restore_game(uow, w.ACME, {"game_id": game_id})  # holds the row, not committed
        outcome: list[list[dict[str, Any]]] = []
        purge = threading.Thread(target=lambda: outcome.append(purge_now(db)))
        purge.start()
        time.sleep(0.3)  # PostgreSQL: the purge skipped the row; SQLite: it waits its turn
        uow.commit()
    finally:
        restore.__exit__(None, None, None)
    purge.join(30)
    assert outcome == [[]]
    assert w.count(db, w.GAMES) == 1
    with db.unit_of_work() as check:
        restored = check.games.get(game_id)
    assert restored is not None and restored.deleted_at is None


def purge_now(db: Database) -> list[dict[str, Any]]:
    with db.unit_of_work() as uow:
        purged = service.purge_batch(uow, utcnow() - timedelta(days=30), 100)
        uow.commit()
    return purged


def test_a_batch_purges_what_games_purge_would_and_publishes_the_same_event(
    db: Database,
) -> None:
    by_command = deleted_game(db, "By command", days_ago=1, tasks=3)
    by_batch = deleted_game(db, "By batch", days_ago=40, tasks=3)
    direct = w.run(db, games.purge_game, w.ACME, {"game_id": by_command})
    [batched] = purge_now(db)
    assert {**direct, "game_id": by_batch} == batched
    [first, second] = w.events(db, "game.purged")
    assert first["data"] == direct and second["data"] == batched
    assert (second["subject"], second["account_id"]) == (by_batch, "acme")


def test_two_overlapping_purges_never_purge_a_game_twice(db: Database) -> None:
    """Even with no run lock at all, the claim's row locks share the work out."""
    ids = [deleted_game(db, f"Old {n}", days_ago=40, tasks=1) for n in range(6)]
    start = threading.Barrier(2)
    results: list[list[dict[str, Any]]] = []

    def purge_all() -> None:
        start.wait()
        results.append(purge_now(db))

    threads = [threading.Thread(target=purge_all) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    purged = [p["game_id"] for r in results for p in r]
    assert sorted(purged) == sorted(ids)  # each exactly once, across both runs
    assert len(w.events(db, "game.purged")) == 6
    assert w.count(db, w.GAMES) == 0


# --- prune ---------------------------------------------------------------------------


def remember(db: Database, key: str, days_ago: float) -> None:
    with db.unit_of_work() as uow:
        uow.processed.remember("acme", key, "games.create", {"ok": True, "data": {}})
        uow.commit()
    w.age(db, processed_commands, "created_at", days_ago, key=key)


def outbox_ids(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(outbox.c.id).order_by(outbox.c.id)).scalars())


def publish_all(db: Database, days_ago: float) -> None:
    w.age(db, outbox, "published_at", days_ago)


def test_prune_drops_old_idempotency_records_and_keeps_recent_ones(db: Database) -> None:
    for n in range(5):
        remember(db, f"old-{n}", days_ago=8)
    remember(db, "recent", days_ago=6)

    summary = service.prune(db.unit_of_work, POLICY, utcnow(), always)

    assert (summary.idempotency_records, summary.complete) == (5, True)
    with db.engine.connect() as conn:
        left = list(conn.execute(select(processed_commands.c.key)).scalars())
    assert left == ["recent"]


def test_prune_drops_only_published_outbox_rows_past_their_retention(db: Database) -> None:
    for n in range(4):
        w.game(db, f"Game {n}")  # one game.created row each
    ids = outbox_ids(db)
    publish_all(db, days_ago=8)
    with db.engine.begin() as conn:  # the third is not published yet
        conn.execute(update(outbox).where(outbox.c.id == ids[2]).values(published_at=None))

    summary = service.prune(db.unit_of_work, POLICY, utcnow(), always)

    assert summary.outbox_rows == 2
    assert outbox_ids(db) == [ids[2], ids[3]]  # the pending one, and always the newest


def test_prune_never_empties_the_outbox_so_sequences_keep_growing(db: Database) -> None:
    w.game(db, "Chess")
    publish_all(db, days_ago=30)
    [last] = outbox_ids(db)
    service.prune(
        db.unit_of_work, service.MaintenancePolicy(outbox_retention_days=0), utcnow(), always
    )
    assert outbox_ids(db) == [last]
    w.game(db, "Go")
    assert outbox_ids(db)[-1] > last


def test_prune_keeps_rows_published_within_the_retention(db: Database) -> None:
    w.game(db, "Chess")
    w.game(db, "Go")
    publish_all(db, days_ago=1)
    assert service.prune(db.unit_of_work, POLICY, utcnow(), always).outbox_rows == 0
    assert len(outbox_ids(db)) == 2
