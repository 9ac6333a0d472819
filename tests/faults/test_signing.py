"""Signed commands: with a signing key set, only commands signed by a trusted producer run.

A real worker (prefork, Redis + PostgreSQL) runs with ``GAMEWORKER_SIGNING_*`` and a store
holding the certificates of itself and of one upstream producer. The producer signs as
docs/security.md tells (plain Celery, ``auth`` serializer, in a process of its own); an admin
command is then sent unsigned, signed by an unknown key, signed by the wrong key under the
trusted producer's name, and signed then tampered with. None of those runs: each is a dead
letter with a readable error, its sender gets a failure, and the signed commands around them
are answered.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from kombu import Connection, Exchange, Queue  # type: ignore[attr-defined]
from sqlalchemy import func, select

from persistence.database import Database
from persistence.tables import dead_letters, games, outbox
from tests.conftest import CURSOR_SECRET, _database, empty
from tests.events.conftest import wait_until
from tests.faults import figures
from tests.faults.pki import Identity, make_identity
from tests.faults.processes import WorkerProcess, gameworker_env
from tests.faults.servers import OwnRedis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
PRODUCER_SCRIPT = Path(__file__).with_name("signed_producer.py")
ADMIN = {"account_id": None, "subject": "intruder", "is_admin": True}
ACME = {"account_id": "acme", "subject": "api-key-acme"}


@dataclass
class Signed:
    db: Database
    redis: OwnRedis
    worker: WorkerProcess
    worker_id: Identity
    producer: Identity
    rogue: Identity
    store: Path


class Tally:
    accepted = 0
    refused = 0
    executed_forged = 0
    dead_lettered = 0


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Signed]:
    folder = tmp_path_factory.mktemp("signing")
    worker_id = make_identity(folder / "keys", "gameworker-worker")
    producer = make_identity(folder / "keys", "upstream-api")
    rogue = make_identity(folder / "rogue", "rogue-producer")
    store = folder / "trusted"
    store.mkdir()
    for trusted in (worker_id, producer):
        shutil.copy(trusted.cert, store / trusted.cert.name)
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
        signing_key=worker_id.key,
        signing_cert=worker_id.cert,
        signing_cert_store=store,
    )
    worker = WorkerProcess(env, folder / "worker", concurrency=1)
    try:
        worker.start()
        yield Signed(db, redis, worker, worker_id, producer, rogue, store)
    finally:
        worker.stop()
        redis.stop()


def produce(
    s: Signed, key: Path, cert: Path, store: Path, commands: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Send commands from a producer process signing with ``key`` under ``cert``."""
    spec = {
        "broker": s.redis.url(0),
        "backend": s.redis.url(1),
        "key": str(key),
        "cert": str(cert),
        "store": str(store),
        "commands": commands,
        "timeout": 30,
    }
    done = subprocess.run(
        [sys.executable, str(PRODUCER_SCRIPT), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def create(name: str, actor: dict[str, Any] = ACME) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name}
    if actor.get("is_admin"):
        data["account_id"] = "acme"
    return {"name": "games.create", "queue": "games", "kwargs": {"actor": actor, "data": data}}


def games_named(db: Database, name: str) -> int:
    with db.engine.connect() as conn:
        query = select(func.count()).select_from(games).where(games.c.name == name)
        return int(conn.execute(query).scalar_one())


def dead_letter(db: Database, task_id: str) -> dict[str, Any]:
    def find() -> Any:
        with db.engine.connect() as conn:
            row = conn.execute(select(dead_letters).where(dead_letters.c.task_id == task_id))
            return row.first()

    row = wait_until(find, timeout=30)
    return dict(row._mapping)


def refused(s: Signed, sent: dict[str, Any], name: str, words: tuple[str, ...]) -> None:
    """Never ran; a dead letter with a readable error; the sender got a failure."""
    assert "error" in sent, sent
    letter = dead_letter(s.db, sent["id"])
    Tally.dead_lettered += 1
    ran = games_named(s.db, name)
    Tally.executed_forged += ran
    assert ran == 0, f"a forged command ran: {name}"
    assert letter["task"] == "games.create"
    assert any(w in letter["error"] for w in words), letter["error"]
    Tally.refused += 1


def test_a_signed_command_from_a_trusted_producer_runs(signed: Signed) -> None:
    s = signed
    name = f"signed-{uuid.uuid4().hex[:8]}"
    [sent] = produce(s, s.producer.key, s.producer.cert, s.store, [create(name)])
    assert sent.get("result", {}).get("ok"), sent
    assert games_named(s.db, name) == 1
    Tally.accepted += 1

    def relayed() -> bool:  # the worker's own signed relay kick was accepted and ran
        with s.db.engine.connect() as conn:
            pending = outbox.c.published_at.is_(None)
            count = select(func.count()).select_from(outbox).where(pending)
            return int(conn.execute(count).scalar_one()) == 0

    wait_until(relayed, timeout=30)


def test_an_unsigned_command_is_refused_and_dead_lettered(signed: Signed) -> None:
    s = signed
    name = f"unsigned-{uuid.uuid4().hex[:8]}"
    upstream = Celery("no-key", broker=s.redis.url(0), backend=s.redis.url(1))
    upstream.conf.update(task_serializer="json", accept_content=["json"])
    command = create(name, ADMIN)
    result = upstream.send_task(command["name"], kwargs=command["kwargs"], queue="games")
    try:
        result.get(timeout=30)
        sent: dict[str, Any] = {"id": result.id, "result": "answered"}
    except Exception as exc:
        sent = {"id": result.id, "error": repr(exc)}
    finally:
        upstream.close()
    refused(s, sent, name, ("ContentDisallowed", "auth", "content"))


def test_a_command_signed_by_an_unknown_key_is_refused(signed: Signed) -> None:
    s = signed
    name = f"rogue-{uuid.uuid4().hex[:8]}"
    rogue_store = s.rogue.cert.parent / "store"
    rogue_store.mkdir(exist_ok=True)
    shutil.copy(s.rogue.cert, rogue_store / s.rogue.cert.name)
    [sent] = produce(s, s.rogue.key, s.rogue.cert, rogue_store, [create(name, ADMIN)])
    refused(s, sent, name, ("Unknown certificate", "decode"))


def test_the_wrong_key_under_a_trusted_name_is_refused(signed: Signed) -> None:
    """A producer that has the trusted certificate (it is public) but not its private key."""
    s = signed
    name = f"impostor-{uuid.uuid4().hex[:8]}"
    [sent] = produce(s, s.rogue.key, s.producer.cert, s.store, [create(name, ADMIN)])
    refused(s, sent, name, ("Bad signature",))


def _signed_body(s: Signed, task_id: str, kwargs: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """A task message signed with the trusted producer's key, built without registering it."""
    from celery.security.certificate import Certificate
    from celery.security.key import PrivateKey
    from celery.security.serialization import SecureSerializer

    serializer = SecureSerializer(
        PrivateKey(s.producer.key.read_text()),
        Certificate(s.producer.cert.read_text()),
        None,
        "sha256",
        "json",
    )
    plain = Celery("raw", broker=s.redis.url(0))
    message = plain.amqp.as_task_v2(task_id, "games.create", args=(), kwargs=kwargs)
    plain.close()
    return serializer.serialize(message.body), message.headers


def _publish(s: Signed, body: bytes, headers: dict[str, Any], task_id: str) -> None:
    queue = Queue("games", Exchange("games", type="direct"), routing_key="games")
    with Connection(s.redis.url(0)) as conn:
        conn.Producer().publish(
            body,
            exchange=queue.exchange,
            routing_key="games",
            headers=headers,
            content_type="application/data",
            content_encoding="utf-8",
            correlation_id=task_id,
            declare=[queue],
        )


def test_a_signed_command_tampered_with_is_refused(signed: Signed) -> None:
    s = signed
    name = f"tampered-{uuid.uuid4().hex[:8]}"
    task_id = str(uuid.uuid4())
    command = create(name)
    body, headers = _signed_body(s, task_id, command["kwargs"])
    fields = base64.b64decode(body).split(b"\x00\x01", 4)
    fields[4] = fields[4].replace(b'"acme"', b'"evil"').replace(b'"is_admin": false', b"")
    fields[4] = fields[4].replace(b'"account_id": "evil"', b'"account_id": null, "is_admin": true')
    assert b"evil" in fields[4] or b"is_admin" in fields[4]
    _publish(s, base64.b64encode(b"\x00\x01".join(fields)), headers, task_id)
    refused(s, {"id": task_id, "error": "sent raw"}, name, ("Bad signature",))


def test_a_replayed_signed_command_changes_nothing_twice(signed: Signed) -> None:
    """The signature covers the idempotency key: a replay is answered from its record."""
    s = signed
    name = f"replayed-{uuid.uuid4().hex[:8]}"
    command = create(name)
    command["kwargs"]["idempotency_key"] = f"replay-{name}"
    body, headers = _signed_body(s, str(uuid.uuid4()), command["kwargs"])
    for _ in range(3):  # the same signed bytes, three times (a new task id each: same key)
        _publish(s, body, {**headers, "id": str(uuid.uuid4())}, headers["id"])
    wait_until(lambda: games_named(s.db, name) == 1, timeout=30)
    [sent] = produce(s, s.producer.key, s.producer.cert, s.store, [command])
    assert sent["result"]["ok"] and sent["result"]["data"]["name"] == name, sent
    assert games_named(s.db, name) == 1
    Tally.accepted += 1


def test_the_worker_kept_going(signed: Signed) -> None:
    """After every refusal, a signed command is still answered, and the worker never fell."""
    s = signed
    name = f"after-{uuid.uuid4().hex[:8]}"
    [sent] = produce(s, s.producer.key, s.producer.cert, s.store, [create(name)])
    assert sent.get("result", {}).get("ok"), sent
    Tally.accepted += 1
    assert s.worker.alive
    figures.record(
        "signed commands",
        {
            "signed by a trusted producer, answered": Tally.accepted,
            "unsigned/forged/tampered, refused": Tally.refused,
            "refused and dead-lettered": Tally.dead_lettered,
            "forged commands that ran": Tally.executed_forged,
        },
        {"forged commands that ran": 0, "refused and dead-lettered": 4},
    )
