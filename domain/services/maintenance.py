"""Beat-driven maintenance as plain use cases: reconcile strategy references, purge, prune.

Each works in batches, one unit of work (one transaction) per batch, and stops when the work is
done or ``keep_going`` says no (the run's time budget is spent, or its run lock was lost); the
next run carries on from there. Every batch re-reads under a row lock what it changes, so even
two runs that overlapped despite the run lock never do the same work twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.actor import Actor
from domain.clock import iso
from domain.events import GAME_PURGED, STRATEGY_REFS_RECONCILED, Event
from domain.ports import MaintenanceUnitOfWork, UnitOfWork
from domain.services.strategies import locked_family
from domain.strategies import ARCHIVED

DEFAULT_STRATEGY = "default"

Units = Callable[[], MaintenanceUnitOfWork]
KeepGoing = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class MaintenancePolicy:
    """How long rows are kept, and how many one transaction handles."""

    purge_retention_days: float = 30
    idempotency_retention_days: float = 7
    outbox_retention_days: float = 7
    batch_size: int = 500
    time_budget: float = 120.0
    """Seconds a run works before it stops and leaves the rest to the next one."""
    lock_lease: float = 360.0
    """Seconds a run lock lasts unless renewed: a dead holder's lock frees after that."""


def cutoff(now: datetime, days: float) -> datetime:
    """The instant before which a row is older than ``days``."""
    return now - timedelta(days=days)


# --- strategy references ---------------------------------------------------------------


@dataclass
class ReconcileSummary:
    games: int = 0
    tasks: int = 0
    families: int = 0
    complete: bool = False
    skipped: bool = False


def reconcile_family(uow: UnitOfWork, strategy_id: str) -> tuple[list[str], int, int]:
    """Move what points at the ARCHIVED versions of a version's family onto its PUBLISHED one.

    With no PUBLISHED version, onto ``default``. The family is locked as a publish or rollback
    locks it, so the target cannot be archived while the references move. One
    ``strategy.refs_reconciled`` event per version that had any. Returns the family's version
    ids and the games and game tasks moved.
    """
    system = Actor.system()
    family, _ = locked_family(uow, system, strategy_id)
    published = family.published
    target = published.ref if published is not None else DEFAULT_STRATEGY
    total_games = total_tasks = 0
    for version in family.versions:
        if version.status != ARCHIVED:
            continue
        games = uow.games.move_strategy(version.ref, target, by=system.subject)
        tasks = uow.game_tasks.move_strategy(version.ref, target, by=system.subject)
        if games or tasks:
            version.events.append(
                Event(
                    STRATEGY_REFS_RECONCILED,
                    version.id,
                    version.account_id,
                    {"games": games, "tasks": tasks},
                )
            )
            total_games, total_tasks = total_games + games, total_tasks + tasks
    uow.collect(family.versions)
    return [v.id for v in family.versions], total_games, total_tasks


def reconcile_strategy_refs(
    units: Units, policy: MaintenancePolicy, keep_going: KeepGoing
) -> ReconcileSummary:
    """Reconcile every family that needs it, one transaction per family."""
    summary = ReconcileSummary()
    while keep_going():
        with units() as uow:
            stale = uow.maintenance.stale_versions(policy.batch_size)
        if not stale:
            summary.complete = True
            break
        seen: set[str] = set()
        moved_any = False
        for strategy_id in stale:
            if strategy_id in seen:
                continue  # its family was reconciled a moment ago
            if not keep_going():
                return summary
            with units() as uow:
                versions, games, tasks = reconcile_family(uow, strategy_id)
                uow.commit()
            seen.update(versions)
            summary.games += games
            summary.tasks += tasks
            summary.families += 1 if games or tasks else 0
            moved_any = moved_any or bool(games or tasks)
        if not moved_any:
            break  # references that keep coming back: the next run tries again
    return summary


# --- purging soft-deleted games --------------------------------------------------------


@dataclass
class PurgeSummary:
    cutoff: str | None = None
    games: int = 0
    tasks_deleted: int = 0
    params_deleted: int = 0
    complete: bool = False
    skipped: bool = False


def purge_batch(uow: MaintenanceUnitOfWork, before: datetime, limit: int) -> list[dict[str, Any]]:
    """Purge up to ``limit`` games deleted before ``before``, as ``games.purge`` purges one.

    The same rows go (the game, its params, its game tasks and their params) and each game
    publishes the same ``game.purged`` event, with a few set-based statements for the whole
    batch. The games are claimed under row locks that re-check them: one restored meanwhile,
    or claimed by an overlapping run, is not purged here.
    """
    claimed = uow.maintenance.claim_deleted_games(before, limit)
    counts = uow.maintenance.purge_games([game_id for game_id, _ in claimed])
    purged = []
    for game_id, account_id in claimed:
        tasks_deleted, params_deleted = counts[game_id]
        summary = {
            "game_id": game_id,
            "tasks_deleted": tasks_deleted,
            "params_deleted": params_deleted,
        }
        uow.record(Event(GAME_PURGED, game_id, account_id, summary))
        purged.append(summary)
    return purged


def purge_deleted_games(
    units: Units, policy: MaintenancePolicy, now: datetime, keep_going: KeepGoing
) -> PurgeSummary:
    before = cutoff(now, policy.purge_retention_days)
    summary = PurgeSummary(cutoff=iso(before))
    while keep_going():
        with units() as uow:
            purged = purge_batch(uow, before, policy.batch_size)
            uow.commit()
        summary.games += len(purged)
        summary.tasks_deleted += sum(p["tasks_deleted"] for p in purged)
        summary.params_deleted += sum(p["params_deleted"] for p in purged)
        if len(purged) < policy.batch_size:
            summary.complete = True
            break
    return summary


# --- pruning ---------------------------------------------------------------------------


@dataclass
class PruneSummary:
    idempotency_cutoff: str | None = None
    outbox_cutoff: str | None = None
    idempotency_records: int = 0
    outbox_rows: int = 0
    complete: bool = False
    skipped: bool = False


def prune(
    units: Units, policy: MaintenancePolicy, now: datetime, keep_going: KeepGoing
) -> PruneSummary:
    """Drop idempotency records and published outbox rows older than their retention."""
    records_before = cutoff(now, policy.idempotency_retention_days)
    outbox_before = cutoff(now, policy.outbox_retention_days)
    summary = PruneSummary(idempotency_cutoff=iso(records_before), outbox_cutoff=iso(outbox_before))
    records_done = outbox_done = False
    while keep_going():
        with units() as uow:
            records = (
                0
                if records_done
                else uow.maintenance.prune_processed(records_before, policy.batch_size)
            )
            rows = (
                0 if outbox_done else uow.maintenance.prune_outbox(outbox_before, policy.batch_size)
            )
            uow.commit()
        summary.idempotency_records += records
        summary.outbox_rows += rows
        records_done = records_done or records < policy.batch_size
        outbox_done = outbox_done or rows < policy.batch_size
        if records_done and outbox_done:
            summary.complete = True
            break
    return summary
