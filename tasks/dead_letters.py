"""Recording a dead letter: a ``dead_letters`` row and its ``command.failed`` event, together.

Used for a command that failed for good (``CommandTask.on_failure``) and for a message the
worker could not even decode or route (``workers.dead_lettering``). The row and the event
commit in one transaction; the relay is kicked after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domain.events import COMMAND_FAILED, Event
from persistence.dead_letters import DeadLetters
from persistence.unit_of_work import Causation
from tasks.runtime import Runtime

ERROR_LIMIT = 4000
ARGUMENTS_LIMIT = 65_536  # characters of an undecodable body kept for reading


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What is known of a message that is given up on."""

    task_id: str | None
    task: str
    queue: str | None
    arguments: dict[str, Any]
    error: str
    attempts: int
    idempotency_key: str | None
    subject: str
    account_id: str | None


def record_dead_letter(runtime: Runtime, letter: DeadLetter) -> int:
    """Write the row and the ``command.failed`` event; the row id."""
    error = letter.error[:ERROR_LIMIT]
    with runtime.db.unit_of_work(Causation(letter.idempotency_key, letter.task_id)) as uow:
        row_id = DeadLetters(uow.conn).add(
            letter.task_id,
            letter.task,
            letter.queue,
            letter.arguments,
            error,
            letter.attempts,
        )
        data = {
            "task": letter.task,
            "idempotency_key": letter.idempotency_key,
            "error": error,
            "attempts": letter.attempts,
        }
        uow.record(Event(COMMAND_FAILED, letter.subject[:64], letter.account_id, data))
        uow.commit()
    runtime.after_commit()
    return row_id


def jsonable_kwargs(value: Any) -> dict[str, Any]:
    """The arguments as the row keeps them: ``{"kwargs": ...}``, JSON-safe."""
    try:
        return {"kwargs": json.loads(json.dumps(value, default=repr))}
    except (TypeError, ValueError):
        return {"kwargs": repr(value)[:ARGUMENTS_LIMIT]}
