"""Use cases on game tasks: one function per command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.actor import Actor
from domain.errors import NotFound
from domain.game_tasks import GameTask
from domain.paging import page_from_rows
from domain.ports import Lock, UnitOfWork
from domain.queries import DEFAULT_SORT, GAME_TASK_SORT_FIELDS, GameTaskFilters
from domain.services.games import load_game
from domain.services.listing import page_request
from domain.services.strategy_refs import check_strategy_ref

Command = Mapping[str, Any]


def load_task(uow: UnitOfWork, actor: Actor, task_id: str, lock: Lock = "none") -> GameTask:
    task = uow.game_tasks.get(task_id, lock=lock)
    if task is None or not actor.sees(task.account_id):
        raise NotFound(f"game task {task_id} not found", {"task_id": task_id})
    return task


def create_task(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    game = load_game(uow, actor, cmd["game_id"], lock="share", live=True)
    fields = {k: v for k, v in cmd.items() if k != "game_id"}
    check_strategy_ref(uow, game.account_id, fields.get("strategy_id", "default"))
    task = GameTask.new(game.id, game.account_id, fields)
    uow.game_tasks.add(task)  # a taken external_task_id in this game: conflict
    uow.collect([task])
    return task.to_dict()


def get_task(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    if "task_id" in cmd:
        return load_task(uow, actor, cmd["task_id"]).to_dict()
    game = load_game(uow, actor, cmd["game_id"])
    task = uow.game_tasks.get_by_external_id(game.id, cmd["external_task_id"])
    if task is None:
        raise NotFound(
            f"game task {cmd['external_task_id']!r} not found in game {game.id}",
            {"game_id": game.id, "external_task_id": cmd["external_task_id"]},
        )
    return task.to_dict()


def list_tasks(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    filters = GameTaskFilters(**(cmd.get("filters") or {}))
    request = page_request(  # the sort and the cursor are checked before the game is looked up
        uow.cursors,
        cmd,
        GAME_TASK_SORT_FIELDS,
        DEFAULT_SORT,
        kind="game_tasks",
        game_id=cmd["game_id"],
        filters=filters.fingerprint(),
    )
    game = load_game(uow, actor, cmd["game_id"])
    rows = uow.game_tasks.page(game.id, filters, request)
    total = uow.game_tasks.count(game.id, filters) if request.with_total else None
    return page_from_rows(rows, request, uow.cursors, total).to_dict(GameTask.to_dict)


def patch_task(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    changes = {k: v for k, v in cmd.items() if k != "task_id"}
    if changes.get("strategy_id") is not None:
        # Strategy first, task second: the lock order of a rollback (see patch_game).
        account_id = load_task(uow, actor, cmd["task_id"]).account_id
        check_strategy_ref(uow, account_id, changes["strategy_id"])
    task = load_task(uow, actor, cmd["task_id"], lock="update")
    changed = task.patch(changes)
    if changed:
        uow.game_tasks.update(task, params_changed="params" in changed)
        uow.collect([task])
    return task.to_dict()


def delete_task(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    task = load_task(uow, actor, cmd["task_id"], lock="update")
    uow.game_tasks.delete(task)
    task.deleted()
    uow.collect([task])
    return {"task_id": task.id}
