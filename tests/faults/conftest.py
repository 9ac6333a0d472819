"""Fixtures of the fault suite, and the summary of its figures at the end of the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ACTOR
from tests.faults import figures
from tests.faults.scale import scale
from workers.app import GameworkerCelery

Call = Callable[..., dict[str, Any]]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    rows = figures.all_rows()
    if not rows:
        return
    terminalreporter.section(f"gameworker fault figures (GAMEWORKER_FAULTS_SCALE={scale()})")
    for line in figures.render(rows):
        terminalreporter.write_line(line)


def eager_call(app: GameworkerCelery) -> Call:
    """Run a command's real task code in this process (no broker) and return its answer.

    A task that raises (a crash: the worker would mark it FAILURE) fails the test.
    """

    def call(
        name: str,
        data: Any = None,
        actor: Any = ACTOR,
        *,
        args: tuple[Any, ...] = (),
        **raw: Any,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"actor": actor, "data": {} if data is None else data}
        kwargs.update(raw)
        result = app.tasks[name].apply(args=args, kwargs=kwargs)
        assert result.state == "SUCCESS", f"{name} crashed:\n{result.traceback}"
        answer: dict[str, Any] = result.get()
        return answer

    return call


@pytest.fixture(scope="module")
def call(celery_app: GameworkerCelery) -> Call:
    """The module's app, called eagerly (its database is the module's store)."""
    return eager_call(celery_app)
