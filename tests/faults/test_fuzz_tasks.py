"""Fuzz at the task code: generated faulty commands are answered ``validation_error``, never crash.

The real tasks run in this process (``Task.apply``) on SQLite and PostgreSQL; a crash is a task
that raised (the worker would answer FAILURE). Every answer must be a readable refusal: the
contract's shape, a sentence, and the offending field named in ``details``. The same
generator is sent over a broker to a real worker in ``test_fuzz_broker.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings

from persistence.database import Database
from tests.faults import figures
from tests.faults.garbage import Garbage, garbage
from tests.faults.scale import scaled
from workers.app import GameworkerCelery

MAX_MESSAGE = 2_000
MAX_ANSWER = 64 * 1024


class Tally:
    sent = 0
    refused = 0
    crashes = 0
    unreadable = 0
    faults: Counter[str] = Counter()


def check_refusal(answer: Any, where: str) -> None:
    """A readable ``validation_error``: the contract's shape, a sentence, a field named."""
    assert isinstance(answer, dict) and answer.get("ok") is False, (where, answer)
    error = answer["error"]
    assert error["code"] == "validation_error", (where, error)
    assert isinstance(error["message"], str) and 0 < len(error["message"]) <= MAX_MESSAGE, (
        where,
        error["message"][:300],
    )
    assert isinstance(error["details"], dict) and error["details"].get("fields"), (where, error)
    size = len(json.dumps(answer))
    assert size <= MAX_ANSWER, f"{where}: a {size}-byte answer to garbage"


def run(app: GameworkerCelery, g: Garbage) -> None:
    Tally.sent += 1
    Tally.faults[g.fault.split(":")[0]] += 1
    result = app.tasks[g.task].apply(args=g.args, kwargs=g.kwargs)
    if result.state != "SUCCESS":
        Tally.crashes += 1
        raise AssertionError(f"{g.task} ({g.fault}) crashed:\n{result.traceback}")
    try:
        check_refusal(result.get(), f"{g.task} ({g.fault})")
    except AssertionError:
        Tally.unreadable += 1
        raise
    Tally.refused += 1


@settings(
    max_examples=scaled(5_000, minimum=100),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(g=garbage())
def test_garbage_is_refused_by_the_task_code(
    database: Database, celery_app: GameworkerCelery, g: Garbage
) -> None:
    run(celery_app, g)


def test_task_fuzz_figures(database: Database) -> None:
    assert Tally.sent > 0
    figures.record(
        f"fuzz at the task code ({database.dialect})",
        {
            "messages": Tally.sent,
            "answered validation_error": Tally.refused,
            "crashes": Tally.crashes,
            "unreadable answers": Tally.unreadable,
        },
        {"crashes": 0, "unreadable answers": 0},
    )
    Tally.sent = Tally.refused = Tally.crashes = Tally.unreadable = 0
