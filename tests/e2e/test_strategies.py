"""Every ``strategies.*`` command through a worker, sent by name, on both stores."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from persistence.database import Database
from persistence.tables import audit_log, outbox
from tests.conftest import ACTOR, ADMIN, OTHER, Send
from tests.invariants import strategy_refs_hold  # noqa: F401  (autouse: checked after each test)

MANAGER = {"account_id": "acme", "subject": "mia", "roles": ["strategy_admin"]}
OTHER_MANAGER = {**OTHER, "roles": ["strategy_admin"]}


def ok(result: dict[str, Any]) -> Any:
    assert result["ok"], result
    return result["data"]


def error(result: dict[str, Any], code: str) -> dict[str, Any]:
    assert not result["ok"] and result["error"]["code"] == code, result
    failure: dict[str, Any] = result["error"]
    return failure


def create(
    send: Send, name: str = "Points", actor: dict[str, Any] | None = None, **data: Any
) -> Any:
    return ok(
        send("strategies.create", {"name": name, "definition": {"rule": 1}, **data}, actor=actor)
    )


def published(send: Send, name: str = "Points") -> Any:
    made = create(send, name)
    return ok(send("strategies.publish", {"strategy_id": made["id"]}, actor=MANAGER))


def ref(version: dict[str, Any]) -> str:
    return "custom:" + version["id"]


def outbox_types(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [r.type for r in conn.execute(select(outbox.c.type).order_by(outbox.c.id))]


def audit(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.at)))


# --- the lifecycle, end to end ---------------------------------------------------------------


def test_the_whole_lifecycle(send: Send, db: Database) -> None:
    v1 = create(
        send, description="first", type="DSL_EXTEND", parent_strategy_id="greengageStrategy"
    )
    assert (v1["version"], v1["status"], v1["type"]) == (1, "DRAFT", "DSL_EXTEND")
    assert ok(send("strategies.get", {"strategy_id": v1["id"]})) == v1
    v1 = ok(send("strategies.publish", {"strategy_id": v1["id"]}, actor=MANAGER))
    assert v1["status"] == "PUBLISHED" and v1["published_at"]

    game = ok(send("games.create", {"name": "Chess", "strategy_id": ref(v1)}))
    task = ok(
        send(
            "game_tasks.create",
            {"game_id": game["id"], "external_task_id": "t1", "strategy_id": ref(v1)},
        )
    )

    v2 = ok(send("strategies.update", {"strategy_id": v1["id"], "definition": {"rule": 2}}))
    assert (v2["version"], v2["status"]) == (2, "DRAFT")
    assert ok(send("strategies.get", {"strategy_id": v1["id"]})) == v1  # left as it was
    v2 = ok(send("strategies.publish", {"strategy_id": v2["id"]}, actor=MANAGER))
    assert ok(send("games.get", {"game_id": game["id"]}))["strategy_id"] == ref(v2)
    assert ok(send("game_tasks.get", {"task_id": task["id"]}))["strategy_id"] == ref(v2)

    versions = ok(send("strategies.versions", {"strategy_id": v1["id"]}))["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(2, "PUBLISHED"), (1, "ARCHIVED")]

    back = ok(
        send("strategies.rollback", {"strategy_id": v2["id"], "target_version": 1}, actor=ADMIN)
    )
    assert back["strategy"]["id"] == v1["id"] and back["strategy"]["status"] == "PUBLISHED"
    assert back["displaced_strategy_id"] == v2["id"]
    assert (back["games_reassigned"], back["tasks_reassigned"]) == (1, 1)

    usage = ok(send("strategies.usage", {"strategy_id": v1["id"]}))
    assert (usage["game_count"], usage["task_count"], usage["status"]) == (1, 1, "PUBLISHED")
    assert usage["games"] == [{"game_id": game["id"], "external_game_id": None, "platform": None}]
    assert usage["tasks"] == [
        {
            "task_id": task["id"],
            "external_task_id": "t1",
            "game_id": game["id"],
            "external_game_id": None,
        }
    ]

    archived = ok(
        send(
            "strategies.archive",
            {"strategy_id": v1["id"], "reassign_to": "socio_bee"},
            actor=MANAGER,
        )
    )
    assert archived["status"] == "ARCHIVED"
    assert ok(send("games.get", {"game_id": game["id"]}))["strategy_id"] == "socio_bee"

    trail = ok(send("strategies.audit", {"strategy_id": v2["id"]}))["items"]
    assert [(e["action"], e["outcome"]) for e in trail] == [
        ("archive", "succeeded"),
        ("rollback", "succeeded"),
        ("publish", "succeeded"),
        ("publish", "succeeded"),
    ]
    assert trail[0]["details"]["games_reassigned"] == 1 and trail[1]["subject"] == "ops-admin"
    assert set(trail[0]) == {"id", "at", "subject", "action", "strategy_id", "outcome", "details"}

    types = [t for t in outbox_types(db) if t.startswith("strategy.")]
    assert types == [
        "strategy.created",
        "strategy.published",
        "strategy.created",
        "strategy.archived",
        "strategy.published",
        "strategy.rolled_back",
        "strategy.archived",
    ]


def test_list_and_its_paging(send: Send) -> None:
    mine = [create(send, f"S{i}") for i in range(3)]
    create(send, "Theirs", actor=OTHER)
    first = ok(send("strategies.list", {"limit": 2}))
    rest = ok(send("strategies.list", {"limit": 2, "cursor": first["pagination"]["next_cursor"]}))
    assert {s["id"] for s in first["items"] + rest["items"]} == {s["id"] for s in mine}
    drafts = ok(send("strategies.list", {"filters": {"status": "DRAFT", "name": "S1"}}))
    assert [s["id"] for s in drafts["items"]] == [mine[1]["id"]]
    assert len(ok(send("strategies.list", {}, actor=ADMIN))["items"]) == 4
    bad = send(
        "strategies.list", {"cursor": first["pagination"]["next_cursor"], "filters": {"name": "S1"}}
    )
    error(bad, "invalid_cursor")


def test_usage_pages_through_games_and_tasks(send: Send, db: Database) -> None:
    v1 = published(send)
    games = [
        ok(send("games.create", {"name": f"G{i}", "strategy_id": ref(v1)}))["id"] for i in range(3)
    ]
    page = ok(send("strategies.usage", {"strategy_id": v1["id"], "limit": 2}))
    assert page["game_count"] == 3 and len(page["games"]) == 2 and page["has_next"]
    rest = ok(
        send(
            "strategies.usage", {"strategy_id": v1["id"], "limit": 2, "cursor": page["next_cursor"]}
        )
    )
    assert [g["game_id"] for g in page["games"] + rest["games"]] == sorted(games)
    assert not rest["has_next"] and rest["next_cursor"] is None
    error(
        send("strategies.usage", {"strategy_id": v1["id"], "cursor": "garbage"}), "invalid_cursor"
    )


def test_games_by_strategy(send: Send) -> None:
    v1 = published(send)
    made = [
        ok(
            send(
                "games.create",
                {
                    "name": f"G{i}",
                    "strategy_id": ref(v1),
                    "platform": "pc",
                    "external_game_id": f"e{i}",
                },
            )
        )
        for i in range(3)
    ]
    ok(send("games.create", {"name": "Other"}))
    first = ok(send("games.by_strategy", {"strategy_id": ref(v1), "limit": 2}))
    rest = ok(
        send(
            "games.by_strategy",
            {"strategy_id": ref(v1), "limit": 2, "cursor": first["pagination"]["next_cursor"]},
        )
    )
    items = first["items"] + rest["items"]
    assert [i["game_id"] for i in items] == sorted(g["id"] for g in made)
    assert items[0] == {
        "game_id": items[0]["game_id"],
        "external_game_id": items[0]["external_game_id"],
        "platform": "pc",
    }
    assert ok(send("games.by_strategy", {"strategy_id": ref(v1)}, actor=OTHER))["items"] == []
    defaults = ok(send("games.by_strategy", {"strategy_id": "default"}))["items"]
    assert len(defaults) == 1
    error(send("games.by_strategy", {"strategy_id": "custom:nope!"}), "validation_error")


# --- custom: strategy ids on games and game tasks --------------------------------------------


def test_custom_ids_must_name_a_published_strategy_of_the_account(send: Send) -> None:
    draft = create(send, "Draft")
    theirs = ok(
        send(
            "strategies.publish",
            {"strategy_id": create(send, "T", actor=OTHER)["id"]},
            actor=OTHER_MANAGER,
        )
    )
    v1 = published(send)
    game = ok(send("games.create", {"name": "G", "strategy_id": ref(v1)}))
    for bad in (ref(draft), ref(theirs), "custom:stg_unknown"):
        failure = error(send("games.create", {"name": "X", "strategy_id": bad}), "validation_error")
        assert "strategy_id" in failure["details"]["fields"]
        error(send("games.patch", {"game_id": game["id"], "strategy_id": bad}), "validation_error")
        task = {"game_id": game["id"], "external_task_id": "t", "strategy_id": bad}
        error(send("game_tasks.create", task), "validation_error")
    admin_game = {"account_id": "globex", "name": "Y", "strategy_id": ref(theirs)}
    assert ok(send("games.create", admin_game, actor=ADMIN))["strategy_id"] == ref(theirs)


# --- every error path --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("strategies.create", {"name": "X"}, "definition"),
        ("strategies.create", {"name": "X", "definition": []}, "definition"),
        ("strategies.create", {"name": "X", "definition": {"k": "v" * 70_000}}, "definition"),
        ("strategies.create", {"name": " ", "definition": {}}, "name"),
        ("strategies.create", {"name": "X", "definition": {}, "type": "OTHER"}, "type"),
        (
            "strategies.create",
            {"name": "X", "definition": {}, "type": "DSL_EXTEND"},
            "parent_strategy_id",
        ),
        (
            "strategies.create",
            {"name": "X", "definition": {}, "parent_strategy_id": "default"},
            "parent_strategy_id",
        ),
        ("strategies.create", {"name": "X", "definition": {}, "account_id": "acme"}, "account_id"),
        ("strategies.create", {"name": "X", "definition": {}, "extra": 1}, "extra"),
        ("strategies.get", {}, "strategy_id"),
        ("strategies.list", {"filters": {"status": "LIVE"}}, "filters.status"),
        ("strategies.list", {"limit": 101}, "limit"),
        ("strategies.update", {"strategy_id": "stg_x", "name": None}, "name"),
        ("strategies.update", {"strategy_id": "stg_x", "definition": None}, "definition"),
        ("strategies.archive", {"strategy_id": "stg_x", "reassign_to": "nope"}, "reassign_to"),
        ("strategies.rollback", {"strategy_id": "stg_x"}, "target_version"),
        ("strategies.rollback", {"strategy_id": "stg_x", "target_version": 0}, "target_version"),
        ("strategies.rollback", {"strategy_id": "stg_x", "target_version": "1"}, "target_version"),
        ("strategies.usage", {"strategy_id": "stg_x", "limit": 0}, "limit"),
        ("strategies.audit", {"strategy_id": ""}, "strategy_id"),
    ],
)
def test_validation_errors(send: Send, name: str, data: dict[str, Any], field: str) -> None:
    failure = error(send(name, data, actor=MANAGER), "validation_error")
    assert field in failure["details"]["fields"], failure


def test_admin_must_name_the_account(send: Send) -> None:
    failure = error(
        send("strategies.create", {"name": "X", "definition": {}}, actor=ADMIN), "validation_error"
    )
    assert "account_id" in failure["details"]["fields"]
    made = ok(
        send(
            "strategies.create",
            {"name": "X", "definition": {}, "account_id": "globex"},
            actor=ADMIN,
        )
    )
    assert made["account_id"] == "globex"


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("strategies.get", {}),
        ("strategies.versions", {}),
        ("strategies.usage", {}),
        ("strategies.update", {"description": "x"}),
        ("strategies.publish", {}),
        ("strategies.archive", {}),
        ("strategies.rollback", {"target_version": 1}),
    ],
)
def test_another_accounts_strategy_is_not_found(
    send: Send, name: str, extra: dict[str, Any]
) -> None:
    theirs = create(send, "Theirs", actor=OTHER)
    other = error(send(name, {"strategy_id": theirs["id"], **extra}, actor=MANAGER), "not_found")
    missing = error(send(name, {"strategy_id": "stg_missing", **extra}, actor=MANAGER), "not_found")
    assert set(other) == set(missing)
    assert (
        ok(send("strategies.get", {"strategy_id": theirs["id"]}, actor=OTHER))["status"] == "DRAFT"
    )


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("strategies.publish", {}),
        ("strategies.archive", {}),
        ("strategies.rollback", {"target_version": 1}),
    ],
)
def test_lifecycle_without_the_role_is_forbidden_and_audited(
    send: Send, db: Database, name: str, extra: dict[str, Any]
) -> None:
    made = create(send)
    cmd = {"strategy_id": made["id"], **extra}
    error(send(name, cmd, actor=ACTOR, key="k1"), "forbidden")
    error(send(name, cmd, actor=ACTOR, key="k1"), "forbidden")  # a redelivery: audited once
    assert ok(send("strategies.get", {"strategy_id": made["id"]}))["status"] == "DRAFT"
    rows = audit(db)
    assert len(rows) == 1
    assert (rows[0].action, rows[0].outcome, rows[0].subject, rows[0].strategy_id) == (
        name.split(".")[1],
        "failed",
        "api-key-acme",
        made["id"],
    )
    assert rows[0].details["error"]["code"] == "forbidden"
    assert outbox_types(db).count("command.rejected") == 1
    trail = ok(send("strategies.audit", {"strategy_id": made["id"]}))["items"]
    assert [(e["outcome"], e["details"]["error"]["code"]) for e in trail] == [
        ("failed", "forbidden")
    ]


def test_conflicts(send: Send, db: Database) -> None:
    v1 = published(send)
    error(send("strategies.create", {"name": "Points", "definition": {}}), "conflict")
    game = ok(send("games.create", {"name": "G", "strategy_id": ref(v1)}))
    in_use = error(send("strategies.archive", {"strategy_id": v1["id"]}, actor=MANAGER), "conflict")
    assert in_use["details"]["game_count"] == 1 and "reassign_to" in in_use["details"]["fields"]
    error(
        send("strategies.rollback", {"strategy_id": v1["id"], "target_version": 1}, actor=MANAGER),
        "conflict",
    )
    v2 = ok(send("strategies.update", {"strategy_id": v1["id"], "description": "two"}))
    ok(send("strategies.publish", {"strategy_id": v2["id"]}, actor=MANAGER))
    error(send("strategies.publish", {"strategy_id": v1["id"]}, actor=MANAGER), "conflict")
    error(send("strategies.update", {"strategy_id": v1["id"], "description": "x"}), "conflict")
    create(send, "Taken")
    error(send("strategies.update", {"strategy_id": v2["id"], "name": "Taken"}), "conflict")
    assert ok(send("games.get", {"game_id": game["id"]}))["strategy_id"] == ref(v2)
    outcomes = [(r.action, r.outcome) for r in audit(db)]
    assert ("archive", "failed") in outcomes and ("rollback", "failed") in outcomes
    assert outcomes.count(("publish", "failed")) == 1


def test_rollback_to_an_unknown_version_is_not_found_and_audited(send: Send, db: Database) -> None:
    v1 = published(send)
    failure = error(
        send("strategies.rollback", {"strategy_id": v1["id"], "target_version": 9}, actor=MANAGER),
        "not_found",
    )
    assert "target_version" in failure["details"]["fields"]
    last = audit(db)[-1]
    assert (last.action, last.outcome, last.details["request"]["target_version"]) == (
        "rollback",
        "failed",
        9,
    )


def test_archive_with_a_bad_reassign_target(send: Send) -> None:
    v1 = published(send)
    ok(send("games.create", {"name": "G", "strategy_id": ref(v1)}))
    draft = create(send, "Draft")
    for target in (ref(v1), ref(draft), "custom:stg_unknown"):
        cmd = {"strategy_id": v1["id"], "reassign_to": target}
        failure = error(send("strategies.archive", cmd, actor=MANAGER), "validation_error")
        assert "reassign_to" in failure["details"]["fields"]
    assert ok(send("strategies.get", {"strategy_id": v1["id"]}))["status"] == "PUBLISHED"


def test_a_redelivered_rollback_answers_the_first_result(send: Send, db: Database) -> None:
    v1 = published(send)
    v2 = ok(send("strategies.update", {"strategy_id": v1["id"], "description": "2"}))
    ok(send("strategies.publish", {"strategy_id": v2["id"]}, actor=MANAGER))
    cmd = {"strategy_id": v2["id"], "target_version": 1}
    first = send("strategies.rollback", cmd, actor=MANAGER, key="rb-1")
    assert send("strategies.rollback", cmd, actor=MANAGER, key="rb-1") == first
    assert outbox_types(db).count("strategy.rolled_back") == 1
    assert [r.action for r in audit(db)].count("rollback") == 1
