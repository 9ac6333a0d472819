"""The ``game_tasks.*`` commands, routed to the ``games`` queue."""

from __future__ import annotations

from domain.services import game_tasks as service
from tasks import messages as m
from tasks.base import command

create = command("game_tasks.create", m.GameTaskCreate, service.create_task)
get = command("game_tasks.get", m.GameTaskGet, service.get_task, writes=False)
list_ = command("game_tasks.list", m.GameTaskList, service.list_tasks, writes=False)
patch = command("game_tasks.patch", m.GameTaskPatch, service.patch_task)
delete = command("game_tasks.delete", m.GameTaskRef, service.delete_task)
