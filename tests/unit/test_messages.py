"""Parsing a command's keyword arguments: the envelope, strict types, unknown fields, defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.errors import ValidationError
from tasks import messages as m
from tasks.base import parse_command
from tasks.messages import Message

ACTOR = {"account_id": "acme", "subject": "api-key"}


def parse(model: type[Message], data: Any, **envelope: Any) -> dict[str, Any]:
    kwargs = {"actor": ACTOR, "data": data, **envelope}
    return parse_command((), kwargs, model)[1]


def error(model: type[Message], data: Any, **envelope: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse(model, data, **envelope)
    fields: dict[str, str] = caught.value.details["fields"]
    assert caught.value.message.startswith("invalid command: ")
    return fields


def test_the_envelope() -> None:
    actor, data, key = parse_command(
        (),
        {
            "actor": {"account_id": "acme", "subject": "k", "roles": ["r"]},
            "data": {"name": "x"},
            "idempotency_key": "key-1",
        },
        m.GameCreate,
    )
    assert (actor.account_id, actor.subject, actor.is_admin, actor.roles) == (
        "acme",
        "k",
        False,
        ("r",),
    )
    assert data == {"name": "x"} and key == "key-1"


def test_envelope_errors_name_the_envelope_field() -> None:
    assert error(m.GameList, {}, extra=1) == {"extra": "unknown keyword argument"}
    assert error(m.GameList, {}, idempotency_key="") == {
        "idempotency_key": "String should have at least 1 character"
    }
    assert "idempotency_key" in error(m.GameList, {}, idempotency_key="k" * 201)
    assert "idempotency_key" in error(m.GameList, {}, idempotency_key=5)
    with pytest.raises(ValidationError) as caught:
        parse_command((), {"data": {}}, m.GameList)
    assert "actor" in caught.value.details["fields"]
    with pytest.raises(ValidationError) as caught:
        parse_command((), {"actor": ACTOR}, m.GameList)
    assert "data" in caught.value.details["fields"]
    with pytest.raises(ValidationError) as caught:
        parse_command((), {"actor": ACTOR, "data": []}, m.GameList)
    assert "data" in caught.value.details["fields"]
    with pytest.raises(ValidationError) as caught:
        parse_command(("x",), {"actor": ACTOR, "data": {}}, m.GameList)
    assert "args" in caught.value.details["fields"]


@pytest.mark.parametrize(
    ("actor", "field"),
    [
        ({"account_id": "acme", "subject": "k", "extra": 1}, "actor.extra"),
        ({"account_id": "acme"}, "actor.subject"),
        ({"account_id": "acme", "subject": ""}, "actor.subject"),
        ({"account_id": "acme", "subject": "s" * 201}, "actor.subject"),
        ({"account_id": "a.b", "subject": "k"}, "actor.account_id"),
        ({"account_id": "acme", "subject": "k", "is_admin": 1}, "actor.is_admin"),
        ({"account_id": "acme", "subject": "k", "is_admin": "true"}, "actor.is_admin"),
        ({"account_id": "acme", "subject": "k", "roles": "admin"}, "actor.roles"),
        ({"subject": "k"}, "actor.account_id"),  # a non-admin without an account
        ({"account_id": None, "subject": "k"}, "actor.account_id"),
        ("acme", "actor"),
    ],
)
def test_actor_errors(actor: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_command((), {"actor": actor, "data": {}}, m.GameList)
    assert field in caught.value.details["fields"]


def test_data_fields_are_named_by_their_path_inside_data() -> None:
    assert error(m.GameCreate, {"name": "x", "colour": "red"}) == {"colour": "unknown field"}
    assert error(m.GameCreate, {"name": " "}) == {"name": "must not be blank"}
    assert "filters.tag" in error(m.GameList, {"filters": {"tag": 5}})
    assert "filters.colour" in error(m.GameList, {"filters": {"colour": "red"}})
    assert "name" in error(m.GameCreate, {})


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (m.GameList, {"limit": "5"}, "limit"),
        (m.GameList, {"limit": 5.0}, "limit"),
        (m.GameList, {"limit": True}, "limit"),
        (m.GameList, {"limit": 0}, "limit"),
        (m.GameList, {"limit": 101}, "limit"),
        (m.GameList, {"include_deleted": 1}, "include_deleted"),
        (m.GameList, {"with_total": "true"}, "with_total"),
        (m.GameList, {"cursor": 5}, "cursor"),
        (m.GameList, {"cursor": ""}, "cursor"),
        (m.GameList, {"sort": ["id:asc"]}, "sort"),
        (m.GameList, {"filters": []}, "filters"),
        (m.GameList, {"filters": {"anti_cheat_enabled": 0}}, "filters.anti_cheat_enabled"),
        (m.GameList, {"filters": {"created_after": 5}}, "filters.created_after"),
        (m.GameList, {"filters": {"created_after": "yesterday"}}, "filters.created_after"),
        (m.GameList, {"filters": {"external_game_id": []}}, "filters.external_game_id"),
        (
            m.GameList,
            {"filters": {"external_game_id": [f"e{i}" for i in range(101)]}},
            "filters.external_game_id",
        ),
        (
            m.GameList,
            {"filters": {"external_game_id": ["ok", "not ok"]}},
            "filters.external_game_id.1",
        ),
        (m.GameList, {"filters": {"strategy_id": "nope"}}, "filters.strategy_id"),
        (m.GameCreate, {"name": 5}, "name"),
        (m.GameCreate, {"name": "x", "anti_cheat_enabled": 1}, "anti_cheat_enabled"),
        (m.GameCreate, {"name": "x", "anti_cheat_enabled": None}, "anti_cheat_enabled"),
        (m.GameCreate, {"name": "x", "steam_app_id": 730}, "steam_app_id"),
        (m.GameCreate, {"name": "x", "tags": "a"}, "tags"),
        (m.GameCreate, {"name": "x", "tags": None}, "tags"),
        (m.GameCreate, {"name": "x", "tags": [1]}, "tags.0"),
        (m.GameCreate, {"name": "x", "params": []}, "params"),
        (m.GameCreate, {"name": "x", "params": {"k": None}}, "params"),
        (m.GameCreate, {"name": "x", "strategy_id": None}, "strategy_id"),
        (m.GameCreate, {"name": "x", "slug": "Bad Slug"}, "slug"),
        (m.GameCreate, {"name": "x", "page_url": "ftp://x.io"}, "page_url"),
        (m.GameCreate, {"name": "x", "default_board_id": ""}, "default_board_id"),
        (m.GameCreate, {"name": "x", "account_id": "bad id"}, "account_id"),
        (m.GameGet, {"game_id": 5}, "game_id"),
        (m.GameGet, {"game_id": "g" * 65}, "game_id"),
        (m.GameParamsDelete, {"game_id": "g", "keys": []}, "keys"),
        (m.GameParamsDelete, {"game_id": "g", "keys": ["bad key"]}, "keys.0"),
        (m.GameParamsSet, {"game_id": "g"}, "params"),
        (m.GameExternalIds, {"game_ids": [f"g{i}" for i in range(1001)]}, "game_ids"),
        (m.GameExternalIds, {"game_ids": "g"}, "game_ids"),
        (m.GamesByStrategy, {"strategy_id": "custom:nope"}, "strategy_id"),
        (m.GamesByStrategy, {"strategy_id": "default", "sort": "id:asc"}, "sort"),
        (m.GameTaskCreate, {"game_id": "g"}, "external_task_id"),
        (m.GameTaskCreate, {"game_id": "g", "external_task_id": "a b"}, "external_task_id"),
        (m.GameTaskCreate, {"game_id": "g", "external_task_id": "t", "status": ""}, "status"),
        (m.GameTaskCreate, {"game_id": "g", "external_task_id": "t", "status": "s" * 33}, "status"),
        (m.GameTaskList, {"game_id": "g", "filters": {"tag": "x"}}, "filters.tag"),
        (m.GameTaskPatch, {"task_id": "t", "external_task_id": "x"}, "external_task_id"),
        (m.GameTaskPatch, {"task_id": "t", "game_id": "g"}, "game_id"),
    ],
)
def test_wrong_types_and_values_out_of_range(
    model: type[Message], data: dict[str, Any], field: str
) -> None:
    assert field in error(model, data)


def test_patch_refuses_slug_and_account_id_even_as_null() -> None:
    assert error(m.GamePatch, {"game_id": "g", "slug": "new-slug"}) == {
        "slug": "cannot be changed by a patch"
    }
    assert error(m.GamePatch, {"game_id": "g", "slug": None}) == {
        "slug": "cannot be changed by a patch"
    }
    assert error(m.GamePatch, {"game_id": "g", "account_id": "globex"}) == {
        "account_id": "cannot be changed by a patch"
    }


def test_patch_refuses_a_null_name_and_keeps_nulls_of_other_fields() -> None:
    assert error(m.GamePatch, {"game_id": "g", "name": None}) == {"name": "must not be null"}
    assert parse(m.GamePatch, {"game_id": "g", "platform": None, "tags": None}) == {
        "game_id": "g",
        "platform": None,
        "tags": None,
    }
    assert parse(m.GamePatch, {"game_id": "g", "name": " New "}) == {"game_id": "g", "name": "New"}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"include_deleted": True},
        {"game_id": "g", "slug": "ab"},
        {"slug": "ab", "external_game_id": "e"},
        {"game_id": "g", "slug": "ab", "external_game_id": "e"},
        {"game_id": None},
        {"slug": None, "game_id": "g"},
    ],
)
def test_games_get_takes_exactly_one_key(data: dict[str, Any]) -> None:
    fields = error(m.GameGet, data)
    assert "data" in fields or "game_id" in fields or "slug" in fields


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"game_id": "g"},
        {"external_task_id": "t"},
        {"task_id": "t", "game_id": "g"},
        {"task_id": "t", "game_id": "g", "external_task_id": "e"},
        {"task_id": None},
    ],
)
def test_game_tasks_get_takes_a_task_id_or_a_game_and_external_id(data: dict[str, Any]) -> None:
    error(m.GameTaskGet, data)


def test_accepted_forms() -> None:
    assert parse(m.GameGet, {"slug": "ab", "include_deleted": True}) == {
        "slug": "ab",
        "include_deleted": True,
    }
    assert parse(m.GameTaskGet, {"game_id": "g", "external_task_id": "t"}) == {
        "game_id": "g",
        "external_task_id": "t",
    }
    listed = parse(
        m.GameList,
        {
            "filters": {
                "external_game_id": "e-1",
                "created_after": "2024-01-02T03:04:05Z",
                "created_before": "2024-01-02T05:04:05+02:00",
                "updated_after": "2024-01-02T03:04:05",
            },
            "limit": 100,
            "sort": "name:desc",
        },
    )
    filters = listed["filters"]
    assert filters["external_game_id"] == ["e-1"]  # one id is a list of one
    assert filters["created_after"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert filters["created_before"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert filters["updated_after"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)  # naive is UTC
    created = parse(m.GameCreate, {"name": "  X ", "tags": [" a", "a", "b"], "params": {"n": 1.5}})
    assert created == {"name": "X", "tags": ["a", "b"], "params": {"n": 1.5}}
    assert parse(m.GameExternalIds, {"game_ids": []}) == {"game_ids": []}
