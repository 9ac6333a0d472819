"""The transactional outbox: events written in the command's transaction, published later.

The outbox id is the event's ``sequence``. On PostgreSQL the rows of one transaction are
inserted under a transaction-scoped advisory lock held to commit, so ids are handed out in
commit order (SQLite has one writer, so it is so already): a consumer that sorts by
``sequence`` sees changes in the order they committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from domain import ids
from domain.clock import iso, utcnow
from domain.events import Event
from persistence.tables import outbox

COMMIT_ORDER_LOCK = 0x67776F62  # "gwob": the advisory lock that orders outbox ids
SOURCE = "gameworker"
SEQUENCE_DIGITS = 20  # zero-padded: sorts the same as text and as a number


def envelope(row: Any) -> dict[str, Any]:
    """The CloudEvents 1.0 structured-mode message of one outbox row."""
    return {
        "specversion": "1.0",
        "id": row.event_id,
        "source": SOURCE,
        "type": "gameworker." + row.type,
        "subject": row.subject,
        "time": iso(row.created_at),
        "datacontenttype": "application/json",
        "data": row.data,
        "accountid": row.account_id,
        "correlationid": row.correlation_id,
        "causationid": row.causation_id,
        "sequence": str(row.id).zfill(SEQUENCE_DIGITS),
    }


class Outbox:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, events: Sequence[Event], correlation_id: str | None, causation_id: str | None
    ) -> None:
        if not events:
            return
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": COMMIT_ORDER_LOCK})
        now = utcnow()
        self.conn.execute(
            insert(outbox),
            [
                {
                    "event_id": ids.new_id(ids.EVENT),
                    "type": e.type,
                    "subject": e.subject,
                    "account_id": e.account_id,
                    "data": e.data,
                    "correlation_id": correlation_id,
                    "causation_id": causation_id,
                    "created_at": now,
                }
                for e in events
            ],
        )

    def pending(self, limit: int) -> list[Any]:
        """The oldest unpublished rows, in sequence order."""
        query = (
            select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
        )
        return list(self.conn.execute(query))

    def mark_published(self, row_ids: Sequence[int], at: datetime | None = None) -> None:
        if row_ids:
            self.conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(row_ids)))
                .values(published_at=at or utcnow())
            )
