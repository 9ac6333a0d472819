"""The load scenarios' harness: mixed write commands from several producers, and the audit.

A run sends N mixed write commands (40% ``games.create``, 25% ``game_tasks.create``, 20%
``games.params.set``, 15% ``games.patch``) from several producer processes while a fault is
done to the system (a pool process killed, a server restarted), then counts:

- commands sent, and results received (``ok: true``; anything else is lost);
- effects in the database: each create's row exactly once, each param present, and exactly one
  committed change (one outbox event of the command's type) per idempotency key;
- events received on ``gameworker.events`` by a consumer bound before the load: every
  committed event of the run present, duplicates only ever with the same event id.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Connection, Consumer, Exchange, Queue  # type: ignore[attr-defined]
from sqlalchemy import create_engine, func, select, text

from persistence.database import Database
from persistence.migrate import upgrade
from persistence.tables import (
    dead_letters,
    game_params,
    game_tasks,
    games,
    outbox,
    processed_commands,
)
from tests.conftest import CURSOR_SECRET
from workers.redis_transport import transport_for

PRODUCER = Path(__file__).with_name("load_producer.py")
SETUP_GAMES = 20
EVENTS = Exchange("gameworker.events", type="topic", durable=True)
EXPECTED_EVENT = {
    "games.create": "gameworker.game.created",
    "game_tasks.create": "gameworker.game_task.created",
    "games.params.set": "gameworker.game.updated",
    "games.patch": "gameworker.game.updated",
}


def fresh_database(server_url: str) -> str:
    """A new, migrated database on the server of ``server_url``; its URL."""
    name = f"gw_faults_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"{server_url.rsplit('/', 1)[0]}/{name}"
    db = Database(url, CURSOR_SECRET)
    upgrade(db.engine)
    db.dispose()
    return url


class EventCollector(threading.Thread):
    """Consumes ``gameworker.events`` on a durable queue of its own, reconnecting as needed."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.queue = Queue(
            f"faults-events-{uuid.uuid4().hex[:8]}",
            EVENTS,
            routing_key="#",
            durable=True,
            auto_delete=False,
        )
        self.events: list[dict[str, Any]] = []
        self.reconnects = 0
        self._stop_flag = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        while not self._stop_flag.is_set():
            try:
                # on Redis, gameworker's transport: kombu's own can lose a message it pops
                # as Redis stops (workers/redis_transport.py). Its visibility timeout is
                # kombu's hour, not the workers' 60 s, so the workers' restore passes put back
                # what it popped and has not read yet: the harsher case, kept on purpose.
                with Connection(
                    self.url, transport=transport_for(self.url), connect_timeout=2
                ) as conn:
                    conn.ensure_connection(max_retries=1)
                    with Consumer(conn, [self.queue], callbacks=[self._on], accept=None):
                        self.ready.set()
                        while not self._stop_flag.is_set():
                            try:
                                conn.drain_events(timeout=0.5)
                            except TimeoutError:
                                continue
            except Exception:  # the broker went away: come back when it does
                self.reconnects += 1
                time.sleep(0.5)

    def _on(self, body: Any, message: Any) -> None:
        raw = message.body
        self.events.append(json.loads(raw.decode() if isinstance(raw, bytes) else raw))
        message.ack()

    def stop(self) -> None:
        self._stop_flag.set()
        self.join(10)
        try:
            with Connection(self.url, connect_timeout=2) as conn:
                self.queue(conn.channel()).delete()
        except Exception:
            pass


@dataclass
class Command:
    id: str
    name: str
    kwargs: dict[str, Any]
    queue: str = "games"

    @property
    def key(self) -> str:
        return str(self.kwargs["idempotency_key"])


@dataclass
class LoadRun:
    """One load scenario: its commands, its producers, and what it found."""

    db_url: str
    broker: str
    backend: str
    events_url: str
    folder: Path
    count: int
    producers: int = 3
    deadline: float = 600
    answer_timeout: float = 150
    """Resend a command unanswered this long (above the workers' visibility timeout)."""
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    commands: list[Command] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    setup_games: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def actor(self) -> dict[str, Any]:
        return {"account_id": f"load-{self.run}", "subject": "load-producer"}

    def setup(self, timeout: float = 120) -> None:
        """The games the tasks, params and patches of the run go to; then the plan."""
        client = Celery("load-setup", broker=self.broker, backend=self.backend)
        client.conf.update(task_serializer="json", accept_content=["json"])
        try:
            sent = [
                client.send_task(
                    "games.create",
                    kwargs={"actor": self.actor, "data": {"name": f"setup {n}"}},
                    queue="games",
                )
                for n in range(SETUP_GAMES)
            ]
            for result in sent:
                answer = result.get(timeout=timeout)
                assert answer["ok"], answer
                self.setup_games.append(answer["data"]["id"])
        finally:
            client.close()
        self.plan()

    def plan(self) -> None:
        for i in range(self.count):
            kind = i % 20
            # every game gets its share of each kind (a game holds at most 100 params)
            game = self.setup_games[(i // 20) % len(self.setup_games)]
            if kind < 8:
                name = "games.create"
                data: dict[str, Any] = {"name": f"g{i}", "external_game_id": f"x{i}"}
            elif kind < 13:
                name = "game_tasks.create"
                data = {"game_id": game, "external_task_id": f"t{i}"}
            elif kind < 17:
                name = "games.params.set"
                data = {"game_id": game, "params": {f"k{i}": i}}
            else:
                name = "games.patch"
                data = {"game_id": game, "description": f"d{i}"}
            kwargs = {"actor": self.actor, "data": data, "idempotency_key": f"{self.run}-{i}"}
            self.commands.append(Command(f"{self.run}-task-{i}", name, kwargs))
        random.shuffle(self.commands)

    def progress(self) -> float:
        """The share of the run's commands that have committed."""
        engine = create_engine(self.db_url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as conn:
                done = conn.execute(
                    select(func.count())
                    .select_from(processed_commands)
                    .where(processed_commands.c.key.like(f"{self.run}-%"))
                ).scalar_one()
            return int(done) / max(1, self.count)
        except Exception:  # the database is restarting
            return -1.0
        finally:
            engine.dispose()

    def start_producers(self) -> list[tuple[subprocess.Popen[bytes], Path]]:
        started = []
        for n in range(self.producers):
            mine = self.commands[n :: self.producers]
            out = self.folder / f"producer-{n}.out"
            spec = self.folder / f"producer-{n}.json"
            spec.write_text(
                json.dumps(
                    {
                        "broker": self.broker,
                        "backend": self.backend,
                        "deadline": self.deadline,
                        "answer_timeout": self.answer_timeout,
                        "out": str(out),
                        "commands": [c.__dict__ for c in mine],
                    }
                )
            )
            log = (self.folder / f"producer-{n}.log").open("ab")
            proc = subprocess.Popen(
                [sys.executable, str(PRODUCER), str(spec)], stdout=log, stderr=log
            )
            started.append((proc, out))
        return started

    def drive(self, fault: Callable[[float], None], poll: float = 0.1) -> None:
        """Run the producers to the end, calling ``fault(progress)`` while they work."""
        producers = self.start_producers()
        while any(p.poll() is None for p, _ in producers):
            fault(self.progress())
            time.sleep(poll)
        results: dict[str, dict[str, Any]] = {}
        resent = unanswered = 0
        for proc, out in producers:
            assert proc.returncode == 0, f"a producer failed: see {out.with_suffix('.log')}"
            for line in out.read_text().splitlines():
                row = json.loads(line)
                if "resent" in row:
                    resent += row["resent"]
                    unanswered += row["resent_unanswered"]
                else:
                    results[row["id"]] = row
        ok = sum(1 for r in results.values() if r.get("result", {}).get("ok") is True)
        self.figures.update(
            {
                "commands sent": len(self.commands),
                "sends repeated by producers (broker away)": resent,
                "commands resent after no answer (same key)": unanswered,
                "results received (ok)": ok,
                "results lost or not ok": len(self.commands) - ok,
            }
        )
        self.failures = [r for r in results.values() if r.get("result", {}).get("ok") is not True]

    def audit(self, collector: EventCollector, settle: float = 60) -> None:
        """Count effects and events once the outbox has drained."""
        db = Database(self.db_url, CURSOR_SECRET)
        try:
            self._wait_drained(db, settle)
            self._effects(db)
            self._events(db, collector, settle)
        finally:
            db.dispose()

    def _wait_drained(self, db: Database, settle: float) -> None:
        deadline = time.monotonic() + settle
        while True:
            with db.engine.connect() as conn:
                pending = conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                ).scalar_one()
            if pending == 0 or time.monotonic() > deadline:
                self.figures["outbox rows left unpublished"] = int(pending)
                return
            time.sleep(0.2)

    def _effects(self, db: Database) -> None:
        account = self.actor["account_id"]
        by_key = {c.key: c for c in self.commands}
        with db.engine.connect() as conn:
            externals = Counter(
                r.external_game_id
                for r in conn.execute(
                    select(games.c.external_game_id).where(games.c.account_id == account)
                )
            )
            tasks = Counter(
                r.external_task_id
                for r in conn.execute(
                    select(game_tasks.c.external_task_id).where(game_tasks.c.account_id == account)
                )
            )
            params = {
                r.key
                for r in conn.execute(
                    select(game_params.c.key).where(game_params.c.game_id.in_(self.setup_games))
                )
            }
            commits: dict[str, Counter[str]] = defaultdict(Counter)
            for r in conn.execute(
                select(outbox.c.correlation_id, outbox.c.type).where(
                    outbox.c.correlation_id.like(f"{self.run}-%")
                )
            ):
                commits[r.correlation_id][r.type] += 1
            letters = conn.execute(
                select(func.count())
                .select_from(dead_letters)
                .where(dead_letters.c.task_id.like(f"{self.run}-task-%"))
            ).scalar_one()
        missing = doubled = 0
        for key, command in by_key.items():
            data = command.kwargs["data"]
            if command.name == "games.create":
                seen = externals.get(data["external_game_id"], 0)
            elif command.name == "game_tasks.create":
                seen = tasks.get(data["external_task_id"], 0)
            elif command.name == "games.params.set":
                seen = int(next(iter(data["params"])) in params)
            else:
                seen = 1
            wanted = EXPECTED_EVENT[command.name].removeprefix("gameworker.")
            committed = commits.get(key, Counter())[wanted]
            if seen == 0 or committed == 0:
                missing += 1
                self.problems.append(
                    f"missing: {command.name} {key} {data} seen={seen} {commits.get(key)}"
                    + self._params_story(db, data)
                )
            if seen > 1 or committed > 1 or sum(commits.get(key, {}).values()) > 1:
                doubled += 1
                self.problems.append(f"double: {command.name} {key} seen={seen} {commits.get(key)}")
        self.figures.update(
            {
                "effects in the database (each once)": len(by_key) - missing - doubled,
                "effects missing": missing,
                "double effects": doubled,
                "dead letters of the run": int(letters),
            }
        )

    def _params_story(self, db: Database, data: dict[str, Any]) -> str:
        """For a param that went missing: which later events of its game still carried it."""
        if "params" not in data:
            return ""
        key = next(iter(data["params"]))
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.correlation_id, outbox.c.data)
                .where(outbox.c.subject == data["game_id"])
                .order_by(outbox.c.id)
            ).all()
        story = [f"{r.id}:{r.correlation_id}:{key in (r.data.get('params') or {})}" for r in rows]
        return " story=" + ",".join(story[-12:])

    def _events(self, db: Database, collector: EventCollector, settle: float) -> None:
        with db.engine.connect() as conn:
            committed = {
                r.event_id: r.correlation_id
                for r in conn.execute(
                    select(outbox.c.event_id, outbox.c.correlation_id).where(
                        outbox.c.correlation_id.like(f"{self.run}-%")
                    )
                )
            }
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            received = {e["id"] for e in collector.events}
            if set(committed) <= received:
                break
            time.sleep(0.2)
        mine = [e for e in collector.events if str(e.get("correlationid", "")).startswith(self.run)]
        ids = Counter(e["id"] for e in mine)
        for event_id in sorted(set(committed) - set(ids)):
            self.problems.append(f"event missing: {event_id} of {committed[event_id]}")
        by_key: dict[str, set[str]] = defaultdict(set)
        for e in mine:
            by_key[e["correlationid"]].add(e["id"])
        self.figures.update(
            {
                "events committed": len(committed),
                "events received (distinct ids)": len(ids),
                "events missing": len(set(committed) - set(ids)),
                "events received twice (same id)": sum(n - 1 for n in ids.values() if n > 1),
                "commands with events of two commits": sum(
                    1 for key, got in by_key.items() if len(got) > 1
                ),
                "event consumer reconnects": collector.reconnects,
            }
        )


TARGETS = {
    "results lost or not ok": 0,
    "effects missing": 0,
    "double effects": 0,
    "events missing": 0,
    "commands with events of two commits": 0,
    "outbox rows left unpublished": 0,
}
