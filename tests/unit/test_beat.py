"""The beat schedule is well formed, and the scheduler fits the broker (redbeat on Redis)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from celery.beat import ScheduleEntry
from celery.schedules import schedule

from workers.app import create_app
from workers.beat import FileLock, LockedPersistentScheduler, beat_config, beat_schedule
from workers.settings import Settings

EXPECTED = {
    "events.relay",
    "maintenance.run_due_operations",
    "maintenance.reconcile_strategy_refs",
    "maintenance.purge_deleted_games",
    "maintenance.prune",
}


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(home=tmp_path, **values)


def test_every_entry_is_a_registered_task_on_the_maintenance_queue_with_expires(
    tmp_path: Path,
) -> None:
    app = create_app(settings(tmp_path))
    app.loader.import_default_modules()
    entries = app.conf.beat_schedule
    assert set(entries) == EXPECTED
    for name, entry in entries.items():
        assert entry["task"] == name and name in app.tasks
        assert isinstance(entry["schedule"], schedule)
        seconds = entry["schedule"].run_every.total_seconds()
        assert seconds > 0
        assert entry["options"] == {"queue": "maintenance", "expires": seconds}
        assert app.amqp.router.route(entry["options"], name)["queue"].name == "maintenance"
        assert "args" not in entry and "kwargs" not in entry  # beat sends no actor, no data
        ScheduleEntry(name=name, app=app, **entry)  # celery accepts it as it stands


def test_intervals_come_from_the_settings(tmp_path: Path) -> None:
    entries = beat_schedule(
        settings(
            tmp_path,
            relay_sweep_interval=2,
            schedule_interval=3,
            reconcile_interval=60,
            purge_interval=600,
            prune_interval=900,
        )
    )
    seconds = {n: e["schedule"].run_every.total_seconds() for n, e in entries.items()}
    assert seconds == {
        "events.relay": 2,
        "maintenance.run_due_operations": 3,
        "maintenance.reconcile_strategy_refs": 60,
        "maintenance.purge_deleted_games": 600,
        "maintenance.prune": 900,
    }
    assert {e["options"]["expires"] for e in entries.values()} == {2, 3, 60, 600, 900}


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://cache.internal:6380/1"])
def test_redbeat_and_its_lock_are_chosen_on_redis(tmp_path: Path, url: str) -> None:
    config = beat_config(settings(tmp_path, broker_url=url, beat_lock_timeout=45))
    assert config["beat_scheduler"] == "redbeat.RedBeatScheduler"
    assert config["redbeat_redis_url"] == url
    assert config["redbeat_lock_timeout"] == 45
    assert config["redbeat_key_prefix"] == "gameworker:redbeat"
    app = create_app(settings(tmp_path, broker_url=url))
    assert app.conf.beat_scheduler == "redbeat.RedBeatScheduler"
    assert app.conf.beat_enable_remote_control is True  # health-checked by inspect ping


@pytest.mark.parametrize("url", [None, "amqp://guest:guest@localhost:5672//"])
def test_the_locked_file_scheduler_is_chosen_on_other_brokers(
    tmp_path: Path, url: str | None
) -> None:
    app = create_app(settings(tmp_path, broker_url=url))
    assert app.conf.beat_scheduler == "workers.beat:LockedPersistentScheduler"
    assert app.conf.beat_schedule_filename == str(tmp_path.resolve() / "celerybeat-schedule")
    assert "redbeat_redis_url" not in beat_config(settings(tmp_path, broker_url=url))
    assert app.conf.beat_enable_remote_control is (url is not None)  # not on the embedded one


def test_the_lock_outlives_the_loop_and_records_outlive_redelivery(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="beat_lock_timeout"):
        settings(tmp_path, beat_lock_timeout=10, beat_max_loop_interval=10).check()
    with pytest.raises(ValueError, match="idempotency_retention_days"):
        settings(tmp_path, idempotency_retention_days=0.01, visibility_timeout=3600).check()
    settings(tmp_path).check()


def test_a_file_lock_has_one_holder_until_it_lets_go(tmp_path: Path) -> None:
    first, second = FileLock(str(tmp_path / "beat.lock")), FileLock(str(tmp_path / "beat.lock"))
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire() and second.held
    second.release()


def test_a_second_file_scheduler_stands_by_until_the_first_stops(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, beat_max_loop_interval=0.05))
    filename = str(tmp_path / "celerybeat-schedule")
    first = LockedPersistentScheduler(app=app, schedule_filename=filename)
    assert first.lock is not None and first.lock.held
    assert set(first.schedule) >= EXPECTED  # the entries were installed
    started: list[LockedPersistentScheduler] = []
    standby = threading.Thread(
        target=lambda: started.append(
            LockedPersistentScheduler(app=app, schedule_filename=filename)
        )
    )
    standby.start()
    time.sleep(0.5)
    assert started == []  # still waiting for the lock
    first.close()
    standby.join(10)
    assert len(started) == 1 and started[0].lock is not None and started[0].lock.held
    started[0].close()
