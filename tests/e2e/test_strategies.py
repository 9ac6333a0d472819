"""Every ``strategies.*`` command through a worker, sent by name, on both stores."""

from __future__ import annotations

from typing import Any

from persistence.database import Database
from tests.conftest import ADMIN, OTHER, Send
from tests.e2e.strategy_steps import (
    MANAGER,
    OTHER_MANAGER,
    create,
    error,
    ok,
    outbox_types,
    published,
    ref,
)
from tests.invariants import strategy_refs_hold  # noqa: F401  (autouse: checked after each test)

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


def test_two_rollbacks_sent_at_once(send: Send, celery_app: Any, db: Database) -> None:
    v1 = published(send)
    v2 = ok(send("strategies.update", {"strategy_id": v1["id"], "description": "2"}))
    v3 = ok(send("strategies.update", {"strategy_id": v1["id"], "description": "3"}))
    ok(send("strategies.publish", {"strategy_id": v3["id"]}, actor=MANAGER))
    games = [ok(send("games.create", {"name": f"G{i}", "strategy_id": ref(v3)})) for i in range(5)]
    pending = [
        celery_app.send_task(
            "strategies.rollback",
            kwargs={"actor": MANAGER, "data": {"strategy_id": v3["id"], "target_version": n}},
            queue="strategies",
        )
        for n in (1, 2)
    ]
    results = [ok(p.get(timeout=30, interval=0.01)) for p in pending]
    versions = ok(send("strategies.versions", {"strategy_id": v1["id"]}))["items"]
    live = [v for v in versions if v["status"] == "PUBLISHED"]
    assert len(live) == 1 and live[0]["id"] in (v1["id"], v2["id"])
    for game in games:
        assert ok(send("games.get", {"game_id": game["id"]}))["strategy_id"] == ref(live[0])
    assert sum(r["games_reassigned"] for r in results) == 10  # each moved all five
