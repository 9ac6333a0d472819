"""Publish, archive and rollback on fake repositories: roles, cascade, events, audit."""

from __future__ import annotations

from typing import Any

import pytest

from domain import events
from domain.actor import Actor
from domain.errors import Conflict, Forbidden, NotFound, ValidationError
from domain.services import strategies as svc
from domain.services import strategy_lifecycle as life
from tests.fakes import FakeUnitOfWork
from tests.invariants import strategy_refs_hold  # noqa: F401  (autouse: checked after each test)
from tests.unit.test_strategy_services import (
    ACME,
    ADMIN,
    GLOBEX,
    MANAGER,
    create,
    fails,
    game_on,
    published,
    task_on,
)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def ref(version: dict[str, Any]) -> str:
    return "custom:" + version["id"]


def status(uow: FakeUnitOfWork, version: dict[str, Any]) -> str:
    return uow.strategies.rows[version["id"]].status


def on(uow: FakeUnitOfWork, strategy_ref: str) -> tuple[int, int]:
    return uow.games.count_by_strategy(strategy_ref), uow.game_tasks.count_by_strategy(strategy_ref)


def two_versions(uow: FakeUnitOfWork) -> tuple[dict[str, Any], dict[str, Any]]:
    """v1 PUBLISHED with 2 games and 3 tasks on it, v2 a DRAFT."""
    v1 = published(uow)
    games = game_on(uow, ref(v1), 2)
    for _ in range(3):
        task_on(uow, games[0], ref(v1))
    v2 = svc.update_strategy(uow, ACME, {"strategy_id": v1["id"], "definition": {"r": 2}})
    uow.commit()
    return v1, v2


# --- the role rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "extra"),
    [
        (life.publish_strategy, {}),
        (life.archive_strategy, {}),
        (life.rollback_strategy, {"target_version": 1}),
    ],
)
def test_lifecycle_needs_the_role_or_admin(
    uow: FakeUnitOfWork, call: Any, extra: dict[str, Any]
) -> None:
    made = create(uow)
    for actor in (ACME, Actor("eve", "acme", roles=("viewer",))):
        error = fails(Forbidden, call, uow, actor, {"strategy_id": made["id"], **extra})
        assert error.code == "forbidden"
    # The role is checked first: an unknown id gives forbidden too, leaking nothing.
    fails(Forbidden, call, uow, ACME, {"strategy_id": "stg_nope", **extra})
    assert status(uow, made) == "DRAFT" and uow.audit.entries == []


@pytest.mark.parametrize(
    ("call", "extra"),
    [
        (life.publish_strategy, {}),
        (life.archive_strategy, {}),
        (life.rollback_strategy, {"target_version": 1}),
    ],
)
def test_lifecycle_on_another_account_is_not_found(
    uow: FakeUnitOfWork, call: Any, extra: dict[str, Any]
) -> None:
    theirs = create(uow, GLOBEX)
    fails(NotFound, call, uow, MANAGER, {"strategy_id": theirs["id"], **extra})
    fails(NotFound, call, uow, MANAGER, {"strategy_id": "stg_nope", **extra})


# --- publish -----------------------------------------------------------------------------------


def test_publish_moves_users_of_the_displaced_version(uow: FakeUnitOfWork) -> None:
    v1, v2 = two_versions(uow)
    uow.committed.clear()
    got = life.publish_strategy(uow, MANAGER, {"strategy_id": v2["id"]})
    uow.commit()
    assert got["status"] == "PUBLISHED" and got["published_at"] is not None
    assert status(uow, v1) == "ARCHIVED" and on(uow, ref(v1)) == (0, 0)
    assert on(uow, ref(v2)) == (2, 3)
    moved_game = next(iter(uow.games.rows.values()))
    assert moved_game.updated_by == "mia"
    kinds = [(e.type, e.subject) for e in uow.committed]
    assert kinds == [(events.STRATEGY_ARCHIVED, v1["id"]), (events.STRATEGY_PUBLISHED, v2["id"])]
    for event in uow.committed:
        assert event.data["games_reassigned"] == 2 and event.data["tasks_reassigned"] == 3
    assert uow.committed[1].data["status"] == "PUBLISHED"
    assert uow.committed[1].data["displaced_strategy_id"] == v1["id"]
    entry = uow.audit.entries[-1]
    assert (entry.action, entry.outcome, entry.subject, entry.strategy_id) == (
        "publish",
        "succeeded",
        "mia",
        v2["id"],
    )
    assert entry.details["games_reassigned"] == 2 and entry.details["tasks_reassigned"] == 3
    assert entry.account_id == "acme"


def test_publishing_the_published_version_changes_nothing(uow: FakeUnitOfWork) -> None:
    v1 = published(uow)
    uow.committed.clear()
    assert life.publish_strategy(uow, ADMIN, {"strategy_id": v1["id"]}) == v1
    assert uow.pending == [] and uow.audit.entries[-1].details["unchanged"] is True


def test_publishing_an_archived_version_is_a_conflict(uow: FakeUnitOfWork) -> None:
    v1, v2 = two_versions(uow)
    life.publish_strategy(uow, MANAGER, {"strategy_id": v2["id"]})
    fails(Conflict, life.publish_strategy, uow, MANAGER, {"strategy_id": v1["id"]})
    assert status(uow, v2) == "PUBLISHED"


# --- archive -----------------------------------------------------------------------------------


def test_archive_of_an_unused_version(uow: FakeUnitOfWork) -> None:
    made = published(uow)
    got = life.archive_strategy(uow, MANAGER, {"strategy_id": made["id"]})
    uow.commit()
    assert got["status"] == "ARCHIVED"
    assert uow.committed[-1].type == events.STRATEGY_ARCHIVED
    assert uow.committed[-1].data["games_reassigned"] == 0
    again = life.archive_strategy(uow, MANAGER, {"strategy_id": made["id"]})
    assert again == got and uow.pending == []


def test_archive_of_a_used_version_needs_reassign_to(uow: FakeUnitOfWork) -> None:
    v1, _ = two_versions(uow)
    error = fails(Conflict, life.archive_strategy, uow, MANAGER, {"strategy_id": v1["id"]})
    assert error.names_field("reassign_to")
    assert (error.details["game_count"], error.details["task_count"]) == (2, 3)
    assert status(uow, v1) == "PUBLISHED"


def test_archive_reassigns_to_a_built_in(uow: FakeUnitOfWork) -> None:
    v1, _ = two_versions(uow)
    cmd = {"strategy_id": v1["id"], "reassign_to": "socio_bee"}
    assert life.archive_strategy(uow, MANAGER, cmd)["status"] == "ARCHIVED"
    uow.commit()
    assert on(uow, "socio_bee") == (2, 3) and on(uow, ref(v1)) == (0, 0)
    event = uow.committed[-1]
    assert (event.data["games_reassigned"], event.data["reassigned_to"]) == (2, "socio_bee")
    assert uow.audit.entries[-1].details["tasks_reassigned"] == 3


def test_archive_reassigns_to_a_published_custom_strategy(uow: FakeUnitOfWork) -> None:
    v1, _ = two_versions(uow)
    other = published(uow, name="Other")
    life.archive_strategy(uow, MANAGER, {"strategy_id": v1["id"], "reassign_to": ref(other)})
    assert on(uow, ref(other)) == (2, 3)


def test_archive_refuses_a_bad_reassign_to(uow: FakeUnitOfWork) -> None:
    v1, v2 = two_versions(uow)
    foreign = published(uow, GLOBEX, name="Theirs")
    for target in [ref(v1), ref(v2), ref(foreign), "custom:stg_nope"]:
        cmd = {"strategy_id": v1["id"], "reassign_to": target}
        error = fails(ValidationError, life.archive_strategy, uow, MANAGER, cmd)
        assert error.names_field("reassign_to")
    assert status(uow, v1) == "PUBLISHED" and on(uow, ref(v1)) == (2, 3)


# --- rollback ----------------------------------------------------------------------------------


def test_rollback_promotes_the_target_and_moves_users(uow: FakeUnitOfWork) -> None:
    v1, v2 = two_versions(uow)
    life.publish_strategy(uow, MANAGER, {"strategy_id": v2["id"]})
    uow.commit()
    got = life.rollback_strategy(uow, ADMIN, {"strategy_id": v2["id"], "target_version": 1})
    uow.commit()
    assert got["strategy"]["id"] == v1["id"] and got["strategy"]["status"] == "PUBLISHED"
    assert got["displaced_strategy_id"] == v2["id"]
    assert (got["games_reassigned"], got["tasks_reassigned"]) == (2, 3)
    assert status(uow, v2) == "ARCHIVED" and on(uow, ref(v1)) == (2, 3)
    assert uow.committed[-1].type == events.STRATEGY_ROLLED_BACK
    assert uow.committed[-1].data == got and uow.committed[-1].subject == v1["id"]
    entry = uow.audit.entries[-1]
    assert (entry.action, entry.strategy_id, entry.subject) == ("rollback", v1["id"], "ops")
    assert entry.details["displaced_version"] == 2


def test_rollback_errors(uow: FakeUnitOfWork) -> None:
    v1, v2 = two_versions(uow)
    cmd = {"strategy_id": v2["id"], "target_version": 7}
    assert fails(NotFound, life.rollback_strategy, uow, MANAGER, cmd).names_field("target_version")
    cmd = {"strategy_id": v2["id"], "target_version": 1}
    assert fails(Conflict, life.rollback_strategy, uow, MANAGER, cmd).names_field("target_version")
    assert status(uow, v1) == "PUBLISHED" and status(uow, v2) == "DRAFT"


def test_a_large_cascade_reports_progress(
    uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(life, "PROGRESS_OVER", 4)
    uow.games.batch = uow.game_tasks.batch = 2
    _, v2 = two_versions(uow)  # 2 games + 3 tasks = 5 rows > 4
    life.publish_strategy(uow, MANAGER, {"strategy_id": v2["id"]})
    assert uow.progress_reports == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_a_small_cascade_reports_nothing(uow: FakeUnitOfWork) -> None:
    _, v2 = two_versions(uow)
    life.publish_strategy(uow, MANAGER, {"strategy_id": v2["id"]})
    assert uow.progress_reports == []


# --- the failure audit hook --------------------------------------------------------------------


def test_failure_audit_records_who_what_and_the_error(uow: FakeUnitOfWork) -> None:
    made = create(uow)
    error = Conflict("no")
    life.audit_failure("rollback")(
        uow, MANAGER, {"strategy_id": made["id"], "target_version": 3}, error
    )
    entry = uow.audit.entries[-1]
    assert (entry.action, entry.outcome, entry.subject, entry.account_id) == (
        "rollback",
        "failed",
        "mia",
        "acme",
    )
    assert entry.strategy_id == made["id"]
    assert entry.details == {
        "error": error.to_dict(),
        "request": {"strategy_id": made["id"], "target_version": 3},
    }


def test_failure_audit_of_a_foreign_or_odd_id(uow: FakeUnitOfWork) -> None:
    theirs = create(uow, GLOBEX)
    hook = life.audit_failure("publish")
    hook(uow, MANAGER, {"strategy_id": theirs["id"]}, NotFound("x"))
    assert uow.audit.entries[-1].account_id == "acme"  # not globex: nothing leaks to them
    hook(uow, ADMIN, {"strategy_id": theirs["id"]}, Conflict("x"))
    assert uow.audit.entries[-1].account_id == "globex"
    hook(uow, MANAGER, {"strategy_id": "stg_" + "x" * 60}, NotFound("x"))
    assert uow.audit.entries[-1].strategy_id is None
    assert uow.audit.entries[-1].details["request"]["strategy_id"] == "stg_" + "x" * 60
    hook(uow, MANAGER, {"strategy_id": 5}, NotFound("x"))
    assert uow.audit.entries[-1].strategy_id is None
