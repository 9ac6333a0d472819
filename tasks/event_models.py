"""The events of contract section 9 as pydantic models: the CloudEvent envelope, data per type.

``EVENT_DATA`` maps every event type (the routing key on ``gameworker.events``) to the model of
its ``data``; ``event_model(type)`` is the whole CloudEvent of that type.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Generic, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from domain import events as e
from tasks import result_models as r

EXCHANGE = "gameworker.events"
TYPE_PREFIX = "gameworker."

EVENT_DATA: dict[str, type[BaseModel]] = {
    e.GAME_CREATED: r.Game,
    e.GAME_UPDATED: r.Game,
    e.GAME_DELETED: r.Game,
    e.GAME_RESTORED: r.Game,
    e.GAME_PURGED: r.GamePurged,
    e.GAME_TASK_CREATED: r.GameTask,
    e.GAME_TASK_UPDATED: r.GameTask,
    e.GAME_TASK_DELETED: r.GameTaskRemoved,
    e.STRATEGY_CREATED: r.Strategy,
    e.STRATEGY_UPDATED: r.Strategy,
    e.STRATEGY_PUBLISHED: r.StrategyChange,
    e.STRATEGY_ARCHIVED: r.StrategyChange,
    e.STRATEGY_ROLLED_BACK: r.Rollback,
    e.STRATEGY_REFS_RECONCILED: r.RefsReconciled,
    e.COMMAND_REJECTED: r.CommandRejected,
    e.COMMAND_FAILED: r.CommandFailed,
}

D = TypeVar("D")


class CloudEvent(BaseModel, Generic[D]):
    """CloudEvents 1.0, structured JSON mode, with gameworker's extension attributes."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(description="`evt_...`; consumers deduplicate on it")
    source: Literal["gameworker"]
    type: str = Field(description="`gameworker.<routing key>`")
    subject: str = Field(description="the id of the object the event is about")
    time: str = Field(description="ISO 8601 UTC")
    datacontenttype: Literal["application/json"]
    data: D
    accountid: str | None
    correlationid: str | None = Field(description="the command's idempotency key")
    causationid: str | None = Field(description="the Celery task id")
    sequence: str = Field(description="decimal, increasing in commit order; sort by it")


def _class_name(event_type: str) -> str:
    return "".join(part.title() for part in event_type.replace(".", "_").split("_")) + "Event"


@cache
def event_model(event_type: str) -> type[CloudEvent[Any]]:
    """The CloudEvent model of one type: ``type`` fixed, ``data`` its model."""
    data: Any = EVENT_DATA[event_type]
    fixed: Any = Literal[TYPE_PREFIX + event_type]
    model: Any = create_model(_class_name(event_type), __base__=CloudEvent[data], type=(fixed, ...))
    return cast(type[CloudEvent[Any]], model)


def parse_event(message: dict[str, Any]) -> CloudEvent[Any]:
    """A received event, validated against the model of its type."""
    event_type = str(message.get("type", ""))
    key = event_type.removeprefix(TYPE_PREFIX)
    if key not in EVENT_DATA:
        raise ValueError(f"unknown event type {event_type!r}")
    return event_model(key).model_validate(message)
