"""Concurrent strategy operations on PostgreSQL, each thread in its own unit of work.

A thread widens its transaction's window by sleeping inside it (a wrapped repository method),
so the other thread's statements land while it holds its locks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.errors import Conflict, ValidationError
from domain.services import games as game_svc
from domain.services import strategies as svc
from domain.services import strategy_lifecycle as life
from persistence.database import Database
from persistence.tables import strategies
from persistence.unit_of_work import SqlUnitOfWork
from tests.integration.strategy_steps import (
    ACME,
    MANAGER,
    count_on,
    family,
    game,
    run,
    status_of,
)
from tests.invariants import broken_refs, strategy_refs_hold  # noqa: F401
from tests.seed import seed_games

pytestmark = pytest.mark.postgres

WINDOW = 0.4  # seconds a transaction sleeps while holding its locks


def ref(version: dict[str, Any]) -> str:
    return "custom:" + version["id"]


def stall(
    method: str, entered: threading.Event, log: list[tuple[str, float]], who: str
) -> Callable[[SqlUnitOfWork], None]:
    """Wrap ``<repository>.<method>`` of a unit of work: note the time, signal, sleep, go on.

    The unit of work's commit is wrapped too, noting when it starts.
    """
    repo_name, _, name = method.partition(".")

    def patch(uow: SqlUnitOfWork) -> None:
        repo = getattr(uow, repo_name)
        original = getattr(repo, name)

        def slow(*args: Any, **kwargs: Any) -> Any:
            log.append((f"{who} inside", time.monotonic()))
            entered.set()
            time.sleep(WINDOW)
            return original(*args, **kwargs)

        setattr(repo, name, slow)
        commit = uow.commit

        def noted_commit(*args: Any, **kwargs: Any) -> None:
            log.append((f"{who} commits", time.monotonic()))
            commit(*args, **kwargs)

        uow.commit = noted_commit  # type: ignore[method-assign]

    return patch


def note_lock(log: list[tuple[str, float]], who: str) -> Callable[[SqlUnitOfWork], None]:
    """Note when ``family(lock=True)`` returns, i.e. when the family's lock was granted."""

    def patch(uow: SqlUnitOfWork) -> None:
        original = uow.strategies.family

        def family_noted(account_id: str, name: str, lock: bool = False) -> Any:
            found = original(account_id, name, lock)
            if lock:
                log.append((f"{who} locked", time.monotonic()))
            return found

        uow.strategies.family = family_noted  # type: ignore[method-assign]

    return patch


def at(log: list[tuple[str, float]], what: str) -> float:
    return next(t for name, t in log if name == what)


def published_count(db: Database, name: str = "Points") -> int:
    with db.engine.connect() as conn:
        query = (
            select(func.count())
            .select_from(strategies)
            .where(strategies.c.name == name, strategies.c.status == "PUBLISHED")
        )
        return int(conn.execute(query).scalar_one())


# --- two rollbacks -------------------------------------------------------------------------


def test_two_rollbacks_of_one_family_never_interleave(pg_db: Database) -> None:
    v1, v2, v3 = family(pg_db, 3)
    seed_games(pg_db, 40, "acme", ref(v3), tasks_per_game=2)
    log: list[tuple[str, float]] = []
    entered = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(
            run,
            pg_db,
            life.rollback_strategy,
            MANAGER,
            {"strategy_id": v3["id"], "target_version": 1},
            stall("games.move_strategy", entered, log, "A"),
        )
        assert entered.wait(10)
        second = pool.submit(
            run,
            pg_db,
            life.rollback_strategy,
            MANAGER,
            {"strategy_id": v1["id"], "target_version": 2},
            note_lock(log, "B"),
        )
        a, b = first.result(30), second.result(30)
    assert a["displaced_strategy_id"] == v3["id"] and a["games_reassigned"] == 40
    # B waited for A's commit, then saw A's outcome: v1 was PUBLISHED and it displaced v1.
    assert at(log, "B locked") >= at(log, "A commits")
    assert b["displaced_strategy_id"] == v1["id"] and b["games_reassigned"] == 40
    assert b["tasks_reassigned"] == 80
    assert [status_of(pg_db, v["id"]) for v in (v1, v2, v3)] == [
        "ARCHIVED",
        "PUBLISHED",
        "ARCHIVED",
    ]
    assert count_on(pg_db, ref(v2)) == (40, 80)


@pytest.mark.parametrize("round_", range(3))
def test_two_rollbacks_sent_at_once_end_with_one_published_version(
    pg_db: Database, round_: int
) -> None:
    v1, v2, v3 = family(pg_db, 3)
    seed_games(pg_db, 30, "acme", ref(v3), tasks_per_game=1)
    start = threading.Barrier(2)

    def rollback(target: int) -> Any:
        start.wait()
        return run(
            pg_db,
            life.rollback_strategy,
            MANAGER,
            {"strategy_id": v3["id"], "target_version": target},
        )

    with ThreadPoolExecutor(2) as pool:
        results = [f.result(30) for f in [pool.submit(rollback, 1), pool.submit(rollback, 2)]]
    assert all(isinstance(r, dict) for r in results), results
    assert published_count(pg_db) == 1
    winner = next(v for v in (v1, v2) if status_of(pg_db, v["id"]) == "PUBLISHED")
    assert count_on(pg_db, ref(winner)) == (30, 30)
    assert sum(r["games_reassigned"] for r in results) == 60  # each moved all 30 once


def test_two_rollbacks_to_one_target_at_once_one_wins(pg_db: Database) -> None:
    v1, _, v3 = family(pg_db, 3)
    start = threading.Barrier(2)

    def rollback() -> Any:
        start.wait()
        cmd = {"strategy_id": v3["id"], "target_version": 1}
        return run(pg_db, life.rollback_strategy, MANAGER, cmd)

    with ThreadPoolExecutor(2) as pool:
        results = [f.result(30) for f in [pool.submit(rollback), pool.submit(rollback)]]
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "dict"]
    assert status_of(pg_db, v1["id"]) == "PUBLISHED" and published_count(pg_db) == 1


# --- a rollback racing games.patch -----------------------------------------------------------


def test_a_patch_onto_the_displaced_version_during_a_rollback_is_refused(pg_db: Database) -> None:
    _, v2 = family(pg_db, 2)
    target = game(pg_db, "default")
    log: list[tuple[str, float]] = []
    entered = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        rollback = pool.submit(
            run,
            pg_db,
            life.rollback_strategy,
            MANAGER,
            {"strategy_id": v2["id"], "target_version": 1},
            stall("games.move_strategy", entered, log, "R"),
        )
        assert entered.wait(10)
        patch = pool.submit(
            run, pg_db, game_svc.patch_game, ACME, {"game_id": target["id"], "strategy_id": ref(v2)}
        )
        assert isinstance(rollback.result(30), dict)
        refused = patch.result(30)
    assert isinstance(refused, ValidationError) and refused.names_field("strategy_id")
    assert (
        run(pg_db, game_svc.get_game, ACME, {"game_id": target["id"]})["strategy_id"] == "default"
    )


def test_a_patch_committed_first_is_carried_along_by_the_rollback(pg_db: Database) -> None:
    v1, v2 = family(pg_db, 2)
    target = game(pg_db, "default")
    log: list[tuple[str, float]] = []
    entered = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        patch = pool.submit(
            run,
            pg_db,
            game_svc.patch_game,
            ACME,
            {"game_id": target["id"], "strategy_id": ref(v2)},
            stall("games.update", entered, log, "P"),
        )
        assert entered.wait(10)
        rollback = pool.submit(
            run,
            pg_db,
            life.rollback_strategy,
            MANAGER,
            {"strategy_id": v2["id"], "target_version": 1},
            note_lock(log, "R"),
        )
        assert patch.result(30)["strategy_id"] == ref(v2)
        result = rollback.result(30)
    assert at(log, "R locked") >= at(log, "P commits")
    assert result["games_reassigned"] == 1
    assert run(pg_db, game_svc.get_game, ACME, {"game_id": target["id"]})["strategy_id"] == ref(v1)


@pytest.mark.parametrize("round_", range(4))
def test_patch_and_rollback_sent_at_once_never_leave_a_game_on_an_archived_version(
    pg_db: Database, round_: int
) -> None:
    v1, v2 = family(pg_db, 2)
    targets = [game(pg_db, "default", name=f"G{i}") for i in range(3)]
    start = threading.Barrier(len(targets) + 1)

    def patch(game_id: str) -> Any:
        start.wait()
        return run(pg_db, game_svc.patch_game, ACME, {"game_id": game_id, "strategy_id": ref(v2)})

    def rollback() -> Any:
        start.wait()
        cmd = {"strategy_id": v2["id"], "target_version": 1}
        return run(pg_db, life.rollback_strategy, MANAGER, cmd)

    with ThreadPoolExecutor(len(targets) + 1) as pool:
        futures: list[Future[Any]] = [pool.submit(patch, g["id"]) for g in targets]
        futures.append(pool.submit(rollback))
        outcomes = [f.result(30) for f in futures]
    assert isinstance(outcomes[-1], dict)
    assert broken_refs(pg_db) == {}
    for made, outcome in zip(targets, outcomes, strict=False):
        now_on = run(pg_db, game_svc.get_game, ACME, {"game_id": made["id"]})["strategy_id"]
        assert now_on == (ref(v1) if isinstance(outcome, dict) else "default")


# --- readers -------------------------------------------------------------------------------


def test_a_reader_never_sees_two_published_versions_or_an_archived_reference(
    pg_db: Database,
) -> None:
    v1, v2 = family(pg_db, 2)
    seed_games(pg_db, 200, "acme", ref(v2), tasks_per_game=1)
    stop = threading.Event()
    seen: list[tuple[int, int, bool]] = []
    busy = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            in_flight = busy.is_set()
            versions = run(pg_db, svc.strategy_versions, ACME, {"strategy_id": v1["id"]})
            published = sum(v["status"] == "PUBLISHED" for v in versions["items"])
            seen.append((published, published_count(pg_db), in_flight))
            assert broken_refs(pg_db) == {}

    def rollbacks() -> None:
        for target in (1, 2, 1, 2):
            busy.set()
            entered = threading.Event()
            cmd = {"strategy_id": v1["id"], "target_version": target}
            run(
                pg_db,
                life.rollback_strategy,
                MANAGER,
                cmd,
                stall("game_tasks.move_strategy", entered, [], "R"),
            )
            busy.clear()

    with ThreadPoolExecutor(2) as pool:
        reading = pool.submit(reader)
        pool.submit(rollbacks).result(60)
        stop.set()
        reading.result(30)
    assert seen and all(a == b == 1 for a, b, _ in seen), seen
    assert sum(in_flight for *_, in_flight in seen) >= 4  # it did read while rollbacks ran


# --- forks and renames ---------------------------------------------------------------------


def test_two_updates_of_the_published_version_fork_two_versions(pg_db: Database) -> None:
    (v1,) = family(pg_db, 1)
    start = threading.Barrier(2)

    def fork(n: int) -> Any:
        start.wait()
        return run(
            pg_db, svc.update_strategy, ACME, {"strategy_id": v1["id"], "definition": {"n": n}}
        )

    with ThreadPoolExecutor(2) as pool:
        forks = [f.result(30) for f in [pool.submit(fork, 1), pool.submit(fork, 2)]]
    assert sorted(f["version"] for f in forks) == [2, 3], forks


def test_a_rollback_waiting_on_a_rename_finds_the_renamed_family(pg_db: Database) -> None:
    _, v2 = family(pg_db, 2)
    log: list[tuple[str, float]] = []
    entered = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        rename = pool.submit(
            run,
            pg_db,
            svc.update_strategy,
            ACME,
            {"strategy_id": v2["id"], "name": "Renamed"},
            stall("strategies.update", entered, log, "N"),
        )
        assert entered.wait(10)
        rollback = pool.submit(
            run,
            pg_db,
            life.rollback_strategy,
            MANAGER,
            {"strategy_id": v2["id"], "target_version": 1},
        )
        assert rename.result(30)["name"] == "Renamed"
        result = rollback.result(30)
    assert not isinstance(result, Conflict), result
    assert result["strategy"]["name"] == "Renamed" and result["strategy"]["status"] == "PUBLISHED"
