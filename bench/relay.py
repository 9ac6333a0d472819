"""Relay throughput: outbox rows published per second, per broker (``python -m bench.relay``).

Writes N events into the outbox of a scratch database (PostgreSQL for Redis and RabbitMQ, SQLite
for the embedded broker), binds one queue to ``gameworker.events`` so every event is really
enqueued, times ``relay_pending`` with the real publisher (RabbitMQ with publisher confirms),
and prints events/s. Scratch databases, the RabbitMQ vhost and the Redis keys are removed after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Queue  # type: ignore[attr-defined]
from sqlalchemy import create_engine, text

import celeryconfig
from domain.events import Event
from persistence.database import Database
from persistence.migrate import upgrade
from tasks.relay import relay_pending
from workers.publisher import KombuEventPublisher
from workers.settings import Settings

POSTGRES = os.environ.get(
    "GAMEWORKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("GAMEWORKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBIT = os.environ.get("GAMEWORKER_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def fill(db: Database, count: int) -> None:
    with db.unit_of_work() as uow:
        for i in range(count):
            uow.record(Event("game.updated", f"gam_{i % 50}", "acme", {"n": i, "pad": "x" * 200}))
        uow.commit()


def measure(db: Database, url: str, options: dict[str, Any], count: int, batch: int) -> float:
    exchange = Exchange("gameworker.events", type="topic", durable=True)
    with Connection(url, transport_options=options) as conn:
        queue = Queue(f"bench-relay-{uuid.uuid4().hex[:6]}", exchange, routing_key="#")
        queue(conn.default_channel).declare()
        try:
            fill(db, count)
            publisher = KombuEventPublisher(url, options)
            started = time.perf_counter()
            summary = relay_pending(db, publisher, batch_size=batch, max_batches=10**6)
            elapsed = time.perf_counter() - started
            assert summary == {"published": count, "remaining": 0}, summary
            publisher.close()
        finally:
            queue(conn.default_channel).delete()
    return count / elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--count", type=int, default=5000)
    p.add_argument("--batch", type=int, default=500)
    args = p.parse_args()
    results: dict[str, float] = {}

    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    name = f"gw_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    vhost = f"gw_bench_{uuid.uuid4().hex[:8]}"
    try:
        pg = Database(POSTGRES.rsplit("/", 1)[0] + "/" + name, "bench")
        upgrade(pg.engine)
        results["redis + postgresql"] = measure(
            pg, REDIS, {"global_keyprefix": f"{vhost}:"}, args.count, args.batch
        )
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
        subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest",
                        ".*", ".*", ".*"], check=True)  # fmt: skip
        server = RABBIT.split("://", 1)[1].split("/", 1)[0]
        results["rabbitmq (confirms) + postgresql"] = measure(
            pg, f"amqp://{server}/{vhost}", {}, args.count, args.batch
        )
        pg.dispose()
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home))
            lite = Database(settings.database, "bench")
            upgrade(lite.engine)
            options = celeryconfig.build(settings)["broker_transport_options"]
            results["filesystem + sqlite"] = measure(
                lite, "filesystem://", dict(options), args.count, args.batch
            )
            lite.dispose()
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"relay: {args.count} events, batches of {args.batch}, one bound queue")
    for broker, rate in results.items():
        print(f"  {broker:<34} {rate:>8,.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
