"""Use cases on strategy versions: create, read, list, update, usage and the audit log.

Publish, archive and rollback (the cascade) are in ``strategy_lifecycle``. Another account's
strategy is answered not_found, exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.actor import Actor
from domain.errors import Conflict, NotFound
from domain.paging import PageRequest, Position, SortKey, page_from_rows
from domain.ports import UnitOfWork
from domain.queries import STRATEGY_SORT_FIELDS
from domain.services.listing import page_request
from domain.strategies import ARCHIVED, DSL_FULL, AuditEntry, Strategy, StrategyFamily

Command = Mapping[str, Any]

CREATE_FIELDS = ("description", "type", "parent_strategy_id", "definition")
LOCK_ATTEMPTS = 5


def load_strategy(uow: UnitOfWork, actor: Actor, strategy_id: str) -> Strategy:
    """The version, if the actor may see it."""
    found = uow.strategies.get(strategy_id)
    if found is None or not actor.sees(found.account_id):
        raise NotFound(f"strategy {strategy_id} not found", {"strategy_id": strategy_id})
    return found


def locked_family(
    uow: UnitOfWork, actor: Actor, strategy_id: str
) -> tuple[StrategyFamily, Strategy]:
    """The family of a version, locked for this transaction, and that version in it.

    The family is found by name, so a rename committed while we waited for the lock means we
    locked nothing of it: look the version up again and retry.
    """
    for _ in range(LOCK_ATTEMPTS):
        found = load_strategy(uow, actor, strategy_id)
        versions = uow.strategies.family(found.account_id, found.name, lock=True)
        target = next((v for v in versions if v.id == strategy_id), None)
        if target is not None:
            return StrategyFamily(versions), target
    raise Conflict(
        f"strategy {strategy_id} kept being renamed while this command waited: send it again",
        {"strategy_id": strategy_id},
    )


def write(uow: UnitOfWork, family: StrategyFamily) -> None:
    """Store what the family added and changed (in the order it changed), and its events."""
    for version in family.added:
        uow.strategies.add(version)
    for version in family.changed:
        uow.strategies.update(version)
    uow.collect(family.added + family.changed)


def create_strategy(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    account_id = actor.account_for_create(cmd.get("account_id"))
    fields = {k: cmd[k] for k in CREATE_FIELDS if k in cmd}
    fields.setdefault("type", DSL_FULL)
    _check_name_free(uow, account_id, cmd["name"])
    family, first = StrategyFamily.start(account_id, cmd["name"], actor.subject, fields)
    write(uow, family)  # a family of that name created meanwhile: uq_strategies_version
    return first.to_dict()


def get_strategy(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    return load_strategy(uow, actor, cmd["strategy_id"]).to_dict()


def list_strategies(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Versions of the actor's account (an admin: of every account), newest first."""
    filters = {k: v for k, v in (cmd.get("filters") or {}).items() if v is not None}
    request = page_request(
        uow.cursors,
        cmd,
        STRATEGY_SORT_FIELDS,
        "created_at:desc",
        kind="strategies",
        account_id=actor.scope(),
        filters=filters,
    )
    rows = uow.strategies.page(actor.scope(), filters, request)
    return page_from_rows(rows, request, uow.cursors).to_dict(Strategy.to_dict)


def strategy_versions(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """The whole family of a version, newest first."""
    found = load_strategy(uow, actor, cmd["strategy_id"])
    versions = uow.strategies.family(found.account_id, found.name)
    return {"items": [v.to_dict() for v in versions]}


def update_strategy(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """A DRAFT changes in place, a PUBLISHED version forks a DRAFT, a name renames the family."""
    family, target = locked_family(uow, actor, cmd["strategy_id"])
    changes = {k: v for k, v in cmd.items() if k != "strategy_id"}
    name = changes.get("name")
    if name is not None and name != family.name and target.status != ARCHIVED:
        _check_name_free(uow, target.account_id, name)
    result = family.update(target, changes, actor.subject)
    write(uow, family)
    return result.to_dict()


def strategy_usage(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Who uses a version: exact counts, and one page each of its games and game tasks.

    The cursor carries where both lists stopped (a list that ended is not read again); there
    is one ``next_cursor`` for the pair and no way back.
    """
    strategy = load_strategy(uow, actor, cmd["strategy_id"])
    binding = uow.cursors.binding(kind="strategy_usage", strategy_id=strategy.id)
    after: tuple[Any, ...] = ("", "")
    if cmd.get("cursor") is not None:
        after = uow.cursors.decode(cmd["cursor"], binding, 2).values
    limit = cmd.get("limit") or 20
    ref = strategy.ref
    games, games_more = _usage_page(
        after[0], limit, lambda r: uow.games.page_by_strategy(strategy.account_id, ref, r)
    )
    tasks, tasks_more = _usage_page(
        after[1], limit, lambda r: uow.game_tasks.page_by_strategy(ref, r)
    )
    next_after = (
        games[-1]["id"] if games_more else None,
        tasks[-1]["id"] if tasks_more else None,
    )
    has_next = games_more or tasks_more
    return {
        "strategy_id": strategy.id,
        "name": strategy.name,
        "version": strategy.version,
        "status": strategy.status,
        "game_count": uow.games.count_by_strategy(ref),
        "task_count": uow.game_tasks.count_by_strategy(ref),
        "games": [_pick(g, "game_id", "external_game_id", "platform") for g in games],
        "tasks": [
            _pick(t, "task_id", "external_task_id", "game_id", "external_game_id") for t in tasks
        ],
        "next_cursor": uow.cursors.encode(binding, Position(next_after)) if has_next else None,
        "has_next": has_next,
    }


def audit_log(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    """Audit entries, newest first: the actor's account (an admin: all), or one family's.

    ``strategy_id`` names a version; its whole family's entries are listed (a rollback is
    about two versions). An id that names no visible strategy lists the entries of commands
    that named it (a failed publish of an unknown id, say).
    """
    strategy_ids: list[str] | None = None
    if cmd.get("strategy_id") is not None:
        wanted = cmd["strategy_id"]
        found = uow.strategies.get(wanted)
        if found is not None and actor.sees(found.account_id):
            strategy_ids = [v.id for v in uow.strategies.family(found.account_id, found.name)]
        else:
            strategy_ids = [wanted]
    request = page_request(
        uow.cursors,
        cmd,
        ("at", "id"),
        "at:desc,id:desc",
        kind="strategy_audit",
        account_id=actor.scope(),
        strategy_id=cmd.get("strategy_id"),
    )
    rows = uow.audit.page(actor.scope(), strategy_ids, request)
    return page_from_rows(rows, request, uow.cursors).to_dict(AuditEntry.to_dict)


def _check_name_free(uow: UnitOfWork, account_id: str, name: str) -> None:
    if uow.strategies.family(account_id, name):
        raise Conflict.field("name", f"a strategy named {name!r} already exists in the account")


def _usage_page(
    after: str | None, limit: int, read: Callable[[PageRequest], list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], bool]:
    """One page by id, starting after ``after`` ('' = from the start, None = list ended)."""
    if after is None:
        return [], False
    position = Position((after,)) if after else None
    rows = read(PageRequest((SortKey("id"),), limit, position))
    return rows[:limit], len(rows) > limit


def _pick(row: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: row[k] for k in keys}
