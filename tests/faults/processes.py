"""A real gameworker worker in a subprocess (``celery -A workers.app worker``), and its log.

The fault suite needs what an embedded worker cannot give: a prefork pool whose processes can
be killed, a main process that must survive garbage, and settings read from ``GAMEWORKER_*``
exactly as in production.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRASH_LINES = re.compile(
    r"Unrecoverable error|WorkerLostError|exited with 'signal|Traceback \(most recent call last\)"
    r"|consumer: Cannot connect|Restarting|CRITICAL",
)


SHORT_LIMITS: dict[str, object] = {
    # short limits, so that anything left unacknowledged comes back within a test
    "visibility_timeout": 60,
    "task_soft_time_limit": 20,
    "task_time_limit": 30,
    "cascade_soft_time_limit": 40,
    "cascade_time_limit": 50,
}


def gameworker_env(**settings: object) -> dict[str, str]:
    """The environment of a worker: this one's, with ``GAMEWORKER_*`` set from ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEWORKER_")}
    env.update({f"GAMEWORKER_{k.upper()}": str(v) for k, v in settings.items() if v is not None})
    env["PYTHONPATH"] = str(ROOT)
    return env


class WorkerProcess:
    """``celery -A workers.app worker`` with the prefork pool, logging to a file."""

    def __init__(
        self,
        env: dict[str, str],
        folder: Path,
        concurrency: int = 2,
        queues: str = "games,strategies,maintenance",
        loglevel: str = "INFO",
        app: str = "workers.app",
    ) -> None:
        self.env = env
        self.folder = folder
        self.concurrency = concurrency
        self.queues = queues
        self.loglevel = loglevel
        self.app = app
        self.name = f"faults-{uuid.uuid4().hex[:8]}@localhost"
        self.log = folder / f"{self.name.split('@')[0]}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 90) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        out = (self.folder / "worker.out").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", self.app, "worker",
                "-Q", self.queues, "-P", "prefork", "-c", str(self.concurrency),
                "-n", self.name, "-l", self.loglevel, "-f", str(self.log),
                "--without-gossip", "--without-mingle",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )  # fmt: skip
        self.starts += 1
        deadline = time.monotonic() + timeout
        while "ready." not in self.text(offset):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited at start:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                tail = self.text()[-3000:]
                raise RuntimeError(f"the worker was not ready in {timeout}s:\n{tail}")
            time.sleep(0.1)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pool_pids(self) -> list[int]:
        """The pids of the pool's processes (children of the main process)."""
        if not self.alive or self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in children.split()]

    def kill_pool_process(self) -> int | None:
        """SIGKILL one process of the pool (a command it runs is cut off mid-way)."""
        pids = self.pool_pids()
        if not pids:
            return None
        pid = random.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def kill(self) -> int | None:
        """SIGKILL the whole worker: main process and pool. The main process's pid, if alive."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        return self.proc.pid

    def stop(self, timeout: float = 60) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL if it does not end in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def text(self, offset: int = 0) -> str:
        try:
            with self.log.open("rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def output(self) -> str:
        try:
            return (self.folder / "worker.out").read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def received_more_than_once(self, id_prefix: str) -> int:
        """How many task ids starting with ``id_prefix`` the log shows received twice or more."""
        seen = Counter(re.findall(rf"\[({re.escape(id_prefix)}[^\]]*)\] received", self.text()))
        return sum(1 for n in seen.values() if n > 1)

    def crash_lines(self) -> list[str]:
        """Log lines that tell of a crash: a lost pool process, a restarted consumer."""
        return [line for line in self.text().splitlines() if CRASH_LINES.search(line)]
