"""The relay on both stores: commit order, one publish per row per pass, partial failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from domain.events import Event
from persistence.database import Database
from persistence.outbox import Outbox
from persistence.tables import outbox
from tasks.relay import PublishFailed, RelayKicker, pending_count, relay_pending

pytestmark = pytest.mark.timeout(120)


class RecordingPublisher:
    """Publishes into a list; optionally slow, optionally failing at the n-th event."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.published: list[dict[str, Any]] = []
        self.delay = delay
        self.fail_at = fail_at
        self._lock = threading.Lock()

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        for i, e in enumerate(events):
            with self._lock:
                if self.fail_at is not None and len(self.published) == self.fail_at:
                    raise PublishFailed(i, "MessageNacked: the broker refused it")
                self.published.append(dict(e))
            if self.delay:
                time.sleep(self.delay)


def add_events(db: Database, count: int, subjects: int = 3) -> None:
    with db.unit_of_work() as uow:
        for i in range(count):
            uow.record(Event("game.updated", f"gam_{i % subjects}", "acme", {"n": i}))
        uow.commit()


def published_rows(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def test_publishes_every_pending_row_in_sequence_order_and_marks_them(db: Database) -> None:
    add_events(db, 25)
    publisher = RecordingPublisher()
    summary = relay_pending(db, publisher, batch_size=10)
    assert summary == {"published": 25, "remaining": 0}
    sequences = [int(e["sequence"]) for e in publisher.published]
    assert sequences == sorted(sequences) and len(set(sequences)) == 25
    assert all(r.published_at is not None for r in published_rows(db))
    assert relay_pending(db, publisher) == {"published": 0, "remaining": 0}
    assert len(publisher.published) == 25  # nothing twice


def test_a_pass_stops_at_its_limit_and_reports_what_remains(db: Database) -> None:
    add_events(db, 30)
    summary = relay_pending(db, RecordingPublisher(), batch_size=10, max_batches=2)
    assert summary == {"published": 20, "remaining": 10}


def test_a_failed_publish_keeps_that_row_and_the_later_ones_pending(db: Database) -> None:
    add_events(db, 6)
    publisher = RecordingPublisher(fail_at=2)
    summary = relay_pending(db, publisher, batch_size=4)
    assert summary["published"] == 2 and summary["remaining"] == 4
    assert "MessageNacked" in summary["error"]
    rows = published_rows(db)
    assert [r.published_at is not None for r in rows] == [True, True, False, False, False, False]
    # The next pass starts at the refused row: order kept, the same event ids.
    publisher.fail_at = None
    assert relay_pending(db, publisher)["published"] == 4
    assert [e["id"] for e in publisher.published] == [r.event_id for r in rows]


def test_concurrent_relays_never_publish_a_row_twice_and_keep_commit_order(db: Database) -> None:
    add_events(db, 120, subjects=4)
    publisher = RecordingPublisher(delay=0.002)
    summaries: list[dict[str, Any]] = []

    def run() -> None:
        summaries.append(relay_pending(db, publisher, batch_size=15))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ids = [e["id"] for e in publisher.published]
    assert len(ids) == 120 and len(set(ids)) == 120
    sequences = [int(e["sequence"]) for e in publisher.published]
    assert sequences == sorted(sequences)  # one relay at a time: global (so per-subject) order
    assert sum(s["published"] for s in summaries) == 120
    assert pending_count(db) == 0


def test_events_committed_while_a_relay_works_are_relayed_by_the_next_pass(db: Database) -> None:
    add_events(db, 5)
    publisher = RecordingPublisher()
    relay_pending(db, publisher)
    add_events(db, 3)
    assert relay_pending(db, publisher) == {"published": 3, "remaining": 0}
    with db.engine.connect() as conn:
        assert len(Outbox(conn).pending(10)) == 0


# --- the kick ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_kick_is_immediate_then_one_trailing_kick_per_interval() -> None:
    clock = FakeClock()
    sent: list[float | None] = []
    kick = RelayKicker(sent.append, interval=0.05, clock=clock)
    kick()
    assert sent == [None]  # the first commit: at once
    clock.now += 0.01
    kick()
    assert sent == [None, pytest.approx(0.04)]  # inside the interval: one trailing kick
    clock.now += 0.01
    kick()
    kick()
    assert len(sent) == 2  # the trailing kick will see these commits too
    clock.now += 0.04  # the trailing kick ran; a commit now needs a new one
    kick()
    assert len(sent) == 3 and sent[-1] == pytest.approx(0.04)  # at the end of its interval
    clock.now += 1
    kick()
    assert sent[-1] is None  # quiet for a while: at once again


def test_a_kick_that_cannot_be_sent_never_fails_the_command() -> None:
    def broken(_: float | None) -> None:
        raise ConnectionError("broker down")

    RelayKicker(broken)()  # no exception
