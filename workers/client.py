"""A small typed client for upstream services: contract commands over plain ``send_task``.

    from workers.client import GameworkerClient, NotFound

    client = GameworkerClient("redis://redis:6379/0")           # or an existing Celery app
    actor = {"account_id": "acme", "subject": "api-key-1"}
    game = client.games.create(actor, {"name": "Space Chess"})  # -> Game (pydantic)
    try:
        client.games.get(actor, {"slug": "nope"})
    except NotFound as err:
        print(err.code, err.message, err.details)

Each call sends the task by name to its queue (contract section 1), waits for the answer, and
returns the typed ``data`` or raises the ``CommandError`` subclass of its code. ``send(...)``
returns the Celery ``AsyncResult`` instead, for callers that collect answers later
(``client.wait(result)``). The client imports only the message and result models, never the
domain, the database or the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from celery import Celery
from celery.result import AsyncResult
from pydantic import BaseModel, TypeAdapter

from tasks.catalog import COMMANDS, queue_for
from workers.client_commands import Games, GameTasks, Strategies
from workers.client_errors import (
    CommandError,
    CommandFailed,
    CommandTimeout,
    Conflict,
    Forbidden,
    InvalidCursor,
    NotFound,
    ValidationFailed,
)

__all__ = [
    "CommandError",
    "CommandFailed",
    "CommandTimeout",
    "Conflict",
    "Forbidden",
    "GameworkerClient",
    "InvalidCursor",
    "NotFound",
    "ValidationFailed",
]

Progress = Callable[[int, int], None]
REDIS = ("redis://", "rediss://")
JSON_ONLY = {
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
    "result_accept_content": ["json"],
}


def _plain(value: Mapping[str, Any] | BaseModel, what: str) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        dumped: dict[str, Any] = value.model_dump(mode="json", exclude_unset=True)
        return dumped
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{what} must be a mapping or a pydantic model, not {type(value).__name__}")


class GameworkerClient:
    """Send contract commands and get typed answers.

    Args:
        app_or_broker_url: a Celery app configured for the gameworker broker and result
            backend, or a broker URL (then ``result_backend`` names the backend the workers
            write to; on Redis it defaults to the broker URL).
        result_backend: the result backend URL when a broker URL is given.
        timeout: seconds a call waits for its answer by default.
        transport_options: kombu transport options when a broker URL is given.
    """

    def __init__(
        self,
        app_or_broker_url: Celery | str,
        result_backend: str | None = None,
        *,
        timeout: float = 30.0,
        transport_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(app_or_broker_url, str):
            if result_backend is None and not app_or_broker_url.startswith(REDIS):
                raise ValueError(
                    "name the result backend the workers use (GAMEWORKER_RESULT_BACKEND): "
                    "GameworkerClient(broker_url, result_backend=...)"
                )
            self.app = Celery(
                "gameworker-client",
                broker=app_or_broker_url,
                backend=result_backend or app_or_broker_url,
                set_as_current=False,
            )
            self.app.conf.update(JSON_ONLY)
            if transport_options:
                self.app.conf.broker_transport_options = dict(transport_options)
            self._owns_app = True
        else:
            self.app = app_or_broker_url
            self._owns_app = False
        self.timeout = timeout
        self.games = Games(self)
        self.game_tasks = GameTasks(self)
        self.strategies = Strategies(self)

    @classmethod
    def from_settings(cls, settings: Any = None, *, timeout: float = 30.0) -> GameworkerClient:
        """A client on the broker and backend of gameworker's own settings (GAMEWORKER_*)."""
        import celeryconfig
        from workers.settings import Settings

        conf = celeryconfig.build(settings or Settings())
        app = Celery("gameworker-client", set_as_current=False)
        app.conf.update(conf)
        client = cls(app, timeout=timeout)
        client._owns_app = True
        return client

    # --- the untyped core ------------------------------------------------------------

    def send(
        self,
        task: str,
        actor: Mapping[str, Any] | BaseModel | None,
        data: Mapping[str, Any] | BaseModel,
        *,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> AsyncResult:
        """Send one command by name to its queue; the ``AsyncResult`` to wait on later."""
        kwargs: dict[str, Any] = {"data": _plain(data, "data")}
        if actor is not None:
            kwargs["actor"] = _plain(actor, "actor")
        if idempotency_key is not None:
            kwargs["idempotency_key"] = idempotency_key
        options.setdefault("queue", queue_for(task))
        result: AsyncResult = self.app.send_task(task, kwargs=kwargs, **options)
        return result

    def wait(
        self,
        result: AsyncResult,
        *,
        task: str = "command",
        timeout: float | None = None,
        on_progress: Progress | None = None,
        interval: float = 0.05,
    ) -> Any:
        """The answer of a sent task: a command's envelope (``{"ok": ...}``), a maintenance
        task's summary.

        Calls ``on_progress(done, total)`` while the task reports ``PROGRESS``. Raises
        ``CommandFailed`` when the task ended in FAILURE and ``CommandTimeout`` when no
        answer came within ``timeout`` seconds.
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        last: tuple[int, int] | None = None
        while True:
            state = result.state
            if state == "PROGRESS" and on_progress is not None:
                meta = result.info if isinstance(result.info, dict) else {}
                seen = (int(meta.get("done", 0)), int(meta.get("total", 0)))
                if seen != last:
                    on_progress(*seen)
                    last = seen
            if state in ("SUCCESS", "FAILURE", "REVOKED"):
                break
            if time.monotonic() >= deadline:
                raise CommandTimeout(task, result.id, limit)
            time.sleep(interval)
        if state != "SUCCESS":
            raise CommandFailed(task, result.id, f"{state}: {result.result!r}")
        return result.result

    def call(
        self,
        task: str,
        actor: Mapping[str, Any] | BaseModel | None,
        data: Mapping[str, Any] | BaseModel,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> Any:
        """Send, wait and return the typed ``data`` (or raise the error of the answer)."""
        result = self.send(task, actor, data, idempotency_key=idempotency_key)
        answer = self.wait(result, task=task, timeout=timeout, on_progress=on_progress)
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            if task in COMMANDS:
                raise CommandFailed(task, result.id, f"not a contract answer: {answer!r}")
            return answer  # a maintenance task answers its summary itself
        if not answer["ok"]:
            raise CommandError.from_answer(task, answer.get("error") or {})
        command = COMMANDS.get(task)
        if command is None:
            return answer["data"]
        return _adapter(command.result).validate_python(answer["data"])

    # --- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_app:
            self.app.close()

    def __enter__(self) -> GameworkerClient:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: Any) -> TypeAdapter[Any]:
    if model not in _adapters:
        _adapters[model] = TypeAdapter(model)
    return _adapters[model]
