"""The unit of work on the real stores: the change, its idempotency record and its outbox rows
commit in one transaction or not at all; two concurrent creates of one name give one game and
one conflict."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.actor import Actor
from domain.errors import Conflict, DomainError
from domain.services import games as svc
from persistence.database import Database
from persistence.idempotency import AlreadyProcessed
from persistence.outbox import Outbox, envelope
from persistence.repositories.games import SqlGameRepository
from persistence.tables import games, outbox, processed_commands
from persistence.unit_of_work import Causation, CommandRecord

ACME = Actor("alice", "acme")


def count(db: Database, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def rows(db: Database, table: Any) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(*table.primary_key.columns)))


def test_commit_writes_the_change_the_record_and_the_outbox_rows_together(db: Database) -> None:
    with db.unit_of_work(Causation("key-1", "celery-task-1")) as uow:
        made = svc.create_game(uow, ACME, {"name": "Chess"})
        patched = svc.patch_game(uow, ACME, {"game_id": made["id"], "platform": "pc"})
        result = {"ok": True, "data": patched}
        uow.commit(CommandRecord("acme", "key-1", "games.create", result))
    assert count(db, games) == 1
    [record] = rows(db, processed_commands)
    assert (record.scope, record.key, record.task, record.result) == (
        "acme",
        "key-1",
        "games.create",
        result,
    )
    created, updated = rows(db, outbox)
    assert (created.type, updated.type) == ("game.created", "game.updated")
    assert created.id < updated.id
    assert created.data == made and updated.data == patched
    event = envelope(created)
    assert {
        k: event[k] for k in ("type", "subject", "accountid", "correlationid", "causationid")
    } == {
        "type": "gameworker.game.created",
        "subject": made["id"],
        "accountid": "acme",
        "correlationid": "key-1",
        "causationid": "celery-task-1",
    }
    assert event["id"].startswith("evt_") and event["sequence"] == str(created.id).zfill(20)
    assert event["specversion"] == "1.0" and event["source"] == "gameworker"


def test_leaving_without_commit_writes_nothing(db: Database) -> None:
    with db.unit_of_work() as uow:
        svc.create_game(uow, ACME, {"name": "Chess"})
    with pytest.raises(RuntimeError), db.unit_of_work() as uow:
        svc.create_game(uow, ACME, {"name": "Chess"})
        raise RuntimeError("a bug after the change")
    assert (count(db, games), count(db, outbox), count(db, processed_commands)) == (0, 0, 0)


def test_a_failure_while_committing_writes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Outbox, *args: Any) -> None:
        raise RuntimeError("the outbox insert failed")

    monkeypatch.setattr(Outbox, "add", broken)
    with pytest.raises(RuntimeError), db.unit_of_work() as uow:
        made = svc.create_game(uow, ACME, {"name": "Chess"})
        uow.commit(CommandRecord("acme", "key-1", "games.create", {"ok": True, "data": made}))
    assert (count(db, games), count(db, outbox), count(db, processed_commands)) == (0, 0, 0)


def test_a_domain_error_rolls_the_whole_change_back(db: Database) -> None:
    with db.unit_of_work() as uow:
        svc.create_game(uow, ACME, {"name": "Taken"})
        uow.commit()
    with db.unit_of_work() as uow:
        svc.create_game(uow, ACME, {"name": "Fresh"})
        with pytest.raises(Conflict):
            svc.create_game(uow, ACME, {"name": "Taken"})
        uow.rollback()
    assert count(db, games) == 1 and count(db, outbox) == 1


def test_a_second_commit_of_one_key_is_already_processed_and_writes_nothing(
    db: Database,
) -> None:
    record = CommandRecord("acme", "key-1", "games.create", {"ok": True, "data": {}})
    with db.unit_of_work() as uow:
        svc.create_game(uow, ACME, {"name": "First"})
        uow.commit(record)
    with pytest.raises(AlreadyProcessed), db.unit_of_work() as uow:
        svc.create_game(uow, ACME, {"name": "Second"})
        uow.commit(record)
    assert count(db, games) == 1 and count(db, outbox) == 1 and count(db, processed_commands) == 1
    with db.unit_of_work() as uow:  # the same key in another account is another command
        svc.create_game(uow, Actor("gus", "globex"), {"name": "Second"})
        uow.commit(CommandRecord("globex", "key-1", "games.create", {"ok": True, "data": {}}))
    assert count(db, processed_commands) == 2


def test_a_commit_without_events_writes_no_outbox_row(db: Database) -> None:
    with db.unit_of_work() as uow:
        made = svc.create_game(uow, ACME, {"name": "Chess"})
        uow.commit()
    with db.unit_of_work() as uow:
        svc.patch_game(uow, ACME, {"game_id": made["id"], "name": "Chess"})  # no change
        uow.commit(CommandRecord("acme", "k", "games.patch", {"ok": True, "data": made}))
    assert count(db, outbox) == 1 and count(db, processed_commands) == 1


def test_outbox_ids_follow_commit_order(db: Database) -> None:
    for name in ("A", "B", "C"):
        with db.unit_of_work() as uow:
            svc.create_game(uow, ACME, {"name": name})
            uow.commit()
    assert [r.data["name"] for r in rows(db, outbox)] == ["A", "B", "C"]


@pytest.mark.postgres
@pytest.mark.parametrize("slug", [None, "given-slug"])
def test_two_concurrent_creates_of_one_name_give_one_game_and_one_conflict(
    db: Database, monkeypatch: pytest.MonkeyPatch, slug: str | None
) -> None:
    """Both transactions pass every check before either inserts: the database decides."""
    barrier = threading.Barrier(2, timeout=10)
    local = threading.local()
    original = SqlGameRepository.add

    def add_in_step(self: SqlGameRepository, game: Any) -> None:
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()  # both have looked up the slug candidates; now both insert
        original(self, game)

    monkeypatch.setattr(SqlGameRepository, "add", add_in_step)
    outcomes: list[Any] = []

    def create() -> None:
        try:
            with db.unit_of_work() as uow:
                data = {"name": "Space Chess"} | ({"slug": slug} if slug else {})
                made = svc.create_game(uow, ACME, data)
                uow.commit()
                outcomes.append(made)
        except DomainError as error:
            outcomes.append(error)
        except Exception as exc:  # pragma: no cover - the failure this test exists to catch
            outcomes.append(exc)

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    made = [o for o in outcomes if isinstance(o, dict)]
    errors = [o for o in outcomes if not isinstance(o, dict)]
    assert len(made) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], Conflict), errors
    assert errors[0].names_field("name") or errors[0].names_field("slug")
    assert count(db, games) == 1 and count(db, outbox) == 1
