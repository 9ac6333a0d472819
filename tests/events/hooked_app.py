"""Test-only Celery app module: gameworker's own app plus a hook that holds one transaction.

``celery -A tests.events.hooked_app worker`` runs the production app unchanged; this module only
adds SQLAlchemy listeners (test code, never imported by the product). The transaction that
inserts a game whose name contains ``$GW_TEST_HOLD_NAME`` stops - before its COMMIT
(``GW_TEST_HOLD_AT=commit``) or right after it (``after_commit``) - writes the process id to
``$GW_TEST_HOLD_DIR/held`` and sleeps until the test kills the process. Only the first such
transaction is held: the redelivered command runs through.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from workers.app import app

HOLD_NAME = os.environ.get("GW_TEST_HOLD_NAME", "")
HOLD_AT = os.environ.get("GW_TEST_HOLD_AT", "commit")
HOLD_DIR = Path(os.environ.get("GW_TEST_HOLD_DIR", "."))


def _hold() -> None:
    marker = HOLD_DIR / "held"
    if marker.exists():
        return  # held once already: this is the redelivery
    marker.write_text(str(os.getpid()))
    time.sleep(300)


@event.listens_for(Engine, "before_cursor_execute")
def _mark(conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
    if HOLD_NAME and statement.startswith("INSERT INTO games") and HOLD_NAME in str(params):
        conn.info["hold"] = True


@event.listens_for(Engine, "commit")
def _before_commit(conn: Any) -> None:
    if conn.info.pop("hold", False):
        if HOLD_AT == "commit":
            _hold()
        else:
            conn.info["hold_after"] = True


@event.listens_for(Pool, "checkin")
def _after_commit(_dbapi: Any, record: Any) -> None:
    if record is not None and record.info.pop("hold_after", False):
        _hold()


__all__ = ["app"]
