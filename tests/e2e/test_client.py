"""The typed client, through the embedded worker: typed answers, typed errors, raw sends.

The client does not depend on the store, so these run on SQLite only.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from typing import Any

import pytest
from celery.result import AsyncResult

from tasks.catalog import COMMANDS
from tasks.messages import GameCreate
from tasks.result_models import Game, GameTask, Page, Strategy
from tests.conftest import ACTOR, OTHER
from workers.app import GameworkerCelery
from workers.client import (
    CommandError,
    CommandFailed,
    CommandTimeout,
    Conflict,
    Forbidden,
    GameworkerClient,
    InvalidCursor,
    NotFound,
    ValidationFailed,
)
from workers.client_commands import Games, GameTasks, Strategies

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def client(db: Any, celery_app: GameworkerCelery, worker: Any) -> GameworkerClient:
    return GameworkerClient(celery_app, timeout=30)


def test_create_returns_a_typed_game(client: GameworkerClient) -> None:
    game = client.games.create(ACTOR, {"name": "Space Chess", "tags": ["a", "b"]})
    assert isinstance(game, Game)
    assert (game.name, game.slug, game.tags, game.account_id) == (
        "Space Chess",
        "space-chess",
        ["a", "b"],
        "acme",
    )
    assert game.created_at.tzinfo is not None
    again = client.games.get(ACTOR, {"game_id": game.id})
    assert again == game


def test_a_message_model_is_accepted_as_data(client: GameworkerClient) -> None:
    game = client.games.create(ACTOR, GameCreate(name="Moon Racer", platform="pc"))
    assert (game.name, game.platform, game.strategy_id) == ("Moon Racer", "pc", "default")


def test_pages_and_tasks_are_typed(client: GameworkerClient) -> None:
    game = client.games.create(ACTOR, {"name": "Space Chess"})
    task = client.game_tasks.create(ACTOR, {"game_id": game.id, "external_task_id": "win-3"})
    assert isinstance(task, GameTask) and task.status == "open"
    for name in ("B", "C"):
        client.games.create(ACTOR, {"name": name})
    first = client.games.list(ACTOR, {"limit": 2, "sort": "name:asc"})
    assert isinstance(first, Page)
    assert [g.name for g in first.items] == ["B", "C"]
    assert first.pagination.has_next and first.pagination.next_cursor
    second = client.games.list(
        ACTOR, {"limit": 2, "sort": "name:asc", "cursor": first.pagination.next_cursor}
    )
    assert [g.name for g in second.items] == ["Space Chess"]
    assert not second.pagination.has_next


@pytest.mark.parametrize(
    ("task", "actor", "data", "error"),
    [
        ("games.create", ACTOR, {"name": ""}, ValidationFailed),
        ("games.get", ACTOR, {"game_id": "gam_missing"}, NotFound),
        ("games.list", ACTOR, {"cursor": "garbled"}, InvalidCursor),
        ("strategies.publish", ACTOR, {"strategy_id": "stg_x"}, Forbidden),
    ],
)
def test_each_error_code_raises_its_class(
    client: GameworkerClient, task: str, actor: dict[str, Any], data: dict[str, Any], error: type
) -> None:
    with pytest.raises(error) as caught:
        client.call(task, actor, data)
    assert isinstance(caught.value, CommandError)
    assert caught.value.code == error.code
    assert caught.value.task == task and caught.value.message


def test_conflict_names_the_field(client: GameworkerClient) -> None:
    client.games.create(ACTOR, {"name": "Space Chess"})
    with pytest.raises(Conflict) as caught:
        client.games.create(ACTOR, {"name": "Space Chess"})
    assert "name" in caught.value.fields


def test_validation_error_names_the_fields(client: GameworkerClient) -> None:
    with pytest.raises(ValidationFailed) as caught:
        client.games.create(ACTOR, {"name": "x", "colour": "red"})
    assert "colour" in caught.value.fields


def test_another_accounts_game_is_not_found(client: GameworkerClient) -> None:
    game = client.games.create(ACTOR, {"name": "Space Chess"})
    with pytest.raises(NotFound):
        client.games.get(OTHER, {"game_id": game.id})


def test_idempotency_key_answers_the_first_result(client: GameworkerClient) -> None:
    first = client.games.create(ACTOR, {"name": "Space Chess"}, idempotency_key="k-1")
    again = client.games.create(ACTOR, {"name": "Space Chess"}, idempotency_key="k-1")
    assert again == first


def test_send_returns_an_async_result_to_wait_on(client: GameworkerClient) -> None:
    pending = client.send("games.create", ACTOR, {"name": "Space Chess"})
    assert isinstance(pending, AsyncResult)
    answer = client.wait(pending, task="games.create")
    assert answer["ok"] and answer["data"]["name"] == "Space Chess"


def test_strategies_are_typed(client: GameworkerClient) -> None:
    admin = {**ACTOR, "roles": ["strategy_admin"]}
    v1 = client.strategies.create(admin, {"name": "Boost", "definition": {"x": 1}})
    assert isinstance(v1, Strategy) and (v1.version, v1.status) == (1, "DRAFT")
    published = client.strategies.publish(admin, {"strategy_id": v1.id})
    assert published.status == "PUBLISHED"


def test_a_maintenance_task_answers_its_summary(client: GameworkerClient) -> None:
    summary = client.call("maintenance.prune", None, {})
    assert isinstance(summary, dict) and "complete" in summary


def test_a_client_from_a_broker_url_needs_no_gameworker_app(
    db: Any, celery_app: GameworkerCelery, worker: Any
) -> None:
    """memory:// and cache+memory:// are process-wide: a plain Celery app reaches the worker."""
    with GameworkerClient("memory://", "cache+memory://", timeout=30) as plain:
        game = plain.games.create(ACTOR, {"name": "Orbit Golf"})
    assert game.slug == "orbit-golf"


def test_a_broker_url_other_than_redis_needs_the_result_backend() -> None:
    with pytest.raises(ValueError, match="GAMEWORKER_RESULT_BACKEND"):
        GameworkerClient("amqp://guest:guest@localhost//")


def test_no_answer_in_time_raises_command_timeout(client: GameworkerClient) -> None:
    stray = client.send("games.nonexistent", ACTOR, {}, queue="nobody-listens-here")
    with pytest.raises(CommandTimeout) as caught:
        client.wait(stray, task="games.nonexistent", timeout=0.3)
    assert caught.value.task_id == stray.id


def test_a_failed_task_raises_command_failed(client: GameworkerClient) -> None:
    class Failing:
        id = "t-1"
        state = "FAILURE"
        info = None
        result = RuntimeError("database gone")

    with pytest.raises(CommandFailed) as caught:
        client.wait(Failing(), task="games.create")  # type: ignore[arg-type]
    assert "database gone" in caught.value.error


def test_progress_is_reported_while_the_task_runs(client: GameworkerClient) -> None:
    class Running:
        id = "t-2"
        polls = 0

        @property
        def state(self) -> str:
            self.polls += 1
            return "PROGRESS" if self.polls < 4 else "SUCCESS"

        @property
        def info(self) -> dict[str, int]:
            return {"done": min(self.polls, 3) * 10, "total": 30}

        result = {"ok": True, "data": {}}

    seen: list[tuple[int, int]] = []
    client.wait(Running(), interval=0, on_progress=lambda d, t: seen.append((d, t)))  # type: ignore[arg-type]
    assert seen == [(10, 30), (20, 30), (30, 30)]


def test_data_must_be_a_mapping_or_model(client: GameworkerClient) -> None:
    with pytest.raises(TypeError):
        client.send("games.create", ACTOR, ["not", "a", "mapping"])  # type: ignore[arg-type]


def test_every_command_has_a_method_returning_its_result_model() -> None:
    methods = {}
    for prefix, namespace in (
        ("games", Games),
        ("game_tasks", GameTasks),
        ("strategies", Strategies),
    ):
        for name, fn in vars(namespace).items():
            if not name.startswith("_"):
                methods[(prefix, name)] = typing.get_type_hints(fn)["return"]
    special = {"games.params.set": "set_params", "games.params.delete": "delete_params"}
    for task, command in COMMANDS.items():
        prefix = task.split(".")[0]
        method = special.get(task, task.split(".", 1)[1])
        assert methods.pop((prefix, method)) is command.result, task
    assert methods == {}, "client methods without a contract command"


def test_the_client_imports_no_persistence_nor_worker() -> None:
    code = (
        "import sys, workers.client\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('persistence', 'sqlalchemy', 'alembic', 'psycopg', 'celeryconfig') "
        "or m.startswith(('domain.services', 'workers.app', 'tasks.base', 'tasks.games'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
