"""Every error path of the ``strategies.*`` commands, through a worker, on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from persistence.database import Database
from tests.conftest import ACTOR, ADMIN, OTHER, Send
from tests.e2e.strategy_steps import (
    MANAGER,
    audit,
    create,
    error,
    ok,
    outbox_types,
    published,
    ref,
)
from tests.invariants import strategy_refs_hold  # noqa: F401  (autouse: checked after each test)

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
