"""A command that kills its worker every time it runs is run a bounded number of times.

A real worker (prefork, Redis + PostgreSQL) gets a ``games.create`` that SIGKILLs its pool
process whenever it starts (tests/faults/killer_app.py), between ordinary commands. Celery
retries a command whose worker was lost (``task_retry_on_worker_lost``) until its retries are
spent (``GAMEWORKER_MAX_RETRIES``); then the command ends in FAILURE and is dead-lettered (a
row and a ``command.failed`` event), its message acknowledged. Without that, the message came
back forever (``task_reject_on_worker_lost`` alone requeues it each time).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import select

from persistence.database import Database
from persistence.tables import dead_letters, games, outbox
from tests.conftest import ACTOR, CURSOR_SECRET
from tests.faults import figures
from tests.faults.processes import SHORT_LIMITS, WorkerProcess, gameworker_env
from tests.faults.servers import OwnRedis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
MAX_RETRIES = 2
TARGETS = {"runs of the killing command": MAX_RETRIES + 1, "ordinary commands not ok": 0}


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_command_that_always_kills_its_worker_is_dead_lettered(
    pg_db: Database, redis: OwnRedis, tmp_path: Path
) -> None:
    db_url = pg_db.url
    marker = f"killer-{uuid.uuid4().hex[:6]}"
    env = gameworker_env(
        home=tmp_path / "home",
        database_url=db_url,
        broker_url=redis.url(0),
        result_backend=redis.url(1),
        cursor_secret=CURSOR_SECRET,
        **SHORT_LIMITS,
        max_retries=MAX_RETRIES,
    )
    env |= {"GW_TEST_KILL_NAME": marker, "GW_TEST_KILL_DIR": str(tmp_path)}
    worker = WorkerProcess(env, tmp_path / "worker", app="tests.faults.killer_app")
    client = Celery("poison-client", broker=redis.url(0), backend=redis.url(1))
    client.conf.update(task_serializer="json", accept_content=["json"])
    try:
        worker.start()
        killer = client.send_task(
            "games.create",
            kwargs={"actor": ACTOR, "data": {"name": f"{marker} game"}, "idempotency_key": marker},
            queue="games",
        )
        ordinary = [
            client.send_task(
                "games.create", kwargs={"actor": ACTOR, "data": {"name": f"ordinary {n}"}},
                queue="games",
            )
            for n in range(10)
        ]  # fmt: skip
        answers = [r.get(timeout=120) for r in ordinary]
        deadline = time.monotonic() + 120
        while killer.state not in ("FAILURE", "SUCCESS") and time.monotonic() < deadline:
            time.sleep(0.2)
        state, outcome = killer.state, repr(killer.result)
        assert worker.alive, "the main process outlives its pool processes"
    finally:
        worker.stop()
        client.close()

    runs = (tmp_path / "runs").read_text().splitlines() if (tmp_path / "runs").exists() else []
    with pg_db.engine.connect() as conn:
        letters = conn.execute(
            select(dead_letters.c.task_id, dead_letters.c.error, dead_letters.c.attempts)
        ).all()
        failed = conn.execute(
            select(outbox.c.type, outbox.c.data).where(outbox.c.type == "command.failed")
        ).all()
        names = set(conn.execute(select(games.c.name)).scalars())

    figures.record(
        "a command that always kills its worker (Redis + PostgreSQL)",
        {
            "runs of the killing command": len(runs),
            "ordinary commands sent": len(ordinary),
            "ordinary commands not ok": sum(1 for a in answers if not a["ok"]),
            "dead letters": len(letters),
            "command.failed events": len(failed),
        },
        TARGETS,
    )
    assert state == "FAILURE" and "WorkerLostError" in outcome, (state, outcome)
    assert len(runs) == MAX_RETRIES + 1, runs
    assert {task_id for task_id, _ in (r.split() for r in runs)} == {killer.id}
    assert all(a["ok"] for a in answers), answers
    assert {f"ordinary {n}" for n in range(10)} <= names and f"{marker} game" not in names
    assert [(t, a) for t, _, a in letters] == [(killer.id, MAX_RETRIES + 1)]
    assert "WorkerLostError" in letters[0][1]
    assert len(failed) == 1 and failed[0].data["idempotency_key"] == marker
