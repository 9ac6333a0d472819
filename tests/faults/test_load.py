"""Load under faults: 5,000 mixed writes (scaled), with pool processes killed and servers restarted.

Each scenario runs a real worker (``celery -A workers.app worker``, prefork, two pool
processes) and three producer processes against servers of its own, and audits the outcome
(tests/faults/load.py): every command answered ``ok``, every effect in the database exactly
once, every committed event received (duplicates only with the same id).

- **SIGKILLs**: a pool process is killed three times at random moments (Redis + PostgreSQL);
  then the whole worker (main process and pool) three times, started again as a supervisor
  would.
- **Redis restarted** once mid-load (broker, results and events on it; append-only file).
- **RabbitMQ restarted** once mid-load (a second node of the test's own: broker and events;
  results on Redis).
- **PostgreSQL restarted** once mid-load (a cluster of the test's own).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CURSOR_SECRET
from tests.faults import figures
from tests.faults.load import TARGETS, EventCollector, LoadRun, fresh_database
from tests.faults.processes import SHORT_LIMITS, WorkerProcess, gameworker_env
from tests.faults.scale import scaled
from tests.faults.servers import OwnPostgres, OwnRabbit, OwnRedis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
COMMANDS = scaled(5_000, minimum=100)


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


def worker_for(folder: Path, db_url: str, broker: str, backend: str) -> WorkerProcess:
    env = gameworker_env(
        home=folder / "home",
        database_url=db_url,
        broker_url=broker,
        result_backend=backend,
        cursor_secret=CURSOR_SECRET,
        **SHORT_LIMITS,
        retry_backoff_base=0.2,
        retry_backoff_cap=5,
        max_retries=8,
        db_pool_size=3,
    )
    return WorkerProcess(env, folder / "worker", concurrency=2)


def run_scenario(
    name: str,
    run: LoadRun,
    worker: WorkerProcess,
    fault: Callable[[float], None],
    extra: Callable[[], dict[str, Any]],
) -> LoadRun:
    collector = EventCollector(run.events_url)
    collector.start()
    assert collector.ready.wait(60), "the event consumer could not bind"
    exits: list[int | None] = []

    def supervised(progress: float) -> None:
        """As a process supervisor would (compose's restart policy, systemd): restart it."""
        if not worker.alive:
            exits.append(worker.proc.returncode if worker.proc else None)
            worker.start()
        fault(progress)

    try:
        worker.start()
        run.setup()
        run.drive(supervised)
        if not worker.alive:
            exits.append(worker.proc.returncode if worker.proc else None)
            worker.start()
        run.audit(collector)
    finally:
        worker.stop()
        collector.stop()
    run.figures["worker exits (restarted as a supervisor would)"] = len(exits)
    run.figures.update(extra())
    run.figures["worker log lines telling of a crash"] = len(worker.crash_lines())
    figures.record(name, run.figures, TARGETS)
    off = {k: run.figures[k] for k, v in TARGETS.items() if run.figures.get(k) != v}
    assert not off, f"{name}: {off}; {run.problems[:5]}; failed commands: {run.failures[:5]}"
    return run


def once_at(progress_at: float, action: Callable[[], None]) -> Callable[[float], None]:
    """A fault that acts once, when the run's progress reaches ``progress_at``."""
    done: list[bool] = []

    def fault(progress: float) -> None:
        if not done and progress >= progress_at:
            done.append(True)
            action()

    fault.done = done  # type: ignore[attr-defined]
    return fault


def at_random_moments(action: Callable[[], int | None], count: int = 3) -> Callable[[float], None]:
    """A fault that acts ``count`` times, at random moments between 5% and 75% of the run.

    What each action returned (the pid it killed) is kept in ``fault.done``.
    """
    moments = sorted(random.uniform(0.05, 0.75) for _ in range(count))
    done: list[int | None] = []

    def fault(progress: float) -> None:
        if moments and progress >= moments[0]:
            moments.pop(0)
            done.append(action())

    fault.done = done  # type: ignore[attr-defined]
    return fault


@contextmanager
def load_on_redis(
    own_pg: OwnPostgres, folder: Path
) -> Iterator[tuple[OwnRedis, WorkerProcess, LoadRun]]:
    """A load run on a Redis of its own (broker and events on database 0, results on 1)."""
    redis = OwnRedis(folder / "redis")
    redis.start()
    try:
        db_url = fresh_database(own_pg.url())
        worker = worker_for(folder, db_url, redis.url(0), redis.url(1))
        run = LoadRun(db_url, redis.url(0), redis.url(1), redis.url(0), folder, COMMANDS)
        yield redis, worker, run
    finally:
        redis.stop()


def test_load_with_three_pool_processes_sigkilled(own_pg: OwnPostgres, tmp_path: Path) -> None:
    with load_on_redis(own_pg, tmp_path) as (_, worker, run):
        fault = at_random_moments(worker.kill_pool_process)
        run_scenario(
            "load with 3 SIGKILLs of pool processes (Redis + PostgreSQL)",
            run,
            worker,
            fault,
            lambda: {
                "pool processes SIGKILLed": len([k for k in fault.done if k]),  # type: ignore[attr-defined]
                "commands cut off (WorkerLostError)": worker.text().count("WorkerLostError"),
            },
        )
    killed = fault.done  # type: ignore[attr-defined]
    assert len(killed) == 3 and all(killed), f"kills done: {killed} (the load ended first?)"


def test_load_with_the_whole_worker_sigkilled(own_pg: OwnPostgres, tmp_path: Path) -> None:
    """The main process too, three times: what it had taken comes back after the visibility
    timeout, to the worker a supervisor started again."""
    with load_on_redis(own_pg, tmp_path) as (_, worker, run):
        fault = at_random_moments(worker.kill)
        run_scenario(
            "load with 3 SIGKILLs of the whole worker (Redis + PostgreSQL)",
            run,
            worker,
            fault,
            lambda: {
                "whole worker SIGKILLed (main process and pool)": len(fault.done),  # type: ignore[attr-defined]
                "commands taken again after a kill": worker.received_more_than_once(run.run),
            },
        )
    killed = fault.done  # type: ignore[attr-defined]
    assert len(killed) == 3 and all(killed), f"kills done: {killed} (the load ended first?)"


def test_load_with_redis_restarted(own_pg: OwnPostgres, tmp_path: Path) -> None:
    with load_on_redis(own_pg, tmp_path) as (redis, worker, run):
        fault = once_at(0.3, lambda: redis.restart(down_for=2))
        run_scenario(
            "load with Redis restarted (broker, results, events)",
            run,
            worker,
            fault,
            lambda: {"Redis restarts": len(fault.done)},  # type: ignore[attr-defined]
        )
    assert fault.done, "the load ended before the restart"  # type: ignore[attr-defined]


@pytest.mark.rabbitmq
def test_load_with_rabbitmq_restarted(own_pg: OwnPostgres, tmp_path: Path) -> None:
    rabbit = OwnRabbit(tmp_path / "rabbit")
    redis = OwnRedis(tmp_path / "redis")
    redis.start()
    try:
        rabbit.start()
        db_url = fresh_database(own_pg.url())
        worker = worker_for(tmp_path, db_url, rabbit.url(), redis.url(1))
        run = LoadRun(db_url, rabbit.url(), redis.url(1), rabbit.url(), tmp_path, COMMANDS)
        fault = once_at(0.3, lambda: rabbit.restart(down_for=1))
        run_scenario(
            "load with RabbitMQ restarted (broker, events; results on Redis)",
            run,
            worker,
            fault,
            lambda: {"RabbitMQ restarts": len(fault.done)},  # type: ignore[attr-defined]
        )
        assert fault.done, "the load ended before the restart"  # type: ignore[attr-defined]
    finally:
        rabbit.stop()
        redis.stop()


def test_load_with_postgres_restarted(own_pg: OwnPostgres, tmp_path: Path) -> None:
    redis = OwnRedis(tmp_path / "redis")
    redis.start()
    db_url = fresh_database(own_pg.url())
    worker = worker_for(tmp_path, db_url, redis.url(0), redis.url(1))
    run = LoadRun(db_url, redis.url(0), redis.url(1), redis.url(0), tmp_path, COMMANDS)
    fault = once_at(0.3, lambda: own_pg.restart(down_for=1))
    try:
        run_scenario(
            "load with PostgreSQL restarted",
            run,
            worker,
            fault,
            lambda: {
                "PostgreSQL restarts": len(fault.done),  # type: ignore[attr-defined]
                "commands retried (transient fault)": worker.text().count(" retry: "),
            },
        )
    finally:
        redis.stop()
    assert fault.done, "the load ended before the restart"  # type: ignore[attr-defined]
