"""The README's example consumer (examples/consume_events.py) receives the events it binds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.events.conftest import BrokerApp

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["filesystem", "rabbitmq"])
def test_example_consumer_prints_the_events_of_its_patterns(
    kind: str, make_broker_app: Any
) -> None:
    b: BrokerApp = make_broker_app(kind)
    proc = subprocess.Popen(
        [sys.executable, "examples/consume_events.py", "game.*",
         "--broker", b.app.conf.broker_url, "--home", str(b.app.settings.home),
         "--queue", f"example-{kind}", "--count", "2", "--timeout", "30"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        assert "listening on" in proc.stderr.readline()  # bound: events from now on wait
        created = [b.send("games.create", {"name": f"Example {i}"}) for i in range(2)]
        assert b.send("games.create", {"name": "Example 0"})["ok"] is False  # not a game.*
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            time.sleep(0.1)
    lines = out.strip().splitlines()
    assert proc.returncode == 0 and len(lines) == 2, out
    for line, game in zip(lines, created, strict=True):
        assert "gameworker.game.created" in line and game["data"]["id"] in line
