"""Flower through ``gameworker flower``: auth required, the worker listed, read-only honoured.

Starts a real worker and Flower (subprocesses) on the embedded ``filesystem://`` broker of a
fresh home, on a free port.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workers.cli import main
from workers.cli_flower import credentials
from workers.settings import Settings

PASSWORD = "flower-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(url: str, auth: str | None = None, method: str = "GET") -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(body) if "json" in kind else body
    except urllib.error.HTTPError as err:
        return err.code, None


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"Flower exited:\n{log.read_text()[-3000:]}"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"Flower did not listen on {port}:\n{log.read_text()[-3000:]}")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GAMEWORKER_")}
    return clean | {
        "GAMEWORKER_HOME": str(tmp_path / "home"),
        "GAMEWORKER_FLOWER_PASSWORD": PASSWORD,
    }


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workers.cli", *argv], env=env, stdout=out, stderr=out
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def cluster(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[int, str, int]]:
    subprocess.run([sys.executable, "-m", "workers.cli", "migrate"], env=env, check=True)
    name = f"flowertest-{uuid.uuid4().hex[:6]}@localhost"
    worker = start(["worker", "-c", "1", "-n", name], env, tmp_path / "worker.log")
    port = free_port()
    flower_log = tmp_path / "flower.log"
    flower = start(
        ["flower", "--port", str(port), "--address", "127.0.0.1", "--read-only"], env, flower_log
    )
    try:
        wait_for_port(port, flower, flower_log, timeout=45)
        yield port, name, flower.pid
    finally:
        stop(flower)
        stop(worker)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_flower_needs_credentials_and_lists_the_worker(cluster: tuple[int, str, int]) -> None:
    port, name, pid = cluster
    base = f"http://127.0.0.1:{port}"
    assert request(f"{base}/api/workers")[0] == 401
    assert request(f"{base}/api/workers", auth="gameworker:wrong-password")[0] == 401
    assert request(f"{base}/", auth=None)[0] == 401
    auth = f"gameworker:{PASSWORD}"
    deadline = time.monotonic() + 60
    workers: Any = {}
    while time.monotonic() < deadline and name not in workers:
        status, workers = request(f"{base}/api/workers?refresh=1", auth=auth)
        assert status == 200
        time.sleep(0.5)
    assert name in workers, workers
    assert request(f"{base}/", auth=auth)[0] == 200
    # --read-only: operations are refused, reads still work
    assert request(f"{base}/api/worker/pool/grow/{name}", auth=auth, method="POST")[0] == 403
    # the password was handed over in process, never on the command line
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    assert PASSWORD not in cmdline


def test_flower_refuses_to_start_without_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAMEWORKER_HOME", str(tmp_path))
    assert main(["flower"]) == 2
    err = capsys.readouterr().err
    assert "GAMEWORKER_FLOWER_PASSWORD" in err and "--no-auth" in err


def test_credentials_rules() -> None:
    assert credentials(Settings(flower_password=PASSWORD), False) == f"gameworker:{PASSWORD}"
    assert credentials(Settings(flower_user="ops", flower_password=PASSWORD), False) == (
        f"ops:{PASSWORD}"
    )
    assert credentials(Settings(), True) is None
    assert credentials(Settings(flower_no_auth=True), False) is None
    for bad in (
        Settings(flower_password="short"),
        Settings(flower_user="a:b", flower_password=PASSWORD),
    ):
        with pytest.raises(Exception, match="GAMEWORKER_FLOWER"):
            credentials(bad, False)
