"""The game task use cases on fake repositories."""

from __future__ import annotations

from typing import Any

import pytest

from domain import events
from domain.actor import Actor
from domain.errors import Conflict, DomainError, InvalidCursor, NotFound, ValidationError
from domain.services import game_tasks as svc
from domain.services import games
from tests.fakes import FakeUnitOfWork

ACME = Actor("alice", "acme")
GLOBEX = Actor("gus", "globex")
ADMIN = Actor("ops", None, is_admin=True)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def game(uow: FakeUnitOfWork) -> dict[str, Any]:
    made = games.create_game(uow, ACME, {"name": "Space Chess"})
    uow.commit()
    return made


def fails(kind: type[DomainError], call: Any, *args: Any) -> DomainError:
    with pytest.raises(kind) as caught:
        call(*args)
    return caught.value


def add(uow: FakeUnitOfWork, game_id: str, ext: str, **data: Any) -> dict[str, Any]:
    made = svc.create_task(uow, ACME, {"game_id": game_id, "external_task_id": ext, **data})
    uow.commit()
    return made


def test_create_with_defaults_and_an_event(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    task = svc.create_task(uow, ACME, {"game_id": game["id"], "external_task_id": "t-1"})
    assert task["game_id"] == game["id"] and task["external_task_id"] == "t-1"
    assert (task["status"], task["strategy_id"], task["params"]) == ("open", "default", {})
    assert [(e.type, e.subject, e.account_id, e.data) for e in uow.pending] == [
        (events.GAME_TASK_CREATED, task["id"], "acme", task)
    ]


def test_create_needs_a_live_visible_game(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    for actor, game_id in [(ACME, "gam_missing"), (GLOBEX, game["id"])]:
        error = fails(
            NotFound, svc.create_task, uow, actor, {"game_id": game_id, "external_task_id": "t"}
        )
        assert error.details == {"game_id": game_id}
    games.delete_game(uow, ACME, {"game_id": game["id"]})
    fails(NotFound, svc.create_task, uow, ACME, {"game_id": game["id"], "external_task_id": "t"})


def test_admin_creates_in_the_games_account(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    task = svc.create_task(uow, ADMIN, {"game_id": game["id"], "external_task_id": "t-1"})
    assert uow.game_tasks.get(task["id"]).account_id == "acme"  # type: ignore[union-attr]


def test_the_external_task_id_is_unique_per_game(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    add(uow, game["id"], "t-1")
    error = fails(
        Conflict, svc.create_task, uow, ACME, {"game_id": game["id"], "external_task_id": "t-1"}
    )
    assert error.names_field("external_task_id")
    other = games.create_game(uow, ACME, {"name": "Other"})
    assert add(uow, other["id"], "t-1")["game_id"] == other["id"]


def test_a_custom_strategy_must_be_published_in_the_account(
    uow: FakeUnitOfWork, game: dict[str, Any]
) -> None:
    error = fails(
        ValidationError,
        svc.create_task,
        uow,
        ACME,
        {"game_id": game["id"], "external_task_id": "t", "strategy_id": "custom:stg_nope"},
    )
    assert error.names_field("strategy_id")
    task = add(uow, game["id"], "t")
    error = fails(
        ValidationError,
        svc.patch_task,
        uow,
        ACME,
        {"task_id": task["id"], "strategy_id": "custom:stg_nope"},
    )
    assert error.names_field("strategy_id")


def test_get_by_id_or_by_game_and_external_id(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    task = add(uow, game["id"], "t-1")
    assert svc.get_task(uow, ACME, {"task_id": task["id"]}) == task
    assert svc.get_task(uow, ADMIN, {"task_id": task["id"]}) == task
    assert svc.get_task(uow, ACME, {"game_id": game["id"], "external_task_id": "t-1"}) == task
    error = fails(
        NotFound, svc.get_task, uow, ACME, {"game_id": game["id"], "external_task_id": "x"}
    )
    assert error.details == {"game_id": game["id"], "external_task_id": "x"}
    assert uow.pending == []


def test_another_accounts_task_is_answered_like_a_missing_one(
    uow: FakeUnitOfWork, game: dict[str, Any]
) -> None:
    task = add(uow, game["id"], "t-1")
    for call, extra in [
        (svc.get_task, {}),
        (svc.patch_task, {"status": "done"}),
        (svc.delete_task, {}),
    ]:
        theirs = fails(NotFound, call, uow, GLOBEX, {"task_id": task["id"], **extra}).to_dict()
        missing = fails(NotFound, call, uow, GLOBEX, {"task_id": "tsk_missing", **extra}).to_dict()
        assert theirs == {
            **missing,
            "message": missing["message"].replace("tsk_missing", task["id"]),
            "details": {"task_id": task["id"]},
        }
    fails(NotFound, svc.get_task, uow, GLOBEX, {"game_id": game["id"], "external_task_id": "t-1"})
    fails(NotFound, svc.list_tasks, uow, GLOBEX, {"game_id": game["id"]})
    assert uow.game_tasks.get(task["id"]).status == "open"  # type: ignore[union-attr]


def test_tasks_of_a_deleted_game_can_still_be_read(
    uow: FakeUnitOfWork, game: dict[str, Any]
) -> None:
    task = add(uow, game["id"], "t-1")
    games.delete_game(uow, ACME, {"game_id": game["id"]})
    assert svc.get_task(uow, ACME, {"game_id": game["id"], "external_task_id": "t-1"}) == task
    assert svc.list_tasks(uow, ACME, {"game_id": game["id"]})["items"] == [task]


def test_patch(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    task = add(uow, game["id"], "t-1", params={"a": 1}, strategy_id="socio_bee")
    patched = svc.patch_task(
        uow, ACME, {"task_id": task["id"], "status": "done", "params": {"b": 2}}
    )
    assert (patched["status"], patched["params"], patched["strategy_id"]) == (
        "done",
        {"b": 2},
        "socio_bee",
    )
    assert [e.type for e in uow.pending] == [events.GAME_TASK_UPDATED]
    uow.commit()
    assert svc.patch_task(uow, ACME, {"task_id": task["id"], "status": "done"}) == patched
    assert uow.pending == []  # no change: no event
    reset = svc.patch_task(
        uow, ACME, {"task_id": task["id"], "status": None, "params": None, "strategy_id": None}
    )
    assert (reset["status"], reset["params"], reset["strategy_id"]) == ("open", {}, "default")


def test_delete_is_hard(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    task = add(uow, game["id"], "t-1", params={"a": 1})
    assert svc.delete_task(uow, ACME, {"task_id": task["id"]}) == {"task_id": task["id"]}
    assert [(e.type, e.data) for e in uow.pending] == [
        (events.GAME_TASK_DELETED, {"task_id": task["id"], "game_id": game["id"]})
    ]
    fails(NotFound, svc.delete_task, uow, ACME, {"task_id": task["id"]})
    assert add(uow, game["id"], "t-1")["id"] != task["id"]  # the external id is free again


def test_list_filters_and_pages(uow: FakeUnitOfWork, game: dict[str, Any]) -> None:
    made = [add(uow, game["id"], f"t-{i}", status="done" if i % 2 else "open") for i in range(5)]
    other = games.create_game(uow, ACME, {"name": "Other"})
    add(uow, other["id"], "elsewhere")
    page = svc.list_tasks(uow, ACME, {"game_id": game["id"], "limit": 2, "with_total": True})
    assert [t["id"] for t in page["items"]] == [t["id"] for t in made[::-1][:2]]
    assert page["pagination"]["total"] == 5
    done = svc.list_tasks(uow, ACME, {"game_id": game["id"], "filters": {"status": "done"}})
    assert [t["external_task_id"] for t in done["items"]] == ["t-3", "t-1"]
    by_ext = svc.list_tasks(
        uow, ACME, {"game_id": game["id"], "sort": "external_task_id:asc", "limit": 3}
    )
    assert [t["external_task_id"] for t in by_ext["items"]] == ["t-0", "t-1", "t-2"]
    cursor = by_ext["pagination"]["next_cursor"]
    rest = svc.list_tasks(
        uow,
        ACME,
        {"game_id": game["id"], "sort": "external_task_id:asc", "limit": 3, "cursor": cursor},
    )
    assert [t["external_task_id"] for t in rest["items"]] == ["t-3", "t-4"]
    for changed in [
        {"game_id": other["id"]},
        {"sort": "status:asc"},
        {"filters": {"status": "open"}},
    ]:
        query = {"game_id": game["id"], "sort": "external_task_id:asc", "cursor": cursor}
        fails(InvalidCursor, svc.list_tasks, uow, ACME, {**query, **changed})
    error = fails(
        ValidationError, svc.list_tasks, uow, ACME, {"game_id": game["id"], "sort": "name"}
    )
    assert error.names_field("sort")
