"""``events.relay``: publish the outbox to ``gameworker.events``, in commit order, at least once.

A pass takes the oldest pending rows (a batch), publishes them one by one in ``sequence``
order, marks the confirmed ones published and commits; then the next batch, until none is left
or the pass has done enough. Each batch is one transaction that holds the relay lock:

- PostgreSQL: a transaction-scoped advisory lock, waited for a short while. One relay works
  at a time, so a row is never published twice in one pass and a later event of a subject
  never overtakes an earlier one (``FOR UPDATE SKIP LOCKED`` would let a second relay publish
  rows 101-200 while the first still holds 1-100: per-subject order would be lost).
- SQLite: the writer lock ``BEGIN IMMEDIATE`` takes; there is one writer.

A publish that fails (broker down, a nack from RabbitMQ) stops the pass: the rows before it
are marked, it and the rows after it stay pending for the next pass. A relay killed between
publish and commit leaves its rows pending: they go out again with the same event ids
(at least once; consumers deduplicate on ``id``).

The relay is kicked after every command that committed events (``RelayKicker``: at most one
kick per process per interval, plus one trailing kick so the last event of a burst leaves at
once) and swept by celery beat, so a lost kick delays an event by one sweep at most.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from celery import shared_task
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from persistence.database import Database
from persistence.outbox import Outbox, envelope
from persistence.tables import outbox
from tasks.faults import is_transient

log = logging.getLogger("gameworker.relay")

RELAY_TASK = "events.relay"
RELAY_LOCK = 0x67777279  # "gwry": the advisory lock one relay holds while it publishes
LOCK_WAIT = "2s"  # how long a second relay waits for the first before leaving it the work


class PublishFailed(Exception):
    """Publishing stopped at an event; ``sent`` events before it were confirmed."""

    def __init__(self, sent: int, reason: str) -> None:
        super().__init__(reason)
        self.sent = sent
        self.reason = reason


class EventPublisher(Protocol):
    """Puts CloudEvents on ``gameworker.events`` (``workers.publisher`` is the real one)."""

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Publish in order; each is confirmed before the next. Raises ``PublishFailed``."""


def relay_pending(
    db: Database, publisher: EventPublisher, batch_size: int = 500, max_batches: int = 20
) -> dict[str, Any]:
    """One relay pass: ``{published, remaining}`` (+ ``busy`` or ``error`` when it stopped)."""
    published = 0
    summary: dict[str, Any] = {}
    more = False
    for _ in range(max_batches):
        sent, more, stopped = _batch(db, publisher, batch_size)
        published += sent
        if stopped:
            summary |= stopped
            break
        if not more:
            break
    # A pass that emptied the outbox says so without counting (a commit since has kicked a
    # relay of its own); one that stopped early counts what it left.
    remaining = pending_count(db) if more or summary else 0
    summary = {"published": published, "remaining": remaining, **summary}
    if published or summary.get("error"):
        log.info("relay: %s", summary)
    return summary


def pending_count(db: Database) -> int:
    with db.engine.connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int(conn.execute(query).scalar_one())


def _batch(
    db: Database, publisher: EventPublisher, batch_size: int
) -> tuple[int, bool, dict[str, Any] | None]:
    """Publish one batch: (rows published, whether more may wait, why the pass stopped)."""
    with db.engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            try:  # one round trip: the wait limit (this transaction's), then the lock
                conn.execute(
                    text(
                        "SELECT pg_advisory_xact_lock(:k) "
                        "FROM (SELECT set_config('lock_timeout', :wait, true)) AS limited"
                    ),
                    {"k": RELAY_LOCK, "wait": LOCK_WAIT},
                )
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) == "55P03":
                    return 0, False, {"busy": True}  # another relay is at work: it goes on
                raise
        box = Outbox(conn)
        rows = box.pending(batch_size)
        if not rows:
            return 0, False, None
        stopped: dict[str, Any] | None = None
        try:
            publisher.publish([envelope(row) for row in rows])
            sent = len(rows)
        except PublishFailed as exc:
            sent = exc.sent
            stopped = {"error": exc.reason}
            log.warning("relay: publishing stopped after %d of %d: %s", sent, len(rows), exc)
        box.mark_published([row.id for row in rows[:sent]])
    return sent, len(rows) == batch_size, stopped


class RelayKicker:
    """Sends ``events.relay`` after a commit: at once, then at most once per ``interval``.

    A kick inside the interval schedules one trailing kick at its end (``send(countdown)``),
    so the last commit of a burst is relayed within ``interval`` and a burst of commits costs
    two messages per interval and process, not one per commit. Never raises: the command has
    committed already, and the beat sweep picks up what a lost kick leaves.
    """

    def __init__(
        self,
        send: Callable[[float | None], None],
        interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")  # when the next immediate kick is allowed
        self._trailing = float("-inf")  # when the scheduled trailing kick runs

    def __call__(self) -> None:
        now = self._clock()
        with self._lock:
            if now >= self._next:
                countdown: float | None = None
                self._next = now + self.interval
            elif self._trailing < now:
                countdown = self._next - now
                self._trailing = self._next
                self._next += self.interval
            else:
                return  # a trailing kick is due after this commit: it will see it
        try:
            self._send(countdown)
        except Exception as exc:  # the broker is away: the sweep will relay the events
            log.warning("could not kick the relay: %s", exc)


def _relay(self: Any) -> dict[str, Any]:
    """Publish the pending outbox rows; a summary ``{published, remaining}``."""
    runtime = self.app.runtime
    if runtime.publisher is None:
        raise RuntimeError("no events publisher in this worker's runtime")
    try:
        summary = relay_pending(runtime.db, runtime.publisher, runtime.relay_batch_size)
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("relay: database unavailable: %s", exc)
        return {"published": 0, "remaining": None, "error": f"{type(exc).__name__}: {exc}"}
    if summary["remaining"] and not summary.get("error") and not summary.get("busy"):
        runtime.after_commit()  # more than one pass holds: carry on in a fresh task
    return summary


relay = shared_task(name=RELAY_TASK, bind=True, acks_late=True)(_relay)
