"""Strategies on a real database (SQLite and PostgreSQL): the cascade, its one transaction,
the constraints behind the lifecycle, the audit log and the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from domain.clock import utcnow
from domain.errors import Conflict
from domain.paging import PageRequest, SortKey
from domain.services import strategies as svc
from domain.services import strategy_lifecycle as life
from domain.strategies import AuditEntry
from persistence.database import Database
from persistence.repositories import cascade
from persistence.repositories.game_tasks import SqlGameTaskRepository
from persistence.tables import games, strategies
from tests.integration.strategy_steps import (
    ACME,
    MANAGER,
    audit_rows,
    count_on,
    family,
    game,
    outbox_types,
    run,
    status_of,
)
from tests.invariants import broken_refs, strategy_refs_hold  # noqa: F401
from tests.seed import seed_games


def ref(version: dict[str, Any]) -> str:
    return "custom:" + version["id"]


def test_keyed_batches_move_every_row_once_and_report_each_batch(db: Database) -> None:
    moved_ids = set(seed_games(db, 250, "acme", "socio_bee"))
    kept = set(seed_games(db, 30, "acme", "default"))
    reports: list[int] = []
    with db.engine.begin() as conn:
        before = utcnow()
        values = {"updated_at": before, "updated_by": "mover"}
        n = cascade.move_strategy(
            conn, games, "socio_bee", "greengageStrategy", values, reports.append, batch=100
        )
    assert n == 250 and reports == [100, 100, 50]
    with db.engine.connect() as conn:
        on_new = conn.execute(select(games).where(games.c.strategy_id == "greengageStrategy")).all()
        on_default = conn.execute(select(games.c.id).where(games.c.strategy_id == "default")).all()
    assert {r.id for r in on_new} == moved_ids and {r.id for r in on_default} == kept
    assert all(r.updated_by == "mover" and r.updated_at == before for r in on_new)


def test_an_exact_multiple_of_the_batch_ends_with_an_empty_report(db: Database) -> None:
    seed_games(db, 200, "acme", "socio_bee")
    reports: list[int] = []
    with db.engine.begin() as conn:
        cascade.move_strategy(conn, games, "socio_bee", "default", {}, reports.append, batch=100)
    assert sum(reports) == 200 and reports[:2] == [100, 100]


def test_lifecycle_commits_rows_audit_and_events_together(db: Database) -> None:
    v1, v2 = family(db, 2)
    seed_games(db, 3, "acme", ref(v2), tasks_per_game=2)
    result = run(
        db, life.rollback_strategy, MANAGER, {"strategy_id": v2["id"], "target_version": 1}
    )
    assert (result["games_reassigned"], result["tasks_reassigned"]) == (3, 6)
    assert status_of(db, v1["id"]) == "PUBLISHED" and status_of(db, v2["id"]) == "ARCHIVED"
    assert count_on(db, ref(v1)) == (3, 6) and count_on(db, ref(v2)) == (0, 0)
    assert outbox_types(db)[-1] == "strategy.rolled_back"
    page = run(db, svc.audit_log, ACME, {"strategy_id": v2["id"]})
    assert [e["action"] for e in page["items"]] == ["rollback", "publish", "publish"]


def test_moved_rows_are_stamped(db: Database) -> None:
    v1, v2 = family(db, 2)
    made = game(db, ref(v2))
    run(db, life.rollback_strategy, MANAGER, {"strategy_id": v2["id"], "target_version": 1})
    with db.engine.connect() as conn:
        row = conn.execute(select(games).where(games.c.id == made["id"])).one()
    assert row.strategy_id == ref(v1) and row.updated_by == "mia"
    assert row.updated_at > datetime.fromisoformat(made["updated_at"].replace("Z", "+00:00"))


def test_a_fault_in_the_cascade_rolls_everything_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1, v2 = family(db, 2)
    seed_games(db, 4, "acme", ref(v2), tasks_per_game=1)
    audits, events = audit_rows(db), outbox_types(db)

    def broken(self: Any, *args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the database went away mid-cascade")

    monkeypatch.setattr(SqlGameTaskRepository, "move_strategy", broken)
    with pytest.raises(RuntimeError):
        run(db, life.rollback_strategy, MANAGER, {"strategy_id": v2["id"], "target_version": 1})
    assert status_of(db, v1["id"]) == "ARCHIVED" and status_of(db, v2["id"]) == "PUBLISHED"
    assert count_on(db, ref(v2)) == (4, 4)  # the games moved first: rolled back with the rest
    assert (audit_rows(db), outbox_types(db)) == (audits, events)


def test_the_database_refuses_a_second_published_version(db: Database) -> None:
    v1, _ = family(db, 2)
    with db.unit_of_work() as uow:
        loaded = uow.strategies.get(v1["id"])
        assert loaded is not None
        loaded.status = "PUBLISHED"
        with pytest.raises(Conflict) as caught:
            uow.strategies.update(loaded)
    assert caught.value.details["constraint"] == "uq_strategies_published"


def test_the_database_refuses_a_second_family_of_one_name(db: Database) -> None:
    """The backstop for two creates that both found the name free."""
    (v1,) = family(db, 1)
    with db.unit_of_work() as uow:
        clone = uow.strategies.get(v1["id"])
        assert clone is not None
        clone.id, clone.status = "stg_clone", "DRAFT"
        with pytest.raises(Conflict) as caught:
            uow.strategies.add(clone)
    assert caught.value.names_field("name")


def test_a_rename_into_a_taken_name_is_a_conflict_and_changes_nothing(db: Database) -> None:
    family(db, 2, name="A")
    (b,) = family(db, 1, name="B")
    error = run(db, svc.update_strategy, ACME, {"strategy_id": b["id"], "name": "A"})
    assert isinstance(error, Conflict) and error.names_field("name")
    assert run(db, svc.get_strategy, ACME, {"strategy_id": b["id"]})["name"] == "B"


def test_family_lock_reads_every_version(db: Database) -> None:
    versions = family(db, 3)
    with db.unit_of_work() as uow:
        locked = uow.strategies.family("acme", "Points", lock=True)
    assert [v.version for v in locked] == [3, 2, 1]
    assert [v.id for v in locked] == [v["id"] for v in reversed(versions)]


def test_audit_pages_by_family_and_account(db: Database) -> None:
    now = utcnow()
    with db.unit_of_work() as uow:
        for i in range(5):
            entry = AuditEntry.of("acme", "s", "publish", f"stg_{i % 2}", "succeeded", {"i": i})
            entry.at = now - timedelta(seconds=i)
            uow.audit.add(entry)
        uow.audit.add(AuditEntry.of("globex", "s", "publish", "stg_0", "failed", {}))
        uow.commit()
    request = PageRequest((SortKey("at", True), SortKey("id", True)), limit=10)
    with db.unit_of_work() as uow:
        mine = uow.audit.page("acme", ["stg_0"], request)
        every = uow.audit.page(None, None, request)
    assert [e.details["i"] for e in mine] == [0, 2, 4]
    assert len(every) == 6


def test_the_invariant_check_catches_a_reference_to_an_archived_version(db: Database) -> None:
    v1, v2 = family(db, 2)
    made = game(db, ref(v2))
    with db.engine.begin() as conn:
        conn.execute(update(games).where(games.c.id == made["id"]).values(strategy_id=ref(v1)))
    assert broken_refs(db) == {"games": [(made["id"], ref(v1))]}
    with db.engine.begin() as conn:
        conn.execute(
            update(strategies).where(strategies.c.id == v2["id"]).values(account_id="globex")
        )
        conn.execute(update(games).where(games.c.id == made["id"]).values(strategy_id=ref(v2)))
    assert broken_refs(db) == {"games": [(made["id"], ref(v2))]}
    with db.engine.begin() as conn:
        conn.execute(delete(games))


def test_progress_of_a_large_cascade_through_the_unit_of_work(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(life, "PROGRESS_OVER", 100)
    monkeypatch.setattr(cascade, "BATCH", 40)
    _, v2 = family(db, 2)
    seed_games(db, 60, "acme", ref(v2), tasks_per_game=1)
    reports: list[tuple[int, int]] = []
    cmd = {"strategy_id": v2["id"], "target_version": 1}
    run(db, life.rollback_strategy, MANAGER, cmd, progress=lambda d, t: reports.append((d, t)))
    assert reports[0] == (0, 120) and reports[-1] == (120, 120)
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)
    assert len(reports) > 3  # batches, not one statement per table
