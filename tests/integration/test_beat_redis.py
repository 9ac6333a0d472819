"""Two beat processes on Redis: one schedules, the other waits for the lock and takes over."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.beat import Service
from redbeat.schedulers import acquire_distributed_beat_lock, get_redis

from workers.app import GameworkerCelery, create_app
from workers.settings import Settings

pytestmark = pytest.mark.redis


@pytest.fixture
def beat_app(redis_url: str, tmp_path: Path) -> Iterator[GameworkerCelery]:
    """An app on Redis whose beat keys live under a prefix of this test's own."""
    prefix = f"gwtest-beat-{uuid.uuid4().hex[:8]}"
    app = create_app(
        Settings(
            home=tmp_path,
            broker_url=redis_url,
            result_backend=redis_url,
            beat_key_prefix=prefix,
            beat_max_loop_interval=0.2,
            beat_lock_timeout=2,
        )
    )
    # What a tick sends goes under the same prefix, and is deleted with it.
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": f"{prefix}:",
    }
    yield app
    client = get_redis(app)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    app.close()


def start(app: GameworkerCelery) -> Service:
    """A beat service that set up its schedule and went for the lock, as `celery beat` does."""
    service = Service(app, scheduler_cls=app.conf.beat_scheduler)
    acquire_distributed_beat_lock(sender=service)
    return service


class Standby(threading.Thread):
    """A second beat in a thread of its own (a redis lock's token is thread-local)."""

    def __init__(self, app: GameworkerCelery) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.owned: bool | None = None
        self.acquired = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        service = start(self.app)
        self.owned = bool(service.scheduler.lock.owned())
        self.acquired.set()
        self.stop.wait(10)
        service.scheduler.close()


def test_exactly_one_of_two_beats_holds_the_lock_and_the_other_takes_over(
    beat_app: GameworkerCelery,
) -> None:
    first = start(beat_app)
    assert type(first.scheduler).__name__ == "RedBeatScheduler"
    assert first.scheduler.lock is not None and first.scheduler.lock.owned()
    assert set(first.scheduler.schedule) <= set(beat_app.conf.beat_schedule)
    second = Standby(beat_app)
    second.start()
    assert not second.acquired.wait(1)  # waiting on the Redis lock
    first.scheduler.tick()  # the holder renews its lock every tick
    assert not second.acquired.is_set()
    first.scheduler.close()  # and lets go when it stops
    assert second.acquired.wait(10) and second.owned
    second.stop.set()
    second.join(10)


def test_a_beat_that_died_without_letting_go_is_replaced_after_the_lock_timeout(
    beat_app: GameworkerCelery,
) -> None:
    dead = start(beat_app)
    assert dead.scheduler.lock.owned()  # and then it is killed: no tick, no release
    began = time.monotonic()
    standby = Standby(beat_app)
    standby.start()
    assert standby.acquired.wait(10) and standby.owned
    assert time.monotonic() - began >= 1  # not before the dead one's lock ran out (2 s)
    standby.stop.set()
    standby.join(10)
