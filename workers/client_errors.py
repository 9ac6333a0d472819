"""Errors the typed client raises: one class per contract error code, plus the task faults."""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """A command answered ``ok: false``: its contract code, sentence and details."""

    code: str = "error"

    def __init__(
        self,
        task: str,
        message: str,
        details: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        super().__init__(f"{task}: {self.code}: {message}")
        self.task = task
        self.message = message
        self.details: dict[str, Any] = details or {}

    @property
    def fields(self) -> dict[str, str]:
        """The offending fields and what is wrong with each (may be empty)."""
        fields = self.details.get("fields", {})
        return dict(fields) if isinstance(fields, dict) else {}

    @staticmethod
    def from_answer(task: str, error: dict[str, Any]) -> CommandError:
        code = str(error.get("code"))
        cls = _BY_CODE.get(code, CommandError)
        return cls(task, str(error.get("message", "")), error.get("details") or {}, code)


class ValidationFailed(CommandError):
    code = "validation_error"


class NotFound(CommandError):
    code = "not_found"


class Forbidden(CommandError):
    code = "forbidden"


class Conflict(CommandError):
    code = "conflict"


class InvalidCursor(CommandError):
    code = "invalid_cursor"


_BY_CODE: dict[str, type[CommandError]] = {
    c.code: c for c in (ValidationFailed, NotFound, Forbidden, Conflict, InvalidCursor)
}


class CommandFailed(Exception):
    """The task ended in FAILURE: an unexpected fault outlived its retries (dead-lettered)."""

    def __init__(self, task: str, task_id: str, error: str) -> None:
        super().__init__(f"{task} ({task_id}) failed: {error}")
        self.task = task
        self.task_id = task_id
        self.error = error


class CommandTimeout(TimeoutError):
    """No answer within the timeout; the command may still run (look it up by ``task_id``)."""

    def __init__(self, task: str, task_id: str, timeout: float) -> None:
        super().__init__(f"{task} ({task_id}): no answer within {timeout:g} s")
        self.task = task
        self.task_id = task_id
