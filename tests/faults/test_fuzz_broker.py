"""Fuzz over the broker: a real worker survives garbage, answers or dead-letters each message.

A worker process (prefork, two pool processes, Redis + PostgreSQL, ``celery -A workers.app
worker``) is fed hypothesis-made messages published raw with kombu (tests/faults/raw.py):
bodies that are not JSON or not UTF-8, JSON of the wrong shape or nested 20,000 deep, bodies
over the size limit, pickle/YAML/text content types, unknown task names, broken headers, and
well-formed messages carrying faulty commands (tests/faults/garbage.py).

Every message must come to an end that someone can see: its command answered (a faulty
command with ``validation_error``), or a dead letter with a readable error (its sender, when
it has a task id, gets a FAILURE). After every batch a valid command is answered (the queue
keeps moving), and the worker must still be the same process with no pool process lost.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from celery import Celery
from celery.result import AsyncResult
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kombu import Connection, Exchange, Queue  # type: ignore[attr-defined]
from sqlalchemy import func, select

from persistence.database import Database
from persistence.tables import dead_letters
from tests.conftest import CURSOR_SECRET, _database, empty
from tests.events.conftest import wait_until
from tests.faults import figures
from tests.faults.processes import WorkerProcess, gameworker_env
from tests.faults.raw import ACTOR, HEADER_FAULTS, Raw, body_of, raw_messages, task_headers
from tests.faults.scale import scaled
from tests.faults.servers import OwnRedis
from tests.faults.test_fuzz_tasks import check_refusal

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
BATCH = 25
MAX_MESSAGE_BYTES = 65_536
OUTCOME_TIMEOUT = 60


@dataclass
class Fuzzed:
    db: Database
    redis: OwnRedis
    worker: WorkerProcess
    client: Celery
    pid: int


class Tally:
    sent = 0
    outcomes: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    lost = 0
    unreadable = 0
    queue_checks = 0


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Fuzzed]:
    folder = tmp_path_factory.mktemp("fuzz-broker")
    db = _database(postgres_url)
    empty(db)
    redis = OwnRedis(folder / "redis")
    redis.start()
    env = gameworker_env(
        home=folder / "home",
        database_url=postgres_url,
        broker_url=redis.url(0),
        result_backend=redis.url(1),
        cursor_secret=CURSOR_SECRET,
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    worker = WorkerProcess(env, folder / "worker", concurrency=2)
    client = Celery("fuzz-client", broker=redis.url(0), backend=redis.url(1))
    client.conf.update(task_serializer="json", accept_content=["json"])
    try:
        worker.start()
        assert worker.proc is not None
        yield Fuzzed(db, redis, worker, client, worker.proc.pid)
    finally:
        client.close()
        worker.stop()
        redis.stop()


def _dead_letters(db: Database) -> dict[str | None, list[str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(dead_letters.c.task_id, dead_letters.c.error))
        out: dict[str | None, list[str]] = {}
        for task_id, error in rows:
            out.setdefault(task_id, []).append(error)
        return out


def _count_dead(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(dead_letters)).scalar_one())


def _publish(conn: Connection, raw: Raw) -> None:
    queue = Queue(raw.queue, Exchange(raw.queue, type="direct"), routing_key=raw.queue)
    conn.Producer().publish(
        raw.body,
        exchange=queue.exchange,
        routing_key=raw.queue,
        headers=raw.headers,
        content_type=raw.content_type,
        content_encoding=raw.content_encoding,
        declare=[queue],
        **raw.properties,
    )


def _outcome(f: Fuzzed, raw: Raw, letters: dict[str | None, list[str]]) -> str | None:
    """How one message ended, or None while it has not."""
    assert raw.task_id is not None
    result = AsyncResult(raw.task_id, app=f.client)
    state = result.state
    if state == "SUCCESS":
        answer = result.result
        if raw.answered:
            check_refusal(answer, raw.fault)
            return "answered validation_error"
        return "answered" if isinstance(answer, dict) and "ok" in answer else None
    if state == "FAILURE" or raw.task_id in letters:
        errors = letters.get(raw.task_id)
        if not errors:
            return None  # the dead letter may be a moment behind the result
        if not all(isinstance(e, str) and 10 < len(e) <= 5_000 for e in errors):
            Tally.unreadable += 1
            raise AssertionError(f"unreadable dead letter for {raw}: {errors}")
        return "dead-lettered"
    return None


def _queue_moves(f: Fuzzed) -> None:
    name = f"after-garbage-{uuid.uuid4().hex[:8]}"
    sent = f.client.send_task(
        "games.create", kwargs={"actor": ACTOR, "data": {"name": name}}, queue="games"
    )
    answer = sent.get(timeout=OUTCOME_TIMEOUT)
    assert answer["ok"] and answer["data"]["name"] == name, answer
    Tally.queue_checks += 1


@settings(
    max_examples=scaled(10_000 // BATCH, minimum=8),
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking against a live worker
    suppress_health_check=list(HealthCheck),
)
@given(batch=st.lists(raw_messages(max_bytes=MAX_MESSAGE_BYTES), min_size=BATCH, max_size=BATCH))
def test_a_worker_survives_garbage_and_accounts_for_each_message(
    fuzzed: Fuzzed, batch: list[Raw]
) -> None:
    f = fuzzed
    dead_before = _count_dead(f.db)
    with Connection(f.redis.url(0)) as conn:
        for raw in batch:
            _publish(conn, raw)
            Tally.sent += 1
            Tally.faults[raw.fault.split(":")[0]] += 1
    pending = [r for r in batch if r.task_id is not None]
    without_id = len(batch) - len(pending)
    deadline = time.monotonic() + OUTCOME_TIMEOUT
    while pending and time.monotonic() < deadline:
        letters = _dead_letters(f.db)
        still = []
        for raw in pending:
            outcome = _outcome(f, raw, letters)
            if outcome is None:
                still.append(raw)
            else:
                Tally.outcomes[outcome] += 1
        pending = still
        time.sleep(0.1)
    Tally.lost += len(pending)
    assert not pending, f"no answer and no dead letter for: {pending[:3]}"
    if without_id:  # no id to find them by: the count of new dead letters tells
        expected = (
            dead_before
            + without_id
            + sum(1 for r in batch if r.task_id is not None and r.task_id in _dead_letters(f.db))
        )
        deadline = time.monotonic() + OUTCOME_TIMEOUT
        while _count_dead(f.db) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        got = _count_dead(f.db) - dead_before
        Tally.lost += max(0, expected - dead_before - got)
        assert _count_dead(f.db) >= expected, "a message without a task id left no dead letter"
        Tally.outcomes["dead-lettered (no task id)"] += without_id
    _queue_moves(f)
    assert f.worker.alive and f.worker.proc is not None and f.worker.proc.pid == f.pid
    lost_pool = [line for line in f.worker.crash_lines() if "WorkerLostError" in line]
    assert not lost_pool, lost_pool[:3]


POISON = [
    *[(h, v) for h, v in HEADER_FAULTS if h not in ("argsrepr", "kwargsrepr")],
    ("retries", 10**30),
    ("group_index", "x"),
    ("id", 12),
]


@pytest.mark.parametrize(("header", "value"), POISON, ids=[f"{h}={str(v)[:12]}" for h, v in POISON])
def test_a_header_of_the_wrong_type_is_dead_lettered_even_behind_a_busy_pool(
    fuzzed: Fuzzed, header: str, value: Any
) -> None:
    """Celery unpacked a ``timelimit`` of three numbers when a pool process freed up, outside
    every handler: one message stopped the whole worker ("Unrecoverable error")."""
    f = fuzzed
    busy = [
        f.client.send_task(
            "games.create",
            kwargs={"actor": ACTOR, "data": {"name": f"busy-{uuid.uuid4().hex[:8]}"}},
            queue="games",
        )
        for _ in range(4)
    ]
    task_id = f"poison-{uuid.uuid4()}"
    headers = {**task_headers(task_id), header: value}
    raw = Raw("poison header", body_of({"actor": ACTOR, "data": {"name": task_id}}),
              "application/json", headers, task_id=task_id)  # fmt: skip
    with Connection(f.redis.url(0)) as conn:
        _publish(conn, raw)
    for sent in busy:
        assert sent.get(timeout=OUTCOME_TIMEOUT)["ok"]
    if header == "id":  # no id to find it by: the newest dead letter names the header
        letters = wait_until(lambda: _dead_letters(f.db).get(None), timeout=OUTCOME_TIMEOUT)
        assert any("header id" in e for e in letters), letters
    else:
        letters = wait_until(lambda: _dead_letters(f.db).get(task_id), timeout=OUTCOME_TIMEOUT)
        assert header in letters[0].lower(), letters  # a sentence naming the header
        failed = lambda: AsyncResult(task_id, app=f.client).state == "FAILURE"  # noqa: E731
        wait_until(failed, timeout=OUTCOME_TIMEOUT)  # the sender hears of it
    _queue_moves(f)
    assert f.worker.alive and f.worker.proc is not None and f.worker.proc.pid == f.pid


def test_broker_fuzz_figures(fuzzed: Fuzzed) -> None:
    f = fuzzed
    assert Tally.sent > 0
    crashes = int(not f.worker.alive) + len(
        [line for line in f.worker.crash_lines() if "WorkerLostError" in line or "signal" in line]
    )
    figures.record(
        "fuzz over the broker (real worker, Redis + PostgreSQL)",
        {
            "messages": Tally.sent,
            **{k: v for k, v in sorted(Tally.outcomes.items())},
            "lost (no answer, no dead letter)": Tally.lost,
            "unreadable dead letters": Tally.unreadable,
            "valid commands answered between batches": Tally.queue_checks,
            "worker crashes": crashes,
        },
        {"lost (no answer, no dead letter)": 0, "worker crashes": 0, "unreadable dead letters": 0},
    )
    assert crashes == 0, f.worker.crash_lines()[:5]
