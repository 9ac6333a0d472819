"""Outages under load: the database goes away for seconds; the events broker goes away.

PostgreSQL is reached through a TCP proxy the test cuts and restores (the machine's own server
stays up for everyone else). Commands in flight hit lost connections and refused connects:
transient faults, retried with backoff until the database is back; every command completes
with exactly one effect.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kombu import Connection, Exchange, Queue  # type: ignore[attr-defined]
from sqlalchemy import select

from domain.events import Event
from persistence.database import Database
from persistence.tables import games
from tasks.relay import pending_count, relay_pending
from tests.conftest import CURSOR_SECRET
from tests.events.conftest import BrokerApp, EventSink, wait_until
from tests.events.tcp_proxy import TcpProxy
from workers.publisher import KombuEventPublisher

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def pg_proxy(pg_db: Database) -> Iterator[tuple[TcpProxy, Database]]:
    parts = urlsplit(pg_db.url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    url = pg_db.url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}", 1)
    db = Database(url, CURSOR_SECRET, pool_size=4)
    try:
        yield proxy, db
    finally:
        db.dispose()
        proxy.stop()


def test_database_down_for_seconds_under_load_every_command_completes_once(
    pg_proxy: tuple[TcpProxy, Database], make_broker_app: Any, tmp_path: Path
) -> None:
    proxy, db = pg_proxy
    b: BrokerApp = make_broker_app("redis", concurrency=4, max_retries=10)
    runtime = b.app.runtime
    runtime.db, runtime.max_retries = db, 10  # the worker reaches PostgreSQL through the proxy
    runtime.retry_backoff_base, runtime.retry_backoff_cap = 0.2, 1.5

    count = 40
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            results.append(
                b.send("games.create", {"name": f"Load {i}"}, key=f"load-{i}", timeout=120)
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for i, t in enumerate(threads):
        t.start()
        if i == count // 3:
            proxy.stop()  # mid-load: in-flight connections reset, new ones refused
            time.sleep(3)
            proxy.start()
        time.sleep(0.02)
    for t in threads:
        t.join(timeout=150)
    assert not errors, errors[:3]
    assert len(results) == count and all(r["ok"] for r in results), [
        r for r in results if not r["ok"]
    ][:3]
    with b.db.engine.connect() as conn:
        names = list(conn.execute(select(games.c.name)).scalars())
    assert sorted(names) == sorted(f"Load {i}" for i in range(count))  # once each
    assert b.dead_letters() == []
    created = [r for r in b.outbox_rows() if r.type == "game.created"]
    assert len(created) == count


def test_events_broker_lost_leaves_rows_pending_until_it_is_back(
    pg_db: Database, tmp_path: Path
) -> None:
    from tests.conftest import need
    from tests.services import REDIS

    need(REDIS)
    parts = urlsplit(REDIS.url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    proxy.start()
    url = REDIS.url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}", 1)
    options = {"global_keyprefix": f"gwtest-proxy-{proxy.port}:"}
    sink = EventSink(Connection(REDIS.url, transport_options=options))
    publisher = KombuEventPublisher(url, options)
    try:
        with pg_db.unit_of_work() as uow:
            uow.record(Event("game.updated", "gam_1", "acme", {"n": 1}))
            uow.commit()
        proxy.stop()
        summary = relay_pending(pg_db, publisher)
        assert summary["published"] == 0 and summary["remaining"] == 1
        assert "error" in summary
        proxy.start()
        assert relay_pending(pg_db, publisher) == {"published": 1, "remaining": 0}
        assert pending_count(pg_db) == 0
        sink.wait_for_ids(_ids(pg_db))  # it came once the broker was back
    finally:
        proxy.stop()
        sink.close()


def _ids(db: Database) -> set[str]:
    from persistence.tables import outbox

    with db.engine.connect() as conn:
        return set(conn.execute(select(outbox.c.event_id)).scalars())


@pytest.mark.usefixtures("rabbit_vhost")
def test_a_nack_from_rabbitmq_leaves_the_row_pending(pg_db: Database, rabbit_url: str) -> None:
    """A queue that refuses publishes (max-length 1, reject-publish) makes the broker nack."""
    exchange = Exchange("gameworker.events", type="topic", durable=True)
    full = Queue(
        "test-full",
        exchange,
        routing_key="#",
        queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"},
    )
    with Connection(rabbit_url) as conn:
        full(conn.default_channel).declare()
        try:
            with pg_db.unit_of_work() as uow:
                for i in range(3):
                    uow.record(Event("game.updated", "gam_1", "acme", {"n": i}))
                uow.commit()
            publisher = KombuEventPublisher(rabbit_url)
            summary = relay_pending(pg_db, publisher)
            assert summary["published"] == 1 and summary["remaining"] == 2
            assert "MessageNacked" in summary["error"]
            full(conn.default_channel).purge()
            full(conn.default_channel).delete()
            assert relay_pending(pg_db, publisher) == {"published": 2, "remaining": 0}
        finally:
            full(conn.channel()).delete()
    assert wait_until(lambda: pending_count(pg_db) == 0)
