"""Use cases on games: one function per command, each inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import slugs
from domain.actor import Actor
from domain.errors import Conflict, NotFound, ValidationError
from domain.games import Game
from domain.paging import page_from_rows
from domain.ports import Lock, UnitOfWork
from domain.queries import DEFAULT_SORT, GAME_SORT_FIELDS, GameFilters, GameScope
from domain.services.listing import page_request
from domain.services.strategy_refs import check_strategy_ref

Command = Mapping[str, Any]


def load_game(
    uow: UnitOfWork, actor: Actor, game_id: str, lock: Lock = "none", live: bool = False
) -> Game:
    """The game, if the actor may see it (and, with ``live``, it is not deleted)."""
    game = uow.games.get(game_id, lock=lock)
    if game is None or not actor.sees(game.account_id) or (live and game.is_deleted):
        raise NotFound(f"game {game_id} not found", {"game_id": game_id})
    return game


def create_game(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    account_id = actor.account_for_create(cmd.get("account_id"))
    fields = {k: v for k, v in cmd.items() if k not in ("account_id", "slug")}
    check_strategy_ref(uow, account_id, fields.get("strategy_id", "default"))
    if cmd.get("slug") is not None:
        choices, generated = [cmd["slug"]], False
    else:
        all_choices = slugs.candidates(slugs.base_slug(cmd["name"]))
        taken = uow.games.taken_slugs(all_choices)
        choices, generated = [s for s in all_choices if s not in taken], True
    for slug in choices:
        game = Game.new(account_id, slug, actor.subject, fields)
        try:
            uow.games.add(game)
        except Conflict as exc:
            if generated and exc.names_field("slug"):
                continue  # taken since we looked: try the next candidate
            raise
        uow.collect([game])
        return game.to_dict()
    raise Conflict.field("slug", f"no free slug for {cmd['name']!r} (tried up to -11)")


def get_game(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    if "game_id" in cmd:
        found = uow.games.get(cmd["game_id"])
        key, what = "game_id", f"game {cmd['game_id']}"
    elif "slug" in cmd:
        found = uow.games.get_by_slug(cmd["slug"])
        key, what = "slug", f"game with slug {cmd['slug']!r}"
    else:
        matches = uow.games.find_by_external_id(actor.scope(), cmd["external_game_id"])
        if len(matches) > 1:
            raise ValidationError.field(
                "external_game_id",
                "used by games of several accounts: get the game by game_id or slug, or list "
                "with account_id and filters.external_game_id",
            )
        found = matches[0] if matches else None
        key, what = "external_game_id", f"game with external_game_id {cmd['external_game_id']!r}"
    if (
        found is None
        or not actor.sees(found.account_id)
        or (found.is_deleted and not cmd.get("include_deleted"))
    ):
        raise NotFound(f"{what} not found", {key: cmd[key]})
    return found.to_dict()


def list_games(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    account_id = _list_scope(actor, cmd.get("account_id"))
    scope = GameScope(account_id, bool(cmd.get("include_deleted")))
    filters = GameFilters.of(cmd.get("filters") or {})
    request = page_request(
        uow.cursors,
        cmd,
        GAME_SORT_FIELDS,
        DEFAULT_SORT,
        kind="games",
        account_id=account_id,
        include_deleted=scope.include_deleted,
        filters=filters.fingerprint(),
    )
    rows = uow.games.page(scope, filters, request)
    total = uow.games.count(scope, filters) if request.with_total else None
    return page_from_rows(rows, request, uow.cursors, total).to_dict(Game.to_dict)


def patch_game(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    changes = {k: v for k, v in cmd.items() if k not in ("game_id", "deleted")}
    if changes.get("strategy_id") is not None:
        # Strategy first, game second: the order a rollback takes its locks in, so a patch
        # racing a rollback waits for it instead of deadlocking with it.
        account_id = load_game(uow, actor, cmd["game_id"]).account_id
        check_strategy_ref(uow, account_id, changes["strategy_id"])
    game = load_game(uow, actor, cmd["game_id"], lock="update")
    changed = game.patch(changes, actor.subject)
    if cmd.get("deleted") is True:
        changed.add("deleted_at") if game.soft_delete(actor.subject) else None
    elif cmd.get("deleted") is False:
        changed.add("deleted_at") if game.restore(actor.subject) else None
    if changed:
        uow.games.update(game, params_changed="params" in changed)
        uow.collect([game])
    return game.to_dict()


def delete_game(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    game = load_game(uow, actor, cmd["game_id"], lock="update")
    if game.soft_delete(actor.subject):
        uow.games.update(game, params_changed=False)
        uow.collect([game])
    return game.to_dict()


def restore_game(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    game = load_game(uow, actor, cmd["game_id"], lock="update")
    if game.restore(actor.subject):
        uow.games.update(game, params_changed=False)  # a live game of that name: conflict
        uow.collect([game])
    return game.to_dict()


def purge_game(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    game = load_game(uow, actor, cmd["game_id"], lock="update")
    tasks_deleted, params_deleted = uow.games.purge(game)
    summary = game.purged(tasks_deleted, params_deleted)
    uow.collect([game])
    return summary


def set_params(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    game = load_game(uow, actor, cmd["game_id"], lock="update")
    before = dict(game.params)
    game.set_params(cmd["params"], actor.subject)
    if len(game.params) > 100:
        raise ValidationError.field("params", "a game has at most 100 params")
    if game.params != before:
        uow.games.update(game)
        uow.collect([game])
    return game.to_dict()


def delete_params(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    game = load_game(uow, actor, cmd["game_id"], lock="update")
    before = dict(game.params)
    game.delete_params(cmd["keys"], actor.subject)
    if game.params != before:
        uow.games.update(game)
        uow.collect([game])
    return game.to_dict()


def external_ids(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    return {"mapping": uow.games.external_ids(actor.scope(), cmd["game_ids"])}


def games_by_strategy(uow: UnitOfWork, actor: Actor, cmd: Command) -> dict[str, Any]:
    account_id = actor.scope()
    request = page_request(
        uow.cursors,
        cmd,
        ("id",),
        "id:asc",
        kind="games_by_strategy",
        account_id=account_id,
        strategy_id=cmd["strategy_id"],
    )
    rows = uow.games.page_by_strategy(account_id, cmd["strategy_id"], request)
    page = page_from_rows(rows, request, uow.cursors)
    return page.to_dict(
        lambda row: {k: row[k] for k in ("game_id", "external_game_id", "platform")}
    )


def _list_scope(actor: Actor, requested: str | None) -> str | None:
    """The account a list covers: the actor's own, or for an admin the one named (or all)."""
    if actor.is_admin:
        return requested
    if requested is not None:
        raise ValidationError.field("account_id", "only an admin may name the account")
    return actor.account_id
