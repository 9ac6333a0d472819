"""A real prefork worker killed with SIGKILL mid-command: run again, one effect, one event set.

RabbitMQ (a vhost of the run) + PostgreSQL, results on Redis. The worker is
``celery -A tests.events.hooked_app worker -P prefork``: gameworker's app plus a test hook that
holds the command's transaction (before or after its COMMIT) until the test kills that process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from kombu import Connection  # type: ignore[attr-defined]
from sqlalchemy import func, select

from persistence.database import Database
from persistence.tables import games, processed_commands
from tests.conftest import ACTOR, CURSOR_SECRET, need
from tests.events.conftest import EventSink, wait_until
from tests.services import REDIS

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_env(pg_db: Database, rabbit_url: str, tmp_path: Path) -> dict[str, str]:
    need(REDIS)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GAMEWORKER_")},
        "GAMEWORKER_HOME": str(tmp_path),
        "GAMEWORKER_DATABASE_URL": pg_db.url,
        "GAMEWORKER_BROKER_URL": rabbit_url,
        "GAMEWORKER_RESULT_BACKEND": REDIS.url,
        "GAMEWORKER_CURSOR_SECRET": CURSOR_SECRET,
        "GW_TEST_HOLD_NAME": "Held Game",
        "GW_TEST_HOLD_DIR": str(tmp_path),
    }


def start_worker(env: dict[str, str], hold_at: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.events.hooked_app", "worker",
         "-P", "prefork", "-c", "2", "-Q", "games,strategies,maintenance",
         "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT,
        env={**env, "GW_TEST_HOLD_AT": hold_at},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def client(rabbit_url: str) -> Iterator[Celery]:
    app = Celery("upstream", broker=rabbit_url, backend=REDIS.url)  # a plain upstream sender
    yield app
    app.close()


@pytest.mark.parametrize("hold_at", ["commit", "after_commit"])
def test_worker_killed_mid_command_redelivers_with_one_effect_and_one_event_set(
    hold_at: str, worker_env: dict[str, str], pg_db: Database, client: Celery, tmp_path: Path
) -> None:
    sink = EventSink(Connection(worker_env["GAMEWORKER_BROKER_URL"]))
    proc = start_worker(worker_env, hold_at, tmp_path / "worker.log")
    try:
        sent = client.send_task(
            "games.create",
            kwargs={"actor": ACTOR, "data": {"name": "Held Game"}},
            queue="games",
        )
        held = tmp_path / "held"
        wait_until(held.exists, timeout=60)
        child = int(held.read_text())
        assert child != proc.pid  # a pool process, not the worker's main process
        os.kill(child, signal.SIGKILL)

        result = sent.get(timeout=60, interval=0.05)  # the redelivery answers
        assert result["ok"], result
        game_id = result["data"]["id"]
        with pg_db.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(games)).scalar_one() == 1
            assert (
                conn.execute(select(func.count()).select_from(processed_commands)).scalar_one() == 1
            )
        rows = wait_until(lambda: _published(pg_db), timeout=30)
        assert [(r.type, r.subject) for r in rows] == [("game.created", game_id)]
        sink.wait_for_ids({rows[0].event_id})
        sink.drain(0.5)
        assert {r.event["id"] for r in sink.received} == {rows[0].event_id}
        assert sink.received[0].event["data"] == result["data"]
        log = (tmp_path / "worker.log").read_text(errors="replace")
        # the main process saw the pool process die mid-command and sent the command again
        assert "exited with 'signal 9 (SIGKILL)'" in log
        assert "retry: Retry in 1s: WorkerLostError" in log
    finally:
        stop(proc)
        sink.close()


def _published(db: Database) -> list[object]:
    from persistence.tables import outbox

    with db.engine.connect() as conn:
        rows = list(conn.execute(select(outbox).order_by(outbox.c.id)))
    return rows if rows and all(r.published_at for r in rows) else []
