"""The Celery app: ``celery -A workers.app worker`` runs gameworker."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, worker_init, worker_process_init

import celeryconfig
from persistence.engine import make_engine
from persistence.migrate import NotMigrated, ensure_migrated
from tasks.runtime import Runtime
from workers import dead_lettering  # noqa: F401  (its task_failure handler)
from workers.bootstrap import RuntimeHolder
from workers.logs import json_command_lines
from workers.settings import Settings
from workers.signing import enable_signing

TASK_MODULES = [
    "tasks.games",
    "tasks.game_tasks",
    "tasks.strategies",
    "tasks.schedules",
    "tasks.maintenance",
    "tasks.relay",
]
log = logging.getLogger("gameworker")
# One JSON line per command on the worker's stderr (workers/logs.py).
after_setup_logger.connect(json_command_lines, weak=False)


class GameworkerCelery(Celery):  # type: ignore[misc]
    """The Celery app, carrying the settings and the per-process runtime the tasks use."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__("gameworker", **kwargs)
        self.settings = settings
        self.holder = RuntimeHolder(settings, self)
        self.config_from_object(celeryconfig.build(settings))
        self.conf.include = TASK_MODULES
        if settings.signing:
            enable_signing(self)

    @property
    def runtime(self) -> Runtime:
        return self.holder.get()


def create_app(settings: Settings | None = None) -> GameworkerCelery:
    return GameworkerCelery(settings or Settings())


app = create_app()


@worker_init.connect
def _refuse_unmigrated(sender: Any = None, **_: Any) -> None:
    """The worker refuses to start on a database `gameworker migrate` has not brought to head."""
    current = getattr(sender, "app", None)
    if not isinstance(current, GameworkerCelery):
        return
    engine = make_engine(current.settings.database)
    try:
        ensure_migrated(engine)
    except NotMigrated as exc:
        log.critical("%s", exc)
        raise SystemExit(f"gameworker: {exc}") from None
    finally:
        engine.dispose()


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    app.holder.forget()
