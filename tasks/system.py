"""The base of the beat-driven tasks: no actor, one run at a time, a summary as the answer.

A system task takes only ``data`` (an object; ``{}`` from beat). It takes the run lock named
after itself (``persistence.run_locks``): a run that finds it held answers at once with its
summary marked ``skipped``, so two overlapping runs never do the same work. The job works in
batches while ``SystemRun.keep_going`` says so (its time budget left, its lock renewed), and
the answer is the summary object itself (as ``events.relay`` answers); input that does not
validate is answered ``{"ok": false, "error": {...}}`` as a command's is. A transient fault is
retried with backoff; the lock is always let go.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import pydantic
from celery import Task, shared_task

from domain.errors import ValidationError
from domain.services.maintenance import MaintenancePolicy
from persistence.run_locks import RunLocks
from persistence.unit_of_work import Causation, CommandRecord, SqlUnitOfWork
from tasks.faults import retry_countdown
from tasks.messages import Message, SystemEnvelope
from tasks.results import failed, from_pydantic
from tasks.runtime import Runtime

log = logging.getLogger("gameworker.maintenance")


class NoData(Message):
    """The ``data`` of a system task that takes no options."""


class _RunUnitOfWork(SqlUnitOfWork):
    """A unit of work of a run: it tells the run when it committed events."""

    def __init__(self, run: SystemRun) -> None:
        db = run.runtime.db
        super().__init__(db.engine, db.cursors, Causation(run.holder, run.holder), run.progress)
        self.run = run

    def commit(self, record: CommandRecord | None = None) -> None:
        wrote = bool(self.events)
        super().commit(record)
        self.run.committed_events = self.run.committed_events or wrote


@dataclass
class SystemRun:
    """One run of a system task: its units of work, its policy, its lock and its budget."""

    runtime: Runtime
    name: str
    holder: str
    deadline: float
    progress: Callable[[int, int], None]
    locks: RunLocks
    committed_events: bool = False

    @property
    def policy(self) -> MaintenancePolicy:
        return self.runtime.maintenance

    def unit_of_work(self) -> SqlUnitOfWork:
        return _RunUnitOfWork(self)

    def keep_going(self) -> bool:
        """True while the time budget lasts and the run lock is still this run's (renewed)."""
        if time.monotonic() >= self.deadline:
            return False
        return self.locks.renew(self.name, self.holder, self.runtime.maintenance.lock_lease)


Job = Callable[[SystemRun, Any], Any]


class SystemTask(Task):  # type: ignore[misc]
    abstract = True
    typing = False
    job: ClassVar[Job]
    data_model: ClassVar[type[Message]] = NoData
    summary: ClassVar[type[Any]]

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.runtime
        return runtime

    def execute(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        outcome, summary = "fault", None
        try:
            try:
                data = self._parse(args, kwargs)
            except ValidationError as error:
                outcome = error.code
                return failed(error)
            summary = self._locked(data)
            outcome = "skipped" if summary.get("skipped") else "ok"
            return summary
        except Exception as exc:
            rt = self.runtime
            countdown = retry_countdown(
                exc,
                self.request.retries,
                rt.max_retries,
                rt.retry_backoff_base,
                rt.retry_backoff_cap,
            )
            if countdown is None:
                raise
            outcome = "retry"
            raise self.retry(exc=exc, countdown=countdown, max_retries=rt.max_retries) from exc
        finally:
            line: dict[str, Any] = {
                "task": self.name,
                "task_id": self.request.id,
                "outcome": outcome,
                "retries": self.request.retries,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            if summary is not None:
                line["summary"] = summary
            log.info(json.dumps(line, default=str))

    def _parse(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Message:
        if args:
            raise ValidationError(
                "system tasks take keyword arguments only: data",
                {"fields": {"args": "positional arguments are not accepted"}},
            )
        try:
            envelope = SystemEnvelope.model_validate(kwargs)
        except pydantic.ValidationError as exc:
            raise from_pydantic(exc) from None
        try:
            return self.data_model.model_validate(envelope.data)
        except pydantic.ValidationError as exc:
            raise from_pydantic(exc, in_data=True) from None

    def _locked(self, data: Message) -> dict[str, Any]:
        policy = self.runtime.maintenance
        holder = self.request.id or f"local-{time.time_ns()}"
        locks = RunLocks(self.runtime.db.engine)
        if not locks.acquire(self.name, holder, policy.lock_lease):
            return asdict(self.summary(skipped=True))
        run = SystemRun(
            runtime=self.runtime,
            name=self.name,
            holder=holder,
            deadline=time.monotonic() + policy.time_budget,
            progress=self._progress,
            locks=locks,
        )
        try:
            summary: dict[str, Any] = asdict(type(self).job(run, data))
        finally:
            try:
                locks.release(self.name, holder)
            except Exception:  # the database may be what failed: the lease runs out on its own
                log.warning("could not release the run lock of %s", self.name, exc_info=True)
        if run.committed_events:
            self.runtime.after_commit()  # kick the relay: the events leave now, not at the sweep
        return summary

    def _progress(self, done: int, total: int) -> None:
        if self.request.id and not self.request.is_eager:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total})


def system_task(name: str, job: Job, summary: type[Any], data: type[Message] = NoData) -> Any:
    """Declare a beat-driven task: ``job(run, data)`` returns a ``summary`` dataclass."""

    def run(self: SystemTask, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.execute(args, kwargs)

    run.__name__ = name.replace(".", "_")
    run.__qualname__ = run.__name__
    return shared_task(
        bind=True,
        base=SystemTask,
        name=name,
        job=staticmethod(job),
        summary=summary,
        data_model=data,
    )(run)
