"""A cascade over more than 10,000 rows reports Celery state PROGRESS {done, total}."""

from __future__ import annotations

from typing import Any

import pytest

from persistence.database import Database
from tests.conftest import Send
from tests.invariants import strategy_refs_hold  # noqa: F401  (autouse: checked after each test)
from tests.seed import seed_games
from workers.app import GameworkerCelery

MANAGER = {"account_id": "acme", "subject": "mia", "roles": ["strategy_admin"]}


@pytest.fixture
def states(celery_app: GameworkerCelery, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every state the tasks store in the result backend, in order (the worker's threads have
    backends of their own: the class is patched, not the instance)."""
    seen: list[tuple[str, Any]] = []
    backend_class = type(celery_app.backend)
    original = backend_class.store_result

    def store_result(self: Any, task_id: str, result: Any, state: str, *a: Any, **kw: Any) -> Any:
        seen.append((state, result))
        return original(self, task_id, result, state, *a, **kw)

    monkeypatch.setattr(backend_class, "store_result", store_result)
    return seen


def test_a_large_rollback_reports_progress(send: Send, db: Database, states: list[Any]) -> None:
    v1 = send("strategies.create", {"name": "Big", "definition": {}})["data"]
    send("strategies.publish", {"strategy_id": v1["id"]}, actor=MANAGER)
    v2 = send("strategies.update", {"strategy_id": v1["id"], "description": "2"})["data"]
    send("strategies.publish", {"strategy_id": v2["id"]}, actor=MANAGER)
    seed_games(db, 10_001, "acme", "custom:" + v2["id"], tasks_per_game=0)
    seed_games(db, 3, "acme", "custom:" + v2["id"], tasks_per_game=2)
    states.clear()
    cmd = {"strategy_id": v2["id"], "target_version": 1}
    result = send("strategies.rollback", cmd, actor=MANAGER, timeout=120)
    assert result["ok"] and result["data"]["games_reassigned"] == 10_004
    assert result["data"]["tasks_reassigned"] == 6
    progress = [meta for state, meta in states if state == "PROGRESS"]
    total = 10_010
    assert progress[0] == {"done": 0, "total": total}
    assert progress[-1] == {"done": total, "total": total}
    assert {"done": 10_000, "total": total} in progress  # the first keyed batch of games
    dones = [p["done"] for p in progress]
    assert dones == sorted(dones)
    assert states[-1][0] == "SUCCESS"


def test_a_small_rollback_reports_no_progress(send: Send, db: Database, states: list[Any]) -> None:
    v1 = send("strategies.create", {"name": "Small", "definition": {}})["data"]
    send("strategies.publish", {"strategy_id": v1["id"]}, actor=MANAGER)
    v2 = send("strategies.update", {"strategy_id": v1["id"], "description": "2"})["data"]
    send("strategies.publish", {"strategy_id": v2["id"]}, actor=MANAGER)
    seed_games(db, 50, "acme", "custom:" + v2["id"])
    states.clear()
    send("strategies.rollback", {"strategy_id": v2["id"], "target_version": 1}, actor=MANAGER)
    assert [s for s, _ in states if s == "PROGRESS"] == []
