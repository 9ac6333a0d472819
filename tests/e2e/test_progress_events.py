"""A cascade's progress reaches Flower: a ``task-progress`` event besides the PROGRESS state.

Flower builds task state from Celery events; a custom event type becomes the task's state, so
``task-progress`` shows the running rollback as PROGRESS with ``done``/``total``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.events.state import State

from domain.services import strategy_lifecycle
from tasks.base import CommandTask
from tests.conftest import ACTOR, Send

pytestmark = pytest.mark.sqlite_only
ADMIN = {**ACTOR, "roles": ["strategy_admin"]}


def test_a_rollback_cascade_sends_progress_events(
    send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(strategy_lifecycle, "PROGRESS_OVER", 0)  # report even two rows
    monkeypatch.setattr(
        CommandTask, "send_event", lambda self, type_, **fields: sent.append((type_, fields))
    )
    v1 = send("strategies.create", {"name": "Boost", "definition": {}}, actor=ADMIN)["data"]
    send("strategies.publish", {"strategy_id": v1["id"]}, actor=ADMIN)
    v2 = send("strategies.update", {"strategy_id": v1["id"], "definition": {"x": 1}}, actor=ADMIN)
    send("strategies.publish", {"strategy_id": v2["data"]["id"]}, actor=ADMIN)
    for name in ("A", "B"):
        game = send("games.create", {"name": name, "strategy_id": f"custom:{v2['data']['id']}"})
        assert game["ok"], game
    rolled = send(
        "strategies.rollback",
        {"strategy_id": v2["data"]["id"], "target_version": 1},
        actor=ADMIN,
    )
    assert rolled["ok"] and rolled["data"]["games_reassigned"] == 2
    progress = [fields for kind, fields in sent if kind == "task-progress"]
    assert progress[0] == {"done": 0, "total": 2}
    assert progress[-1] == {"done": 2, "total": 2}


def test_flower_state_shows_a_task_progress_event_as_progress() -> None:
    state = State()
    now = time.time()
    base = {"uuid": "t-1", "hostname": "w@h", "timestamp": now, "local_received": now, "clock": 1}
    state.event({**base, "type": "task-received", "name": "strategies.rollback"})
    state.event({**base, "type": "task-started"})
    state.event({**base, "type": "task-progress", "done": 10_000, "total": 30_000})
    task = state.tasks["t-1"]
    assert task.state == "PROGRESS"
    assert (task.done, task.total) == (10_000, 30_000)  # type: ignore[attr-defined]
