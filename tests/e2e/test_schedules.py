"""Scheduled strategy operations (contract section 10), end to end on both stores.

Time is not waited for: a test schedules an operation in the future, then moves its ``run_at``
into the past in the database (as the clock would) and sends ``maintenance.run_due_operations``
as beat does.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from domain.clock import iso, utcnow
from domain.services import schedules as service
from persistence.database import Database
from persistence.tables import audit_log, scheduled_operations
from tests import maintenance_world as w
from tests.conftest import ADMIN, Send
from workers.app import GameworkerCelery

MANAGER = {"account_id": "acme", "subject": "release-bot", "roles": ["strategy_admin"]}
GLOBEX_MANAGER = {"account_id": "globex", "subject": "globex-bot", "roles": ["strategy_admin"]}
PLAIN = {"account_id": "acme", "subject": "api-key-acme"}


def later(minutes: float = 60) -> str:
    return str(iso(utcnow() + timedelta(minutes=minutes)))


@pytest.fixture
def run_due(celery_app: GameworkerCelery, send: Send) -> Any:
    def run() -> dict[str, Any]:
        result = celery_app.send_task("maintenance.run_due_operations", queue="maintenance")
        answer: dict[str, Any] = result.get(timeout=30, interval=0.01)
        return answer

    return run


def make_due(db: Database, schedule_id: str) -> None:
    past = utcnow() - timedelta(seconds=1)
    with db.engine.begin() as conn:
        conn.execute(
            update(scheduled_operations)
            .where(scheduled_operations.c.id == schedule_id)
            .values(run_at=past)
        )


def family(send: Send) -> tuple[dict[str, Any], dict[str, Any]]:
    """v1 PUBLISHED and v2 DRAFT of one family."""
    v1 = send("strategies.create", {"name": "Scoring", "definition": {"v": 1}}, actor=MANAGER)
    assert v1["ok"], v1
    assert send("strategies.publish", {"strategy_id": v1["data"]["id"]}, actor=MANAGER)["ok"]
    v2 = send(
        "strategies.update",
        {"strategy_id": v1["data"]["id"], "definition": {"v": 2}},
        actor=MANAGER,
    )
    assert v2["ok"] and v2["data"]["version"] == 2, v2
    return v1["data"], v2["data"]


def schedule(send: Send, actor: dict[str, Any] = MANAGER, **data: Any) -> dict[str, Any]:
    return send("strategies.schedule", {"run_at": later(), **data}, actor=actor)


def status_of(send: Send, strategy_id: str) -> str:
    got = send("strategies.get", {"strategy_id": strategy_id}, actor=MANAGER)
    return str(got["data"]["status"])


# --- schedule, cancel, list --------------------------------------------------------------


def test_schedule_answers_a_pending_operation(send: Send) -> None:
    _, v2 = family(send)
    run_at = later(30)
    answer = send(
        "strategies.schedule",
        {"strategy_id": v2["id"], "action": "publish", "run_at": run_at},
        actor=MANAGER,
    )
    assert answer["ok"], answer
    data = answer["data"]
    assert data["schedule_id"].startswith("sch_")
    assert (data["strategy_id"], data["action"], data["target_version"]) == (
        v2["id"],
        "publish",
        None,
    )
    assert data["status"] == "PENDING" and data["run_at"] == run_at
    assert status_of(send, v2["id"]) == "DRAFT"  # nothing happens before run_at


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "publish", "run_at": "2001-01-01T00:00:00Z"}, "run_at"),
        ({"action": "rollback", "run_at": later()}, "target_version"),
        ({"action": "publish", "target_version": 1, "run_at": later()}, "target_version"),
        ({"action": "delete", "run_at": later()}, "action"),
    ],
)
def test_schedule_refuses_what_could_never_run(
    send: Send, data: dict[str, Any], field: str
) -> None:
    v1, _ = family(send)
    answer = send("strategies.schedule", {"strategy_id": v1["id"], **data}, actor=MANAGER)
    assert answer["error"]["code"] == "validation_error", answer
    assert any(field in name for name in answer["error"]["details"]["fields"]), answer


def test_schedule_a_rollback_to_an_unknown_version_is_not_found(send: Send) -> None:
    v1, _ = family(send)
    answer = schedule(send, strategy_id=v1["id"], action="rollback", target_version=9)
    assert answer["error"]["code"] == "not_found"


def test_scheduling_needs_the_role_of_the_action(send: Send) -> None:
    v1, _ = family(send)
    answer = schedule(send, actor=PLAIN, strategy_id=v1["id"], action="publish")
    assert answer["error"]["code"] == "forbidden"
    listed = send("strategies.schedules", {}, actor=PLAIN)
    assert listed["error"]["code"] == "forbidden"
    assert schedule(send, actor=ADMIN, strategy_id=v1["id"], action="publish")["ok"]


def test_another_accounts_strategy_and_schedule_are_not_found(send: Send) -> None:
    _, v2 = family(send)
    answer = schedule(send, actor=GLOBEX_MANAGER, strategy_id=v2["id"], action="publish")
    assert answer["error"]["code"] == "not_found"
    mine = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    cancel = send(
        "strategies.schedule_cancel", {"schedule_id": mine["schedule_id"]}, actor=GLOBEX_MANAGER
    )
    assert cancel["error"]["code"] == "not_found"
    assert send("strategies.schedules", {}, actor=GLOBEX_MANAGER)["data"]["items"] == []


def test_cancel_then_cancel_again_is_a_conflict(send: Send) -> None:
    _, v2 = family(send)
    op = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    cancelled = send(
        "strategies.schedule_cancel", {"schedule_id": op["schedule_id"]}, actor=MANAGER
    )
    assert cancelled["ok"] and cancelled["data"]["status"] == "CANCELLED"
    again = send("strategies.schedule_cancel", {"schedule_id": op["schedule_id"]}, actor=MANAGER)
    assert again["error"]["code"] == "conflict"


def test_schedules_pages_latest_run_at_first_and_filters_by_strategy(send: Send) -> None:
    v1, v2 = family(send)
    made = [
        schedule(send, strategy_id=v2["id"], action="publish", run_at=later(m))["data"]
        for m in (10, 30, 20)
    ]
    made.append(
        schedule(send, strategy_id=v1["id"], action="rollback", target_version=1, run_at=later(40))[
            "data"
        ]
    )
    first = send("strategies.schedules", {"limit": 2}, actor=MANAGER)["data"]
    second = send(
        "strategies.schedules",
        {"limit": 2, "cursor": first["pagination"]["next_cursor"]},
        actor=MANAGER,
    )["data"]
    order = [op["schedule_id"] for op in first["items"] + second["items"]]
    by_run_at = sorted(made, key=lambda op: op["run_at"], reverse=True)
    assert order == [op["schedule_id"] for op in by_run_at]
    assert second["pagination"]["has_next"] is False
    only_v1 = send("strategies.schedules", {"strategy_id": v1["id"]}, actor=MANAGER)["data"]
    assert [op["action"] for op in only_v1["items"]] == ["rollback"]
    admin = send("strategies.schedules", {}, actor=ADMIN)["data"]
    assert len(admin["items"]) == 4


def test_a_cursor_of_one_filter_is_refused_with_another(send: Send) -> None:
    v1, v2 = family(send)
    for m in (10, 20):
        schedule(send, strategy_id=v2["id"], action="publish", run_at=later(m))
    page = send("strategies.schedules", {"limit": 1}, actor=MANAGER)["data"]
    other = send(
        "strategies.schedules",
        {"strategy_id": v1["id"], "cursor": page["pagination"]["next_cursor"]},
        actor=MANAGER,
    )
    assert other["error"]["code"] == "invalid_cursor"


# --- running them ----------------------------------------------------------------------


def test_a_due_publish_runs_once_and_ends_done_with_its_result(
    db: Database, send: Send, run_due: Any
) -> None:
    v1, v2 = family(send)
    game = send(
        "games.create", {"name": "Chess", "strategy_id": f"custom:{v1['id']}"}, actor=MANAGER
    )
    op = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    make_due(db, op["schedule_id"])

    summary = run_due()

    assert (summary["due"], summary["done"], summary["failed"]) == (1, 1, 0)
    assert summary["schedule_ids"] == [op["schedule_id"]]
    assert status_of(send, v2["id"]) == "PUBLISHED" and status_of(send, v1["id"]) == "ARCHIVED"
    moved = send("games.get", {"game_id": game["data"]["id"]}, actor=MANAGER)["data"]
    assert moved["strategy_id"] == f"custom:{v2['id']}"  # the cascade, as the direct command
    [done] = send("strategies.schedules", {}, actor=MANAGER)["data"]["items"]
    assert done["status"] == "DONE"
    assert done["result"]["ok"] and done["result"]["data"]["id"] == v2["id"]
    assert len(w.events(db, "strategy.published")) == 2  # v1 by hand, v2 by the schedule
    with db.engine.connect() as conn:
        audit = conn.execute(
            select(audit_log.c.subject, audit_log.c.outcome).where(
                audit_log.c.strategy_id == v2["id"], audit_log.c.action == "publish"
            )
        ).all()
    assert [(a.subject, a.outcome) for a in audit] == [("release-bot", "succeeded")]

    again = run_due()  # exactly once
    assert again["due"] == 0
    assert len(w.events(db, "strategy.published")) == 2


def test_a_due_rollback_runs_with_the_rollback_result(
    db: Database, send: Send, run_due: Any
) -> None:
    v1, v2 = family(send)
    assert send("strategies.publish", {"strategy_id": v2["id"]}, actor=MANAGER)["ok"]
    op = schedule(send, strategy_id=v2["id"], action="rollback", target_version=1)["data"]
    make_due(db, op["schedule_id"])

    assert run_due()["done"] == 1

    assert status_of(send, v1["id"]) == "PUBLISHED" and status_of(send, v2["id"]) == "ARCHIVED"
    [done] = send("strategies.schedules", {}, actor=MANAGER)["data"]["items"]
    assert done["result"]["data"]["displaced_strategy_id"] == v2["id"]
    assert len(w.events(db, "strategy.rolled_back")) == 1


def test_an_operation_not_yet_due_waits(db: Database, send: Send, run_due: Any) -> None:
    _, v2 = family(send)
    op = schedule(send, strategy_id=v2["id"], action="publish", run_at=later(1))["data"]
    assert run_due()["due"] == 0
    assert status_of(send, v2["id"]) == "DRAFT"
    [waiting] = send("strategies.schedules", {}, actor=MANAGER)["data"]["items"]
    assert waiting["status"] == "PENDING" and waiting["schedule_id"] == op["schedule_id"]


def test_a_cancelled_operation_never_runs(db: Database, send: Send, run_due: Any) -> None:
    _, v2 = family(send)
    op = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    send("strategies.schedule_cancel", {"schedule_id": op["schedule_id"]}, actor=MANAGER)
    make_due(db, op["schedule_id"])
    assert run_due()["due"] == 0
    assert status_of(send, v2["id"]) == "DRAFT"


def test_a_done_operation_cannot_be_cancelled(db: Database, send: Send, run_due: Any) -> None:
    _, v2 = family(send)
    op = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    make_due(db, op["schedule_id"])
    run_due()
    answer = send("strategies.schedule_cancel", {"schedule_id": op["schedule_id"]}, actor=MANAGER)
    assert answer["error"]["code"] == "conflict"


def test_a_failing_operation_ends_failed_with_the_direct_commands_answer(
    db: Database, send: Send, run_due: Any
) -> None:
    v1, v2 = family(send)
    op = schedule(send, strategy_id=v1["id"], action="rollback", target_version=1)["data"]
    make_due(db, op["schedule_id"])  # v1 is PUBLISHED already: the rollback is a conflict
    second = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    make_due(db, second["schedule_id"])

    summary = run_due()

    assert (summary["due"], summary["done"], summary["failed"]) == (2, 1, 1)  # one never blocks
    ops = {
        o["schedule_id"]: o
        for o in send("strategies.schedules", {}, actor=MANAGER)["data"]["items"]
    }
    failed = ops[op["schedule_id"]]
    assert failed["status"] == "FAILED" and failed["result"]["ok"] is False
    assert failed["result"]["error"]["code"] == "conflict"
    assert ops[second["schedule_id"]]["status"] == "DONE"
    [rejected] = w.events(db, "command.rejected")
    assert rejected["data"]["task"] == "strategies.rollback"
    assert rejected["data"]["idempotency_key"] == op["schedule_id"]
    with db.engine.connect() as conn:
        outcomes = conn.execute(
            select(audit_log.c.action, audit_log.c.outcome).where(audit_log.c.outcome == "failed")
        ).all()
    assert [(a.action, a.outcome) for a in outcomes] == [("rollback", "failed")]
    assert run_due()["due"] == 0  # FAILED is final


def test_a_due_operation_runs_as_the_actor_who_scheduled_it(
    db: Database, send: Send, run_due: Any
) -> None:
    _, v2 = family(send)
    op = schedule(send, actor=ADMIN, strategy_id=v2["id"], action="publish")["data"]
    make_due(db, op["schedule_id"])
    assert run_due()["done"] == 1
    with db.engine.connect() as conn:
        subject = conn.execute(
            select(audit_log.c.subject).where(
                audit_log.c.strategy_id == v2["id"], audit_log.c.action == "publish"
            )
        ).scalar_one()
    assert subject == "ops-admin"


# --- the use case itself: faults and overlapping runners ---------------------------------


def test_a_fault_that_will_not_pass_fails_the_operation_and_the_rest_still_run(
    db: Database, send: Send
) -> None:
    _, v2 = family(send)
    broken = schedule(send, strategy_id=v2["id"], action="rollback", target_version=1)["data"]
    fine = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    for op in (broken, fine):
        make_due(db, op["schedule_id"])

    def bug(*_: Any) -> Any:
        raise RuntimeError("a bug")

    actions = {**service.ACTIONS, "rollback": bug}
    summary = service.run_due_operations(
        db.unit_of_work,
        actions,
        service.MaintenancePolicy(),
        utcnow(),
        lambda: True,
        lambda e: True,
    )

    assert (summary.due, summary.done, summary.failed) == (2, 1, 1)
    with db.unit_of_work() as uow:
        failed = uow.schedules.get(broken["schedule_id"])
    assert failed is not None and failed.status == "FAILED"
    assert failed.result == {
        "ok": False,
        "error": {"code": "internal_error", "message": "RuntimeError: a bug", "details": {}},
    }
    [event] = w.events(db, "command.failed")
    assert event["data"]["idempotency_key"] == broken["schedule_id"]


def test_a_transient_fault_leaves_the_operation_pending_for_the_next_run(
    db: Database, send: Send
) -> None:
    _, v2 = family(send)
    op = schedule(send, strategy_id=v2["id"], action="publish")["data"]
    make_due(db, op["schedule_id"])

    def flaky(*_: Any) -> Any:
        raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        service.run_due_operations(
            db.unit_of_work,
            {"publish": flaky},
            service.MaintenancePolicy(),
            utcnow(),
            lambda: True,
            lambda e: not isinstance(e, ConnectionError),
        )
    with db.unit_of_work() as uow:
        pending = uow.schedules.get(op["schedule_id"])
    assert pending is not None and pending.status == "PENDING"


def test_two_overlapping_runners_run_a_due_operation_once(db: Database, send: Send) -> None:
    """Even without the run lock: the row lock and the status check let one of them run it."""
    _, v2 = family(send)
    ops = [
        schedule(send, strategy_id=v2["id"], action="publish")["data"]["schedule_id"]
        for _ in range(3)
    ]
    for op in ops:
        make_due(db, op)
    start = threading.Barrier(2)
    summaries: list[service.DueSummary] = []

    def runner() -> None:
        start.wait()
        summaries.append(
            service.run_due_operations(
                db.unit_of_work,
                service.ACTIONS,
                service.MaintenancePolicy(),
                utcnow(),
                lambda: True,
                lambda e: True,
            )
        )

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ran = [sid for s in summaries for sid in s.schedule_ids]
    assert sorted(ran) == sorted(ops)  # each once, whichever runner took it
    assert len(w.events(db, "strategy.published")) == 2  # v1 by hand, then v2 once
