"""The demo's own worker and beat: ``gameworker worker``/``beat`` subprocesses, logging to files.

A process is started with the caller's environment plus ``GAMEWORKER_HOME`` (absolute), so it
uses the same database and broker folder as the demo. Its output goes to
``<home>/logs/<name>.log``; ``wait_ready`` watches that log for Celery's "ready" line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from workers.settings import Settings


class StartFailed(Exception):
    """A process exited or never became ready; carries the tail of its log."""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    _log_file: IO[bytes]
    _terminated: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, marker: str, timeout: float) -> None:
        """Until ``marker`` shows in the log; ``StartFailed`` if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log.read_text(encoding="utf-8", errors="replace"):
                return
            if not self.alive():
                raise StartFailed(
                    f"the {self.name} exited with {self.popen.returncode}:\n{self.tail()}"
                )
            time.sleep(0.1)
        raise StartFailed(f"the {self.name} was not ready after {timeout:g} s:\n{self.tail()}")

    def terminate(self) -> None:
        """SIGTERM: Celery's warm shutdown (running tasks finish)."""
        if self.alive() and not self._terminated:
            self.popen.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.alive():
            self.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log_file.close()


def start(settings: Settings, name: str, argv: list[str], keep: bool = False) -> Process:
    """Start ``gameworker <argv>`` with its output in ``<home>/logs/<name>.log``.

    With ``keep`` the process gets a session of its own, so it outlives the demo (and a
    Ctrl-C in the demo's terminal).
    """
    logs = settings.home_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    handle = log.open("wb")
    env = {**os.environ, "GAMEWORKER_HOME": str(settings.home_dir)}
    popen = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", *argv],
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=keep,
    )
    return Process(name, popen, log, handle)


def start_worker(settings: Settings, keep: bool = False) -> Process:
    argv = ["worker", "-l", "INFO", "-P", "threads", "-c", "4", "-n", f"demo-{os.getpid()}@%h"]
    return start(settings, "worker", [*argv, "--", "--without-mingle", "--without-gossip"], keep)


def start_beat(settings: Settings, keep: bool = False) -> Process:
    return start(settings, "beat", ["beat", "-l", "INFO"], keep)
