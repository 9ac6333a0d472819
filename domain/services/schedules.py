"""Scheduled strategy operations: schedule, cancel and list them; run the due ones, once each.

An operation is a publish or a rollback stored with the actor who scheduled it. When it is due,
it runs the very service the direct command runs, as that actor, in one transaction that also
marks it DONE with the result: a crash before that commit leaves it PENDING (the next run does
it), and the row lock it is read under makes a second runner wait and then find it done.
A domain error marks it FAILED with the answer the direct command would have given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain import ids
from domain.actor import Actor
from domain.clock import utcnow
from domain.errors import DomainError, Forbidden, NotFound, ValidationError
from domain.events import COMMAND_FAILED, COMMAND_REJECTED, Event
from domain.paging import page_from_rows
from domain.ports import MaintenanceUnitOfWork, UnitOfWork
from domain.services import strategy_lifecycle as lifecycle
from domain.services.listing import page_request
from domain.services.maintenance import KeepGoing, MaintenancePolicy
from domain.strategies import PENDING, ScheduledOperation, Strategy, StrategyFamily

Command = Mapping[str, Any]
Action = Callable[[UnitOfWork, Actor, dict[str, Any]], Any]
ACTION_TASKS = {"publish": "strategies.publish", "rollback": "strategies.rollback"}
ACTIONS: Mapping[str, Action] = {
    "publish": lifecycle.publish_strategy,
    "rollback": lifecycle.rollback_strategy,
}
SCHEDULE_SORT_FIELDS = ("run_at", "id")
DEFAULT_SCHEDULE_SORT = "run_at:desc"


def _check_role(actor: Actor) -> None:
    if not actor.may_manage_strategies:
        raise Forbidden(
            "scheduling strategy operations needs is_admin or the role strategy_admin",
            {"roles": ["strategy_admin"]},
        )


def _load_strategy(uow: UnitOfWork, actor: Actor, strategy_id: str) -> Strategy:
    strategy = uow.strategies.get(strategy_id)
    if strategy is None or not actor.sees(strategy.account_id):
        raise NotFound(f"strategy {strategy_id} not found", {"strategy_id": strategy_id})
    return strategy


def _load_schedule(
    uow: UnitOfWork, actor: Actor, schedule_id: str, lock: bool = False
) -> ScheduledOperation:
    op = uow.schedules.get(schedule_id, lock="update" if lock else "none")
    if op is None or not actor.sees(op.account_id):
        raise NotFound(f"schedule {schedule_id} not found", {"schedule_id": schedule_id})
    return op


def schedule_operation(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Store a publish or rollback to run at ``run_at`` (in the future)."""
    _check_role(actor)
    now = utcnow()
    if cmd["run_at"] <= now:
        raise ValidationError.field("run_at", "must be in the future")
    strategy = _load_strategy(uow, actor, cmd["strategy_id"])
    target = cmd.get("target_version")
    if target is not None:  # an unknown version is refused now, as the rollback would be
        StrategyFamily(uow.strategies.family(strategy.account_id, strategy.name)).version(target)
    op = ScheduledOperation(
        id=ids.new_id(ids.SCHEDULE),
        account_id=strategy.account_id,
        strategy_id=strategy.id,
        action=cmd["action"],
        target_version=target,
        run_at=cmd["run_at"],
        status=PENDING,
        created_by=actor.subject,
        roles=list(actor.roles),
        is_admin=actor.is_admin,
        created_at=now,
        updated_at=now,
    )
    uow.schedules.add(op)
    return op.to_dict()


def cancel_operation(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Cancel a PENDING operation; a DONE, FAILED or CANCELLED one is a conflict."""
    _check_role(actor)
    op = _load_schedule(uow, actor, cmd["schedule_id"], lock=True)
    op.cancel()
    uow.schedules.update(op)
    return op.to_dict()


def list_operations(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """A page of the operations the actor may see, latest ``run_at`` first."""
    _check_role(actor)
    account_id = actor.scope()
    strategy_id = cmd.get("strategy_id")
    request = page_request(
        uow.cursors,
        cmd,
        SCHEDULE_SORT_FIELDS,
        DEFAULT_SCHEDULE_SORT,
        kind="schedules",
        account_id=account_id,
        strategy_id=strategy_id,
    )
    rows = uow.schedules.page(account_id, strategy_id, request)
    return page_from_rows(rows, request, uow.cursors).to_dict(ScheduledOperation.to_dict)


# --- running due operations ------------------------------------------------------------


def operation_actor(op: ScheduledOperation) -> Actor:
    """The actor who scheduled the operation, as the direct command would have carried it."""
    return Actor(
        subject=op.created_by,
        account_id=None if op.is_admin else op.account_id,
        is_admin=op.is_admin,
        roles=tuple(op.roles),
    )


def operation_command(op: ScheduledOperation) -> dict[str, Any]:
    """The ``data`` of the direct command the operation stands for."""
    if op.action == "rollback":
        return {"strategy_id": op.strategy_id, "target_version": op.target_version}
    return {"strategy_id": op.strategy_id}


def run_operation(
    uow: UnitOfWork, schedule_id: str, now: datetime, actions: Mapping[str, Action]
) -> ScheduledOperation | None:
    """Run one due operation and mark it DONE; None when it is no longer PENDING and due.

    A domain error propagates with nothing changed: the caller rolls back and ``fail_operation``
    records it.
    """
    op = uow.schedules.get(schedule_id, lock="update")
    if op is None or op.status != PENDING or op.run_at > now:
        return None
    data = actions[op.action](uow, operation_actor(op), operation_command(op))
    op.finish({"ok": True, "data": data})
    uow.schedules.update(op)
    return op


def fail_operation(
    uow: MaintenanceUnitOfWork, schedule_id: str, failure: Exception
) -> ScheduledOperation | None:
    """Mark a PENDING operation FAILED with its error, and tell who listens.

    A domain error is what the direct command answers: audited, with ``command.rejected``.
    A fault, which would have dead-lettered the direct command, publishes ``command.failed``.
    """
    domain_error = failure if isinstance(failure, DomainError) else None
    fault = domain_error is None
    error = (
        domain_error.to_dict()
        if domain_error is not None
        else {
            "code": "internal_error",
            "message": f"{type(failure).__name__}: {failure}"[:2000],
            "details": {},
        }
    )
    op = uow.schedules.get(schedule_id, lock="update")
    if op is None or op.status != PENDING:
        return None
    op.finish({"ok": False, "error": error})
    uow.schedules.update(op)
    if domain_error is not None:  # audited as the direct command's failure is
        lifecycle.audit_failure(op.action)(
            uow, operation_actor(op), operation_command(op), domain_error
        )
    data: dict[str, Any] = {
        "task": ACTION_TASKS[op.action],
        "idempotency_key": op.id,
        "error": error if not fault else error["message"],
    }
    if fault:
        data["attempts"] = 1
    kind = COMMAND_FAILED if fault else COMMAND_REJECTED
    uow.record(Event(kind, op.strategy_id, op.account_id, data))
    return op


@dataclass
class DueSummary:
    due: int = 0
    done: int = 0
    failed: int = 0
    schedule_ids: list[str] = field(default_factory=list)
    complete: bool = False
    skipped: bool = False


def run_due_operations(
    units: Callable[[], MaintenanceUnitOfWork],
    actions: Mapping[str, Action],
    policy: MaintenancePolicy,
    now: datetime,
    keep_going: KeepGoing,
    is_fault: Callable[[Exception], bool],
) -> DueSummary:
    """Run the operations due at ``now``, each in its own transaction, earliest first.

    ``is_fault`` tells a fault that will not pass (a bug: the operation is marked FAILED, as
    the direct command would be dead-lettered) from a transient one (it propagates: the
    operation stays PENDING for the next attempt).
    """
    summary = DueSummary()
    while keep_going():
        with units() as uow:
            due = uow.maintenance.due_operations(now, policy.batch_size)
        for schedule_id in due:
            if not keep_going():
                return summary
            error: Exception | None = None
            with units() as uow:
                try:
                    op = run_operation(uow, schedule_id, now, actions)
                except DomainError as exc:
                    error = exc
                except Exception as exc:
                    if not is_fault(exc):
                        raise
                    error = exc
                else:
                    uow.commit()
            if error is not None:  # the change rolled back: record the failure on its own
                with units() as uow:
                    op = fail_operation(uow, schedule_id, error)
                    uow.commit()
            if op is not None:
                summary.due += 1
                summary.done += 1 if error is None else 0
                summary.failed += 1 if error is not None else 0
                summary.schedule_ids.append(op.id)
        if len(due) < policy.batch_size:
            summary.complete = True
            break
    return summary
