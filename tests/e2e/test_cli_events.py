"""``gameworker events tail``: a temporary queue on ``gameworker.events``, events as they come.

Events are published here as the contract describes them (topic exchange, routing key = type,
CloudEvent JSON body), on the embedded ``filesystem://`` broker of a fresh home; the last test
runs a real worker and watches the relay's events of a command sent with ``gameworker send``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Exchange  # type: ignore[attr-defined]

import celeryconfig
from tests.conftest import ACTOR
from workers.event_stream import EventStream
from workers.settings import Settings

EXCHANGE = Exchange("gameworker.events", type="topic", durable=True)  # type: ignore[no-untyped-call]


def event(kind: str, n: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"evt_{n}",
        "source": "gameworker",
        "type": f"gameworker.{kind}",
        "subject": f"obj_{n}",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": {"n": n},
        "accountid": "acme",
        "correlationid": "k",
        "causationid": "c",
        "sequence": str(n).zfill(20),
    }


def publish(settings: Settings, *events: dict[str, Any]) -> None:
    options = celeryconfig.build(settings)["broker_transport_options"]
    with Connection(settings.events, transport_options=options) as conn:  # type: ignore[no-untyped-call]
        producer = conn.Producer()
        for e in events:
            producer.publish(
                json.dumps(e).encode(),
                exchange=EXCHANGE,
                routing_key=e["type"].removeprefix("gameworker."),
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                declare=[EXCHANGE],
            )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home)


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GAMEWORKER_")}
    return clean | {"GAMEWORKER_HOME": str(home)}


class Tail:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "events", "tail", *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        banner = self.process.stderr.readline()  # printed once the queue is bound
        assert "listening on" in banner, banner + self.process.stderr.read()

    def finish(self, timeout: float = 60) -> tuple[int, list[str]]:
        out, err = self.process.communicate(timeout=timeout)
        assert "Traceback" not in err, err
        return self.process.returncode, out.splitlines()


@pytest.fixture
def tails() -> Iterator[list[Tail]]:
    started: list[Tail] = []
    yield started
    for tail in started:
        if tail.process.poll() is None:
            tail.process.kill()
            tail.process.wait(5)


def test_tail_prints_each_event_as_a_json_line(
    settings: Settings, env: dict[str, str], tails: list[Tail]
) -> None:
    tail = Tail(["--count", "2", "--timeout", "60"], env)
    tails.append(tail)
    sent = [event("game.created", 1), event("strategy.published", 2)]
    publish(settings, *sent)
    code, lines = tail.finish()
    assert code == 0
    # filesystem:// does not keep the order within one millisecond: consumers sort by sequence
    assert sorted((json.loads(line) for line in lines), key=lambda e: e["sequence"]) == sent


def test_a_pattern_selects_routing_keys(
    settings: Settings, env: dict[str, str], tails: list[Tail]
) -> None:
    tail = Tail(["strategy.*", "--count", "1", "--timeout", "60", "--format", "line"], env)
    tails.append(tail)
    publish(settings, event("game.created", 1), event("strategy.created", 2))
    code, lines = tail.finish()
    assert code == 0
    assert len(lines) == 1
    assert lines[0].split() == ["00000000000000000002", "strategy.created", "obj_2", "acme"]


def test_the_timeout_ends_a_quiet_tail(env: dict[str, str], tails: list[Tail]) -> None:
    tail = Tail(["--timeout", "1"], env)
    tails.append(tail)
    code, lines = tail.finish()
    assert (code, lines) == (0, [])


def test_sigterm_ends_a_tail_and_removes_its_queue(
    settings: Settings, env: dict[str, str], tails: list[Tail]
) -> None:
    tail = Tail(["#"], env)
    tails.append(tail)
    table = settings.broker_folder / "control" / "gameworker.events.exchange"
    assert "gameworker.tail." in table.read_text()
    tail.process.send_signal(signal.SIGTERM)
    code, lines = tail.finish(timeout=30)
    assert (code, lines) == (0, [])
    assert "gameworker.tail." not in table.read_text()


def test_a_stream_removes_its_binding_when_closed(settings: Settings) -> None:
    with EventStream(settings, ["game.*"]) as stream:
        publish(settings, event("game.created", 1))
        assert [e["id"] for e in stream.poll(10)] == ["evt_1"]
        table = settings.broker_folder / "control" / "gameworker.events.exchange"
        assert stream.name in table.read_text()
    assert stream.name not in table.read_text()
    publish(settings, event("game.created", 2))  # nobody bound: nothing piles up
    assert not any(
        p.name.endswith(f".{stream.name}.msg") for p in settings.broker_folder.rglob("*")
    )


def test_an_undecodable_body_is_shown_not_fatal(settings: Settings) -> None:
    options = celeryconfig.build(settings)["broker_transport_options"]
    with EventStream(settings) as stream:
        with Connection(settings.events, transport_options=options) as conn:  # type: ignore[no-untyped-call]
            conn.Producer().publish(
                b"\xff not json", exchange=EXCHANGE, routing_key="game.created", declare=[EXCHANGE]
            )
        [got] = stream.poll(10)
    assert got["type"] == "(undecodable)"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_tail_shows_the_events_of_a_command_sent_to_a_running_worker(
    settings: Settings, env: dict[str, str], tails: list[Tail], tmp_path: Path
) -> None:
    subprocess.run([sys.executable, "-m", "workers.cli", "migrate"], env=env, check=True)
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "worker", "-c", "1", "-P", "threads"],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        tail = Tail(["game.*", "--count", "1", "--timeout", "90"], env)
        tails.append(tail)
        sent = subprocess.run(
            [
                sys.executable,
                "-m",
                "workers.cli",
                "send",
                "games.create",
                "--actor",
                json.dumps(ACTOR),
                "--data",
                '{"name": "Tail Me"}',
                "--wait",
                "--timeout",
                "90",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sent.returncode == 0, sent.stderr
        game = json.loads(sent.stdout)["data"]
        code, lines = tail.finish(timeout=90)
        assert code == 0
        [created] = [json.loads(line) for line in lines]
        assert created["type"] == "gameworker.game.created"
        assert created["subject"] == game["id"] and created["data"] == game
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
