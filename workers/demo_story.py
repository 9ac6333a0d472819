"""The demo's story, told as an upstream service would: through the typed client only.

An account creates games and game tasks, creates and publishes strategy v1, then v2, moves
games onto it, rolls back to v1 (the games follow), pages through its games with cursors, and
meets one refusal (a duplicate name) on the way. Every step is recorded for the summary.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from pydantic import BaseModel

from workers.client import CommandError, GameworkerClient

BRIEF = 160  # characters of an answer shown per step


@dataclass
class Step:
    number: int
    title: str
    task: str
    expected: str
    outcome: str
    ms: float

    @property
    def as_expected(self) -> bool:
        return self.outcome == self.expected


def brief(value: Any) -> str:
    """One line of an answer: long lists and definitions shortened."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= BRIEF else text[: BRIEF - 3] + "..."


class Story:
    def __init__(self, client: GameworkerClient, out: TextIO, between: Callable[[], None]) -> None:
        self.client = client
        self.out = out
        self.between = between  # called after each step: prints the events that came
        self.steps: list[Step] = []
        self.run_id = uuid.uuid4().hex[:6]
        self.actor = {
            "account_id": f"demo-{self.run_id}",
            "subject": "upstream-api-key-1",
            "roles": ["strategy_admin"],
        }

    def step(self, title: str, task: str, call: Callable[[], Any], expect: str = "ok") -> Any:
        number = len(self.steps) + 1
        started = time.perf_counter()
        try:
            answer = call()
            outcome, shown = "ok", answer
        except CommandError as err:
            answer, outcome = None, err.code
            shown = {"code": err.code, "message": err.message, "details": err.details}
        ms = (time.perf_counter() - started) * 1000
        self.steps.append(Step(number, title, task, expect, outcome, ms))
        mark = (
            "ok" if outcome == "ok" else f"{outcome} (expected)" if outcome == expect else outcome
        )
        print(f"\n[{number:>2}] {title}  ->  {task}: {mark}  {ms:.0f} ms", file=self.out)
        data = shown.model_dump(mode="json") if isinstance(shown, BaseModel) else shown
        print(f"     {brief(data)}", file=self.out, flush=True)
        self.between()
        return answer

    def run(self) -> list[Step]:
        c, a, run = self.client, self.actor, self.run_id
        chess = self.step(
            "create a game",
            "games.create",
            lambda: c.games.create(
                a,
                {
                    "name": "Space Chess",
                    "slug": f"space-chess-{run}",
                    "external_game_id": f"steam-{run}-1",
                    "platform": "pc",
                    "tags": ["strategy", "chess"],
                    "params": {"difficulty": "hard", "max_players": 2},
                },
            ),
        )
        racer = self.step(
            "create another",
            "games.create",
            lambda: c.games.create(
                a, {"name": "Moon Racer", "slug": f"moon-racer-{run}", "platform": "switch"}
            ),
        )
        self.step(
            "and a third",
            "games.create",
            lambda: c.games.create(a, {"name": "Orbit Golf", "slug": f"orbit-golf-{run}"}),
        )
        self.step(
            "a duplicate name is refused",
            "games.create",
            lambda: c.games.create(a, {"name": "Space Chess"}),
            expect="conflict",
        )
        win = self.step(
            "add a task to Space Chess",
            "game_tasks.create",
            lambda: c.game_tasks.create(a, {"game_id": chess.id, "external_task_id": "win-3"}),
        )
        self.step(
            "and another",
            "game_tasks.create",
            lambda: c.game_tasks.create(
                a, {"game_id": chess.id, "external_task_id": "play-10-min", "status": "open"}
            ),
        )
        v1 = self.step(
            "create strategy 'Weekend boost' v1",
            "strategies.create",
            lambda: c.strategies.create(
                a,
                {
                    "name": "Weekend boost",
                    "description": "double points on weekends",
                    "definition": {"rules": [{"when": "weekend", "multiplier": 2}]},
                },
            ),
        )
        self.step(
            "publish v1",
            "strategies.publish",
            lambda: c.strategies.publish(a, {"strategy_id": v1.id}),
        )
        v2 = self.step(
            "change it: v2 (a new draft)",
            "strategies.update",
            lambda: c.strategies.update(
                a,
                {
                    "strategy_id": v1.id,
                    "definition": {"rules": [{"when": "weekend", "multiplier": 3}]},
                },
            ),
        )
        self.step(
            "publish v2 (v1 is archived)",
            "strategies.publish",
            lambda: c.strategies.publish(a, {"strategy_id": v2.id}),
        )
        custom = f"custom:{v2.id}"
        self.step(
            "assign Space Chess to v2",
            "games.patch",
            lambda: c.games.patch(a, {"game_id": chess.id, "strategy_id": custom}),
        )
        self.step(
            "assign Moon Racer to v2",
            "games.patch",
            lambda: c.games.patch(a, {"game_id": racer.id, "strategy_id": custom}),
        )
        self.step(
            "assign a task to v2",
            "game_tasks.patch",
            lambda: c.game_tasks.patch(a, {"task_id": win.id, "strategy_id": custom}),
        )
        self.step(
            "who uses v2?",
            "strategies.usage",
            lambda: c.strategies.usage(a, {"strategy_id": v2.id}),
        )
        self.step(
            "roll back to v1 (games and tasks follow)",
            "strategies.rollback",
            lambda: c.strategies.rollback(a, {"strategy_id": v2.id, "target_version": 1}),
        )
        self.step(
            "Space Chess is on v1 again",
            "games.get",
            lambda: c.games.get(a, {"slug": f"space-chess-{run}"}),
        )
        first = self.step(
            "list games, 2 per page",
            "games.list",
            lambda: c.games.list(a, {"limit": 2, "sort": "name:asc"}),
        )
        second = self.step(
            "next page (cursor)",
            "games.list",
            lambda: c.games.list(
                a, {"limit": 2, "sort": "name:asc", "cursor": first.pagination.next_cursor}
            ),
        )
        self.step(
            "back to the first page",
            "games.list",
            lambda: c.games.list(
                a, {"limit": 2, "sort": "name:asc", "cursor": second.pagination.prev_cursor}
            ),
        )
        self.step(
            "the audit log",
            "strategies.audit",
            lambda: c.strategies.audit(a, {"strategy_id": v1.id}),
        )
        return self.steps
