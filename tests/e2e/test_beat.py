"""Beat drives the maintenance: a real scheduler sends the task, the worker runs the operation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery.beat import Service
from celery.schedules import schedule

from domain.clock import iso, utcnow
from persistence.database import Database
from tests.conftest import Send
from tests.e2e.test_schedules import MANAGER, family, make_due
from workers.app import GameworkerCelery


@pytest.fixture
def beat(celery_app: GameworkerCelery, tmp_path: Path) -> Iterator[Service]:
    """An embedded beat sending ``maintenance.run_due_operations`` every 0.2 s."""
    saved = celery_app.conf.beat_schedule
    celery_app.conf.beat_schedule = {
        "maintenance.run_due_operations": {
            "task": "maintenance.run_due_operations",
            "schedule": schedule(run_every=timedelta(seconds=0.2)),
            "options": {"queue": "maintenance", "expires": 0.2},
        }
    }
    service = Service(
        celery_app,
        max_interval=0.1,
        schedule_filename=str(tmp_path / "celerybeat-schedule"),
        scheduler_cls=celery_app.conf.beat_scheduler,
    )
    thread = threading.Thread(target=service.start, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stop()
        thread.join(10)
        celery_app.conf.beat_schedule = saved


def test_beat_runs_a_due_operation_through_the_worker(
    db: Database, send: Send, beat: Service
) -> None:
    _, v2 = family(send)
    run_at = str(iso(utcnow() + timedelta(hours=1)))
    op = send(
        "strategies.schedule",
        {"strategy_id": v2["id"], "action": "publish", "run_at": run_at},
        actor=MANAGER,
    )["data"]
    make_due(db, op["schedule_id"])
    deadline = time.monotonic() + 20
    status = "PENDING"
    while status == "PENDING" and time.monotonic() < deadline:
        time.sleep(0.1)
        [found] = send("strategies.schedules", {}, actor=MANAGER)["data"]["items"]
        status = found["status"]
    assert status == "DONE"
    got = send("strategies.get", {"strategy_id": v2["id"]}, actor=MANAGER)["data"]
    assert got["status"] == "PUBLISHED"
    assert type(beat.scheduler).__name__ == "LockedPersistentScheduler"
