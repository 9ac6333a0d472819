"""The beat schedule, and how exactly one scheduler runs (docs/maintenance.md).

Every entry sends a task to the ``maintenance`` queue with ``expires`` equal to its interval:
a message no worker took before the next one was sent is dropped, so a backlog never piles up
behind a stopped worker. The tasks hold run locks of their own, so even two schedulers would
never make two runs work at once; the scheduler lock keeps beat from sending everything twice.

Which scheduler, and its lock:

- broker on Redis (``redis://``, ``rediss://``): celery-redbeat. The schedule lives in Redis and
  one beat holds a Redis lock (renewed every tick, freed after ``beat_lock_timeout`` seconds of
  silence); another beat started anywhere waits for that lock and takes over when the holder
  dies.
- any other broker (RabbitMQ, the embedded ``filesystem://``): Celery's PersistentScheduler with
  an exclusive file lock beside its schedule file. A second beat on the same host (or sharing
  the state volume) waits on the lock the same way. Beats on hosts that share no disk cannot
  see each other's lock: deploy exactly one (one ``beat`` service with one replica).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from datetime import timedelta
from typing import IO, Any

from celery.beat import PersistentScheduler
from celery.schedules import schedule

from workers.settings import Settings

log = logging.getLogger("gameworker.beat")

QUEUE = "maintenance"
REDIS_SCHEMES = ("redis://", "rediss://")


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The entries: each maintenance task, and the relay's sweep of the outbox."""
    intervals = {
        "events.relay": settings.relay_sweep_interval,
        "maintenance.run_due_operations": settings.schedule_interval,
        "maintenance.reconcile_strategy_refs": settings.reconcile_interval,
        "maintenance.purge_deleted_games": settings.purge_interval,
        "maintenance.prune": settings.prune_interval,
    }
    return {
        name: {
            "task": name,
            "schedule": schedule(run_every=timedelta(seconds=seconds)),
            "options": {"queue": QUEUE, "expires": seconds},
        }
        for name, seconds in intervals.items()
    }


def uses_redis(broker_url: str) -> bool:
    return broker_url.startswith(REDIS_SCHEMES)


def beat_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings of beat: its schedule, its scheduler and that scheduler's lock."""
    config: dict[str, Any] = {
        "beat_schedule": beat_schedule(settings),
        "beat_max_loop_interval": settings.beat_max_loop_interval,
        "beat_schedule_filename": str(settings.home_dir / "celerybeat-schedule"),
        # Beat answers `celery inspect ping -d celerybeat@<host>` while it ticks (a health
        # check); not on the embedded broker, where nothing checks it.
        "beat_enable_remote_control": not settings.is_embedded_broker,
    }
    if uses_redis(settings.broker):
        config |= {
            "beat_scheduler": "redbeat.RedBeatScheduler",
            "redbeat_redis_url": settings.broker,
            "redbeat_redis_options": {},
            "redbeat_key_prefix": settings.beat_key_prefix,
            "redbeat_lock_timeout": settings.beat_lock_timeout,
        }
    else:
        config["beat_scheduler"] = "workers.beat:LockedPersistentScheduler"
    return config


class FileLock:
    """An exclusive ``flock`` on a file: the OS lets go when the holder's process dies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for as long as the lock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def acquire(self, poll: float) -> None:
        """Wait until the lock is ours, trying every ``poll`` seconds."""
        waiting = False
        while not self.try_acquire():
            if not waiting:
                log.warning("beat: another scheduler holds %s; standing by", self.path)
                waiting = True
            time.sleep(poll)
        log.info("beat: acquired the scheduler lock %s", self.path)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None


class LockedPersistentScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery's file-backed scheduler, run by one process at a time (a file lock)."""

    lock: FileLock | None = None

    def setup_schedule(self) -> None:
        # Before the schedule file is opened: two processes never write it together.
        self.lock = FileLock(self.schedule_filename + ".lock")
        self.lock.acquire(poll=self.max_interval)
        super().setup_schedule()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.lock is not None:
                self.lock.release()
