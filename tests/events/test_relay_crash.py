"""A relay killed between publish and mark: the events come again, with the same ids."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection  # type: ignore[attr-defined]

import celeryconfig
from domain.events import Event
from persistence.database import Database
from tasks.relay import pending_count, relay_pending
from tests.conftest import _database, empty, need
from tests.events.conftest import EventSink, wait_until
from tests.services import REDIS
from workers.publisher import KombuEventPublisher
from workers.settings import Settings

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


def events_broker(kind: str, tmp: Path) -> tuple[str, dict[str, Any]]:
    if kind == "redis":
        need(REDIS)
        return REDIS.url, {"global_keyprefix": f"gwtest-{uuid.uuid4().hex[:8]}:"}
    options = celeryconfig.build(Settings(home=tmp))["broker_transport_options"]
    return "filesystem://", dict(options)


@pytest.mark.parametrize("kind", ["redis", "filesystem"])
def test_relay_killed_after_publishing_republishes_the_same_event_ids(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url_fixture = "postgres_url" if kind == "redis" else "sqlite_url"
    db: Database = _database(request.getfixturevalue(url_fixture))
    empty(db)
    url, options = events_broker(kind, tmp_path)
    sink = EventSink(Connection(url, transport_options=options))
    try:
        with db.unit_of_work() as uow:
            for i in range(4):
                uow.record(Event("game.updated", "gam_1", "acme", {"n": i}))
            uow.commit()
        marker = tmp_path / "published"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.events.relay_crash", db.url, url,
             json.dumps(options), str(marker)],
            cwd=ROOT,
        )  # fmt: skip
        try:
            wait_until(marker.exists, timeout=60)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        first_ids = json.loads(marker.read_text())
        first = sink.wait_for_ids(set(first_ids))
        assert [r.event["id"] for r in first] == first_ids
        assert pending_count(db) == 4  # the kill undid the mark

        summary = relay_pending(db, KombuEventPublisher(url, options))
        assert summary == {"published": 4, "remaining": 0}
        sink.drain(0.5)
        ids = [r.event["id"] for r in sink.received]
        assert ids == first_ids + first_ids  # the same ids again, never new ones
    finally:
        sink.close()
