"""End to end on each broker: a consumer of gameworker.events gets exactly the committed events.

Redis + PostgreSQL, RabbitMQ + PostgreSQL, and the embedded filesystem:// + SQLite. Nothing
runs the relay by hand: the kick after each commit must bring every event out.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from persistence.tables import games
from tests.events.conftest import BrokerApp, EventSink, FailBeforeCommit, Received, wait_until

pytestmark = pytest.mark.timeout(120)

CONTRACT_KEYS = {
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "data",
    "accountid",
    "correlationid",
    "causationid",
    "sequence",
}


def first_arrivals(received: list[Received]) -> list[Received]:
    """Deduplicated on the event id, keeping the first delivery."""
    seen: set[str] = set()
    out = []
    for r in received:
        if r.event["id"] not in seen:
            seen.add(r.event["id"])
            out.append(r)
    return out


@pytest.fixture
def target(
    broker_app: BrokerApp, make_sink: Callable[[BrokerApp], EventSink]
) -> Iterator[tuple[BrokerApp, EventSink]]:
    sink = make_sink(broker_app)
    yield broker_app, sink


def test_consumer_gets_exactly_the_committed_events_in_commit_order(
    target: tuple[BrokerApp, EventSink],
) -> None:
    b, sink = target
    send = b.send
    a = send("games.create", {"name": "Alpha", "tags": ["x"]})
    c = send("games.create", {"name": "Bravo"})
    assert a["ok"] and c["ok"], (a, c)
    rejected = send("games.create", {"name": "Alpha"})  # conflict: command.rejected
    assert rejected["error"]["code"] == "conflict"

    # Concurrent patches of one game: their events must come in the order they committed.
    results: list[dict[str, Any]] = []

    def patch(i: int) -> None:
        results.append(send("games.patch", {"game_id": a["data"]["id"], "description": f"v{i}"}))

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8 and all(r["ok"] for r in results), results
    assert send("games.delete", {"game_id": c["data"]["id"]})["ok"]

    # A command whose transaction fails after the change, before commit: no event of it.
    with FailBeforeCommit(b.db, "Doomed", lambda: RuntimeError("injected before commit")) as hook:
        doomed = b.app.send_task(
            "games.create",
            kwargs={"actor": {"account_id": "acme", "subject": "k"}, "data": {"name": "Doomed"}},
            queue="games",
        )
        with pytest.raises(Exception, match="injected before commit"):
            doomed.get(timeout=30, interval=0.02)
    assert hook.fired == 1
    wait_until(b.dead_letters)  # on_failure writes it after the result is stored

    rows = b.outbox_rows()
    committed = {r.event_id for r in rows}
    received = sink.wait_for_ids(committed)
    sink.drain(0.5)  # anything more would be an event of nothing committed
    got = first_arrivals(received)
    assert {r.event["id"] for r in got} == committed
    # Duplicates (at least once) carry the id of an event already delivered, never a new one.
    assert {r.event["id"] for r in received} == committed

    by_id = {r.event_id: r for r in rows}
    for r in got:
        e = r.event
        row = by_id[e["id"]]
        assert set(e) == CONTRACT_KEYS
        assert e["specversion"] == "1.0" and e["source"] == "gameworker"
        assert e["type"] == "gameworker." + row.type and r.routing_key == row.type
        assert e["sequence"] == str(row.id).zfill(20) and int(e["sequence"]) == row.id
        assert e["datacontenttype"] == "application/json"
        assert r.message_id == e["id"] and r.content_type == "application/cloudevents+json"

    types = [r.event["type"] for r in sorted(got, key=lambda r: r.event["sequence"])]
    assert types.count("gameworker.game.created") == 2  # Alpha and Bravo, never Doomed
    assert types.count("gameworker.game.updated") == 8
    assert types.count("gameworker.game.deleted") == 1
    assert types.count("gameworker.command.rejected") == 1
    failed = [r.event for r in got if r.event["type"] == "gameworker.command.failed"]
    assert len(failed) == 1 and "injected before commit" in failed[0]["data"]["error"]
    assert failed[0]["causationid"] == doomed.id
    assert not any(r.event["data"].get("name") == "Doomed" for r in got)
    with b.db.engine.connect() as conn:
        assert conn.execute(select(games.c.name).where(games.c.name == "Doomed")).first() is None

    # Per subject, in commit order: arrival order on Redis and RabbitMQ; by sequence anywhere.
    per_subject: dict[str, list[Received]] = defaultdict(list)
    for r in got:
        per_subject[r.event["subject"]].append(r)
    for subject, events in per_subject.items():
        sequences = [int(r.event["sequence"]) for r in events]
        if b.kind != "filesystem":  # filesystem:// does not keep order within a millisecond
            assert sequences == sorted(sequences), subject
    alpha = sorted(per_subject[a["data"]["id"]], key=lambda r: r.event["sequence"])
    final = b.send("games.get", {"game_id": a["data"]["id"]})["data"]
    assert alpha[-1].event["data"] == final  # the last event by sequence is the final state
    assert all(r.event["correlationid"] and r.event["causationid"] for r in got)


def test_transient_failure_before_commit_is_retried_with_one_set_of_events(
    target: tuple[BrokerApp, EventSink],
) -> None:
    b, sink = target

    def transient() -> Exception:  # what a COMMIT that loses a deadlock raises
        if b.db.dialect == "postgresql":
            orig: Exception = psycopg.errors.DeadlockDetected("injected deadlock")
        else:
            orig = sqlite3.OperationalError("database is locked (injected)")
        return OperationalError("COMMIT", {}, orig)

    b, sink = target
    with FailBeforeCommit(b.db, "Retried", transient, times=1) as hook:
        result = b.send("games.create", {"name": "Retried"})
    assert result["ok"], result
    assert hook.fired == 1
    rows = b.outbox_rows()
    assert [r.type for r in rows] == ["game.created"]
    got = first_arrivals(sink.wait_for_ids({rows[0].event_id}))
    sink.drain(0.3)
    assert [r.event["subject"] for r in first_arrivals(sink.received)] == [result["data"]["id"]]
    assert got[0].event["data"] == result["data"]
