"""Games through a worker on Redis (broker and results) and PostgreSQL."""

from __future__ import annotations

from persistence.database import Database
from tests.conftest import OTHER, Send
from tests.e2e.helpers import counts, data, error, events, is_game, is_page


def test_games_on_redis_and_postgres(redis_send: Send, pg_db: Database) -> None:
    send = redis_send
    game = data(
        send("games.create", {"name": "Space Chess", "tags": ["a"], "params": {"p": 1}}, key="k-1")
    )
    assert is_game(game) and game["slug"] == "space-chess"
    assert send("games.create", {"name": "Space Chess"}, key="k-1") == {"ok": True, "data": game}
    assert data(send("games.get", {"slug": "space-chess"})) == game
    listed = data(send("games.list", {"with_total": True}))
    assert is_page(listed) and listed["items"] == [game] and listed["pagination"]["total"] == 1
    patched = data(send("games.patch", {"game_id": game["id"], "platform": "pc"}))
    assert patched["platform"] == "pc"
    error(send("games.get", {"game_id": game["id"]}, actor=OTHER), "not_found")
    data(
        send(
            "game_tasks.create",
            {"game_id": game["id"], "external_task_id": "t", "params": {"x": 1}},
        )
    )
    purged = data(send("games.purge", {"game_id": game["id"]}))
    assert purged == {"game_id": game["id"], "tasks_deleted": 1, "params_deleted": 2}
    assert [e.type for e in events(pg_db)] == [
        "game.created",
        "game.updated",
        "game_task.created",
        "game.purged",
    ]
    assert counts(pg_db)[0] == 0
