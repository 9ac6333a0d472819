"""Run locks on both stores: one holder at a time, leases that run out, takeover, release."""

from __future__ import annotations

import threading
import time

from persistence.database import Database
from persistence.run_locks import RunLocks


def test_one_holder_at_a_time_until_it_lets_go(db: Database) -> None:
    locks = RunLocks(db.engine)
    assert locks.acquire("maintenance.prune", "run-1", lease=60)
    assert not locks.acquire("maintenance.prune", "run-2", lease=60)
    assert locks.acquire("maintenance.purge_deleted_games", "run-2", lease=60)  # another name
    holder = locks.holder("maintenance.prune")
    assert holder is not None and holder[0] == "run-1"
    locks.release("maintenance.prune", "run-1")
    assert locks.holder("maintenance.prune") is None
    assert locks.acquire("maintenance.prune", "run-2", lease=60)


def test_a_lease_that_ran_out_is_taken_over_and_the_old_holder_knows(db: Database) -> None:
    locks = RunLocks(db.engine)
    assert locks.acquire("job", "dead-run", lease=0.05)
    time.sleep(0.1)
    assert locks.acquire("job", "new-run", lease=60)
    assert not locks.renew("job", "dead-run", lease=60)  # it lost the lock
    locks.release("job", "dead-run")  # and letting go of it frees nothing
    holder = locks.holder("job")
    assert holder is not None and holder[0] == "new-run"


def test_renew_keeps_the_lock_from_running_out(db: Database) -> None:
    locks = RunLocks(db.engine)
    assert locks.acquire("job", "run-1", lease=0.3)
    for _ in range(3):
        time.sleep(0.15)
        assert locks.renew("job", "run-1", lease=0.3)
    assert not locks.acquire("job", "run-2", lease=60)


def test_the_holder_takes_its_own_lock_again_on_a_retry(db: Database) -> None:
    locks = RunLocks(db.engine)
    assert locks.acquire("job", "task-id-1", lease=60)
    assert locks.acquire("job", "task-id-1", lease=60)
    assert not locks.acquire("job", "task-id-2", lease=60)


def test_of_many_racing_for_a_free_lock_exactly_one_wins(db: Database) -> None:
    locks = RunLocks(db.engine)
    start = threading.Barrier(6)
    won: list[str] = []

    def race(holder: str) -> None:
        start.wait()
        if locks.acquire("job", holder, lease=60):
            won.append(holder)

    threads = [threading.Thread(target=race, args=(f"run-{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    holder = locks.holder("job")
    assert holder is not None and holder[0] == won[0]
