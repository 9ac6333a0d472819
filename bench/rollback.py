"""Benchmark: ``strategies.rollback`` end to end against the bare UPDATEs it must perform.

    python -m bench.rollback                 # N = 10,000 and 100,000
    python -m bench.rollback --full          # and 1,000,000
    python -m bench.rollback --sizes 50000   # any sizes
    python -m bench.rollback --broker redis://127.0.0.1:6379/0

For each N it seeds N games and N game tasks on one published strategy version (PostgreSQL, in
a database of its own, dropped at the end) and times, in the same run and on the same rows:

(a) ``strategies.rollback`` sent by name to a worker (an embedded worker on ``--broker``) and
    waited for: validation, idempotency, the family lock, the status changes, the counted and
    batched cascade, the audit row, the outbox events, the commit and the result;
(b) the bare ``UPDATE games SET strategy_id = ...`` and the same for ``game_tasks``, by hand
    through psycopg in one transaction.

The rows are moved once and back before anything is timed (so both steps run on tables that
have seen an update), and the tables are vacuumed and checkpointed before each timed step. Each
size runs ``--repeat`` rounds (default 3); the medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psycopg
from celery.contrib.testing.worker import start_worker

from domain import ids
from domain.actor import Actor
from domain.services import strategies as svc
from domain.services import strategy_lifecycle as life
from persistence.database import Database
from persistence.migrate import upgrade
from persistence.tables import metadata
from tasks.runtime import Runtime
from workers.app import GameworkerCelery, create_app
from workers.settings import Settings

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
MANAGER = {"account_id": "bench", "subject": "bench", "roles": ["strategy_admin"]}
ACTOR = Actor("bench", "bench", roles=("strategy_admin",))


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A database of its own on ``server``, dropped afterwards."""
    name = f"gw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(db: Database, home: Path, broker: str) -> GameworkerCelery:
    backend = "cache+memory://" if broker.startswith("memory") else broker
    settings = Settings(
        home=home,
        database_url=db.url,
        broker_url=broker,
        result_backend=backend,
        cursor_secret="bench",
        task_soft_time_limit=3000,
        task_time_limit=3300,
        visibility_timeout=3600,
    )
    app = create_app(settings)
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "polling_interval": 0.005,
    }
    app.loader.import_default_modules()
    app.holder.set(Runtime(db=db))
    return app


def seed(url: str, n: int, ref: str) -> None:
    """N games and one task each on ``ref``, by COPY."""
    now = datetime.now(UTC).isoformat()
    games, tasks = io.StringIO(), io.StringIO()
    for i in range(n):
        gid = ids.new_id(ids.GAME)
        games.write(
            f"{gid}\tbench\tbench game {i}\tbench-{i}\t[]\tt\t{ref}\tbench\tbench\t{now}\t{now}\n"
        )
        tasks.write(f"{ids.new_id(ids.GAME_TASK)}\t{gid}\tbench\tt{i}\t{ref}\topen\t{now}\t{now}\n")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        game_cols = (
            "id, account_id, name, slug, tags, anti_cheat_enabled, strategy_id, created_by, "
            "updated_by, created_at, updated_at"
        )
        with cur.copy(f"COPY games ({game_cols}) FROM STDIN") as copy:
            copy.write(games.getvalue())
        task_cols = (
            "id, game_id, account_id, external_task_id, strategy_id, status, created_at, updated_at"
        )
        with cur.copy(f"COPY game_tasks ({task_cols}) FROM STDIN") as copy:
            copy.write(tasks.getvalue())


def bare_move(url: str, old: str, new: str) -> float:
    """The two UPDATEs by hand in one transaction; seconds."""
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.transaction():
            conn.execute("UPDATE games SET strategy_id = %s WHERE strategy_id = %s", (new, old))
            conn.execute(
                "UPDATE game_tasks SET strategy_id = %s WHERE strategy_id = %s", (new, old)
            )
        return time.perf_counter() - started


def settle(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE games")
        conn.execute("VACUUM ANALYZE game_tasks")
        conn.execute("CHECKPOINT")


def empty(url: str) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def two_versions(db: Database) -> tuple[dict[str, Any], dict[str, Any]]:
    """v1 ARCHIVED and v2 PUBLISHED, through the services."""

    def run(use_case: Any, cmd: dict[str, Any]) -> Any:
        with db.unit_of_work() as uow:
            out = use_case(uow, ACTOR, cmd)
            uow.commit()
            return out

    v1 = run(svc.create_strategy, {"name": "Bench", "definition": {"v": 1}})
    run(life.publish_strategy, {"strategy_id": v1["id"]})
    v2 = run(svc.update_strategy, {"strategy_id": v1["id"], "definition": {"v": 2}})
    run(life.publish_strategy, {"strategy_id": v2["id"]})
    return v1, v2


def measure(db: Database, app: GameworkerCelery, n: int, repeat: int) -> tuple[float, float]:
    """(rollback seconds, bare seconds), medians over ``repeat`` rounds.

    A round: vacuum, time the bare UPDATEs from the PUBLISHED version to the other one, move
    the rows back (untimed), vacuum, time the rollback to the other version. The next round
    starts from there, the two versions' roles swapped.
    """
    empty(db.url)
    low, high = two_versions(db)
    published, other = high, low
    seed(db.url, n, ref(published))
    bare_move(db.url, ref(published), ref(other))  # warm up: every timed step then runs on
    bare_move(db.url, ref(other), ref(published))  # tables that have seen an update
    rollbacks, bares = [], []
    for _ in range(repeat):
        settle(db.url)
        bares.append(bare_move(db.url, ref(published), ref(other)))
        bare_move(db.url, ref(other), ref(published))
        settle(db.url)
        started = time.perf_counter()
        sent = app.send_task(
            "strategies.rollback",
            kwargs={
                "actor": MANAGER,
                "data": {"strategy_id": published["id"], "target_version": other["version"]},
            },
            queue="strategies",
        )
        result = sent.get(timeout=3600, interval=0.005)
        rollbacks.append(time.perf_counter() - started)
        assert result["ok"], result
        moved = (result["data"]["games_reassigned"], result["data"]["tasks_reassigned"])
        assert moved == (n, n), moved
        published, other = other, published
    return statistics.median(rollbacks), statistics.median(bares)


def ref(version: dict[str, Any]) -> str:
    return "custom:" + str(version["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL to make a database on")
    parser.add_argument("--broker", default="memory://", help="the worker's broker")
    parser.add_argument("--full", action="store_true", help="add N = 1,000,000")
    parser.add_argument("--sizes", type=int, nargs="+", help="the sizes to run instead")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (median)")
    args = parser.parse_args(argv)
    sizes = args.sizes or [10_000, 100_000] + ([1_000_000] if args.full else [])

    print(f"{'N':>10}  {'rollback (s)':>12}  {'bare UPDATE (s)':>15}  {'ratio':>6}")
    with scratch_database(args.server) as url, TemporaryDirectory() as home:
        db = Database(url, "bench")
        upgrade(db.engine)
        app = make_app(db, Path(home), args.broker)
        worker = start_worker(
            app,
            pool="threads",
            concurrency=1,
            perform_ping_check=False,
            queues=["strategies"],
            loglevel="ERROR",
            shutdown_timeout=30,
        )
        with worker:
            for n in sizes:
                rollback, bare = measure(db, app, n, args.repeat)
                print(f"{n:>10,}  {rollback:>12.3f}  {bare:>15.3f}  {rollback / bare:>6.2f}")
                sys.stdout.flush()
        app.close()
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
