"""The AsyncAPI document and the JSON Schemas match the models the worker validates with.

- the document is valid against the official AsyncAPI 3.0.0 JSON Schema
  (``tests/fixtures/asyncapi-3.0.0.schema.json``, from the ``@asyncapi/specs`` package), every
  ``$ref`` resolves, and every operation's messages belong to its channel;
- every command of the contract has a message on its queue whose ``data`` is the model's
  schema, and a reply whose payload is its result model's; every event type has a message on
  the events exchange with its CloudEvent model and its routing key;
- the catalog the document is built from names the same models as the tasks the worker runs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tasks.base import CommandTask
from tasks.catalog import COMMANDS, SYSTEM_TASKS, queue_for
from tasks.event_models import EVENT_DATA, event_model
from tasks.messages import ActorModel
from tasks.result_models import Failed, Ok
from tasks.system import NoData
from workers.app import app
from workers.asyncapi import SYSTEM_SUMMARIES, build_asyncapi
from workers.cli import main

SPEC = Path(__file__).parents[1] / "fixtures" / "asyncapi-3.0.0.schema.json"

CONTRACT_COMMANDS = {
    "games": "create get list patch delete restore purge params.set params.delete "
    "external_ids by_strategy",
    "game_tasks": "create get list patch delete",
    "strategies": "create get list versions update publish archive rollback usage audit "
    "schedule schedule_cancel schedules",
}
CONTRACT_TASKS = {f"{p}.{n}" for p, names in CONTRACT_COMMANDS.items() for n in names.split()}
CONTRACT_SYSTEM_TASKS = {
    "maintenance.reconcile_strategy_refs",
    "maintenance.purge_deleted_games",
    "maintenance.prune",
    "maintenance.run_due_operations",
    "events.relay",
}
CONTRACT_EVENTS = {
    "game.created",
    "game.updated",
    "game.deleted",
    "game.restored",
    "game.purged",
    "game_task.created",
    "game_task.updated",
    "game_task.deleted",
    "strategy.created",
    "strategy.updated",
    "strategy.published",
    "strategy.archived",
    "strategy.rolled_back",
    "strategy.refs_reconciled",
    "command.rejected",
    "command.failed",
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_asyncapi()


def pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def inline(schema: Any, root: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The schema with every local ``$ref`` replaced by what it points at."""
    if isinstance(schema, list):
        return [inline(s, root, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref not in seen, f"recursive $ref {ref}"
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        target = inline(pointer(root, ref), root, (*seen, ref))
        return {**target, **inline(rest, root, seen)} if rest else target
    return {k: inline(v, root, seen) for k, v in schema.items() if k != "$defs"}


def model_schema(model: Any) -> Any:
    schema = model.model_json_schema()
    return inline(schema, {"$defs": schema.get("$defs", {})} | schema)


def test_the_document_is_valid_asyncapi_3(doc: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(json.loads(SPEC.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "gameworker" and doc["info"]["version"]


def test_the_validator_does_catch_a_broken_document(doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    del broken["info"]
    broken["operations"]["games.create"]["action"] = "publish"  # AsyncAPI 2 wording
    validator = jsonschema.Draft7Validator(json.loads(SPEC.read_text()))
    assert len(list(validator.iter_errors(broken))) >= 2


def test_every_ref_resolves(doc: dict[str, Any]) -> None:
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert len(refs) > 100
    for ref in refs:
        pointer(doc, ref)


def test_operation_messages_belong_to_their_channel(doc: dict[str, Any]) -> None:
    for name, op in doc["operations"].items():
        channel_ref = op["channel"]["$ref"]
        for message in op["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
        if "reply" in op:
            reply = op["reply"]
            for message in reply["messages"]:
                assert message["$ref"].startswith(reply["channel"]["$ref"] + "/messages/"), name


def test_the_catalog_is_the_contract() -> None:
    assert set(COMMANDS) == CONTRACT_TASKS
    assert set(SYSTEM_TASKS) == CONTRACT_SYSTEM_TASKS
    assert set(EVENT_DATA) == CONTRACT_EVENTS


def test_the_catalog_names_the_models_the_worker_validates_with() -> None:
    app.loader.import_default_modules()
    registered = {name: task for name, task in app.tasks.items() if isinstance(task, CommandTask)}
    assert set(registered) == set(COMMANDS)
    for name, task in registered.items():
        assert task.data_model is COMMANDS[name].data, name
        assert task.writes == COMMANDS[name].writes, name
    for name in SYSTEM_TASKS:
        assert name in app.tasks, name
    for name, summary in SYSTEM_SUMMARIES.items():
        assert app.tasks[name].summary is summary, name
        assert app.tasks[name].data_model is NoData, name


@pytest.mark.parametrize("task", sorted(CONTRACT_TASKS))
def test_each_command_has_its_message_and_reply(doc: dict[str, Any], task: str) -> None:
    queue = queue_for(task)
    channel = doc["channels"][queue]
    assert channel["address"] == queue
    message = inline(channel["messages"][task], doc)
    assert message["headers"]["properties"]["task"] == {"const": task}
    payload = inline(message["payload"], doc)
    assert payload["required"] == ["actor", "data"]
    assert payload["properties"]["data"] == model_schema(COMMANDS[task].data)
    assert payload["properties"]["actor"] == model_schema(ActorModel)
    op = doc["operations"][task]
    assert op["action"] == "receive" and op["channel"]["$ref"] == f"#/channels/{queue}"
    reply = inline(op["reply"]["messages"][0], doc)
    ok, failed = inline(reply["payload"], doc)["oneOf"]
    assert ok == model_schema(Ok[COMMANDS[task].result])  # type: ignore[name-defined]
    assert failed == model_schema(Failed)


@pytest.mark.parametrize("task", sorted(CONTRACT_SYSTEM_TASKS))
def test_each_system_task_has_its_message_and_summary(doc: dict[str, Any], task: str) -> None:
    assert queue_for(task) == "maintenance"
    message = inline(doc["channels"]["maintenance"]["messages"][task], doc)
    assert inline(message["payload"], doc)["properties"]["data"] == model_schema(NoData)
    reply = inline(doc["operations"][task]["reply"]["messages"][0], doc)
    summary = inline(reply["payload"], doc)
    if task in SYSTEM_SUMMARIES:
        fields = set(summary["properties"])
        assert {"complete", "skipped"} <= fields, fields


@pytest.mark.parametrize("event_type", sorted(CONTRACT_EVENTS))
def test_each_event_has_its_message_and_routing_key(doc: dict[str, Any], event_type: str) -> None:
    channel = doc["channels"]["events"]
    assert channel["address"] == "gameworker.events"
    assert channel["bindings"]["amqp"]["exchange"] == {
        "name": "gameworker.events",
        "type": "topic",
        "durable": True,
        "autoDelete": False,
    }
    message = inline(channel["messages"][event_type], doc)
    assert inline(message["payload"], doc) == model_schema(event_model(event_type))
    payload = inline(message["payload"], doc)
    assert payload["properties"]["type"]["const"] == f"gameworker.{event_type}"
    op = doc["operations"][f"publish.{event_type}"]
    assert op["action"] == "send" and op["bindings"]["amqp"]["cc"] == [event_type]


def test_schema_command_writes_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")}
    expected = {"asyncapi.json", "commands/actor.json"}
    expected |= {f"commands/{t}.data.json" for t in CONTRACT_TASKS}
    expected |= {f"commands/{t}.result.json" for t in CONTRACT_TASKS}
    expected |= {f"events/{t}.json" for t in CONTRACT_EVENTS}
    assert written == expected
    data = json.loads((tmp_path / "commands/games.create.data.json").read_text())
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert inline(data, data) == {
        **model_schema(COMMANDS["games.create"].data),
        "$schema": data["$schema"],
        "title": "games.create data",
    }
    event = json.loads((tmp_path / "events/game.created.json").read_text())
    assert event["properties"]["type"]["const"] == "gameworker.game.created"
    assert json.loads((tmp_path / "asyncapi.json").read_text()) == build_asyncapi()


def test_a_real_event_validates_against_its_written_schema() -> None:
    from workers.cli_schema import documents

    schema = documents()["events/game_task.deleted.json"]
    event = {
        "specversion": "1.0",
        "id": "evt_1",
        "source": "gameworker",
        "type": "gameworker.game_task.deleted",
        "subject": "tsk_1",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": {"task_id": "tsk_1", "game_id": "gam_1"},
        "accountid": "acme",
        "correlationid": "k",
        "causationid": "c",
        "sequence": "00000000000000000001",
    }
    jsonschema.Draft202012Validator(schema).validate(event)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({**event, "type": "gameworker.x"})


SAMPLES: list[dict[str, Any]] = [
    {"name": "Space Chess"},
    {"name": "Space Chess", "slug": "space-chess", "tags": ["a", "b"]},
    {"name": "x", "slug": "Bad Slug"},
    {"name": "x", "slug": "a"},
    {"name": "x", "external_game_id": "has space"},
    {"name": "x", "external_game_id": "steam:123.4_5-6"},
    {"name": "x", "steam_app_id": "12ab"},
    {"name": "x", "strategy_id": "socio_bee"},
    {"name": "x", "strategy_id": "custom:stg_01abc"},
    {"name": "x", "strategy_id": "custom:nope"},
    {"name": "x", "strategy_id": "nope"},
    {"name": "x", "tags": ["t"] * 21},
    {"name": "x", "tags": ["t" * 33]},
    {"name": "x", "params": {f"k{i}": i for i in range(101)}},
    {"name": "x", "params": {"bad key": 1}},
    {"name": "x", "params": {"k": "v" * 1001}},
    {"name": "x", "params": {"k": [1]}},
    {"name": "x", "account_id": "bad id!"},
    {"name": "x" * 201},
    {"name": "x", "description": "d" * 2001},
    {"name": "x", "platform": ""},
    {"name": "x", "colour": "red"},
]


@pytest.fixture(scope="module")
def create_schema() -> dict[str, Any]:
    from workers.cli_schema import documents

    return documents()["commands/games.create.data.json"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: json.dumps(s)[:40])
def test_the_published_schema_judges_data_as_the_worker_does(
    create_schema: dict[str, Any], sample: dict[str, Any]
) -> None:
    """The field rules are in the schema: a sender can check a message before sending it."""
    import pydantic

    schema = create_schema
    by_schema = jsonschema.Draft202012Validator(schema).is_valid(sample)
    try:
        COMMANDS["games.create"].data.model_validate(sample)
        by_model = True
    except pydantic.ValidationError:
        by_model = False
    assert by_schema == by_model
