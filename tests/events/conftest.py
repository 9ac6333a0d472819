"""Fixtures of the events and dead-letter tests: brokers, apps with a real relay, a sink.

- ``rabbit_url``: a RabbitMQ vhost of this test run (``rabbitmqctl``), deleted at the end; each
  test starts with the contract's queues purged.
- ``broker_app(kind)``: a gameworker app on ``redis``, ``rabbitmq`` (both on PostgreSQL) or the
  embedded ``filesystem`` broker (on SQLite), whose runtime has the real publisher and relay kick,
  with an embedded worker (threads pool) on the three queues.
- ``EventSink``: a consumer of ``gameworker.events`` bound before the commands are sent.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from kombu import Connection, Exchange, Queue  # type: ignore[attr-defined]
from sqlalchemy import event, select

from persistence.database import Database
from persistence.tables import dead_letters, outbox
from tests.conftest import CURSOR_SECRET, QUEUES, Send, _database, empty, make_app, need, sender
from tests.services import RABBITMQ, REDIS
from workers.app import GameworkerCelery
from workers.bootstrap import build_runtime
from workers.settings import Settings

EVENTS_EXCHANGE = Exchange("gameworker.events", type="topic", durable=True)
BROKERS = ("redis", "rabbitmq", "filesystem")


def wait_until(check: Callable[[], Any], timeout: float = 20, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {check}")
        time.sleep(interval)


# --- RabbitMQ ------------------------------------------------------------------------------


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.fixture(scope="session")
def rabbit_vhost() -> Iterator[str]:
    need(RABBITMQ)
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed: cannot make a vhost for the test run")
    vhost = f"gw_test_{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    user = RABBITMQ.url.split("://", 1)[1].split(":", 1)[0]
    rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    try:
        yield vhost
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def rabbit_url(rabbit_vhost: str) -> str:
    """The run's vhost, with the contract's queues and their dead-letter queues empty."""
    server = RABBITMQ.url.split("://", 1)[1].split("/", 1)[0]  # user:password@host:port
    url = f"amqp://{server}/{rabbit_vhost}"
    with Connection(url) as conn:
        channel = conn.channel()
        for name in (*QUEUES, *(f"{q}.dead" for q in QUEUES)):
            try:
                Queue(name, channel=channel).purge()
            except Exception:  # not declared yet
                channel = conn.channel()
    return url


def dead_queue_messages(url: str, queue: str) -> list[Any]:
    """Take every message of ``<queue>.dead`` (RabbitMQ)."""
    out = []
    with Connection(url) as conn:
        q = Queue(f"{queue}.dead", channel=conn.channel())
        while (message := q.get(no_ack=True)) is not None:
            out.append(message)
    return out


# --- apps ----------------------------------------------------------------------------------


@dataclass
class BrokerApp:
    kind: str
    app: GameworkerCelery
    db: Database
    send: Send

    def connection(self) -> Connection:
        return Connection(
            self.app.conf.broker_url, transport_options=self.app.conf.broker_transport_options
        )

    def outbox_rows(self) -> list[Any]:
        with self.db.engine.connect() as conn:
            return list(conn.execute(select(outbox).order_by(outbox.c.id)))

    def dead_letters(self) -> list[Any]:
        with self.db.engine.connect() as conn:
            return list(conn.execute(select(dead_letters).order_by(dead_letters.c.id)))


def events_app(
    kind: str, db: Database, tmp: Path, broker: str, backend: str, **overrides: Any
) -> GameworkerCelery:
    """An app like ``make_app``'s whose runtime also publishes events and kicks the relay."""
    app = make_app(db, tmp, broker=broker, backend=backend, **overrides)
    if kind == "redis":
        prefix = f"gwtest-{uuid.uuid4().hex[:8]}:"
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "global_keyprefix": prefix,
        }
        app.conf.result_backend_transport_options = {"global_keyprefix": prefix}
    runtime = build_runtime(app.settings, check_schema=False, app=app, db=db)
    runtime.retry_backoff_base, runtime.retry_backoff_cap = 0.05, 0.5
    app.holder.set(runtime)
    return app


def store_for(kind: str, request: pytest.FixtureRequest) -> Database:
    if kind == "filesystem":
        db = _database(request.getfixturevalue("sqlite_url"))
    else:
        db = _database(request.getfixturevalue("postgres_url"))
    empty(db)
    return db


def urls_for(kind: str, request: pytest.FixtureRequest, tmp: Path) -> tuple[str, str]:
    if kind == "redis":
        need(REDIS)
        return REDIS.url, REDIS.url
    if kind == "rabbitmq":
        return request.getfixturevalue("rabbit_url"), REDIS.url if REDIS.reachable() else (
            f"file://{tmp / 'results'}"
        )
    return "filesystem://", f"file://{tmp / 'results'}"


@pytest.fixture
def make_broker_app(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., BrokerApp]]:
    """``make_broker_app(kind, **settings)``: an app and a running embedded worker."""
    stack: list[Any] = []

    def make(kind: str, concurrency: int = 2, **overrides: Any) -> BrokerApp:
        db = store_for(kind, request)
        home = tmp_path / f"{kind}-{len(stack)}"
        broker, backend = urls_for(kind, request, home)
        app = events_app(kind, db, home, broker, backend, **overrides)
        worker = start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            queues=QUEUES,
            loglevel="WARNING",
            shutdown_timeout=30,
        )
        worker.__enter__()
        stack.append((worker, app))
        return BrokerApp(kind, app, db, sender(app))

    yield make
    for worker, app in reversed(stack):
        worker.__exit__(None, None, None)
        app.close()


@pytest.fixture(params=BROKERS)
def broker_app(
    request: pytest.FixtureRequest, make_broker_app: Callable[..., BrokerApp]
) -> BrokerApp:
    return make_broker_app(request.param)


class FailBeforeCommit:
    """Test hook: the transaction that inserts a game named ``name`` fails at COMMIT."""

    def __init__(
        self, db: Database, name: str, error: Callable[[], Exception], times: int = 1_000
    ) -> None:
        self.engine, self.name, self.error, self.times = db.engine, name, error, times
        self.fired = 0

    def _mark(self, conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO GAMES") and self.name in str(params):
            conn.info["fail_commit"] = True

    def _commit(self, conn: Any) -> None:
        if conn.info.pop("fail_commit", False) and self.fired < self.times:
            self.fired += 1
            raise self.error()

    def __enter__(self) -> FailBeforeCommit:
        event.listen(self.engine, "before_cursor_execute", self._mark)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._mark)
        event.remove(self.engine, "commit", self._commit)


# --- the event sink ------------------------------------------------------------------------


@dataclass
class Received:
    event: dict[str, Any]
    routing_key: str
    content_type: str | None
    message_id: str | None
    delivery_mode: Any


@dataclass
class EventSink:
    """A durable queue bound to ``gameworker.events`` (``#``), drained on demand."""

    connection: Connection
    name: str = field(default_factory=lambda: f"test-sink-{uuid.uuid4().hex[:8]}")
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue = Queue(self.name, EVENTS_EXCHANGE, routing_key="#", durable=True)
        self.queue(self.connection.default_channel).declare()
        self.consumer = self.connection.Consumer(
            [self.queue], on_message=self._on_message, accept=["json"]
        )
        self.consumer.consume()

    def _on_message(self, message: Any) -> None:
        body = message.body
        event = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        props = message.properties or {}
        self.received.append(
            Received(
                event,
                (message.delivery_info or {}).get("routing_key", ""),
                message.content_type,
                props.get("message_id"),
                props.get("delivery_mode"),
            )
        )
        message.ack()

    def drain(self, seconds: float = 0.3) -> list[Received]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=0.1)
        return self.received

    def wait_for_ids(self, ids: set[str], timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while not ids <= {r.event["id"] for r in self.received}:
            if time.monotonic() > deadline:
                missing = ids - {r.event["id"] for r in self.received}
                raise AssertionError(f"{len(missing)} events never came: {sorted(missing)[:5]}")
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=0.1)
        return self.received

    def close(self) -> None:
        try:
            self.consumer.cancel()
            self.queue(self.connection.default_channel).delete()
        finally:
            self.connection.release()


@pytest.fixture
def make_sink() -> Iterator[Callable[[BrokerApp], EventSink]]:
    sinks: list[EventSink] = []

    def make(target: BrokerApp) -> EventSink:
        sink = EventSink(target.connection())
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close()


def settings_for(target: BrokerApp) -> Settings:
    return Settings(
        home=target.app.settings.home,
        database_url=target.db.url,
        broker_url=target.app.conf.broker_url,
        result_backend=target.app.conf.result_backend,
        cursor_secret=CURSOR_SECRET,
    )
