"""Test-only Celery app module: gameworker's app plus a command that kills its pool process.

``celery -A tests.faults.killer_app worker`` runs the production app unchanged; before a
``games.create`` whose name contains ``$GW_TEST_KILL_NAME`` runs, the pool process appends a
line to ``$GW_TEST_KILL_DIR/runs`` and SIGKILLs itself, every time, as a command that always
takes its worker down (a segfaulting driver, the OOM killer) would.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from celery.signals import task_prerun

from workers.app import app

KILL_NAME = os.environ.get("GW_TEST_KILL_NAME", "")
KILL_DIR = Path(os.environ.get("GW_TEST_KILL_DIR", "."))


@task_prerun.connect
def _kill(task_id: str | None = None, kwargs: Any = None, **_: Any) -> None:
    data = (kwargs or {}).get("data") if isinstance(kwargs, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    if KILL_NAME and isinstance(name, str) and KILL_NAME in name:
        with (KILL_DIR / "runs").open("a") as runs:
            runs.write(f"{task_id} {os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["app"]
