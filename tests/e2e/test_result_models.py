"""Every command's real answer has exactly the shape of its result model (no field more or less).

The result models (``tasks/result_models.py``) are what the client parses into and what the
JSON Schemas and the AsyncAPI document publish; this walks every contract command through the
embedded worker and compares the key tree of each answer with the model's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from tasks.catalog import COMMANDS
from tasks.result_models import Failed
from tests.conftest import ACTOR
from workers.app import GameworkerCelery
from workers.client import GameworkerClient

pytestmark = pytest.mark.sqlite_only
ADMIN_ROLE = {**ACTOR, "roles": ["strategy_admin"]}


def shape(value: Any) -> Any:
    """The key tree of a JSON value: objects by their keys, lists by their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


class Checker:
    def __init__(self, client: GameworkerClient) -> None:
        self.client = client
        self.checked: set[str] = set()

    def __call__(self, task: str, data: dict[str, Any], actor: Any = ADMIN_ROLE) -> Any:
        answer = self.client.wait(self.client.send(task, actor, data), task=task)
        assert answer["ok"], (task, answer)
        assert set(answer) == {"ok", "data"}
        adapter: TypeAdapter[Any] = TypeAdapter(COMMANDS[task].result)
        parsed = adapter.validate_python(answer["data"])
        assert shape(adapter.dump_python(parsed, mode="json")) == shape(answer["data"]), task
        self.checked.add(task)
        return answer["data"]


@pytest.fixture
def check(db: Any, celery_app: GameworkerCelery, worker: Any) -> Checker:
    return Checker(GameworkerClient(celery_app, timeout=30))


def test_every_answer_has_the_shape_of_its_model(check: Checker) -> None:
    game = check(
        "games.create",
        {"name": "Space Chess", "external_game_id": "ext-1", "tags": ["a"], "params": {"k": 1}},
    )
    other = check("games.create", {"name": "Moon Racer"})
    check("games.get", {"game_id": game["id"]})
    check("games.list", {"limit": 1, "with_total": True})
    check("games.patch", {"game_id": game["id"], "platform": "pc"})
    check("games.params.set", {"game_id": game["id"], "params": {"x": "y"}})
    check("games.params.delete", {"game_id": game["id"], "keys": ["x"]})
    check("games.external_ids", {"game_ids": [game["id"], other["id"]]})
    check("games.by_strategy", {"strategy_id": "default"})
    task = check("game_tasks.create", {"game_id": game["id"], "external_task_id": "t-1"})
    check("game_tasks.get", {"task_id": task["id"]})
    check("game_tasks.list", {"game_id": game["id"]})
    check("game_tasks.patch", {"task_id": task["id"], "status": "done"})

    v1 = check("strategies.create", {"name": "Boost", "definition": {"m": 2}})
    check("strategies.get", {"strategy_id": v1["id"]})
    check("strategies.list", {})
    check("strategies.publish", {"strategy_id": v1["id"]})
    v2 = check("strategies.update", {"strategy_id": v1["id"], "definition": {"m": 3}})
    check("strategies.publish", {"strategy_id": v2["id"]})
    check("games.patch", {"game_id": game["id"], "strategy_id": f"custom:{v2['id']}"})
    check("game_tasks.patch", {"task_id": task["id"], "strategy_id": f"custom:{v2['id']}"})
    check("strategies.versions", {"strategy_id": v1["id"]})
    check("strategies.usage", {"strategy_id": v2["id"]})
    check("strategies.rollback", {"strategy_id": v2["id"], "target_version": 1})
    check("strategies.audit", {"strategy_id": v1["id"]})
    v3 = check("strategies.update", {"strategy_id": v1["id"], "definition": {"m": 4}})
    run_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    op = check(
        "strategies.schedule", {"strategy_id": v3["id"], "action": "publish", "run_at": run_at}
    )
    check("strategies.schedules", {})
    check("strategies.schedule_cancel", {"schedule_id": op["schedule_id"]})
    check("strategies.archive", {"strategy_id": v3["id"]})

    check("game_tasks.delete", {"task_id": task["id"]})
    check("games.delete", {"game_id": other["id"]})
    check("games.restore", {"game_id": other["id"]})
    check("games.purge", {"game_id": game["id"]})
    assert check.checked == set(COMMANDS)


def test_an_error_answer_has_the_shape_of_failed(check: Checker) -> None:
    client = check.client
    answer = client.wait(client.send("games.get", ACTOR, {"game_id": "gam_nope"}))
    parsed = Failed.model_validate(answer)
    assert shape(parsed.model_dump(mode="json")) == shape(answer)
    assert parsed.error.code == "not_found"
