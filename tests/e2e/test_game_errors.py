"""Every error path of contract sections 5-6 through the worker, and idempotency.

validation_error writes nothing but, for a command that would change something, its
idempotency record and one ``command.rejected`` event; reads are answered and leave no trace.
"""

from __future__ import annotations

from typing import Any

import pytest

from persistence.database import Database
from tests.conftest import ACTOR, ADMIN, OTHER, Send
from tests.e2e.helpers import counts, data, error, events
from workers.app import GameworkerCelery

NO_ACCOUNT = {"subject": "api-key"}

# (command, data, extra kwargs, actor, field named in details.fields)
INVALID: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None, str]] = [
    ("games.create", {"name": "x"}, {"colour": "red"}, None, "colour"),
    ("games.create", {"name": "x"}, {}, {**ACTOR, "role": "x"}, "actor.role"),
    ("games.create", {"name": "x", "colour": "red"}, {}, None, "colour"),
    ("games.create", {"name": "x"}, {}, NO_ACCOUNT, "actor.account_id"),
    ("games.create", {"name": "x"}, {}, ADMIN, "account_id"),
    ("games.create", {"name": "x", "account_id": "acme"}, {}, None, "account_id"),
    ("games.create", {"name": "x"}, {"idempotency_key": ""}, None, "idempotency_key"),
    ("games.create", {"name": "x"}, {}, {**ACTOR, "is_admin": 1}, "actor.is_admin"),
    ("games.create", {"name": ""}, {}, None, "name"),
    ("games.create", {"name": "   "}, {}, None, "name"),
    ("games.create", {"name": "n" * 201}, {}, None, "name"),
    ("games.create", {"name": 5}, {}, None, "name"),
    ("games.create", {"name": "x", "slug": "Not A Slug"}, {}, None, "slug"),
    ("games.create", {"name": "x", "slug": "s" * 51}, {}, None, "slug"),
    ("games.create", {"name": "x", "external_game_id": "has space"}, {}, None, "external_game_id"),
    ("games.create", {"name": "x", "platform": "p" * 65}, {}, None, "platform"),
    ("games.create", {"name": "x", "description": "d" * 2001}, {}, None, "description"),
    ("games.create", {"name": "x", "tags": [f"t{i}" for i in range(21)]}, {}, None, "tags"),
    ("games.create", {"name": "x", "tags": ["t" * 33]}, {}, None, "tags"),
    ("games.create", {"name": "x", "page_url": "ftp://example.com"}, {}, None, "page_url"),
    ("games.create", {"name": "x", "steam_app_id": "12a"}, {}, None, "steam_app_id"),
    ("games.create", {"name": "x", "steam_app_id": 730}, {}, None, "steam_app_id"),
    ("games.create", {"name": "x", "anti_cheat_enabled": 1}, {}, None, "anti_cheat_enabled"),
    ("games.create", {"name": "x", "default_board_id": "b" * 65}, {}, None, "default_board_id"),
    ("games.create", {"name": "x", "strategy_id": "unknown"}, {}, None, "strategy_id"),
    ("games.create", {"name": "x", "strategy_id": "custom:stg_none"}, {}, None, "strategy_id"),
    ("games.create", {"name": "x", "params": {"bad key": 1}}, {}, None, "params"),
    ("games.create", {"name": "x", "params": {"k": [1]}}, {}, None, "params"),
    ("games.create", {"name": "x", "params": {"k": "v" * 1001}}, {}, None, "params"),
    ("games.create", {"name": "x", "params": {f"k{i}": i for i in range(101)}}, {}, None, "params"),
    ("games.patch", {"game_id": "gam_x", "slug": "new"}, {}, None, "slug"),
    ("games.patch", {"game_id": "gam_x", "account_id": "globex"}, {}, None, "account_id"),
    ("games.patch", {"game_id": "gam_x", "name": None}, {}, None, "name"),
    ("games.patch", {"game_id": "gam_x", "deleted": "yes"}, {}, None, "deleted"),
    ("games.patch", {"name": "x"}, {}, None, "game_id"),
    ("games.delete", {"game_id": 5}, {}, None, "game_id"),
    ("games.params.set", {"game_id": "gam_x", "params": []}, {}, None, "params"),
    ("games.params.delete", {"game_id": "gam_x", "keys": []}, {}, None, "keys"),
    ("game_tasks.create", {"game_id": "gam_x"}, {}, None, "external_task_id"),
    (
        "game_tasks.create",
        {"game_id": "g", "external_task_id": "t", "status": ""},
        {},
        None,
        "status",
    ),
    ("game_tasks.patch", {"task_id": "t", "external_task_id": "x"}, {}, None, "external_task_id"),
    ("game_tasks.delete", {}, {}, None, "task_id"),
]
READS_INVALID: list[tuple[str, dict[str, Any], dict[str, Any] | None, str]] = [
    ("games.get", {}, None, "data"),
    ("games.get", {"game_id": "gam_x", "slug": "ab"}, None, "data"),
    ("games.get", {"game_id": None}, None, "game_id"),
    ("games.get", {"game_id": "g"}, NO_ACCOUNT, "actor.account_id"),
    ("games.list", {"limit": "5"}, None, "limit"),
    ("games.list", {"limit": 0}, None, "limit"),
    ("games.list", {"limit": 101}, None, "limit"),
    ("games.list", {"include_deleted": 1}, None, "include_deleted"),
    ("games.list", {"account_id": "acme"}, None, "account_id"),
    ("games.list", {"sort": "colour:asc"}, None, "sort"),
    ("games.list", {"sort": "name:sideways"}, None, "sort"),
    ("games.list", {"filters": {"colour": "red"}}, None, "filters.colour"),
    ("games.list", {"filters": {"created_after": "last week"}}, None, "filters.created_after"),
    (
        "games.list",
        {"filters": {"external_game_id": ["e"] * 101}},
        None,
        "filters.external_game_id",
    ),
    ("games.external_ids", {"game_ids": ["g"] * 1001}, None, "game_ids"),
    ("games.by_strategy", {"strategy_id": "nope"}, None, "strategy_id"),
    ("game_tasks.get", {"game_id": "g"}, None, "data"),
    ("game_tasks.list", {"game_id": "g", "sort": "name:asc"}, None, "sort"),
]


def test_every_validation_error_writes_nothing_but_its_rejection(send: Send, db: Database) -> None:
    for n, (name, payload, extra, actor, field) in enumerate(INVALID):
        result = send(name, payload, actor=actor, **extra)
        err = error(result, "validation_error", field)
        assert err["message"].startswith("invalid command") or field in err["message"], err
        assert counts(db) == (0, n + 1, n + 1), (name, payload)  # the rejection only
    rejected = events(db)
    assert {e.type for e in rejected} == {"command.rejected"}
    assert rejected[0].data["task"] == "games.create"
    assert rejected[0].data["error"]["code"] == "validation_error"
    for name, payload, actor, field in READS_INVALID:
        error(send(name, payload, actor=actor), "validation_error", field)
    assert counts(db) == (0, len(INVALID), len(INVALID))  # reads leave no trace


def test_not_found_for_missing_and_foreign_objects_alike(send: Send, db: Database) -> None:
    theirs = data(
        send("games.create", {"name": "Theirs", "external_game_id": "ext-t"}, actor=OTHER)
    )
    task = data(
        send("game_tasks.create", {"game_id": theirs["id"], "external_task_id": "t-1"}, actor=OTHER)
    )
    missing_game, missing_task = "gam_01hzzzzzzzzzzzzzzzzzzzzzzz", "tsk_01hzzzzzzzzzzzzzzzzzzzzzzz"
    by_game: list[tuple[str, dict[str, Any]]] = [
        ("games.get", {}),
        ("games.patch", {"name": "Mine now"}),
        ("games.delete", {}),
        ("games.restore", {}),
        ("games.purge", {}),
        ("games.params.set", {"params": {"a": 1}}),
        ("games.params.delete", {"keys": ["a"]}),
        ("game_tasks.create", {"external_task_id": "t-2"}),
        ("game_tasks.list", {}),
        ("game_tasks.get", {"external_task_id": "t-1"}),
    ]
    for name, extra in by_game:
        foreign = error(send(name, {"game_id": theirs["id"], **extra}), "not_found")
        absent = error(send(name, {"game_id": missing_game, **extra}), "not_found")
        assert foreign == {
            **absent,
            "message": absent["message"].replace(missing_game, theirs["id"]),
            "details": {
                k: theirs["id"] if v == missing_game else v for k, v in absent["details"].items()
            },
        }, name
    for name, extra in [
        ("game_tasks.get", {}),
        ("game_tasks.patch", {"status": "x"}),
        ("game_tasks.delete", {}),
    ]:
        foreign = error(send(name, {"task_id": task["id"], **extra}), "not_found")
        absent = error(send(name, {"task_id": missing_task, **extra}), "not_found")
        assert foreign["message"] == absent["message"].replace(missing_task, task["id"])
        assert foreign["details"] == {"task_id": task["id"]}
    for key in ({"slug": theirs["slug"]}, {"external_game_id": "ext-t"}):
        error(send("games.get", key), "not_found")
    error(send("games.get", {"game_id": "not-a-real-id"}), "not_found")  # ids are lenient
    assert data(send("games.get", {"game_id": theirs["id"]}, actor=OTHER)) == theirs
    assert data(send("game_tasks.get", {"task_id": task["id"]}, actor=OTHER)) == task


def test_conflicts(send: Send, db: Database) -> None:
    first = data(
        send("games.create", {"name": "Chess", "external_game_id": "ext-1", "slug": "chess"})
    )
    error(send("games.create", {"name": "Chess"}), "conflict", "name")
    error(send("games.create", {"name": "Other", "slug": "chess"}), "conflict", "slug")
    error(send("games.create", {"name": "Other", "slug": "chess"}, actor=OTHER), "conflict", "slug")
    error(
        send("games.create", {"name": "Other", "external_game_id": "ext-1"}),
        "conflict",
        "external_game_id",
    )
    other = data(send("games.create", {"name": "Other"}))
    error(send("games.patch", {"game_id": other["id"], "name": "Chess"}), "conflict", "name")
    error(
        send("games.patch", {"game_id": other["id"], "external_game_id": "ext-1"}),
        "conflict",
        "external_game_id",
    )

    data(send("games.delete", {"game_id": first["id"]}))
    error(
        send("games.create", {"name": "Again", "external_game_id": "ext-1"}),
        "conflict",
        "external_game_id",
    )
    again = data(send("games.create", {"name": "Chess"}))  # the name is free while deleted
    assert again["slug"] == "chess-2"
    error(send("games.restore", {"game_id": first["id"]}), "conflict", "name")
    error(send("games.patch", {"game_id": first["id"], "deleted": False}), "conflict", "name")
    assert data(send("games.get", {"game_id": first["id"], "include_deleted": True}))["deleted_at"]

    data(send("game_tasks.create", {"game_id": other["id"], "external_task_id": "t-1"}))
    error(
        send("game_tasks.create", {"game_id": other["id"], "external_task_id": "t-1"}),
        "conflict",
        "external_task_id",
    )
    data(send("game_tasks.create", {"game_id": again["id"], "external_task_id": "t-1"}))

    for slug_owner in range(2, 12):  # fill chess-3 .. chess-11 in other accounts
        if slug_owner > 2:
            admin_data = {"name": "Chess", "account_id": f"acct-{slug_owner}"}
            assert (
                data(send("games.create", admin_data, actor=ADMIN))["slug"] == f"chess-{slug_owner}"
            )
    error(
        send("games.create", {"name": "Chess", "account_id": "acct-last"}, actor=ADMIN),
        "conflict",
        "slug",
    )


def test_idempotency(send: Send, db: Database) -> None:
    first = send("games.create", {"name": "Chess"}, key="create-chess")
    again = send("games.create", {"name": "Chess"}, key="create-chess")
    assert again == first and data(first)["name"] == "Chess"
    changed = send("games.create", {"name": "Something else"}, key="create-chess")
    assert changed == first  # the key decides: the first result, nothing new
    assert counts(db) == (1, 1, 1)

    error(
        send("games.delete", {"game_id": data(first)["id"]}, key="create-chess"),
        "conflict",
        "idempotency_key",
    )
    assert data(send("games.get", {"game_id": data(first)["id"]}))["deleted_at"] is None
    assert counts(db) == (1, 1, 1)

    theirs = send("games.create", {"name": "Chess"}, actor=OTHER, key="create-chess")
    assert data(theirs)["account_id"] == "globex"  # the key is the account's own

    rejected = send("games.create", {"name": "Chess"}, key="dup-name")
    error(rejected, "conflict", "name")
    assert send("games.create", {"name": "Chess"}, key="dup-name") == rejected
    assert len(events(db, "command.rejected")) == 1

    patch = {"game_id": data(first)["id"], "platform": "pc"}
    patched = send("games.patch", patch, key="patch-1")
    data(send("games.patch", {**patch, "platform": "ps5"}, key="patch-2"))
    assert send("games.patch", patch, key="patch-1") == patched  # the stored first result
    assert data(send("games.get", {"game_id": data(first)["id"]}))["platform"] == "ps5"
    assert len(events(db, "game.updated")) == 2


def test_a_command_delivered_twice_at_once_is_done_once(
    send: Send, db: Database, celery_app: GameworkerCelery
) -> None:
    kwargs = {"actor": ACTOR, "data": {"name": "Twice"}, "idempotency_key": "once"}
    sent = [celery_app.send_task("games.create", kwargs=kwargs, queue="games") for _ in range(2)]
    results = [r.get(timeout=30, interval=0.01) for r in sent]
    assert results[0] == results[1] and data(results[0])["name"] == "Twice"
    assert counts(db) == (1, 1, 1)


@pytest.mark.parametrize("name", ["games.get", "games.list", "games.external_ids"])
def test_reads_keep_no_idempotency_record(send: Send, db: Database, name: str) -> None:
    payload = {
        "games.get": {"slug": "none"},
        "games.list": {},
        "games.external_ids": {"game_ids": []},
    }
    send(name, payload[name], key="read-key")
    send(name, payload[name], key="read-key")
    assert counts(db) == (0, 0, 0)
