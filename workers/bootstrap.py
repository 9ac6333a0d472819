"""Per worker process: the engine, the units of work and the publisher, made after fork.

A SQLAlchemy engine must not cross a fork (its pooled connections would be shared by two
processes), so the runtime is built lazily in the process that uses it, and rebuilt when the
process id changes.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from domain.services.maintenance import MaintenancePolicy
from persistence.database import Database
from persistence.migrate import ensure_migrated
from tasks.relay import RELAY_TASK, RelayKicker
from tasks.runtime import Runtime
from workers.publisher import KombuEventPublisher
from workers.settings import Settings

log = logging.getLogger("gameworker")


def build_runtime(
    settings: Settings,
    check_schema: bool = True,
    app: Any = None,
    db: Database | None = None,
) -> Runtime:
    """The runtime of this process; with the Celery ``app``, also the publisher and the kick."""
    if db is None:
        db = Database(
            settings.database,
            settings.cursor_secret.get_secret_value(),
            pool_size=settings.db_pool_size,
        )
    if check_schema:
        ensure_migrated(db.engine)
    return Runtime(
        db=db,
        **relay_parts(settings, app),
        max_retries=settings.max_retries,
        retry_backoff_base=settings.retry_backoff_base,
        retry_backoff_cap=settings.retry_backoff_cap,
        maintenance=maintenance_policy(settings),
    )


def relay_parts(settings: Settings, app: Any) -> dict[str, Any]:
    """The events publisher and the relay kick of a process of the Celery ``app``.

    The publisher uses the broker's transport options (key prefix, embedded folders) when the
    events go to the Celery broker, as they do unless ``GAMEWORKER_EVENTS_URL`` says otherwise.
    """
    if app is None:
        return {}
    options: dict[str, Any] = {}
    if settings.events == app.conf.broker_url:
        options = dict(app.conf.broker_transport_options or {})
    publisher = KombuEventPublisher(settings.events, options)

    def send(countdown: float | None) -> None:
        app.send_task(
            RELAY_TASK, queue="maintenance", countdown=countdown, expires=60, ignore_result=True
        )

    return {
        "publisher": publisher,
        "after_commit": RelayKicker(send, interval=settings.relay_kick_interval),
        "relay_batch_size": settings.relay_batch_size,
    }


def maintenance_policy(settings: Settings) -> MaintenancePolicy:
    """A run stops after half its soft time limit; its lock outlives the hard one."""
    return MaintenancePolicy(
        purge_retention_days=settings.purge_retention_days,
        idempotency_retention_days=settings.idempotency_retention_days,
        outbox_retention_days=settings.outbox_retention_days,
        batch_size=settings.maintenance_batch_size,
        time_budget=settings.task_soft_time_limit / 2,
        lock_lease=settings.task_time_limit + 60,
    )


class RuntimeHolder:
    """Holds one runtime per process: after a fork the child builds its own."""

    def __init__(self, settings: Settings, app: Any = None) -> None:
        self.settings = settings
        self.app = app
        self._runtime: Runtime | None = None
        self._pid = 0

    def get(self) -> Runtime:
        if self._runtime is None or self._pid != os.getpid():
            self._runtime = build_runtime(self.settings, app=self.app)
            self._pid = os.getpid()
        return self._runtime

    def set(self, runtime: Runtime) -> None:
        self._runtime, self._pid = runtime, os.getpid()

    def forget(self) -> None:
        """Drop an inherited runtime without closing the parent's connections."""
        if self._runtime is not None and self._pid != os.getpid():
            self._runtime.db.engine.dispose(close=False)
        self._runtime = None
