"""The command task: validate, de-duplicate, run the service in one unit of work, answer.

Every command walks the same path:

1. the envelope (``actor``, ``data``, ``idempotency_key``) and the data are validated;
2. a unit of work opens and the domain service runs; its change, the idempotency record and
   the outbox rows commit in one transaction;
3. a key that was recorded before (a redelivery, a resend) is found when its record is
   written: the run is rolled back and the first result is answered;
4. a domain error rolls the change back and is answered (and, for a command that would change
   something, recorded with a ``command.rejected`` event) in a fresh transaction;
5. a transient fault is retried with backoff; anything else fails the task and is
   dead-lettered.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeGuard

import pydantic
from celery import Task, shared_task

from domain.actor import Actor
from domain.errors import Conflict, DomainError, ValidationError
from domain.events import COMMAND_REJECTED, Event
from domain.ports import UnitOfWork
from persistence.idempotency import AlreadyProcessed, Processed
from persistence.unit_of_work import Causation, CommandRecord, SqlUnitOfWork
from tasks.dead_letters import DeadLetter, record_dead_letter
from tasks.faults import retry_countdown
from tasks.messages import ActorModel, Envelope, Message
from tasks.results import Result, failed, from_pydantic, ok
from tasks.runtime import Runtime
from tasks.text import first_fault, plain_fields, storable

log = logging.getLogger("gameworker.commands")

Service = Callable[[UnitOfWork, Actor, dict[str, Any]], Any]
RejectHook = Callable[[UnitOfWork, Actor, Mapping[str, Any], DomainError], None]
"""Runs in the transaction that records a rejection (e.g. a failed publish's audit entry)."""
SUBJECT_KEYS = ("game_id", "task_id", "strategy_id", "schedule_id")


@dataclass(frozen=True, slots=True)
class Ident:
    """Where a command's idempotency record lives: the actor's account and the key."""

    scope: str
    key: str
    account_id: str | None
    subject: str

    @classmethod
    def guess(cls, kwargs: Mapping[str, Any], task_id: str) -> Ident:
        """The best identity of a command that failed validation (fields may be garbage)."""
        actor = kwargs.get("actor")
        account = actor.get("account_id") if isinstance(actor, dict) else None
        account = account if _usable(account, 64) else None
        key = kwargs.get("idempotency_key")
        key = key if _usable(key, 200) else task_id
        data = kwargs.get("data")
        subject = _subject_of(data if isinstance(data, dict) else {}, key)
        return cls(account or "", key, account, subject)


def _usable(value: Any, longest: int) -> TypeGuard[str]:
    """Whether a value guessed from a refused command can be stored as an identity."""
    return isinstance(value, str) and 0 < len(value) <= longest and storable(value)


def _subject_of(data: Mapping[str, Any], key: str) -> str:
    for name in SUBJECT_KEYS:
        value = data.get(name)
        if _usable(value, 64):
            return value
    return key[:64]


def parse_command(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], model: type[Message]
) -> tuple[Actor, dict[str, Any], str | None]:
    """The actor, the validated data (keys as given) and the idempotency key."""
    if args:
        raise ValidationError(
            "commands take keyword arguments only: actor, data, idempotency_key",
            {"fields": {"args": "positional arguments are not accepted"}},
        )
    fault = first_fault(dict(kwargs))  # NUL, lone surrogates, absurd nesting: refused first
    if fault is not None:
        where, problem = fault
        raise ValidationError.field(where.removeprefix("data.")[:120], problem)
    try:
        envelope = Envelope.model_validate(dict(kwargs))
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc) from None
    try:
        data = model.model_validate(envelope.data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc, in_data=True) from None
    a = envelope.actor
    actor = Actor(a.subject, a.account_id, a.is_admin, tuple(a.roles))
    return actor, data.model_dump(exclude_unset=True), envelope.idempotency_key


class CommandTask(Task):  # type: ignore[misc]
    """Base of every contract command; one subclass per command is made by ``command``."""

    abstract = True
    typing = False  # arguments are validated by the task itself, into a contract answer
    data_model: ClassVar[type[Message]]
    service: ClassVar[Service]
    writes: ClassVar[bool] = True
    on_reject: ClassVar[RejectHook | None] = None

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.runtime
        return runtime

    def execute(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Result:
        started = time.perf_counter()
        ident = Ident.guess(kwargs, self.request.id or "local")
        outcome = "fault"
        try:
            try:
                actor, data, key = parse_command(args, kwargs, self.data_model)
            except ValidationError as error:
                result = (
                    self._reject(ident, error, *_guess_actor_and_data(kwargs))
                    if self.writes
                    else failed(error)
                )
            else:
                ident = Ident(
                    actor.account_id or "", key or ident.key, actor.account_id, ident.subject
                )
                result = self._run(actor, data, ident)
            outcome = "ok" if result["ok"] else result["error"]["code"]
            return result
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
            log.info(
                json.dumps(
                    {
                        "task": self.name,
                        "task_id": self.request.id,
                        "idempotency_key": ident.key,
                        "subject": kwargs.get("actor", {}).get("subject")
                        if isinstance(kwargs.get("actor"), dict)
                        else None,
                        "outcome": outcome,
                        "retries": self.request.retries,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                )
            )

    def _uow(self, ident: Ident, read_only: bool = False) -> SqlUnitOfWork:
        return self.runtime.db.unit_of_work(
            Causation(ident.key, self.request.id), on_progress=self._progress, read_only=read_only
        )

    def _progress(self, done: int, total: int) -> None:
        if self.request.id and not self.request.is_eager:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total})
            if self.app.conf.worker_send_task_events:
                # Flower shows a task's custom event type as its state: PROGRESS, with counts.
                try:
                    self.send_event("task-progress", done=done, total=total)
                except Exception:  # progress is a courtesy: never fail the command for it
                    log.debug("could not send the progress event of %s", self.request.id)

    def _run(self, actor: Actor, data: dict[str, Any], ident: Ident) -> Result:
        if not self.writes:
            with self._uow(ident, read_only=True) as uow:
                try:
                    return ok(type(self).service(uow, actor, data))
                except DomainError as error:
                    return failed(error)
        with self._uow(ident) as uow:
            # No lookup first: the record written at commit decides. A key seen before (a
            # redelivery, a resend) finds its record there, rolls this run back and answers
            # the first result, so the common case saves a round trip. The rejection path
            # below looks the key up before it records anything.
            try:
                result = ok(type(self).service(uow, actor, data))
            except DomainError as error:
                uow.rollback()
                return self._reject(ident, error, actor, data)
            try:
                uow.commit(CommandRecord(ident.scope, ident.key, self.name, result))
            except AlreadyProcessed:
                pass  # this key committed before (or concurrently): answer its first result
            else:
                self.runtime.after_commit()
                return result
        return self._stored(ident)

    def _reject(
        self,
        ident: Ident,
        error: DomainError,
        actor: Actor | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Result:
        """Answer a domain error, recorded with its command.rejected event (and the task's
        ``on_reject`` hook, when the actor is known) in a transaction of its own."""
        result = failed(error)
        with self._uow(ident) as uow:
            stored = uow.processed.find(ident.scope, ident.key)
            if stored is not None:
                return self._replay(stored)
            rejected = {
                "task": self.name,
                "idempotency_key": ident.key,
                "error": error.to_dict(),
            }
            uow.record(Event(COMMAND_REJECTED, ident.subject, ident.account_id, rejected))
            hook = type(self).on_reject
            if hook is not None and actor is not None:
                hook(uow, actor, data or {}, error)
            try:
                uow.commit(CommandRecord(ident.scope, ident.key, self.name, result))
            except AlreadyProcessed:
                pass
            else:
                self.runtime.after_commit()
                return result
        return self._stored(ident)

    def _stored(self, ident: Ident) -> Result:
        with self._uow(ident) as uow:
            stored = uow.processed.find(ident.scope, ident.key)
        assert stored is not None, "a concurrent delivery committed, so its record exists"
        return self._replay(stored)

    def _replay(self, stored: Processed) -> Result:
        if stored.task != self.name:
            return failed(
                Conflict.field(
                    "idempotency_key", f"this key was already used for a {stored.task} command"
                )
            )
        return stored.result

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Dead-letter a command that failed for good: a row and a command.failed event."""
        ident = Ident.guess(kwargs if isinstance(kwargs, dict) else {}, task_id)
        error = f"{type(exc).__name__}: {exc}"[:4000]
        attempts = self.request.retries + 1
        queue = (self.request.delivery_info or {}).get("routing_key")
        letter = DeadLetter(
            task_id=task_id,
            task=self.name,
            queue=queue,
            arguments=_jsonable(kwargs),
            error=error,
            attempts=attempts,
            idempotency_key=ident.key,
            subject=ident.subject,
            account_id=ident.account_id,
        )
        try:
            record_dead_letter(self.runtime, letter)
        except Exception:  # the database may be what failed: the broker's dead letter remains
            log.exception("could not record the dead letter of %s %s", self.name, task_id)


def _jsonable(value: Any) -> dict[str, Any]:
    try:
        return {"kwargs": json.loads(json.dumps(value, default=repr))}
    except (TypeError, ValueError):
        return {"kwargs": repr(value)[:10000]}


def _guess_actor_and_data(
    kwargs: Mapping[str, Any],
) -> tuple[Actor | None, Mapping[str, Any] | None]:
    """The actor and raw data of a command that failed validation, as far as they are valid."""
    data = kwargs.get("data")
    try:
        if first_fault(kwargs.get("actor")) is not None:
            raise ValidationError("the actor carries text no database stores")
        a = ActorModel.model_validate(kwargs.get("actor"))
        actor = Actor(a.subject, a.account_id, a.is_admin, tuple(a.roles))
    except (pydantic.ValidationError, ValidationError):
        actor = None
    return actor, plain_fields(data) if isinstance(data, dict) else None


def command(
    name: str,
    model: type[Message],
    service: Service,
    *,
    writes: bool = True,
    on_reject: RejectHook | None = None,
) -> Any:
    """Declare the Celery task of one contract command."""

    def run(self: CommandTask, *args: Any, **kwargs: Any) -> Result:
        return self.execute(args, kwargs)

    run.__name__ = name.replace(".", "_")
    run.__qualname__ = run.__name__
    return shared_task(
        bind=True,
        base=CommandTask,
        name=name,
        data_model=model,
        service=staticmethod(service),
        writes=writes,
        on_reject=staticmethod(on_reject) if on_reject is not None else None,
    )(run)
