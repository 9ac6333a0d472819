"""``gameworker demo`` (the README's first command) in a fresh folder with no configuration.

It must exit 0 with its summary (it prints how long it took), every event it received must match
the event models, the worker's log must hold one bare JSON line per command and no payload,
and ``--keep-running`` must leave a worker that still answers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.event_models import parse_event

ACTOR = '{"account_id": "acme", "subject": "after-the-demo"}'


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GAMEWORKER_")}


def gameworker(cwd: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *argv],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_demo_runs_to_its_summary_on_the_embedded_default(tmp_path: Path) -> None:
    done = gameworker(tmp_path, "demo")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "demo finished: OK" in out and "Traceback" not in done.stderr
    assert re.search(r"(\d+) steps, \1 as expected", out), out[-1500:]
    for line in ("roll back to v1", "next page (cursor)", "a duplicate name is refused"):
        assert line in out
    # everything under ./var of the working folder, nothing configured
    home = tmp_path / "var"
    assert (home / "gameworker.db").exists()
    events = [json.loads(line) for line in (home / "demo-events.jsonl").read_text().splitlines()]
    kinds = {parse_event(e).type for e in events}  # each one validates against its model
    assert {"gameworker.game.created", "gameworker.strategy.rolled_back"} <= kinds
    assert len({e["id"] for e in events}) == len(events)
    # the worker's log: one bare JSON line per command, no payloads
    log = (home / "logs" / "worker.log").read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    creates = [line for line in lines if line.get("task") == "games.create"]
    assert len(creates) == 4
    assert {c["outcome"] for c in creates} == {"ok", "conflict"}
    assert all(c["subject"] == "upstream-api-key-1" and c["duration_ms"] >= 0 for c in creates)
    assert "Space Chess" not in log and "Weekend boost" not in log
    # the worker and beat are gone
    pids = [int(p) for p in re.findall(r"\(pid (\d+)", out)]
    assert len(pids) == 2 and not any(alive(p) for p in pids)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_keep_running_leaves_a_worker_that_answers(tmp_path: Path) -> None:
    done = gameworker(tmp_path, "demo", "--keep-running", "--no-beat")
    pids = [int(p) for p in re.findall(r"kill ([\d ]+)", done.stdout)[0].split()]
    try:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert len(pids) == 1 and alive(pids[0])
        answer = gameworker(tmp_path, "send", "games.list", "--actor", ACTOR, "--wait")
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["ok"]
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
