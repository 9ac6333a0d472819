"""Per worker process: the engine, the units of work and the publisher, made after fork.

A SQLAlchemy engine must not cross a fork (its pooled connections would be shared by two
processes), so the runtime is built lazily in the process that uses it, and rebuilt when the
process id changes.
"""

from __future__ import annotations

import logging
import os

from persistence.database import Database
from persistence.migrate import ensure_migrated
from tasks.runtime import Runtime
from workers.settings import Settings

log = logging.getLogger("gameworker")


def build_runtime(settings: Settings, check_schema: bool = True) -> Runtime:
    db = Database(
        settings.database,
        settings.cursor_secret.get_secret_value(),
        pool_size=settings.db_pool_size,
    )
    if check_schema:
        ensure_migrated(db.engine)
    return Runtime(
        db=db,
        max_retries=settings.max_retries,
        retry_backoff_base=settings.retry_backoff_base,
        retry_backoff_cap=settings.retry_backoff_cap,
    )


class RuntimeHolder:
    """Holds one runtime per process: after a fork the child builds its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runtime: Runtime | None = None
        self._pid = 0

    def get(self) -> Runtime:
        if self._runtime is None or self._pid != os.getpid():
            self._runtime = build_runtime(self.settings)
            self._pid = os.getpid()
        return self._runtime

    def set(self, runtime: Runtime) -> None:
        self._runtime, self._pid = runtime, os.getpid()

    def forget(self) -> None:
        """Drop an inherited runtime without closing the parent's connections."""
        if self._runtime is not None and self._pid != os.getpid():
            self._runtime.db.engine.dispose(close=False)
        self._runtime = None
