"""Scoring strategies: versions of a family, their lifecycle, and what is logged about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain import events, ids
from domain.clock import iso, utcnow
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import Event
from domain.rules import BUILT_IN_STRATEGIES, CUSTOM_PREFIX

DRAFT, PUBLISHED, ARCHIVED = "DRAFT", "PUBLISHED", "ARCHIVED"
BUILT_IN, DSL_EXTEND, DSL_FULL = "BUILT_IN", "DSL_EXTEND", "DSL_FULL"
TYPES = (BUILT_IN, DSL_EXTEND, DSL_FULL)


def check_type(kind: str, parent_strategy_id: str | None) -> None:
    """DSL_EXTEND needs a built-in parent; the other types have none."""
    if kind == DSL_EXTEND:
        if parent_strategy_id not in BUILT_IN_STRATEGIES:
            raise ValidationError.field(
                "parent_strategy_id", "DSL_EXTEND needs a built-in parent strategy"
            )
    elif parent_strategy_id is not None:
        raise ValidationError.field("parent_strategy_id", f"a {kind} strategy has no parent")


@dataclass(eq=False)
class Strategy:
    id: str
    account_id: str
    name: str
    type: str
    definition: dict[str, Any]
    version: int
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    parent_strategy_id: str | None = None
    published_at: datetime | None = None
    events: list[Event] = field(default_factory=list, repr=False)

    @property
    def ref(self) -> str:
        """How games and game tasks name this version."""
        return CUSTOM_PREFIX + self.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "name": self.name,
            "description": self.description,
            "type": self.type,
            "parent_strategy_id": self.parent_strategy_id,
            "definition": self.definition,
            "version": self.version,
            "status": self.status,
            "created_by": self.created_by,
            "published_at": iso(self.published_at),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def record(self, event_type: str, **extra: Any) -> None:
        data = {**self.to_dict(), **extra}
        self.events.append(Event(event_type, self.id, self.account_id, data))

    def _set_status(self, status: str) -> None:
        now = max(utcnow(), self.updated_at)
        self.status = status
        self.updated_at = now
        if status == PUBLISHED:
            self.published_at = now


@dataclass(eq=False)
class StrategyFamily:
    """The versions that share an account and a name, newest first; at most one PUBLISHED.

    The family owns the lifecycle rules. It remembers which versions it ``added`` and which it
    ``changed`` (in the order they changed: a displaced version is archived before its successor
    is published, so the database's one-PUBLISHED index never sees two at once).
    """

    versions: list[Strategy]
    added: list[Strategy] = field(default_factory=list)
    changed: list[Strategy] = field(default_factory=list)

    @classmethod
    def start(
        cls, account_id: str, name: str, by: str, fields: dict[str, Any]
    ) -> tuple[StrategyFamily, Strategy]:
        now = utcnow()
        first = Strategy(
            id=ids.new_id(ids.STRATEGY),
            account_id=account_id,
            name=name,
            version=1,
            status=DRAFT,
            created_by=by,
            created_at=now,
            updated_at=now,
            **fields,
        )
        check_type(first.type, first.parent_strategy_id)
        first.record(events.STRATEGY_CREATED)
        return cls([first], added=[first]), first

    @property
    def name(self) -> str:
        return self.versions[0].name

    @property
    def published(self) -> Strategy | None:
        return next((v for v in self.versions if v.status == PUBLISHED), None)

    def version(self, number: int) -> Strategy:
        for v in self.versions:
            if v.version == number:
                return v
        raise NotFound(
            f"version {number} of strategy {self.name!r} not found",
            {"fields": {"target_version": f"the family has no version {number}"}},
        )

    def update(self, target: Strategy, changes: dict[str, Any], by: str) -> Strategy:
        """Apply an update to ``target``; the version that carries it is returned.

        A name belongs to the family: a new name renames every version (the caller checks the
        name is free). The other fields change a DRAFT in place; on a PUBLISHED version they go
        into a new DRAFT numbered max+1, leaving the PUBLISHED one as it is. ARCHIVED: conflict.
        """
        if target.status == ARCHIVED:
            raise Conflict(
                f"strategy {target.id} is ARCHIVED and cannot be changed",
                {"strategy_id": target.id, "status": ARCHIVED},
            )
        touched: list[Strategy] = []
        name = changes.get("name")
        if name is not None and name != self.name:
            for v in self.versions:
                v.name = name
            touched = list(self.versions)
        content = {k: v for k, v in changes.items() if k != "name"}
        result = target
        if target.status == DRAFT:
            changed = {k: v for k, v in content.items() if getattr(target, k) != v}
            for key, value in changed.items():
                setattr(target, key, value)
            if changed and target not in touched:
                touched.append(target)
        elif content:
            result = self._fork(target, content, by)
        for v in touched:
            v.updated_at = max(utcnow(), v.updated_at)
            v.record(events.STRATEGY_UPDATED)
            self._mark(v)
        return result

    def _fork(self, published: Strategy, content: dict[str, Any], by: str) -> Strategy:
        now = utcnow()
        fork = Strategy(
            id=ids.new_id(ids.STRATEGY),
            account_id=published.account_id,
            name=published.name,
            type=published.type,
            definition=content.get("definition", published.definition),
            description=content.get("description", published.description),
            parent_strategy_id=published.parent_strategy_id,
            version=max(v.version for v in self.versions) + 1,
            status=DRAFT,
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        self.versions.insert(0, fork)
        self.added.append(fork)
        fork.record(events.STRATEGY_CREATED)
        return fork

    def publish(self, target: Strategy) -> Strategy | None:
        """Publish ``target`` (not PUBLISHED yet); the version it displaces is returned."""
        if target.status == ARCHIVED:
            raise Conflict(
                f"strategy {target.id} is ARCHIVED: roll back to it instead",
                {"strategy_id": target.id, "status": ARCHIVED},
            )
        assert target.status == DRAFT, "publishing the PUBLISHED version changes nothing"
        displaced = self.published
        if displaced is not None:
            self._set(displaced, ARCHIVED)
        self._set(target, PUBLISHED)
        return displaced

    def archive(self, target: Strategy) -> None:
        """Archive ``target`` (not ARCHIVED yet)."""
        assert target.status != ARCHIVED, "archiving an ARCHIVED version changes nothing"
        self._set(target, ARCHIVED)

    def rollback(self, target_version: int) -> tuple[Strategy, Strategy | None]:
        """Make ``target_version`` the PUBLISHED one: (promoted, displaced).

        The target may be ARCHIVED (the usual case) or a DRAFT; an unknown version is
        not_found, the PUBLISHED one a conflict.
        """
        target = self.version(target_version)
        if target.status == PUBLISHED:
            raise Conflict(
                f"version {target_version} is already PUBLISHED",
                {"fields": {"target_version": "this version is already PUBLISHED"}},
            )
        displaced = self.published
        if displaced is not None:
            self._set(displaced, ARCHIVED)
        self._set(target, PUBLISHED)
        return target, displaced

    def _set(self, version: Strategy, status: str) -> None:
        version._set_status(status)
        self._mark(version)

    def _mark(self, version: Strategy) -> None:
        if version not in self.changed and version not in self.added:
            self.changed.append(version)


@dataclass(eq=False)
class AuditEntry:
    """One publish, archive or rollback: who, what, when, how it ended, with counts."""

    id: str
    at: datetime
    account_id: str | None
    subject: str
    action: str
    strategy_id: str | None
    outcome: str
    details: dict[str, Any]

    @classmethod
    def of(
        cls,
        account_id: str | None,
        subject: str,
        action: str,
        strategy_id: str | None,
        outcome: str,
        details: dict[str, Any],
    ) -> AuditEntry:
        return cls(
            ids.new_id(ids.AUDIT),
            utcnow(),
            account_id,
            subject,
            action,
            strategy_id,
            outcome,
            details,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "subject": self.subject,
            "action": self.action,
            "strategy_id": self.strategy_id,
            "outcome": self.outcome,
            "details": self.details,
        }


PENDING, RUNNING, DONE, FAILED, CANCELLED = "PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED"


@dataclass(eq=False)
class ScheduledOperation:
    """A publish or rollback to run at ``run_at``, once."""

    id: str
    account_id: str
    strategy_id: str
    action: str
    target_version: int | None
    run_at: datetime
    status: str
    created_by: str
    roles: list[str]
    is_admin: bool
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None = None

    def cancel(self) -> None:
        if self.status != PENDING:
            raise Conflict(f"schedule {self.id} is {self.status} and cannot be cancelled")
        self.status = CANCELLED
        self.updated_at = utcnow()

    def finish(self, result: dict[str, Any]) -> None:
        self.status = DONE if result.get("ok") else FAILED
        self.result = result
        self.updated_at = utcnow()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.id,
            "strategy_id": self.strategy_id,
            "action": self.action,
            "target_version": self.target_version,
            "run_at": iso(self.run_at),
            "status": self.status,
            "result": self.result,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
