"""The ``maintenance.*`` tasks as beat sends them: by name, no actor, a summary back.

Run through the embedded worker on both stores; the overlapping runs are two real runs of a
task at once (the first held inside its work), on both stores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from domain.clock import utcnow
from domain.services import maintenance as service
from persistence.database import Database
from persistence.run_locks import RunLocks
from persistence.tables import processed_commands, run_locks
from tests import maintenance_world as w
from tests.conftest import Send
from workers.app import GameworkerCelery
from workers.bootstrap import maintenance_policy
from workers.settings import Settings

TASKS = (
    "maintenance.reconcile_strategy_refs",
    "maintenance.purge_deleted_games",
    "maintenance.prune",
    "maintenance.run_due_operations",
)


@pytest.fixture
def run_task(celery_app: GameworkerCelery, send: Send) -> Any:
    """Send a system task by name as beat does (no kwargs) and wait for its answer."""

    def run(name: str, **kwargs: Any) -> dict[str, Any]:
        result = celery_app.send_task(name, kwargs=kwargs, queue="maintenance")
        answer: dict[str, Any] = result.get(timeout=30, interval=0.01)
        return answer

    return run


@pytest.fixture
def policy(celery_app: GameworkerCelery) -> Iterator[service.MaintenancePolicy]:
    """The module's runtime policy, restored after the test changed it."""
    saved = celery_app.runtime.maintenance
    yield saved
    celery_app.runtime.maintenance = saved


def deleted_game(db: Database, name: str, days_ago: float) -> str:
    game_id = str(w.game(db, name)["id"])
    stamp = utcnow() - timedelta(days=days_ago)
    with db.engine.begin() as conn:
        conn.execute(update(w.GAMES).where(w.GAMES.c.id == game_id).values(deleted_at=stamp))
    return game_id


@pytest.mark.parametrize("name", TASKS)
def test_each_task_answers_a_summary_and_lets_go_of_its_lock(
    db: Database, run_task: Any, name: str
) -> None:
    summary = run_task(name)
    assert summary["skipped"] is False and summary["complete"] is True
    assert "ok" not in summary  # the summary itself, as events.relay answers
    assert w.count(db, run_locks) == 0


def test_purge_through_the_worker(db: Database, run_task: Any) -> None:
    old = deleted_game(db, "Old", days_ago=45)
    deleted_game(db, "Recent", days_ago=2)
    summary = run_task("maintenance.purge_deleted_games")
    assert (summary["games"], summary["tasks_deleted"]) == (1, 0)
    assert summary["cutoff"] < (utcnow() - timedelta(days=29)).isoformat()
    [event] = w.events(db, "game.purged")
    assert event["data"]["game_id"] == old
    assert event["causation_id"] is not None  # the run's task id


def test_reconcile_through_the_worker(db: Database, run_task: Any) -> None:
    v1 = w.strategy(db, "Scoring")
    w.publish(db, v1["id"])
    v2 = w.new_version(db, v1["id"])
    w.publish(db, v2["id"])
    game = w.game(db, "Chess")
    w.set_ref(db, w.GAMES, game["id"], f"custom:{v1['id']}")
    summary = run_task("maintenance.reconcile_strategy_refs")
    assert (summary["games"], summary["tasks"], summary["families"]) == (1, 0, 1)
    assert w.ref_of(db, w.GAMES, game["id"]) == f"custom:{v2['id']}"
    again = run_task("maintenance.reconcile_strategy_refs")
    assert (again["games"], again["tasks"]) == (0, 0)  # idempotent
    assert len(w.events(db, "strategy.refs_reconciled")) == 1


def test_prune_through_the_worker(db: Database, run_task: Any) -> None:
    with db.unit_of_work() as uow:
        uow.processed.remember("acme", "k-1", "games.create", {"ok": True, "data": {}})
        uow.commit()
    w.age(db, processed_commands, "created_at", days=10)
    summary = run_task("maintenance.prune")
    assert summary["idempotency_records"] == 1
    assert w.count(db, processed_commands) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"actor": {"account_id": "acme", "subject": "x"}},
        {"data": {"limit": 5}},
        {"data": "nothing"},
    ],
)
def test_input_a_system_task_does_not_take_is_a_validation_error(
    db: Database, run_task: Any, kwargs: dict[str, Any]
) -> None:
    answer = run_task("maintenance.prune", **kwargs)
    assert answer["ok"] is False and answer["error"]["code"] == "validation_error"


def test_a_run_that_finds_the_lock_held_does_nothing_and_says_so(
    db: Database, run_task: Any
) -> None:
    deleted_game(db, "Old", days_ago=45)
    locks = RunLocks(db.engine)
    assert locks.acquire("maintenance.purge_deleted_games", "another-run", lease=60)

    summary = run_task("maintenance.purge_deleted_games")

    assert summary["skipped"] is True and summary["games"] == 0
    assert w.count(db, w.GAMES) == 1
    locks.release("maintenance.purge_deleted_games", "another-run")
    assert run_task("maintenance.purge_deleted_games")["games"] == 1


def test_a_lock_left_by_a_dead_run_frees_itself_after_its_lease(
    db: Database, run_task: Any
) -> None:
    deleted_game(db, "Old", days_ago=45)
    locks = RunLocks(db.engine)
    assert locks.acquire("maintenance.purge_deleted_games", "killed-run", lease=0.01)
    held = locks.holder("maintenance.purge_deleted_games")
    assert held is not None
    while utcnow() <= held[1]:  # let the dead run's lease run out, however fast we got here
        time.sleep(0.01)
    summary = run_task("maintenance.purge_deleted_games")
    assert summary["skipped"] is False and summary["games"] == 1


def test_two_overlapping_runs_never_do_the_same_work_twice(
    db: Database, celery_app: GameworkerCelery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run is held inside its work while a second one starts: it is skipped."""
    ids = {deleted_game(db, f"Old {n}", days_ago=45) for n in range(3)}
    inside, release = threading.Event(), threading.Event()
    real = service.purge_deleted_games

    def held(*args: Any) -> service.PurgeSummary:
        inside.set()
        assert release.wait(30)
        return real(*args)

    monkeypatch.setattr(service, "purge_deleted_games", held)
    task = celery_app.tasks["maintenance.purge_deleted_games"]
    first: list[dict[str, Any]] = []
    runner = threading.Thread(target=lambda: first.append(task.apply(kwargs={}).get()))
    runner.start()
    try:
        assert inside.wait(30)
        second = task.apply(kwargs={}).get()
    finally:
        release.set()
        runner.join(30)

    assert second["skipped"] is True and second["games"] == 0
    assert first[0]["skipped"] is False and first[0]["games"] == 3
    assert {e["data"]["game_id"] for e in w.events(db, "game.purged")} == ids
    assert len(w.events(db, "game.purged")) == 3
    assert w.count(db, run_locks) == 0


def test_a_run_out_of_time_stops_and_leaves_the_rest(
    db: Database, run_task: Any, celery_app: GameworkerCelery, policy: Any
) -> None:
    deleted_game(db, "Old", days_ago=45)
    celery_app.runtime.maintenance = replace(policy, time_budget=0)
    summary = run_task("maintenance.purge_deleted_games")
    assert (summary["games"], summary["complete"], summary["skipped"]) == (0, False, False)
    celery_app.runtime.maintenance = policy
    assert run_task("maintenance.purge_deleted_games")["games"] == 1


def test_retentions_and_batches_come_from_the_settings() -> None:
    settings = Settings(
        purge_retention_days=3,
        idempotency_retention_days=2,
        outbox_retention_days=1,
        maintenance_batch_size=50,
        task_soft_time_limit=100,
        task_time_limit=120,
    )
    policy = maintenance_policy(settings)
    assert (
        policy.purge_retention_days,
        policy.idempotency_retention_days,
        policy.outbox_retention_days,
        policy.batch_size,
    ) == (3, 2, 1, 50)
    assert policy.time_budget < settings.task_soft_time_limit
    assert policy.lock_lease > settings.task_time_limit  # a live run never loses its lock


def test_a_run_that_committed_events_kicks_the_relay_and_one_that_did_not_does_not(
    db: Database, run_task: Any, celery_app: GameworkerCelery
) -> None:
    kicks: list[int] = []
    saved = celery_app.runtime.after_commit
    celery_app.runtime.after_commit = lambda: kicks.append(1)
    try:
        run_task("maintenance.purge_deleted_games")
        assert kicks == []  # nothing purged, no event: no kick
        deleted_game(db, "Old", days_ago=45)
        run_task("maintenance.purge_deleted_games")
        assert kicks == [1]
    finally:
        celery_app.runtime.after_commit = saved
