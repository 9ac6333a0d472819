"""Poison messages and failed commands on every broker: dead-lettered, readable, never blocking.

Each bad message is put on the ``games`` queue as a raw broker message (the way a broken or
hostile producer would), followed by a good command that must still be answered.
"""

from __future__ import annotations

import json
import pickle
import uuid
from typing import Any

import pytest
from celery.result import AsyncResult

from tests.conftest import ACTOR
from tests.events.conftest import BrokerApp, dead_queue_messages, wait_until

pytestmark = pytest.mark.timeout(180)


def headers_for(task: str, task_id: str) -> dict[str, Any]:
    """Celery protocol 2 headers, as any Celery producer writes them."""
    return {
        "lang": "py",
        "task": task,
        "id": task_id,
        "root_id": task_id,
        "parent_id": None,
        "group": None,
        "retries": 0,
        "eta": None,
        "expires": None,
        "timelimit": [None, None],
        "argsrepr": "()",
        "kwargsrepr": "{}",
        "origin": "a-broken-producer",
        "ignore_result": False,
    }


def body_for(kwargs: Any, args: Any = ()) -> bytes:
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    return json.dumps([list(args), kwargs, embed]).encode()


def publish_raw(
    b: BrokerApp,
    body: bytes,
    task: str = "games.create",
    content_type: str = "application/json",
    content_encoding: str = "utf-8",
) -> str:
    task_id = str(uuid.uuid4())
    queue = b.app.amqp.queues["games"]
    with b.app.producer_pool.acquire(block=True) as producer:
        producer.publish(
            body,
            exchange=queue.exchange,
            routing_key="games",
            headers=headers_for(task, task_id),
            content_type=content_type,
            content_encoding=content_encoding,
            declare=[queue],
            correlation_id=task_id,
        )
    return task_id


def good_command_goes_through(b: BrokerApp, name: str) -> None:
    result = b.send("games.create", {"name": name}, timeout=30)
    assert result["ok"], result


def error_of(b: BrokerApp, task_id: str) -> str:
    row = wait_until(lambda: [r for r in b.dead_letters() if r.task_id == task_id], timeout=30)
    return str(row[0].error)


POISON = {
    "invalid_json": (b'{"this is": not json', "games.create", "application/json"),
    "unknown_task": (body_for({"actor": ACTOR, "data": {}}), "games.explode", "application/json"),
    "pickle": (
        pickle.dumps(([], {"actor": ACTOR}, {})),
        "games.create",
        "application/x-python-serialize",
    ),
    "one_megabyte": (
        body_for({"actor": ACTOR, "data": {"name": "x" * 1_048_576}}),
        "games.create",
        "application/json",
    ),
    "wrong_shape": (b'{"args": "not a task body"}', "games.create", "application/json"),
    "kwargs_not_an_object": (body_for("not an object"), "games.create", "application/json"),
}  # fmt: skip

EXPECTED_ERROR = {
    "invalid_json": "cannot decode the message body",
    "unknown_task": "unknown task 'games.explode'",
    "pickle": "ContentDisallowed",
    "one_megabyte": "exceeds the limit of 1,000,000 bytes",
    "wrong_shape": "malformed task message",
    "kwargs_not_an_object": "kwargs must be an object",
}


def test_poison_messages_are_dead_lettered_and_the_queue_keeps_moving(
    broker_app: BrokerApp,
) -> None:
    b = broker_app
    ids: dict[str, str] = {}
    for n, (name, (body, task, content_type)) in enumerate(POISON.items()):
        encoding = "binary" if content_type.endswith("serialize") else "utf-8"
        ids[name] = publish_raw(b, body, task, content_type, encoding)
        good_command_goes_through(b, f"After {name} {n}")  # the next message is processed

    for name, task_id in ids.items():
        error = error_of(b, task_id)
        assert EXPECTED_ERROR[name] in error, (name, error)
        # The sender waiting on the result is answered with the same readable error.
        with pytest.raises(Exception) as failure:
            AsyncResult(task_id, app=b.app).get(timeout=30, interval=0.05)
        assert str(failure.value), name

    rows = {r.task_id: r for r in b.dead_letters()}
    assert set(rows) == set(ids.values())
    assert rows[ids["unknown_task"]].task == "games.explode"
    assert rows[ids["invalid_json"]].arguments["body"].startswith('{"this is"')
    assert len(rows[ids["one_megabyte"]].arguments["body"]) <= 65_536  # kept for reading, cut
    assert all(r.queue == "games" and r.attempts == 1 for r in rows.values())

    failed = [r for r in b.outbox_rows() if r.type == "command.failed"]
    assert sorted(r.causation_id for r in failed) == sorted(ids.values())
    assert {r.data["error"] for r in failed} == {r.error for r in rows.values()}
    wait_until(lambda: all(r.published_at for r in b.outbox_rows()), timeout=30)

    if b.kind == "rabbitmq":
        dead = dead_queue_messages(b.app.conf.broker_url, "games")
        by_id = {m.headers["id"]: m for m in dead}
        assert set(by_id) == set(ids.values())
        for name, task_id in ids.items():
            assert EXPECTED_ERROR[name] in by_id[task_id].headers["x-gameworker-error"]
        body = by_id[ids["invalid_json"]].body
        assert (body.encode() if isinstance(body, str) else body) == POISON["invalid_json"][0]


def test_an_unknown_keyword_is_a_validation_error_not_a_dead_letter(
    broker_app: BrokerApp,
) -> None:
    """Contract section 1: an unknown keyword argument is answered ``validation_error``."""
    b = broker_app
    result = b.send("games.create", {"name": "Valid"}, bogus=1)
    assert result["ok"] is False and result["error"]["code"] == "validation_error"
    assert "bogus" in json.dumps(result["error"]["details"])
    assert b.dead_letters() == []
    assert [r.type for r in b.outbox_rows()] == ["command.rejected"]
    good_command_goes_through(b, "Valid")


def test_a_command_failing_for_good_is_dead_lettered_once_with_its_attempts(
    make_broker_app: Any,
) -> None:
    """Transient faults spend the retries; then the row, the event and (RabbitMQ) the copy."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    b: BrokerApp = make_broker_app("rabbitmq", max_retries=2)
    b.app.runtime.max_retries = 2

    class Unavailable(Exception):
        sqlstate = "57P03"  # cannot connect now

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO games"):
            raise OperationalError(statement, {}, Unavailable("the database is starting up"))

    event.listen(b.db.engine, "before_cursor_execute", before)
    try:
        sent = b.app.send_task(
            "games.create",
            kwargs={"actor": ACTOR, "data": {"name": "Never"}, "idempotency_key": "never-1"},
            queue="games",
        )
        with pytest.raises(Exception, match="starting up"):
            sent.get(timeout=60, interval=0.05)
        rows = wait_until(b.dead_letters, timeout=30)
    finally:
        event.remove(b.db.engine, "before_cursor_execute", before)
    assert len(rows) == 1
    row = rows[0]
    assert row.task == "games.create" and row.task_id == sent.id and row.attempts == 3
    assert row.arguments["kwargs"]["data"] == {"name": "Never"}
    assert "starting up" in row.error
    failed = [r for r in b.outbox_rows() if r.type == "command.failed"]
    assert len(failed) == 1 and failed[0].data["attempts"] == 3
    assert failed[0].data["idempotency_key"] == "never-1"
    dead = wait_until(lambda: dead_queue_messages(b.app.conf.broker_url, "games"), timeout=10)
    assert [m.headers["id"] for m in dead] == [sent.id]
    assert "starting up" in dead[0].headers["x-gameworker-error"]
    assert json.loads(dead[0].body)[1]["data"] == {"name": "Never"}  # can be shovelled back
