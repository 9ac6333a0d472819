"""The ``games.*`` commands: one thin task each, routed to the ``games`` queue."""

from __future__ import annotations

from domain.services import games as service
from tasks import messages as m
from tasks.base import command

create = command("games.create", m.GameCreate, service.create_game)
get = command("games.get", m.GameGet, service.get_game, writes=False)
list_ = command("games.list", m.GameList, service.list_games, writes=False)
patch = command("games.patch", m.GamePatch, service.patch_game)
delete = command("games.delete", m.GameRef, service.delete_game)
restore = command("games.restore", m.GameRef, service.restore_game)
purge = command("games.purge", m.GameRef, service.purge_game)
params_set = command("games.params.set", m.GameParamsSet, service.set_params)
params_delete = command("games.params.delete", m.GameParamsDelete, service.delete_params)
external_ids = command("games.external_ids", m.GameExternalIds, service.external_ids, writes=False)
by_strategy = command(
    "games.by_strategy", m.GamesByStrategy, service.games_by_strategy, writes=False
)
