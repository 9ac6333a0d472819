"""Strategy use cases on fake repositories: create, read, list, update, usage, audit."""

from __future__ import annotations

from typing import Any

import pytest

from domain import events
from domain.actor import Actor
from domain.errors import Conflict, DomainError, InvalidCursor, NotFound, ValidationError
from domain.services import game_tasks as task_svc
from domain.services import games as game_svc
from domain.services import strategies as svc
from domain.services import strategy_lifecycle as life
from tests.fakes import FakeUnitOfWork
from tests.invariants import strategy_refs_hold  # noqa: F401  (autouse: checked after each test)

ACME = Actor("alice", "acme")
MANAGER = Actor("mia", "acme", roles=("strategy_admin",))
GLOBEX = Actor("gus", "globex", roles=("strategy_admin",))
ADMIN = Actor("ops", None, is_admin=True)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def fails(kind: type[DomainError], call: Any, *args: Any) -> DomainError:
    with pytest.raises(kind) as caught:
        call(*args)
    return caught.value


def create(uow: FakeUnitOfWork, actor: Actor = ACME, **data: Any) -> dict[str, Any]:
    data.setdefault("name", "Points")
    data.setdefault("definition", {"rule": 1})
    made = svc.create_strategy(uow, actor, data)
    uow.commit()
    return made


def published(uow: FakeUnitOfWork, actor: Actor = MANAGER, **data: Any) -> dict[str, Any]:
    made = create(uow, actor, **data)
    out = life.publish_strategy(uow, actor, {"strategy_id": made["id"]})
    uow.commit()
    return out


def game_on(uow: FakeUnitOfWork, ref: str, n: int = 1, actor: Actor = ACME) -> list[str]:
    ids = [
        game_svc.create_game(uow, actor, {"name": f"g{len(uow.games.rows)}", "strategy_id": ref})[
            "id"
        ]
        for _ in range(n)
    ]
    uow.commit()
    return ids


def task_on(uow: FakeUnitOfWork, game_id: str, ref: str, actor: Actor = ACME) -> str:
    ext = f"t{len(uow.game_tasks.rows)}"
    made = task_svc.create_task(
        uow, actor, {"game_id": game_id, "external_task_id": ext, "strategy_id": ref}
    )
    uow.commit()
    return str(made["id"])


# --- create ------------------------------------------------------------------------------------


def test_create_makes_version_one_draft(uow: FakeUnitOfWork) -> None:
    made = create(uow, description="d", type="DSL_EXTEND", parent_strategy_id="socio_bee")
    assert made["version"] == 1 and made["status"] == "DRAFT" and made["account_id"] == "acme"
    assert (made["type"], made["parent_strategy_id"], made["description"]) == (
        "DSL_EXTEND",
        "socio_bee",
        "d",
    )
    assert made["created_by"] == "alice" and made["published_at"] is None
    assert [e.type for e in uow.committed] == [events.STRATEGY_CREATED]
    assert uow.committed[0].data == made and uow.committed[0].subject == made["id"]
    assert svc.get_strategy(uow, ACME, {"strategy_id": made["id"]}) == made


def test_create_defaults_to_dsl_full(uow: FakeUnitOfWork) -> None:
    assert create(uow)["type"] == "DSL_FULL"


def test_create_refuses_a_taken_name_even_when_every_version_is_archived(
    uow: FakeUnitOfWork,
) -> None:
    made = create(uow)
    life.archive_strategy(uow, MANAGER, {"strategy_id": made["id"]})
    error = fails(Conflict, svc.create_strategy, uow, ACME, {"name": "Points", "definition": {}})
    assert error.names_field("name")
    assert create(uow, GLOBEX)["account_id"] == "globex"  # another account: its own names


def test_create_accounts(uow: FakeUnitOfWork) -> None:
    assert create(uow, ADMIN, account_id="globex")["account_id"] == "globex"
    for actor, data in [(ADMIN, {}), (ACME, {"account_id": "globex"})]:
        cmd = {"name": "X", "definition": {}, **data}
        assert fails(ValidationError, svc.create_strategy, uow, actor, cmd).names_field(
            "account_id"
        )


def test_create_type_rules(uow: FakeUnitOfWork) -> None:
    for data in [
        {"type": "DSL_EXTEND"},
        {"type": "DSL_EXTEND", "parent_strategy_id": "nope"},
        {"type": "DSL_FULL", "parent_strategy_id": "default"},
        {"type": "BUILT_IN", "parent_strategy_id": "default"},
    ]:
        cmd = {"name": "X", "definition": {}, **data}
        error = fails(ValidationError, svc.create_strategy, uow, ACME, cmd)
        assert error.names_field("parent_strategy_id")
    assert uow.strategies.rows == {}


# --- get, list, versions -----------------------------------------------------------------------


def test_another_accounts_strategy_is_not_found(uow: FakeUnitOfWork) -> None:
    theirs = create(uow, GLOBEX)
    for call in (svc.get_strategy, svc.strategy_versions, svc.strategy_usage):
        other = fails(NotFound, call, uow, ACME, {"strategy_id": theirs["id"]}).to_dict()
        missing = fails(NotFound, call, uow, ACME, {"strategy_id": "stg_nope"}).to_dict()
        assert other["code"] == missing["code"] == "not_found"
    assert svc.get_strategy(uow, ADMIN, {"strategy_id": theirs["id"]}) == theirs


def test_versions_are_the_whole_family_newest_first(uow: FakeUnitOfWork) -> None:
    v1 = published(uow)
    v2 = svc.update_strategy(uow, MANAGER, {"strategy_id": v1["id"], "definition": {"r": 2}})
    create(uow, name="Other")
    got = svc.strategy_versions(uow, ACME, {"strategy_id": v1["id"]})
    assert [v["id"] for v in got["items"]] == [v2["id"], v1["id"]]


def test_list_filters_tenancy_and_paging(uow: FakeUnitOfWork) -> None:
    a = published(uow, name="A")
    b = create(uow, name="B")
    create(uow, GLOBEX, name="A")
    listed = svc.list_strategies(uow, ACME, {})
    assert {s["id"] for s in listed["items"]} == {a["id"], b["id"]}
    only = svc.list_strategies(uow, ACME, {"filters": {"status": "DRAFT"}})
    assert [s["id"] for s in only["items"]] == [b["id"]]
    named = svc.list_strategies(uow, ADMIN, {"filters": {"name": "A"}})
    assert len(named["items"]) == 2
    first = svc.list_strategies(uow, ADMIN, {"limit": 2})
    assert first["pagination"]["has_next"]
    rest = svc.list_strategies(
        uow, ADMIN, {"limit": 2, "cursor": first["pagination"]["next_cursor"]}
    )
    seen = [s["id"] for s in first["items"] + rest["items"]]
    assert len(seen) == len(set(seen)) == 3 and not rest["pagination"]["has_next"]
    cmd = {"cursor": first["pagination"]["next_cursor"], "filters": {"name": "A"}}
    fails(InvalidCursor, svc.list_strategies, uow, ADMIN, cmd)


# --- update ------------------------------------------------------------------------------------


def test_update_a_draft_in_place(uow: FakeUnitOfWork) -> None:
    made = create(uow)
    uow.committed.clear()
    got = svc.update_strategy(
        uow, ACME, {"strategy_id": made["id"], "description": "x", "definition": {"r": 2}}
    )
    assert got["id"] == made["id"] and got["version"] == 1
    assert (got["description"], got["definition"]) == ("x", {"r": 2})
    uow.commit()
    assert [e.type for e in uow.committed] == [events.STRATEGY_UPDATED]
    cleared = svc.update_strategy(uow, ACME, {"strategy_id": made["id"], "description": None})
    assert cleared["description"] is None


def test_update_of_a_published_version_forks_and_leaves_it(uow: FakeUnitOfWork) -> None:
    v1 = published(uow)
    uow.committed.clear()
    v2 = svc.update_strategy(uow, ACME, {"strategy_id": v1["id"], "definition": {"r": 2}})
    assert (v2["version"], v2["status"], v2["definition"]) == (2, "DRAFT", {"r": 2})
    assert svc.get_strategy(uow, ACME, {"strategy_id": v1["id"]}) == v1
    uow.commit()
    assert [(e.type, e.subject) for e in uow.committed] == [(events.STRATEGY_CREATED, v2["id"])]
    v3 = svc.update_strategy(uow, ACME, {"strategy_id": v1["id"], "description": "again"})
    assert v3["version"] == 3


def test_update_of_an_archived_version_is_a_conflict(uow: FakeUnitOfWork) -> None:
    made = create(uow)
    life.archive_strategy(uow, MANAGER, {"strategy_id": made["id"]})
    for change in ({"description": "x"}, {"name": "Taken"}):
        fails(Conflict, svc.update_strategy, uow, ACME, {"strategy_id": made["id"], **change})


def test_a_new_name_renames_the_family_unless_taken(uow: FakeUnitOfWork) -> None:
    v1 = published(uow)
    v2 = svc.update_strategy(uow, ACME, {"strategy_id": v1["id"], "definition": {"r": 2}})
    create(uow, name="Taken")
    error = fails(
        Conflict, svc.update_strategy, uow, ACME, {"strategy_id": v2["id"], "name": "Taken"}
    )
    assert error.names_field("name")
    got = svc.update_strategy(uow, ACME, {"strategy_id": v2["id"], "name": "Score"})
    assert got["name"] == "Score" and got["id"] == v2["id"]
    family = svc.strategy_versions(uow, ACME, {"strategy_id": v1["id"]})["items"]
    assert [v["name"] for v in family] == ["Score", "Score"]
    assert create(uow, name="Points")["version"] == 1  # the old name is free again


def test_update_of_another_accounts_strategy_is_not_found(uow: FakeUnitOfWork) -> None:
    theirs = create(uow, GLOBEX)
    fails(NotFound, svc.update_strategy, uow, ACME, {"strategy_id": theirs["id"], "name": "x"})


# --- usage -------------------------------------------------------------------------------------


def test_usage_counts_and_pages_games_and_tasks(uow: FakeUnitOfWork) -> None:
    v1 = published(uow)
    ref = "custom:" + v1["id"]
    games = game_on(uow, ref, 3)
    tasks = [task_on(uow, games[0], ref) for _ in range(5)]
    game_on(uow, "default", 2)
    page = svc.strategy_usage(uow, ACME, {"strategy_id": v1["id"], "limit": 2})
    assert (page["game_count"], page["task_count"], page["status"]) == (3, 5, "PUBLISHED")
    assert (page["name"], page["version"], page["strategy_id"]) == ("Points", 1, v1["id"])
    seen_games, seen_tasks = [], []
    while True:
        seen_games += [g["game_id"] for g in page["games"]]
        seen_tasks += [t["task_id"] for t in page["tasks"]]
        if not page["has_next"]:
            break
        page = svc.strategy_usage(
            uow, ACME, {"strategy_id": v1["id"], "limit": 2, "cursor": page["next_cursor"]}
        )
    assert seen_games == sorted(games) and seen_tasks == sorted(tasks)
    assert page["next_cursor"] is None
    assert set(page["tasks"][0]) == {"task_id", "external_task_id", "game_id", "external_game_id"}


def test_usage_cursor_is_bound_to_its_strategy(uow: FakeUnitOfWork) -> None:
    a = published(uow, name="A")
    b = published(uow, name="B")
    game_on(uow, "custom:" + a["id"], 3)
    page = svc.strategy_usage(uow, ACME, {"strategy_id": a["id"], "limit": 1})
    cmd = {"strategy_id": b["id"], "cursor": page["next_cursor"]}
    fails(InvalidCursor, svc.strategy_usage, uow, ACME, cmd)
    fails(InvalidCursor, svc.strategy_usage, uow, ACME, {"strategy_id": a["id"], "cursor": "x.y"})


# --- audit -------------------------------------------------------------------------------------


def test_audit_lists_a_family_newest_first_within_the_account(uow: FakeUnitOfWork) -> None:
    v1 = published(uow)
    v2 = svc.update_strategy(uow, ACME, {"strategy_id": v1["id"], "definition": {"r": 2}})
    life.publish_strategy(uow, MANAGER, {"strategy_id": v2["id"]})
    life.rollback_strategy(uow, MANAGER, {"strategy_id": v2["id"], "target_version": 1})
    published(uow, GLOBEX)
    page = svc.audit_log(uow, ACME, {"strategy_id": v2["id"]})
    assert [e["action"] for e in page["items"]] == ["rollback", "publish", "publish"]
    assert page["items"][0]["strategy_id"] == v1["id"]
    assert page["items"][0]["details"]["displaced_strategy_id"] == v2["id"]
    assert [e["outcome"] for e in page["items"]] == ["succeeded"] * 3
    assert len(svc.audit_log(uow, ACME, {})["items"]) == 3
    assert len(svc.audit_log(uow, ADMIN, {})["items"]) == 4
    theirs = uow.audit.entries[-1].strategy_id
    assert svc.audit_log(uow, ACME, {"strategy_id": theirs})["items"] == []


def test_audit_pages(uow: FakeUnitOfWork) -> None:
    made = published(uow)
    for _ in range(4):
        life.publish_strategy(uow, MANAGER, {"strategy_id": made["id"]})
    first = svc.audit_log(uow, ACME, {"limit": 3})
    rest = svc.audit_log(uow, ACME, {"limit": 3, "cursor": first["pagination"]["next_cursor"]})
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 5
    ats = [e["at"] for e in first["items"] + rest["items"]]
    assert ats == sorted(ats, reverse=True)
    back = svc.audit_log(uow, ACME, {"limit": 3, "cursor": rest["pagination"]["prev_cursor"]})
    assert back["items"] == first["items"] and not back["pagination"]["has_prev"]
