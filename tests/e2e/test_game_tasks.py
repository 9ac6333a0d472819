"""Every ``game_tasks.*`` command through the embedded worker, on both stores."""

from __future__ import annotations

from persistence.database import Database
from tests.conftest import ADMIN, Send
from tests.e2e.helpers import TASK_FIELDS, data, error, events, is_page


def test_game_tasks_from_create_to_delete(send: Send, db: Database) -> None:
    game = data(send("games.create", {"name": "Chess"}))
    task = data(send("game_tasks.create", {"game_id": game["id"], "external_task_id": "t-1"}))
    assert list(task) == TASK_FIELDS
    assert task["id"].startswith("tsk_") and task["game_id"] == game["id"]
    assert (task["status"], task["strategy_id"], task["params"]) == ("open", "default", {})
    full = data(
        send(
            "game_tasks.create",
            {
                "game_id": game["id"],
                "external_task_id": "t-2",
                "status": "running",
                "strategy_id": "greengageStrategy",
                "params": {"points": 10, "bonus": 1.5, "daily": True},
            },
        )
    )
    assert data(send("game_tasks.get", {"task_id": full["id"]})) == full
    assert data(send("game_tasks.get", {"task_id": full["id"]}, actor=ADMIN)) == full
    by_ext = {"game_id": game["id"], "external_task_id": "t-2"}
    assert data(send("game_tasks.get", by_ext)) == full
    error(send("game_tasks.get", {"game_id": game["id"], "external_task_id": "t-9"}), "not_found")

    patched = data(
        send("game_tasks.patch", {"task_id": full["id"], "status": "done", "params": {"p": 1}})
    )
    assert (patched["status"], patched["params"], patched["strategy_id"]) == (
        "done",
        {"p": 1},
        "greengageStrategy",
    )
    assert data(send("game_tasks.patch", {"task_id": full["id"], "status": "done"})) == patched
    reset = data(
        send(
            "game_tasks.patch",
            {"task_id": full["id"], "status": None, "strategy_id": None, "params": None},
        )
    )
    assert (reset["status"], reset["strategy_id"], reset["params"]) == ("open", "default", {})

    assert data(send("game_tasks.delete", {"task_id": task["id"]})) == {"task_id": task["id"]}
    error(send("game_tasks.get", {"task_id": task["id"]}), "not_found")
    error(send("game_tasks.delete", {"task_id": task["id"]}), "not_found")
    assert [
        e.type for e in events(db, "game_task.created", "game_task.updated", "game_task.deleted")
    ] == [
        "game_task.created",
        "game_task.created",
        "game_task.updated",
        "game_task.updated",
        "game_task.deleted",
    ]
    assert events(db, "game_task.deleted")[0].data == {"task_id": task["id"], "game_id": game["id"]}

    data(send("games.delete", {"game_id": game["id"]}))
    error(
        send("game_tasks.create", {"game_id": game["id"], "external_task_id": "t-3"}), "not_found"
    )
    assert data(send("game_tasks.get", by_ext)) == reset  # a deleted game's tasks are readable


def test_game_tasks_list(send: Send) -> None:
    game = data(send("games.create", {"name": "Chess"}))
    other = data(send("games.create", {"name": "Other"}))
    made = [
        data(
            send(
                "game_tasks.create",
                {
                    "game_id": game["id"],
                    "external_task_id": f"t-{i}",
                    "status": "done" if i % 2 else "open",
                },
            )
        )
        for i in range(5)
    ]
    data(send("game_tasks.create", {"game_id": other["id"], "external_task_id": "elsewhere"}))
    first = data(send("game_tasks.list", {"game_id": game["id"], "limit": 2, "with_total": True}))
    assert is_page(first)
    assert [t["id"] for t in first["items"]] == [made[4]["id"], made[3]["id"]]
    assert first["pagination"]["total"] == 5 and first["pagination"]["has_prev"] is False
    query = {"game_id": game["id"], "sort": "status:asc,external_task_id:desc", "limit": 2}
    walked, cursor = [], None
    while True:
        page = data(send("game_tasks.list", {**query, **({"cursor": cursor} if cursor else {})}))
        walked += [t["external_task_id"] for t in page["items"]]
        if not page["pagination"]["has_next"]:
            break
        cursor = page["pagination"]["next_cursor"]
    assert walked == ["t-3", "t-1", "t-4", "t-2", "t-0"]  # done < open, then descending
    back = data(send("game_tasks.list", {**query, "cursor": page["pagination"]["prev_cursor"]}))
    assert [t["external_task_id"] for t in back["items"]] == ["t-4", "t-2"]
    done = data(send("game_tasks.list", {"game_id": game["id"], "filters": {"status": "done"}}))
    assert {t["external_task_id"] for t in done["items"]} == {"t-1", "t-3"}
    error(
        send("game_tasks.list", {**query, "game_id": other["id"], "cursor": cursor}),
        "invalid_cursor",
    )
    error(
        send("game_tasks.list", {**query, "filters": {"status": "open"}, "cursor": cursor}),
        "invalid_cursor",
    )
