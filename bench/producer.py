"""The bench's producer: a process of its own that sends commands by name and times them.

``python -m bench.producer`` reads a plan (JSON) on stdin and prints one JSON line per phase.
It imports nothing of the product, like any upstream sender: a plain Celery app sends by name
to the ``games`` queue; a Redis subscription to the result backend's channels times each
result; a queue bound to ``gameworker.events`` (routing key ``#``) times each event, matched
to its command by ``causationid`` (the Celery task id). A phase ends when every result and
every event it expects has arrived.

Plan: ``{"broker", "results", "events", "account", "phases": [{"name", "workload", "n",
"rate"}]}``; workloads ``create``, ``mixed`` (70% get / 20% patch / 10% create), ``noop``;
``rate`` (commands per second) paces the sends, else they go as fast as they can.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis
from celery import Celery
from kombu import Connection, Exchange, Queue

EVENTS_EXCHANGE = Exchange("gameworker.events", type="topic", durable=True)
RESULT_CHANNEL = "celery-task-meta-"
READY = {"SUCCESS", "FAILURE", "REVOKED"}
PHASE_TIMEOUT = 600.0


@dataclass
class Pending:
    sent: float
    task: str
    wants_event: bool
    result_at: float | None = None
    event_at: float | None = None
    ok: bool = True
    data: Any = None

    @property
    def done(self) -> bool:
        return self.result_at is not None and (not self.wants_event or self.event_at is not None)


@dataclass
class Tracker:
    """Arrival times of results and events, by task id (written by two listener threads)."""

    pending: dict[str, Pending] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    early_events: dict[str, float] = field(default_factory=dict)
    events_seen: int = 0

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def add(self, task_id: str, item: Pending) -> None:
        with self.lock:
            self.pending[task_id] = item

    def result(self, task_id: str, at: float, payload: dict[str, Any]) -> None:
        with self.lock:
            item = self.pending.get(task_id)
            if item is None or item.result_at is not None:
                return
            item.result_at = at
            value = payload.get("result")
            item.ok = payload.get("status") == "SUCCESS" and bool(
                isinstance(value, dict) and value.get("ok")
            )
            item.data = value.get("data") if isinstance(value, dict) else None
            self.changed.notify_all()

    def event(self, task_id: str | None, at: float) -> None:
        with self.lock:
            self.events_seen += 1
            item = self.pending.get(task_id or "")
            if item is None:
                self.early_events[task_id or ""] = at  # the send has not been recorded yet
            elif item.event_at is None:
                item.event_at = at
            self.changed.notify_all()

    def wait(self, ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for task_id in ids:
                    item = self.pending[task_id]
                    if item.event_at is None and task_id in self.early_events:
                        item.event_at = self.early_events.pop(task_id)
                if all(self.pending[i].done for i in ids):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.5))


def listen_results(
    url: str, tracker: Tracker, ready: threading.Event, stop: threading.Event
) -> None:
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(RESULT_CHANNEL + "*")
    ready.set()
    while not stop.is_set():
        message = pubsub.get_message(timeout=0.2)
        if message is None:
            continue
        at = time.perf_counter()
        channel = message["channel"].decode()
        payload = json.loads(message["data"])
        if payload.get("status") in READY:
            tracker.result(channel.removeprefix(RESULT_CHANNEL), at, payload)
    pubsub.close()
    client.close()


def listen_events(
    url: str, tracker: Tracker, ready: threading.Event, stop: threading.Event
) -> None:
    queue = Queue(
        f"gwbench-events-{uuid.uuid4().hex[:8]}",
        EVENTS_EXCHANGE,
        routing_key="#",
        auto_delete=True,
        durable=False,
    )

    def on_message(message: Any) -> None:
        at = time.perf_counter()
        event = json.loads(message.body)
        tracker.event(event.get("causationid"), at)
        message.ack()

    with Connection(url) as conn, conn.Consumer([queue], on_message=on_message):
        ready.set()
        while not stop.is_set():
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                continue
    with Connection(url) as conn:
        queue.bind(conn.default_channel).delete()


class Workload:
    """The commands of a phase; remembers the games it created for gets and patches."""

    def __init__(self, account: str, games: list[str], rng: random.Random) -> None:
        self.actor = {"account_id": account, "subject": "bench"}
        self.games = games
        self.rng = rng
        self.serial = 0
        self.run = uuid.uuid4().hex[:6]

    def commands(self, kind: str, n: int) -> Iterator[tuple[str, dict[str, Any], bool]]:
        for _ in range(n):
            self.serial += 1
            pick = self.rng.random() if kind == "mixed" and self.games else 1.0
            if kind == "noop":
                yield "bench.noop", self._create(), False
            elif pick < 0.7:
                yield "games.get", {"actor": self.actor, "data": {"game_id": self._game()}}, False
            elif pick < 0.9:
                data = {"game_id": self._game(), "description": f"revision {self.serial}"}
                yield "games.patch", {"actor": self.actor, "data": data}, True
            else:
                yield "games.create", self._create(), True

    def _create(self) -> dict[str, Any]:
        data = {
            "name": f"Bench {self.run} {self.serial}",
            "platform": "pc",
            "tags": ["bench", "load"],
            "params": {"difficulty": self.serial % 5, "mode": "solo"},
        }
        return {"actor": self.actor, "data": data}

    def _game(self) -> str:
        return self.games[self.rng.randrange(len(self.games))]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_phase(
    app: Celery, producer: Any, tracker: Tracker, work: Workload, phase: dict[str, Any]
) -> dict[str, Any]:
    rate = phase.get("rate")
    ids: list[str] = []
    first = time.perf_counter()
    for i, (task, kwargs, wants_event) in enumerate(work.commands(phase["workload"], phase["n"])):
        if rate:
            delay = first + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        task_id = str(uuid.uuid4())
        tracker.add(task_id, Pending(time.perf_counter(), task, wants_event))
        app.send_task(task, kwargs=kwargs, queue="games", task_id=task_id, producer=producer)
        ids.append(task_id)
    sent = time.perf_counter()
    complete = tracker.wait(ids, PHASE_TIMEOUT)
    items = [tracker.pending.pop(i) for i in ids]
    for item in items:
        if item.ok and item.task == "games.create" and isinstance(item.data, dict):
            work.games.append(item.data["id"])
    finished = [i for i in items if i.done]
    last = max((max(i.result_at or 0, i.event_at or 0) for i in finished), default=sent)
    result_ms = [(i.result_at - i.sent) * 1000 for i in items if i.result_at is not None]
    event_ms = [(i.event_at - i.sent) * 1000 for i in items if i.event_at is not None]
    return {
        "phase": phase["name"],
        "workload": phase["workload"],
        "n": len(items),
        "complete": complete,
        "failed": sum(1 for i in items if i.result_at is not None and not i.ok),
        "missing_results": sum(1 for i in items if i.result_at is None),
        "missing_events": sum(1 for i in items if i.wants_event and i.event_at is None),
        "events": sum(1 for i in items if i.event_at is not None),
        "rate": rate,
        "send_seconds": round(sent - first, 4),
        "seconds": round(last - first, 4),
        "throughput": round(len(items) / (last - first), 2) if last > first else None,
        "result_ms": _summary(result_ms),
        "event_ms": _summary(event_ms),
    }


def _summary(values: list[float]) -> dict[str, float | None]:
    return {
        f"p{q}": (round(v, 3) if (v := percentile(values, q)) is not None else None)
        for q in (50, 95, 99)
    } | {"max": round(max(values), 3) if values else None}


def main() -> int:
    plan = json.load(sys.stdin)
    app = Celery("gameworker-bench-producer", broker=plan["broker"], backend=plan["results"])
    app.conf.update(task_serializer="json", accept_content=["json"], broker_connection_retry=True)
    tracker = Tracker()
    stop = threading.Event()
    threads = []
    for target, url in ((listen_results, plan["results"]), (listen_events, plan["events"])):
        ready = threading.Event()
        thread = threading.Thread(target=target, args=(url, tracker, ready, stop), daemon=True)
        thread.start()
        if not ready.wait(30):
            raise SystemExit(f"bench producer: {target.__name__} did not start")
        threads.append(thread)
    work = Workload(plan["account"], [], random.Random(plan.get("seed", 7)))
    try:
        with app.producer_or_acquire() as producer:  # one connection for every send
            for phase in plan["phases"]:
                print(json.dumps(run_phase(app, producer, tracker, work, phase)), flush=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
