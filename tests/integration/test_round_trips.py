"""The hot path's round trips on PostgreSQL (docs/benchmarks.md): what a command sends, and the
failure paths of each shortcut: a taken key, a taken unique value, a busy relay, a dead pooled
connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from domain.actor import Actor
from domain.errors import Conflict
from domain.events import Event
from domain.services import games as svc
from persistence.database import Database
from persistence.engine import normalize_url, ping_when_idle
from persistence.idempotency import AlreadyProcessed
from persistence.outbox import Outbox
from persistence.tables import game_params, games, outbox, processed_commands
from persistence.unit_of_work import CommandRecord
from tasks.faults import is_transient
from tasks.relay import RELAY_LOCK, relay_pending

pytestmark = pytest.mark.postgres

ACME = Actor("alice", "acme")


class Recording:
    def __init__(self) -> None:
        self.published: list[Any] = []

    def publish(self, events: Any) -> None:
        self.published.extend(events)


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def count(db: Database, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_create_with_params_is_three_statements(db: Database, statements: list[str]) -> None:
    with db.unit_of_work() as uow:
        made = svc.create_game(uow, ACME, {"name": "Chess", "params": {"a": 1, "b": "x"}})
        uow.commit(CommandRecord("acme", "k1", "games.create", {"ok": True, "data": made}))
    kinds = [s.split(" (")[0][:40] for s in statements]
    assert len(statements) == 3, kinds
    assert statements[0].startswith("SELECT games.slug")  # the slug candidates
    assert statements[1].startswith("WITH made AS (INSERT INTO games")  # game + its params
    assert statements[2].startswith("WITH recorded AS (INSERT INTO processed_commands")
    assert not any("SAVEPOINT" in s or s == "SELECT 1" for s in statements)
    assert (count(db, games), count(db, game_params), count(db, outbox)) == (1, 2, 1)
    assert count(db, processed_commands) == 1


def test_a_taken_unique_value_still_names_its_field_and_keeps_the_transaction(
    db: Database,
) -> None:
    with db.unit_of_work() as uow:
        svc.create_game(uow, ACME, {"name": "Chess", "slug": "chess"})
        uow.commit()
    with db.unit_of_work() as uow:
        with pytest.raises(Conflict) as raised:
            svc.create_game(uow, ACME, {"name": "Other", "slug": "chess", "params": {"a": 1}})
        assert raised.value.names_field("slug")
        with pytest.raises(Conflict) as raised:
            svc.create_game(uow, ACME, {"name": "Chess", "params": {"a": 1}})
        assert raised.value.names_field("name")
        svc.create_game(uow, ACME, {"name": "Go", "params": {"a": 1}})  # still usable
        uow.commit()
    assert (count(db, games), count(db, game_params)) == (2, 1)


def test_a_key_being_committed_elsewhere_waits_then_is_already_processed(db: Database) -> None:
    """The second writer of a key waits on the first's record, then writes nothing."""
    first = db.engine.connect()
    first.begin()
    record = {"scope": "acme", "key": "k", "task": "games.create", "result": {"ok": True}}
    one = Event("game.created", "gam_1", "acme", {"n": 1})
    assert Outbox(first).add([one], "k", "t1", record) is True
    outcome: list[Any] = []

    def second() -> None:
        with db.unit_of_work() as uow:
            uow.record(Event("game.created", "gam_2", "acme", {"n": 2}))
            try:
                uow.commit(CommandRecord("acme", "k", "games.create", {"ok": True}))
                outcome.append("committed")
            except AlreadyProcessed:
                outcome.append("already processed")

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)
    assert outcome == []  # waiting on the first's uncommitted record
    first.commit()
    first.close()
    thread.join(10)
    assert outcome == ["already processed"]
    assert count(db, outbox) == 1 and count(db, processed_commands) == 1


def test_a_commit_without_record_still_orders_its_rows(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.record(*(Event("game.updated", "gam_1", "acme", {"n": i}) for i in range(3)))
        uow.commit()
    with db.engine.connect() as conn:
        rows = list(conn.execute(select(outbox).order_by(outbox.c.id)))
    assert [r.data["n"] for r in rows] == [0, 1, 2]


def test_a_busy_relay_gives_up_after_its_wait_and_counts_what_remains(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.record(Event("game.updated", "gam_1", "acme", {"n": 1}))
        uow.commit()
    with db.engine.connect() as holder, holder.begin():
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RELAY_LOCK})
        started = time.monotonic()
        summary = relay_pending(db, Recording())
        waited = time.monotonic() - started
    assert summary == {"published": 0, "remaining": 1, "busy": True}
    assert 1.5 < waited < 10  # the lock_timeout set in the same statement as the lock
    publisher = Recording()
    assert relay_pending(db, publisher) == {"published": 1, "remaining": 0}


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    made = create_engine(normalize_url(postgres_url), pool_size=1, max_overflow=0)
    yield made
    made.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(postgres_url: str, pid: int) -> None:
    other = create_engine(normalize_url(postgres_url))
    with other.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        conn.commit()
    other.dispose()
    time.sleep(0.2)


def test_a_connection_that_rested_is_pinged_and_replaced_when_dead(
    engine: Engine, postgres_url: str
) -> None:
    ping_when_idle(engine, idle=0.3)
    pid = backend_pid(engine)
    terminate(postgres_url, pid)
    time.sleep(0.4)
    assert backend_pid(engine) != pid  # no error: the ping found it dead, the pool replaced it


def test_a_connection_back_a_moment_ago_is_not_pinged(engine: Engine, postgres_url: str) -> None:
    """The price of the saved round trip: a death in between surfaces as a transient error,
    which a command retries."""
    ping_when_idle(engine, idle=60)
    pid = backend_pid(engine)
    terminate(postgres_url, pid)
    with pytest.raises(OperationalError) as raised, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert is_transient(raised.value)
    assert backend_pid(engine) != pid  # the pool dropped the dead connection


def test_a_game_is_read_with_its_params_in_one_statement(
    db: Database, statements: list[str]
) -> None:
    with db.unit_of_work() as uow:
        made = svc.create_game(uow, ACME, {"name": "Chess", "params": {"b": 2, "a": "x"}})
        bare = svc.create_game(uow, ACME, {"name": "Go"})
        uow.commit()
    statements.clear()
    with db.unit_of_work() as uow:
        got = svc.get_game(uow, ACME, {"game_id": made["id"]})
    assert len(statements) == 1 and got == made and list(got["params"]) == ["a", "b"]
    statements.clear()
    with db.unit_of_work() as uow:  # read FOR UPDATE, params and all
        patched = svc.patch_game(uow, ACME, {"game_id": bare["id"], "platform": "pc"})
        uow.commit()
    assert statements[0].startswith("SELECT games.id") and statements[0].endswith("FOR UPDATE")
    assert patched["params"] == {} and patched["platform"] == "pc"
    statements.clear()
    with db.unit_of_work() as uow:
        page = svc.list_games(uow, ACME, {"sort": "name:desc", "limit": 1})
    assert len(statements) == 1 and page["items"][0]["params"] == {}


def test_a_read_runs_without_a_transaction_and_leaves_none_behind(db: Database) -> None:
    with db.unit_of_work() as uow:
        made = svc.create_game(uow, ACME, {"name": "Chess"})
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        raw = uow.conn.connection.dbapi_connection
        assert raw is not None and raw.autocommit  # no BEGIN, no ROLLBACK: one round trip
        assert svc.get_game(uow, ACME, {"game_id": made["id"]}) == made
        with pytest.raises(RuntimeError):
            uow.commit()
    with db.unit_of_work() as uow:  # the pool gave the connection back in its normal mode
        raw = uow.conn.connection.dbapi_connection
        assert raw is not None and not raw.autocommit
        svc.create_game(uow, ACME, {"name": "Go"})  # left without commit: rolled back
    assert count(db, games) == 1
