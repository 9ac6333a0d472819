"""The transactional outbox: events written in the command's transaction, published later.

The outbox id is the event's ``sequence``. On PostgreSQL the rows of one transaction are
inserted under a transaction-scoped advisory lock held to commit, so ids are handed out in
commit order (SQLite has one writer, so it is so already): a consumer that sorts by
``sequence`` sees changes in the order they committed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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


def _pg_statement(
    rows: list[dict[str, Any]], record: Mapping[str, Any] | None, now: datetime
) -> tuple[Any, dict[str, Any]]:
    """The one statement of a PostgreSQL commit: record, then lock, then rows; 1 if recorded."""
    params: dict[str, Any] = {"lock": COMMIT_ORDER_LOCK, "now": now}
    parts = []
    if record is not None:
        parts.append(
            "recorded AS (INSERT INTO processed_commands (scope, key, task, result, created_at) "
            "VALUES (:r_scope, :r_key, :r_task, CAST(:r_result AS jsonb), :now) "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING 1 AS one)"
        )
        params |= {
            "r_scope": record["scope"],
            "r_key": record["key"],
            "r_task": record["task"],
            "r_result": _json(record["result"]),
        }
    if rows:
        source = " FROM recorded" if record is not None else ""
        parts.append(f"ordered AS MATERIALIZED (SELECT pg_advisory_xact_lock(:lock){source})")
        values = []
        for i, row in enumerate(rows):
            values.append(f"(:e{i}, :t{i}, :s{i}, :a{i}, CAST(:d{i} AS jsonb))")
            params |= {
                f"e{i}": row["event_id"],
                f"t{i}": row["type"],
                f"s{i}": row["subject"],
                f"a{i}": row["account_id"],
                f"d{i}": _json(row["data"]),
            }
        params |= {"corr": rows[0]["correlation_id"], "cause": rows[0]["causation_id"]}
        parts.append(
            "written AS (INSERT INTO outbox (event_id, type, subject, account_id, data, "
            "correlation_id, causation_id, created_at) "
            "SELECT v.event_id, v.type, v.subject, v.account_id, v.data, "
            "CAST(:corr AS varchar), CAST(:cause AS varchar), :now "
            f"FROM (VALUES {', '.join(values)}) AS v(event_id, type, subject, account_id, data) "
            "CROSS JOIN ordered RETURNING 1)"
        )
    # A data-modifying WITH always runs to completion, read or not; ``ordered`` runs because
    # ``written`` reads it, and yields its row only once the lock is held.
    answer = "(SELECT count(*) FROM recorded)" if record is not None else "1"
    return text(f"WITH {', '.join(parts)} SELECT {answer}"), params


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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
        self,
        events: Sequence[Event],
        correlation_id: str | None,
        causation_id: str | None,
        record: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write the events' rows, and on PostgreSQL the idempotency ``record`` with them.

        On PostgreSQL one statement does it all (a round trip, not three): the record is
        inserted first (``ON CONFLICT DO NOTHING``), the commit-order lock is taken only if it
        was, and the rows get their ids only once the lock is held (the insert reads its rows
        through the lock). Returns False when the record's key was taken, and then inserts
        nothing. Elsewhere ``record`` must be None (the caller writes it).
        """
        postgres = self.conn.dialect.name == "postgresql"
        if record is not None and not postgres:
            raise ValueError("the record goes with the outbox rows on PostgreSQL only")
        if not events and record is None:
            return True
        now = utcnow()
        rows = [
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
        ]
        if postgres:
            statement, params = _pg_statement(rows, record, now)
            return bool(self.conn.execute(statement, params).scalar_one())
        self.conn.execute(insert(outbox), rows)
        return True

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
