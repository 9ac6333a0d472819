"""Task message headers of the wrong type are named before Celery trusts them."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from celery.signals import before_task_publish

from workers.task_headers import header_problem


def celery_headers(**options: Any) -> dict[str, Any]:
    """The headers ``send_task`` puts on a message (caught before publishing)."""
    sent: list[dict[str, Any]] = []

    def catch(headers: dict[str, Any], **_: Any) -> None:
        sent.append(dict(headers))

    before_task_publish.connect(catch, weak=False)
    app = Celery("headers", broker="memory://")
    try:
        app.send_task("games.create", kwargs={"actor": {}}, queue="headers-test", **options)
    finally:
        before_task_publish.disconnect(catch)
        app.close()
    return sent[0]


def test_what_send_task_sends_passes() -> None:
    assert header_problem(celery_headers()) is None
    assert header_problem(celery_headers(countdown=5, expires=30, time_limit=10)) is None
    assert header_problem(celery_headers(ignore_result=True, retries=2)) is None


def test_celerys_own_headers_pass() -> None:
    assert header_problem(celery_headers()) is None
    assert header_problem({**celery_headers(), "eta": "2030-01-01T00:00:00+00:00"}) is None
    assert header_problem({**celery_headers(), "timelimit": [300, 240.5]}) is None
    assert header_problem({**celery_headers(), "unknown-header": object()}) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timelimit", [1, 2, 3]),
        ("timelimit", "soon"),
        ("timelimit", [-1, None]),
        ("timelimit", [True, None]),
        ("id", 12),
        ("id", None),
        ("retries", -1),
        ("retries", 10**30),
        ("retries", True),
        ("eta", 12),
        ("stamps", "stamp"),
        ("ignore_result", "no"),
        ("root_id", ["r"]),
    ],
)
def test_a_wrong_type_is_named(name: str, value: Any) -> None:
    problem = header_problem({**celery_headers(), name: value})
    assert problem is not None and problem.startswith(f"header {name} must be")
    assert len(problem) < 200


def test_a_huge_value_is_shown_short() -> None:
    problem = header_problem({**celery_headers(), "shadow": ["x" * 10_000]})
    assert problem is not None and len(problem) < 200
