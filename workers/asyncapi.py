"""The AsyncAPI 3.0 document of gameworker, generated from the models the worker validates with.

Channels: the three command queues, the Celery result backend (where each command's answer
goes, keyed by task id) and the ``gameworker.events`` topic exchange. Operations: one
``receive`` per command (with its reply) and one ``send`` per event type (routing key = type).
Every schema lives in ``components/schemas``; payloads refer to them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from domain.services.maintenance import PruneSummary, PurgeSummary, ReconcileSummary
from domain.services.schedules import DueSummary
from tasks.catalog import COMMANDS, SYSTEM_TASKS, Command, queue_for
from tasks.event_models import EVENT_DATA, EXCHANGE, event_model
from tasks.messages import ActorModel
from tasks.result_models import Failed, Ok, Summary
from tasks.system import NoData

REF = "#/components/schemas/{model}"
QUEUES = {
    "games": "Commands on games and game tasks (`games.*`, `game_tasks.*`).",
    "strategies": "Commands on strategies (`strategies.*`).",
    "maintenance": "Beat-driven maintenance and the event relay (`maintenance.*`, `events.*`).",
}
AMQP = "0.3.0"
SYSTEM_SUMMARIES: dict[str, Any] = {
    "maintenance.reconcile_strategy_refs": ReconcileSummary,
    "maintenance.purge_deleted_games": PurgeSummary,
    "maintenance.prune": PruneSummary,
    "maintenance.run_due_operations": DueSummary,
}
"""The summary each maintenance task answers with (``events.relay``: ``{published,
remaining}`` and ``busy`` or ``error`` when a pass stopped early)."""


def _version() -> str:
    try:
        return version("gameworker")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def result_model(command: Command) -> type[BaseModel]:
    """The ``ok: true`` answer of one command."""
    result: Any = command.result
    model: type[BaseModel] = Ok[result]
    return model


def schemas() -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """The ``$ref`` of every model, and ``components/schemas`` holding them all."""
    models: list[type[BaseModel]] = [ActorModel, Failed, Summary, NoData]
    models += [c.data for c in COMMANDS.values()]
    models += [result_model(c) for c in COMMANDS.values()]
    models += [event_model(t) for t in EVENT_DATA]
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema([(m, "validation") for m in unique], ref_template=REF)
    by_model: dict[Any, dict[str, Any]] = {model: ref for (model, _mode), ref in refs.items()}
    components: dict[str, Any] = top.get("$defs", {})
    for summary in SYSTEM_SUMMARIES.values():
        components[summary.__name__] = TypeAdapter(summary).json_schema(ref_template=REF)
        by_model[summary] = {"$ref": REF.format(model=summary.__name__)}
    return by_model, components


def _kwargs(command: Command, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"{command.name} kwargs",
        "description": "The keyword arguments of the Celery task (contract section 1).",
        "properties": {
            "actor": refs[ActorModel],
            "data": refs[command.data],
            "idempotency_key": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "defaults to the Celery task id",
            },
        },
        "required": ["actor", "data"],
        "additionalProperties": False,
    }


def _headers(task: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Celery message protocol 2 headers.",
        "properties": {"task": {"const": task}, "id": {"type": "string"}},
        "required": ["task", "id"],
    }


def _messages(refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    messages: dict[str, Any] = {}
    for c in COMMANDS.values():
        messages[c.name] = {
            "name": c.name,
            "title": c.name,
            "summary": c.summary,
            "description": f"Send with `send_task({c.name!r}, kwargs=..., queue={c.queue!r})`;"
            " JSON serializer only.",
            "contentType": "application/json",
            "headers": _headers(c.name),
            "payload": _kwargs(c, refs),
        }
        messages[f"{c.name}.result"] = {
            "name": f"{c.name}.result",
            "title": f"{c.name} result",
            "summary": f"The answer to {c.name}: `ok: true` with its data, or an error.",
            "contentType": "application/json",
            "payload": {"oneOf": [refs[result_model(c)], refs[Failed]]},
        }
    for name, summary in SYSTEM_TASKS.items():
        messages[name] = {
            "name": name,
            "title": name,
            "summary": summary,
            "description": "Sent by celery beat; it acts as the system (no actor). Two "
            "overlapping runs never do the same work: the second answers `skipped: true`.",
            "contentType": "application/json",
            "headers": _headers(name),
            "payload": {
                "type": "object",
                "title": f"{name} kwargs",
                "properties": {"data": refs[NoData]},
                "additionalProperties": False,
            },
        }
        messages[f"{name}.result"] = {
            "name": f"{name}.result",
            "title": f"{name} result",
            "summary": "A summary object of what the run did.",
            "contentType": "application/json",
            "payload": refs[SYSTEM_SUMMARIES.get(name, Summary)],
        }
    for event_type in EVENT_DATA:
        messages[event_type] = {
            "name": event_type,
            "title": f"gameworker.{event_type}",
            "summary": f"CloudEvent of type gameworker.{event_type} (routing key {event_type}).",
            "contentType": "application/cloudevents+json",
            "payload": refs[event_model(event_type)],
            "bindings": {"amqp": {"messageType": event_type, "bindingVersion": AMQP}},
        }
    return messages


def _queue_channel(queue: str, names: list[str]) -> dict[str, Any]:
    return {
        "address": queue,
        "title": f"{queue} queue",
        "description": QUEUES[queue],
        "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {"name": queue, "durable": True, "exclusive": False, "autoDelete": False},
                "bindingVersion": AMQP,
            }
        },
    }


def _channels() -> dict[str, Any]:
    tasks = [*COMMANDS, *SYSTEM_TASKS]
    channels = {q: _queue_channel(q, [t for t in tasks if queue_for(t) == q]) for q in QUEUES}
    channels["results"] = {
        "address": None,
        "title": "results",
        "description": "The Celery result backend: each command's answer, stored under its "
        "task id (`AsyncResult(task_id).get()`). Every command ends in state SUCCESS with a "
        "result message; state PROGRESS carries meta `{done, total}` while a cascade runs.",
        "messages": {f"{t}.result": {"$ref": f"#/components/messages/{t}.result"} for t in tasks},
    }
    channels["events"] = {
        "address": EXCHANGE,
        "title": "events",
        "description": "The durable topic exchange of CloudEvents; the routing key is the event "
        "type. Delivery is at least once: deduplicate on `id`, order by `sequence`.",
        "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in EVENT_DATA},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": EXCHANGE,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                },
                "bindingVersion": AMQP,
            }
        },
    }
    return channels


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for task in [*COMMANDS, *SYSTEM_TASKS]:
        queue = queue_for(task)
        summary = COMMANDS[task].summary if task in COMMANDS else SYSTEM_TASKS[task]
        operations[task] = {
            "action": "receive",
            "title": task,
            "summary": summary,
            "channel": {"$ref": f"#/channels/{queue}"},
            "messages": [{"$ref": f"#/channels/{queue}/messages/{task}"}],
            "reply": {
                "channel": {"$ref": "#/channels/results"},
                "messages": [{"$ref": f"#/channels/results/messages/{task}.result"}],
            },
        }
    for event_type in EVENT_DATA:
        operations[f"publish.{event_type}"] = {
            "action": "send",
            "title": f"publish {event_type}",
            "summary": f"Publish gameworker.{event_type} with routing key {event_type}.",
            "channel": {"$ref": "#/channels/events"},
            "messages": [{"$ref": f"#/channels/events/messages/{event_type}"}],
            "bindings": {"amqp": {"cc": [event_type], "deliveryMode": 2, "bindingVersion": AMQP}},
        }
    return operations


def build_asyncapi() -> dict[str, Any]:
    """The whole AsyncAPI 3.0.0 document, as a JSON-ready dict."""
    refs, components = schemas()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "gameworker",
            "version": _version(),
            "description": "Celery commands in (sent by task name, JSON only), one "
            "`{ok, data | error}` answer per command, CloudEvents out on the "
            "`gameworker.events` topic exchange.",
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ (GAMEWORKER_BROKER_URL=amqp://...).",
            },
            "redis": {
                "host": "localhost:6379",
                "protocol": "redis",
                "description": "Redis through kombu's virtual exchanges "
                "(GAMEWORKER_BROKER_URL=redis://...).",
            },
        },
        "channels": _channels(),
        "operations": _operations(),
        "components": {"schemas": components, "messages": _messages(refs)},
    }
