"""Flower lets no one in without credentials, on any of its routes, however they are asked.

``gameworker flower`` (Flower 2 on the gameworker app, basic auth from the settings) runs on the
embedded broker of a fresh home. Every route Flower serves (read from ``flower.urls``, so a
new route is covered the day it appears) is asked with GET and POST: without credentials,
with a wrong password, with malformed ``Authorization`` headers. All answer 401 except the
routes Flower leaves open on purpose (``/healthcheck``, ``/login``, ``/static/``, not-found).
A read-only Flower, asked with the right credentials, refuses every operation (403) and sends
no task: ``/api/task/send-task`` would otherwise run any command as any actor, an admin one
included.

Found here: Flower 2.2 serves ``/metrics`` without asking; ``gameworker flower`` now makes it
ask (workers/flower_metrics.py).
"""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flower.urls import handlers

from tests.faults import figures
from tests.faults.processes import ROOT, gameworker_env
from tests.faults.servers import free_port

USER, PASSWORD = "gameworker", "flower-fault-password"
OPEN_ON_PURPOSE = ("/healthcheck", "/login/?", "/logout", "/static/(.*)", ".*")
OPERATIONS = (
    "/api/worker/",
    "/api/task/apply",
    "/api/task/async-apply",
    "/api/task/send-task",
    "/api/task/abort",
    "/api/task/timeout",
    "/api/task/rate-limit",
    "/api/task/revoke",
)
BAD_HEADERS = [
    None,
    "Basic " + base64.b64encode(f"{USER}:wrong-password".encode()).decode(),
    "Basic " + base64.b64encode(f"{USER.upper()}:{PASSWORD}".encode()).decode(),
    "Basic " + base64.b64encode(f"{USER}:{PASSWORD} ".encode()).decode(),
    "Basic " + base64.b64encode(f"{USER}{PASSWORD}".encode()).decode(),
    "Basic " + base64.b64encode(b":").decode(),
    "Basic !!!not-base64!!!",
    "Basic ",
    "Bearer " + PASSWORD,
    f"Basic {USER}:{PASSWORD}",  # not encoded
    "Basic " + "A" * 8_000,
]


class Tally:
    refused = 0
    open_on_purpose = 0
    operations_refused_read_only = 0
    let_in = 0


def paths() -> list[str]:
    """One concrete path per route of Flower (groups filled with a plausible value)."""
    out = []
    for handler in handlers:
        pattern = handler.regex.pattern if hasattr(handler, "regex") else handler[0]
        pattern = pattern.rstrip("$")
        if pattern in OPEN_ON_PURPOSE:
            continue
        value = "games.create" if "task" in pattern else "faults@localhost"
        out.append(re.sub(r"\(\.[*+]\)", value, pattern))
    return out


def ask(port: int, path: str, header: str | None, method: str = "GET") -> int:
    data = b"args=%5B%5D&kwargs=%7B%7D" if method == "POST" else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if header is not None:
        request.add_header("Authorization", header)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def good() -> str:
    return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def start_flower(folder: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = gameworker_env(home=folder / "home", flower_user=USER, flower_password=PASSWORD)
    log = (folder / f"flower-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "flower", "--port", str(port),
         "--address", "127.0.0.1", *extra],
        env=env, cwd=ROOT, stdout=log, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (folder / f"flower-{port}.log").read_text()[-3000:]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        assert time.monotonic() < deadline, "Flower did not start"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def flowers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    folder = tmp_path_factory.mktemp("flower-auth")
    subprocess.run(
        [sys.executable, "-m", "workers.cli", "migrate"],
        env=gameworker_env(home=folder / "home"),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    full, full_port = start_flower(folder)
    read_only, read_only_port = start_flower(folder, "--read-only")
    try:
        yield full_port, read_only_port, folder / "home" / "broker"
    finally:
        for proc in (full, read_only):
            proc.terminate()
            proc.wait(20)


@pytest.mark.parametrize("path", paths())
def test_no_route_lets_anyone_in_without_the_right_credentials(
    flowers: tuple[int, int, Path], path: str
) -> None:
    port = flowers[0]
    for header in BAD_HEADERS:
        statuses = {method: ask(port, path, header, method) for method in ("GET", "POST")}
        # 405: the route does not take that method at all (Tornado says so before auth)
        let_in = {m: s for m, s in statuses.items() if s not in (401, 405)}
        Tally.let_in += len(let_in)
        assert not let_in and 401 in statuses.values(), (path, header and header[:40], statuses)
        Tally.refused += list(statuses.values()).count(401)
    right = {method: ask(port, path, good(), method) for method in ("GET", "POST")}
    assert any(s not in (401, 405) for s in right.values()), right  # the right ones get in


def test_the_routes_left_open_on_purpose_tell_nothing(flowers: tuple[int, int, Path]) -> None:
    port = flowers[0]
    assert ask(port, "/healthcheck", None) == 200
    assert ask(port, "/no-such-page", None) in (401, 404)
    Tally.open_on_purpose += 2


def _messages(broker: Path) -> int:
    return sum(1 for p in broker.rglob("*") if p.is_file()) if broker.exists() else 0


@pytest.mark.parametrize("path", [p for p in paths() if p.startswith(OPERATIONS)])
def test_a_read_only_flower_refuses_every_operation(
    flowers: tuple[int, int, Path], path: str
) -> None:
    _, port, broker = flowers
    before = _messages(broker)
    status = ask(port, path, good(), "POST")
    assert status == 403, (path, status)
    assert _messages(broker) == before, "a read-only Flower put a message on the broker"
    Tally.operations_refused_read_only += 1


def test_flower_figures(flowers: tuple[int, int, Path]) -> None:
    assert Tally.refused > 0
    figures.record(
        "Flower without credentials",
        {
            "routes asked": len(paths()),
            "requests refused 401 (no/wrong/malformed credentials)": Tally.refused,
            "requests let in": Tally.let_in,
            "operations refused by read-only Flower (403)": Tally.operations_refused_read_only,
        },
        {"requests let in": 0},
    )
