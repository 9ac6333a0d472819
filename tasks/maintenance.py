"""The ``maintenance.*`` tasks beat sends to the ``maintenance`` queue: one line each.

They act as the system (no actor). The work is in ``domain.services.maintenance`` and
``domain.services.schedules``; the base (``tasks.system``) holds the run lock and the budget.
"""

from __future__ import annotations

from domain.clock import utcnow
from domain.services import maintenance as service
from domain.services import schedules
from tasks.faults import is_transient
from tasks.system import NoData, SystemRun, system_task


def _reconcile(run: SystemRun, _: NoData) -> service.ReconcileSummary:
    return service.reconcile_strategy_refs(run.unit_of_work, run.policy, run.keep_going)


def _purge(run: SystemRun, _: NoData) -> service.PurgeSummary:
    return service.purge_deleted_games(run.unit_of_work, run.policy, utcnow(), run.keep_going)


def _prune(run: SystemRun, _: NoData) -> service.PruneSummary:
    return service.prune(run.unit_of_work, run.policy, utcnow(), run.keep_going)


def _run_due(run: SystemRun, _: NoData) -> schedules.DueSummary:
    return schedules.run_due_operations(
        run.unit_of_work,
        schedules.ACTIONS,
        run.policy,
        utcnow(),
        run.keep_going,
        is_fault=lambda exc: not is_transient(exc),
    )


reconcile_strategy_refs = system_task(
    "maintenance.reconcile_strategy_refs", _reconcile, service.ReconcileSummary
)
purge_deleted_games = system_task("maintenance.purge_deleted_games", _purge, service.PurgeSummary)
prune = system_task("maintenance.prune", _prune, service.PruneSummary)
run_due_operations = system_task("maintenance.run_due_operations", _run_due, schedules.DueSummary)
