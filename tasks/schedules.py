"""The scheduled strategy operations (contract section 10), routed to the ``strategies`` queue.

``maintenance.run_due_operations`` (in ``tasks.maintenance``) runs them when they are due.
"""

from __future__ import annotations

from domain.services import schedules as service
from tasks import messages as m
from tasks.base import command

schedule = command("strategies.schedule", m.StrategySchedule, service.schedule_operation)
cancel = command("strategies.schedule_cancel", m.ScheduleRef, service.cancel_operation)
list_ = command("strategies.schedules", m.ScheduleList, service.list_operations, writes=False)
