"""The typed commands of the client, one method per contract command, grouped by prefix.

Every method takes the ``actor`` and the command's ``data`` (a dict, or the command's model
from ``tasks.messages``), and returns the ``data`` of the answer as its result model from
``tasks.result_models`` or raises the ``CommandError`` of its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter

from tasks import result_models as r

T = TypeVar("T")
ActorLike = Mapping[str, Any] | BaseModel
DataLike = Mapping[str, Any] | BaseModel
Key = str | None
Wait = float | None


class Caller(Protocol):
    def call(
        self,
        task: str,
        actor: ActorLike | None,
        data: DataLike,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Any: ...


class _Commands:
    def __init__(self, client: Caller) -> None:
        self._client = client

    def _call(
        self, task: str, model: type[T], actor: ActorLike, data: DataLike, key: Key, timeout: Wait
    ) -> T:
        answer = self._client.call(task, actor, data, idempotency_key=key, timeout=timeout)
        if isinstance(answer, model):
            return answer
        return TypeAdapter(model).validate_python(answer)


class Games(_Commands):
    """``games.*``"""

    def create(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Game:
        """Create a game."""
        return self._call("games.create", r.Game, actor, data, idempotency_key, timeout)

    def get(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Game:
        """Get a game by id, slug or external id."""
        return self._call("games.get", r.Game, actor, data, idempotency_key, timeout)

    def list(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Page[r.Game]:
        """A page of games."""
        return self._call("games.list", r.Page[r.Game], actor, data, idempotency_key, timeout)

    def patch(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Game:
        """Change, clear, delete or restore fields."""
        return self._call("games.patch", r.Game, actor, data, idempotency_key, timeout)

    def delete(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Game:
        """Soft-delete a game."""
        return self._call("games.delete", r.Game, actor, data, idempotency_key, timeout)

    def restore(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Game:
        """Restore a soft-deleted game."""
        return self._call("games.restore", r.Game, actor, data, idempotency_key, timeout)

    def purge(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.GamePurged:
        """Remove a game and its tasks for good."""
        return self._call("games.purge", r.GamePurged, actor, data, idempotency_key, timeout)

    def set_params(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Game:
        """Upsert params of a game."""
        return self._call("games.params.set", r.Game, actor, data, idempotency_key, timeout)

    def delete_params(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Game:
        """Delete params of a game."""
        return self._call("games.params.delete", r.Game, actor, data, idempotency_key, timeout)

    def external_ids(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.ExternalIds:
        """Map game ids to external game ids."""
        return self._call(
            "games.external_ids", r.ExternalIds, actor, data, idempotency_key, timeout
        )

    def by_strategy(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Page[r.GameRef]:
        """A page of the games on a strategy."""
        return self._call(
            "games.by_strategy", r.Page[r.GameRef], actor, data, idempotency_key, timeout
        )


class GameTasks(_Commands):
    """``game_tasks.*``"""

    def create(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.GameTask:
        """Create a game task."""
        return self._call("game_tasks.create", r.GameTask, actor, data, idempotency_key, timeout)

    def get(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.GameTask:
        """Get a game task."""
        return self._call("game_tasks.get", r.GameTask, actor, data, idempotency_key, timeout)

    def list(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Page[r.GameTask]:
        """A page of a game's tasks."""
        return self._call(
            "game_tasks.list", r.Page[r.GameTask], actor, data, idempotency_key, timeout
        )

    def patch(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.GameTask:
        """Change a game task."""
        return self._call("game_tasks.patch", r.GameTask, actor, data, idempotency_key, timeout)

    def delete(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.GameTaskDeleted:
        """Delete a game task."""
        return self._call(
            "game_tasks.delete", r.GameTaskDeleted, actor, data, idempotency_key, timeout
        )


class Strategies(_Commands):
    """``strategies.*``"""

    def create(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Strategy:
        """Create version 1 (DRAFT)."""
        return self._call("strategies.create", r.Strategy, actor, data, idempotency_key, timeout)

    def get(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Strategy:
        """Get a strategy version."""
        return self._call("strategies.get", r.Strategy, actor, data, idempotency_key, timeout)

    def list(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Page[r.Strategy]:
        """A page of versions."""
        return self._call(
            "strategies.list", r.Page[r.Strategy], actor, data, idempotency_key, timeout
        )

    def versions(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.StrategyVersions:
        """Every version of a family, newest first."""
        return self._call(
            "strategies.versions", r.StrategyVersions, actor, data, idempotency_key, timeout
        )

    def update(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Strategy:
        """Change a draft, or draft anew."""
        return self._call("strategies.update", r.Strategy, actor, data, idempotency_key, timeout)

    def publish(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Strategy:
        """Publish a version."""
        return self._call("strategies.publish", r.Strategy, actor, data, idempotency_key, timeout)

    def archive(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Strategy:
        """Archive a version."""
        return self._call("strategies.archive", r.Strategy, actor, data, idempotency_key, timeout)

    def rollback(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Rollback:
        """Publish an older version."""
        return self._call("strategies.rollback", r.Rollback, actor, data, idempotency_key, timeout)

    def usage(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.StrategyUsage:
        """What uses a version."""
        return self._call(
            "strategies.usage", r.StrategyUsage, actor, data, idempotency_key, timeout
        )

    def audit(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Page[r.AuditEntry]:
        """A page of the audit log."""
        return self._call(
            "strategies.audit", r.Page[r.AuditEntry], actor, data, idempotency_key, timeout
        )

    def schedule(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Schedule:
        """Schedule a publish/rollback."""
        return self._call("strategies.schedule", r.Schedule, actor, data, idempotency_key, timeout)

    def schedule_cancel(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Schedule:
        """Cancel a scheduled one."""
        return self._call(
            "strategies.schedule_cancel", r.Schedule, actor, data, idempotency_key, timeout
        )

    def schedules(
        self, actor: ActorLike, data: DataLike, *, idempotency_key: Key = None, timeout: Wait = None
    ) -> r.Page[r.Schedule]:
        """A page of scheduled operations."""
        return self._call(
            "strategies.schedules", r.Page[r.Schedule], actor, data, idempotency_key, timeout
        )
