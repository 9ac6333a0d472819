"""Many games and game tasks at once, by bulk Core inserts (no services, no events)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from domain import ids
from domain.clock import utcnow
from persistence.database import Database
from persistence.tables import game_tasks, games

CHUNK = 5_000


def seed_games(
    db: Database, n: int, account_id: str, strategy_id: str, tasks_per_game: int = 0
) -> list[str]:
    """Insert ``n`` games (and ``tasks_per_game`` tasks each) on ``strategy_id``; their ids."""
    now = utcnow()
    tag = ids.new_id("")[-8:]
    game_ids = [ids.new_id(ids.GAME) for _ in range(n)]
    with db.engine.begin() as conn:
        for start in range(0, n, CHUNK):
            rows = [
                {
                    "id": gid,
                    "account_id": account_id,
                    "name": f"seed {tag} {i}",
                    "slug": f"seed-{tag}-{i}",
                    "tags": [],
                    "anti_cheat_enabled": True,
                    "strategy_id": strategy_id,
                    "created_by": "seed",
                    "updated_by": "seed",
                    "created_at": now - timedelta(days=1),
                    "updated_at": now - timedelta(days=1),
                }
                for i, gid in enumerate(game_ids[start : start + CHUNK], start)
            ]
            conn.execute(insert(games), rows)
        tasks = [
            {
                "id": ids.new_id(ids.GAME_TASK),
                "game_id": gid,
                "account_id": account_id,
                "external_task_id": f"t{k}",
                "strategy_id": strategy_id,
                "status": "open",
                "created_at": now - timedelta(days=1),
                "updated_at": now - timedelta(days=1),
            }
            for gid in game_ids
            for k in range(tasks_per_game)
        ]
        for start in range(0, len(tasks), CHUNK):
            conn.execute(insert(game_tasks), tasks[start : start + CHUNK])
    return game_ids
