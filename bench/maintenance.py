"""The maintenance tasks' throughput: purge, reconcile and prune over seeded rows.

``python -m bench.maintenance [--store postgres|sqlite] [--games N] [--tasks T]`` makes a
database of its own (PostgreSQL: a fresh database on the test server, dropped at the end;
SQLite: a temporary file), seeds it with bulk INSERTs, runs each use case the way its task
does (``domain.services.maintenance`` with the database's units of work, batch size from
``--batch``) and prints rows per second:

- purge: ``N`` games soft-deleted 40 days ago, each with ``T`` game tasks and 2 params per
  game and task; figure: games purged per second (and rows deleted per second);
- reconcile: ``N`` games and ``N*T`` game tasks on an ARCHIVED version of a family whose
  next version is PUBLISHED; figure: references moved per second;
- prune: ``N*T`` idempotency records and as many published outbox rows, 30 days old;
  figure: rows deleted per second.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, insert, text

from domain.clock import utcnow
from domain.services import maintenance as service
from persistence.database import Database
from persistence.migrate import upgrade
from persistence.tables import (
    game_params,
    game_task_params,
    game_tasks,
    games,
    outbox,
    processed_commands,
    strategies,
)

POSTGRES = os.environ.get(
    "GAMEWORKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHUNK = 5_000


@contextmanager
def database(store: str) -> Iterator[Database]:
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            db = Database(f"sqlite:///{folder}/bench.db", "bench")
            upgrade(db.engine)
            try:
                yield db
            finally:
                db.dispose()
        return
    name = f"gw_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(f"{POSTGRES.rsplit('/', 1)[0]}/{name}", "bench")
    try:
        upgrade(db.engine)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bulk(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    with db.engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start : start + CHUNK])


def seed_games(db: Database, n: int, tasks: int, strategy_id: str, deleted: bool) -> None:
    now = utcnow()
    gone = now - timedelta(days=40) if deleted else None
    prefix = uuid.uuid4().hex[:6]
    game_rows, params, task_rows, task_params = [], [], [], []
    for i in range(n):
        gid = f"gam_{prefix}{i:020d}"
        game_rows.append(
            {
                "id": gid,
                "account_id": "bench",
                "name": f"Game {prefix} {i}",
                "slug": f"g-{prefix}-{i}",
                "tags": [],
                "anti_cheat_enabled": True,
                "strategy_id": strategy_id,
                "created_by": "bench",
                "updated_by": "bench",
                "created_at": now,
                "updated_at": now,
                "deleted_at": gone,
            }
        )
        params += [{"game_id": gid, "key": k, "value": i} for k in ("a", "b")]
        for t in range(tasks):
            tid = f"tsk_{prefix}{i:014d}{t:06d}"
            task_rows.append(
                {
                    "id": tid,
                    "game_id": gid,
                    "account_id": "bench",
                    "external_task_id": f"t-{t}",
                    "strategy_id": strategy_id,
                    "status": "open",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            task_params += [{"task_id": tid, "key": k, "value": t} for k in ("a", "b")]
    bulk(db, games, game_rows)
    bulk(db, game_params, params)
    bulk(db, game_tasks, task_rows)
    bulk(db, game_task_params, task_params)
    analyze(db)


def analyze(db: Database) -> None:
    """Fresh statistics, as a live database has them (bulk-loaded tables have none yet)."""
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def family(db: Database) -> tuple[str, str]:
    """An ARCHIVED v1 and a PUBLISHED v2 of one family: (v1 id, v2 id)."""
    now = utcnow()
    rows = [
        {
            "id": f"stg_bench{v}",
            "account_id": "bench",
            "name": "Bench",
            "type": "DSL_FULL",
            "definition": {},
            "version": v,
            "status": status,
            "created_by": "bench",
            "created_at": now,
            "updated_at": now,
        }
        for v, status in ((1, "ARCHIVED"), (2, "PUBLISHED"))
    ]
    bulk(db, strategies, rows)
    return "stg_bench1", "stg_bench2"


def timed(label: str, rows: int, unit: str, work: Any) -> dict[str, Any]:
    began = time.perf_counter()
    summary = work()
    seconds = time.perf_counter() - began
    print(
        f"  {label:<10} {rows:>9,} {unit:<11} {seconds:8.2f} s  {rows / seconds:>10,.0f} {unit}/s"
    )
    return {"summary": summary, "seconds": seconds}


def always() -> bool:
    return True


def run(store: str, n: int, tasks: int, batch: int) -> None:
    policy = service.MaintenancePolicy(batch_size=batch, outbox_retention_days=7)
    print(f"{store}: {n:,} games x {tasks} tasks, batch {batch}")
    with database(store) as db:
        seed_games(db, n, tasks, "default", deleted=True)
        done = timed(
            "purge",
            n,
            "games",
            lambda: service.purge_deleted_games(db.unit_of_work, policy, utcnow(), always),
        )
        purged = done["summary"]
        assert purged.games == n, purged
        rows = n + purged.tasks_deleted + purged.params_deleted
        print(
            f"  {'':<10} {rows:>9,} rows        {'':>8}    {rows / done['seconds']:>10,.0f} rows/s"
        )

        old, _ = family(db)
        seed_games(db, n, tasks, f"custom:{old}", deleted=False)
        done = timed(
            "reconcile",
            n * (tasks + 1),
            "references",
            lambda: service.reconcile_strategy_refs(db.unit_of_work, policy, always),
        )
        assert done["summary"].games == n, done["summary"]

        count = max(n * tasks, n)
        stamp = utcnow() - timedelta(days=30)
        bulk(
            db,
            processed_commands,
            [
                {
                    "scope": "bench",
                    "key": f"k-{i}",
                    "task": "games.create",
                    "result": {},
                    "created_at": stamp,
                }
                for i in range(count)
            ],
        )
        bulk(
            db,
            outbox,
            [
                {
                    "event_id": f"evt_bench{i:020d}",
                    "type": "game.created",
                    "subject": "x",
                    "data": {},
                    "created_at": stamp,
                    "published_at": stamp,
                }
                for i in range(count)
            ],
        )
        analyze(db)
        done = timed(
            "prune",
            2 * count,
            "rows",
            lambda: service.prune(db.unit_of_work, policy, utcnow(), always),
        )
        pruned = done["summary"]
        assert pruned.idempotency_records == count, pruned


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.maintenance", description=__doc__)
    p.add_argument("--store", choices=("postgres", "sqlite", "both"), default="both")
    p.add_argument("--games", type=int, default=5_000)
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--batch", type=int, default=500)
    args = p.parse_args()
    stores = ("postgres", "sqlite") if args.store == "both" else (args.store,)
    for store in stores:
        run(store, args.games, args.tasks, args.batch)


if __name__ == "__main__":
    main()
