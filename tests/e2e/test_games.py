"""Every ``games.*`` command through the embedded worker, sent by name, on both stores."""

from __future__ import annotations

import re
from typing import Any

from persistence.database import Database
from tests.conftest import ACTOR, ADMIN, OTHER, Send
from tests.e2e.helpers import counts, data, error, events, is_game, is_page

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")

FULL = {
    "name": "  Space Chess  ",
    "external_game_id": "sc-001",
    "platform": "pc",
    "description": "Chess, in space.",
    "tags": [" strategy", "board", "strategy "],
    "page_url": "https://example.com/space-chess",
    "steam_app_id": "1234567",
    "anti_cheat_enabled": False,
    "default_board_id": "board-7",
    "strategy_id": "socio_bee",
    "params": {"max_players": 8, "ratio": 0.5, "ranked": True, "mode": "blitz"},
}


def test_create_get_and_the_shape_of_a_game(send: Send, db: Database) -> None:
    game = data(send("games.create", FULL))
    assert is_game(game)
    assert game["id"].startswith("gam_") and game["account_id"] == "acme"
    assert (game["name"], game["slug"], game["tags"]) == (
        "Space Chess",
        "space-chess",
        ["strategy", "board"],
    )
    assert game["params"] == FULL["params"] and game["anti_cheat_enabled"] is False
    assert game["created_by"] == game["updated_by"] == "api-key-acme"
    assert ISO.match(game["created_at"]) and game["created_at"] == game["updated_at"]
    assert game["deleted_at"] is None
    for key in ({"game_id": game["id"]}, {"slug": "space-chess"}, {"external_game_id": "sc-001"}):
        assert data(send("games.get", key)) == game
        assert data(send("games.get", key, actor=ADMIN)) == game
    [created] = events(db)
    assert (created.type, created.subject, created.account_id, created.data) == (
        "game.created",
        game["id"],
        "acme",
        game,
    )

    minimal = data(send("games.create", {"name": "Go"}))
    assert {k: minimal[k] for k in FULL if k != "name"} == {
        "external_game_id": None,
        "platform": None,
        "description": None,
        "tags": [],
        "page_url": None,
        "steam_app_id": None,
        "anti_cheat_enabled": True,
        "default_board_id": None,
        "strategy_id": "default",
        "params": {},
    }
    assert counts(db) == (2, 2, 2)  # games, outbox rows, idempotency records
    assert events(db)[-1].correlation_id is not None and events(db)[-1].causation_id is not None


def test_slugs_given_generated_and_colliding(send: Send) -> None:
    assert data(send("games.create", {"name": "A", "slug": "my-own"}))["slug"] == "my-own"
    made = [
        data(send("games.create", {"name": "Pokémon Go!"}, actor=a))["slug"] for a in (ACTOR, OTHER)
    ]
    assert made == ["pokemon-go", "pokemon-go-2"]
    assert re.match(r"^game-[a-z0-9]{6}$", data(send("games.create", {"name": "!!"}))["slug"])
    error(send("games.create", {"name": "B", "slug": "my-own"}, actor=OTHER), "conflict", "slug")
    admin_made = data(
        send("games.create", {"name": "Pokémon Go!", "account_id": "initech"}, actor=ADMIN)
    )
    assert (admin_made["account_id"], admin_made["slug"]) == ("initech", "pokemon-go-3")
    assert admin_made["created_by"] == "ops-admin"


def test_patch_delete_restore_and_purge(send: Send, db: Database) -> None:
    game = data(send("games.create", {**FULL, "name": "Chess"}))
    bob = {**ACTOR, "subject": "bob"}
    patched = data(
        send(
            "games.patch",
            {
                "game_id": game["id"],
                "name": " Chess 2 ",
                "platform": None,
                "tags": None,
                "params": None,
                "anti_cheat_enabled": None,
                "strategy_id": None,
                "description": "new",
            },
            actor=bob,
        )
    )
    assert (patched["name"], patched["platform"], patched["tags"], patched["params"]) == (
        "Chess 2",
        None,
        [],
        {},
    )
    assert (patched["anti_cheat_enabled"], patched["strategy_id"]) == (True, "default")
    assert (patched["slug"], patched["external_game_id"]) == (game["slug"], "sc-001")
    assert (patched["created_by"], patched["updated_by"]) == ("api-key-acme", "bob")
    assert patched["updated_at"] >= game["updated_at"]

    same = data(send("games.patch", {"game_id": game["id"], "name": "Chess 2"}))
    assert same == patched  # a no-op patch: the game, no event
    assert [e.type for e in events(db)] == ["game.created", "game.updated"]

    deleted = data(send("games.delete", {"game_id": game["id"]}))
    assert deleted["deleted_at"] is not None
    assert data(send("games.delete", {"game_id": game["id"]})) == deleted
    error(send("games.get", {"game_id": game["id"]}), "not_found")
    assert data(send("games.get", {"game_id": game["id"], "include_deleted": True})) == deleted
    listed = data(send("games.list", {}))
    assert listed["items"] == []
    assert data(send("games.list", {"include_deleted": True}))["items"] == [deleted]

    restored = data(send("games.restore", {"game_id": game["id"]}))
    assert restored["deleted_at"] is None
    assert data(send("games.restore", {"game_id": game["id"]})) == restored
    via_patch = data(send("games.patch", {"game_id": game["id"], "deleted": True}))
    assert via_patch["deleted_at"] is not None
    back = data(send("games.patch", {"game_id": game["id"], "deleted": False, "platform": "ps5"}))
    assert back["deleted_at"] is None and back["platform"] == "ps5"

    data(send("games.params.set", {"game_id": game["id"], "params": {"a": 1, "b": 2}}))
    for ext, params in (("t-1", {"x": 1, "y": 2}), ("t-2", {})):
        task = {"game_id": game["id"], "external_task_id": ext, "params": params}
        data(send("game_tasks.create", task))
    purged = data(send("games.purge", {"game_id": game["id"]}))
    assert purged == {"game_id": game["id"], "tasks_deleted": 2, "params_deleted": 4}
    error(send("games.get", {"game_id": game["id"], "include_deleted": True}), "not_found")
    error(send("games.purge", {"game_id": game["id"]}), "not_found")
    assert [e.type for e in events(db)] == [
        "game.created",
        "game.updated",
        "game.deleted",
        "game.restored",
        "game.deleted",
        "game.updated",
        "game.restored",
        "game.updated",
        "game_task.created",
        "game_task.created",
        "game.purged",
        "command.rejected",  # the second purge
    ]
    assert events(db, "game.purged")[0].data == purged


def test_params_external_ids_and_by_strategy(send: Send) -> None:
    game = data(
        send("games.create", {"name": "A", "params": {"a": 1}, "external_game_id": "ext-a"})
    )
    got = data(
        send("games.params.set", {"game_id": game["id"], "params": {"a": "one", "b": False}})
    )
    assert got["params"] == {"a": "one", "b": False} and is_game(got)
    got = data(send("games.params.delete", {"game_id": game["id"], "keys": ["a", "missing"]}))
    assert got["params"] == {"b": False}
    error(
        send(
            "games.params.set", {"game_id": game["id"], "params": {f"k{i}": i for i in range(100)}}
        ),
        "validation_error",
        "params",
    )  # 101 with the one it has

    other = data(send("games.create", {"name": "B", "strategy_id": "socio_bee", "platform": "pc"}))
    foreign = data(send("games.create", {"name": "C", "external_game_id": "ext-c"}, actor=OTHER))
    ids = [game["id"], other["id"], foreign["id"], "gam_unknown", "not-even-an-id"]
    assert data(send("games.external_ids", {"game_ids": ids})) == {"mapping": {game["id"]: "ext-a"}}
    assert data(send("games.external_ids", {"game_ids": ids}, actor=ADMIN)) == {
        "mapping": {game["id"]: "ext-a", foreign["id"]: "ext-c"}
    }

    page = data(send("games.by_strategy", {"strategy_id": "socio_bee"}))
    assert is_page(page)
    assert page["items"] == [{"game_id": other["id"], "external_game_id": None, "platform": "pc"}]
    assert data(send("games.by_strategy", {"strategy_id": "default"}, actor=OTHER))["items"] == [
        {"game_id": foreign["id"], "external_game_id": "ext-c", "platform": None}
    ]
    many = [
        data(send("games.create", {"name": f"S{i}", "strategy_id": "greencrowdStrategy"}))["id"]
        for i in range(3)
    ]
    first = data(send("games.by_strategy", {"strategy_id": "greencrowdStrategy", "limit": 2}))
    assert [r["game_id"] for r in first["items"]] == sorted(many)[:2]
    second = data(
        send(
            "games.by_strategy",
            {
                "strategy_id": "greencrowdStrategy",
                "limit": 2,
                "cursor": first["pagination"]["next_cursor"],
            },
        )
    )
    assert [r["game_id"] for r in second["items"]] == sorted(many)[2:]
    assert second["pagination"]["has_next"] is False
    error(
        send(
            "games.by_strategy",
            {"strategy_id": "default", "cursor": first["pagination"]["next_cursor"]},
        ),
        "invalid_cursor",
        "cursor",
    )


def test_list_pages_filters_and_totals(send: Send) -> None:
    made = [
        data(send("games.create", {"name": f"Game {i}", "tags": ["even" if i % 2 == 0 else "odd"]}))
        for i in range(5)
    ]
    data(send("games.create", {"name": "Foreign"}, actor=OTHER))
    first = data(send("games.list", {"limit": 2, "with_total": True}))
    assert is_page(first)
    assert [g["id"] for g in first["items"]] == [made[4]["id"], made[3]["id"]]  # newest first
    assert first["pagination"]["total"] == 5 and first["pagination"]["count"] == 2
    assert first["pagination"]["has_prev"] is False and first["pagination"]["prev_cursor"] is None
    second = data(send("games.list", {"limit": 2, "cursor": first["pagination"]["next_cursor"]}))
    assert [g["id"] for g in second["items"]] == [made[2]["id"], made[1]["id"]]
    assert second["pagination"]["total"] is None
    back = data(send("games.list", {"limit": 2, "cursor": second["pagination"]["prev_cursor"]}))
    assert back["items"] == first["items"] and back["pagination"]["has_prev"] is False

    by_name = data(send("games.list", {"sort": "name:DESC", "filters": {"tag": "even"}}))
    assert [g["name"] for g in by_name["items"]] == ["Game 4", "Game 2", "Game 0"]
    contains = data(send("games.list", {"filters": {"name_contains": "GAME 3"}}))
    assert [g["id"] for g in contains["items"]] == [made[3]["id"]]
    window = {"created_after": made[1]["created_at"], "created_before": made[3]["created_at"]}
    in_window = data(send("games.list", {"filters": window, "sort": "created_at:asc"}))
    assert [g["id"] for g in in_window["items"]] == [made[1]["id"], made[2]["id"]]
    everyone = data(send("games.list", {"with_total": True}, actor=ADMIN))
    assert everyone["pagination"]["total"] == 6
    theirs = data(send("games.list", {"account_id": "globex"}, actor=ADMIN))
    assert [g["name"] for g in theirs["items"]] == ["Foreign"]


def test_invalid_cursors(send: Send) -> None:
    for i in range(3):
        data(send("games.create", {"name": f"G{i}", "platform": "pc"}))
    data(send("games.create", {"name": "Theirs"}, actor=OTHER))
    query: dict[str, Any] = {"limit": 1, "sort": "name:asc", "filters": {"platform": "pc"}}
    cursor = data(send("games.list", query))["pagination"]["next_cursor"]
    assert data(send("games.list", {**query, "cursor": cursor}))["items"][0]["name"] == "G1"
    body, _, sig = cursor.partition(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    for bad in ["garbage", "x.y", cursor[:-4], f"{flipped}.{sig}", f"{body}.{sig[::-1]}"]:
        error(send("games.list", {**query, "cursor": bad}), "invalid_cursor", "cursor")
    for other in [
        {"sort": "name:desc"},
        {"sort": "created_at:asc"},
        {"filters": {"platform": "ps5"}},
        {"filters": {}},
        {"include_deleted": True},
    ]:
        error(send("games.list", {**query, **other, "cursor": cursor}), "invalid_cursor")
    error(send("games.list", {**query, "cursor": cursor}, actor=OTHER), "invalid_cursor")
    error(send("games.list", {**query, "cursor": cursor}, actor=ADMIN), "invalid_cursor")
    # an admin asking for the same account's list asks the same query: the cursor is valid
    same = send("games.list", {**query, "cursor": cursor, "account_id": "acme"}, actor=ADMIN)
    assert data(same)["items"][0]["name"] == "G1"
    task_game = data(send("games.create", {"name": "With tasks"}))
    error(
        send("game_tasks.list", {"game_id": task_game["id"], "cursor": cursor}),
        "invalid_cursor",
    )
