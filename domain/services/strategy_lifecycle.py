"""Publish, archive and roll back: the family's status changes and the cascade they carry.

Each runs in the caller's one transaction, under the family's lock: the status changes, the
set-based move of every game and game task off the version that leaves, the audit entry and
the events commit together or not at all. When one fails, ``audit_failure`` is the hook the
command task runs in the transaction that records the rejection, so a failed attempt is
audited too (and, like the rejection, once per idempotency key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain import events
from domain.actor import Actor
from domain.errors import Conflict, DomainError, Forbidden, ValidationError
from domain.ports import UnitOfWork
from domain.services.strategies import locked_family, write
from domain.services.strategy_refs import check_strategy_ref
from domain.strategies import ARCHIVED, PUBLISHED, AuditEntry, Strategy

Command = Mapping[str, Any]
AuditHook = Callable[[UnitOfWork, Actor, Mapping[str, Any], DomainError], None]

PROGRESS_OVER = 10_000
"""A cascade over more rows than this reports its progress between batches."""

SUCCEEDED, FAILED = "succeeded", "failed"
AUDIT_ID_LENGTH = 40  # audit_log.strategy_id


def publish_strategy(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Publish a DRAFT; the PUBLISHED version it displaces is archived and its users move."""
    _check_role(actor, "publish")
    family, target = locked_family(uow, actor, cmd["strategy_id"])
    if target.status == PUBLISHED:
        _audit(uow, actor, "publish", target, {"version": target.version, "unchanged": True})
        return target.to_dict()
    displaced = family.publish(target)
    write(uow, family)
    moved = {"games_reassigned": 0, "tasks_reassigned": 0}
    if displaced is not None:
        moved = move_users(uow, displaced.ref, target.ref, actor.subject)
        displaced.record(events.STRATEGY_ARCHIVED, **moved, reassigned_to=target.ref)
    target.record(
        events.STRATEGY_PUBLISHED,
        **moved,
        displaced_strategy_id=displaced.id if displaced else None,
    )
    uow.collect(family.changed)
    _audit(
        uow,
        actor,
        "publish",
        target,
        {
            "version": target.version,
            "displaced_strategy_id": displaced.id if displaced else None,
            **moved,
        },
    )
    return target.to_dict()


def archive_strategy(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Archive a version; one still in use needs ``reassign_to``, where its users move."""
    _check_role(actor, "archive")
    family, target = locked_family(uow, actor, cmd["strategy_id"])
    reassign_to = cmd.get("reassign_to")
    if target.status == ARCHIVED:
        _audit(uow, actor, "archive", target, {"version": target.version, "unchanged": True})
        return target.to_dict()
    if reassign_to is not None:
        _check_reassign_target(uow, target, reassign_to)
    games = uow.games.count_by_strategy(target.ref)
    tasks = uow.game_tasks.count_by_strategy(target.ref)
    if (games or tasks) and reassign_to is None:
        raise _in_use(target, games, tasks)
    family.archive(target)
    write(uow, family)
    moved = {"games_reassigned": 0, "tasks_reassigned": 0}
    if reassign_to is not None and (games or tasks):
        moved = move_users(uow, target.ref, reassign_to, actor.subject, games + tasks)
    target.record(events.STRATEGY_ARCHIVED, **moved, reassigned_to=reassign_to)
    uow.collect([target])
    _audit(
        uow,
        actor,
        "archive",
        target,
        {"version": target.version, "reassigned_to": reassign_to, **moved},
    )
    return target.to_dict()


def rollback_strategy(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Make an earlier version the PUBLISHED one again; the displaced version's users move."""
    _check_role(actor, "rollback")
    family, _named = locked_family(uow, actor, cmd["strategy_id"])
    promoted, displaced = family.rollback(cmd["target_version"])
    write(uow, family)
    moved = {"games_reassigned": 0, "tasks_reassigned": 0}
    if displaced is not None:
        moved = move_users(uow, displaced.ref, promoted.ref, actor.subject)
    result = {
        "strategy": promoted.to_dict(),
        "displaced_strategy_id": displaced.id if displaced else None,
        **moved,
    }
    promoted.events.append(
        events.Event(events.STRATEGY_ROLLED_BACK, promoted.id, promoted.account_id, result)
    )
    uow.collect([promoted])
    _audit(
        uow,
        actor,
        "rollback",
        promoted,
        {
            "target_version": promoted.version,
            "displaced_strategy_id": displaced.id if displaced else None,
            "displaced_version": displaced.version if displaced else None,
            **moved,
        },
    )
    return result


def move_users(
    uow: UnitOfWork, old: str, new: str, by: str, total: int | None = None
) -> dict[str, int]:
    """Move every game and game task on ``old`` to ``new``, set-based, in this transaction.

    Past ``PROGRESS_OVER`` rows the repositories move them in keyed batches and the unit of
    work reports ``(done, total)`` between batches, still inside the one transaction.
    """
    if total is None:
        total = uow.games.count_by_strategy(old) + uow.game_tasks.count_by_strategy(old)
    if total <= PROGRESS_OVER:
        games = uow.games.move_strategy(old, new, by=by)
        tasks = uow.game_tasks.move_strategy(old, new, by=by)
        return {"games_reassigned": games, "tasks_reassigned": tasks}
    done = 0

    def step(moved: int) -> None:
        nonlocal done
        done += moved
        uow.progress(done, max(done, total))

    uow.progress(0, total)
    games = uow.games.move_strategy(old, new, step, by=by)
    tasks = uow.game_tasks.move_strategy(old, new, step, by=by)
    return {"games_reassigned": games, "tasks_reassigned": tasks}


def audit_failure(action: str) -> AuditHook:
    """The hook that audits a failed ``action`` (run in the rejection's own transaction)."""

    def record(uow: UnitOfWork, actor: Actor, data: Mapping[str, Any], error: DomainError) -> None:
        named = data.get("strategy_id")
        named = named if isinstance(named, str) else None
        account_id = actor.account_id
        if named is not None:
            found = uow.strategies.get(named)
            if found is not None and actor.sees(found.account_id):
                account_id = found.account_id
        request = {
            k: data[k] for k in ("strategy_id", "target_version", "reassign_to") if k in data
        }
        details = {"error": error.to_dict(), "request": request}
        fits = named is not None and len(named) <= AUDIT_ID_LENGTH
        entry = AuditEntry.of(
            account_id, actor.subject, action, named if fits else None, FAILED, details
        )
        uow.audit.add(entry)

    return record


def _check_role(actor: Actor, action: str) -> None:
    if not actor.may_manage_strategies:
        raise Forbidden(
            f"strategies.{action} needs an admin or the role strategy_admin",
            {"required_role": "strategy_admin"},
        )


def _check_reassign_target(uow: UnitOfWork, target: Strategy, reassign_to: str) -> None:
    if reassign_to == target.ref:
        raise ValidationError.field("reassign_to", "cannot be the version being archived")
    try:
        check_strategy_ref(uow, target.account_id, reassign_to)  # read FOR SHARE
    except ValidationError:
        raise ValidationError.field(
            "reassign_to",
            f"{reassign_to} is not a built-in strategy or a PUBLISHED strategy of account "
            f"{target.account_id}",
        ) from None


def _in_use(target: Strategy, games: int, tasks: int) -> DomainError:
    return Conflict(
        f"strategy {target.id} is used by {games} games and {tasks} game tasks: "
        "archive it with reassign_to",
        {
            "fields": {"reassign_to": "required while games or game tasks use the version"},
            "game_count": games,
            "task_count": tasks,
        },
    )


def _audit(
    uow: UnitOfWork, actor: Actor, action: str, strategy: Strategy, details: dict[str, Any]
) -> None:
    uow.audit.add(
        AuditEntry.of(strategy.account_id, actor.subject, action, strategy.id, SUCCEEDED, details)
    )
