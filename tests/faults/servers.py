"""Servers the fault suite starts, stops and restarts itself, each on a free port of 127.0.0.1.

The machine's own PostgreSQL, Redis and RabbitMQ are shared with everyone else's tests, so a
test that restarts a server runs its own: ``redis-server`` with an append-only file,
a PostgreSQL cluster made with ``initdb`` and run with ``pg_ctl`` (as the ``postgres`` user when
the tests run as root), and a second RabbitMQ node with its own data folder and cookie.
A binary that is not installed skips the test (or fails it, when ``GAMEWORKER_TEST_REQUIRE``
names that server).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.services import SERVERS

PG_BIN_DIRS = ("/usr/local/bin", *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
RABBIT_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout}s")
        time.sleep(0.05)


def missing(server: str, binary: str) -> None:
    """Skip (or fail, when the run requires the server) for want of a binary."""
    message = f"cannot run a {server} of the test's own: {binary} is not installed"
    if SERVERS[server].required:
        pytest.fail(message)
    pytest.skip(message)


class OwnRedis:
    """``redis-server`` with an append-only file fsynced on every write (nothing lost)."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("redis-server") or ""
        if not self.binary:
            missing("redis", "redis-server")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.folder),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--logfile", str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: port_open(self.port), 20, f"redis on {self.port} did not start")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): the append-only file is complete."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


def _run_as_postgres() -> dict[str, object]:
    """``subprocess`` options that run a PostgreSQL binary as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


class OwnPostgres:
    """A PostgreSQL cluster of the test's own (trust auth, user ``postgres``)."""

    def __init__(self) -> None:
        found = [d for d in PG_BIN_DIRS if (Path(d) / "pg_ctl").exists()]
        if not found:
            missing("postgres", "pg_ctl")
        self.bin = Path(found[0])
        # a folder of its own under /tmp: pytest's are private to root, out of postgres' reach
        folder = Path(tempfile.mkdtemp(prefix="gameworker-faults-pg-"))
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                missing("postgres", "a postgres user")
            os.chown(folder, user.pw_uid, user.pw_gid)
        self._pg(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def _pg(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            **_run_as_postgres(),  # type: ignore[call-overload]
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=on"
        )
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                 "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session (open transactions roll back), like a restart does."""
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def remove(self) -> None:
        """Stop it and delete its cluster."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class OwnRabbit:
    """A second RabbitMQ node (own name, ports, data folder and cookie); takes ~7 s to start."""

    def __init__(self, folder: Path) -> None:
        if not Path(RABBIT_SERVER).exists():
            missing("rabbitmq", RABBIT_SERVER)
        self.folder = folder
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"gwfaults{self.port}@localhost"
        home = folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(f"gwfaults{os.urandom(8).hex()}")
        cookie.chmod(0o400)
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq.conf").write_text("loopback_users = none\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self, timeout: float = 90) -> None:
        f = self.folder
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(f / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(f / "mnesia"),
            "RABBITMQ_LOG_BASE": str(f / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(f / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(f / "rabbitmq"),
            "RABBITMQ_PID_FILE": str(f / "pid"),
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        log = (f / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [RABBIT_SERVER], env=env, stdout=log, stderr=log, start_new_session=True
        )
        wait_for(lambda: self._accepts_amqp(), timeout, f"rabbitmq node {self.node} did not start")

    def _accepts_amqp(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"rabbitmq node {self.node} exited: see {self.folder}/server.log")
        if not port_open(self.port):
            return False
        from kombu import Connection

        try:
            with Connection(self.url(), connect_timeout=2) as conn:
                conn.connect()
            return True
        except Exception:
            return False

    def stop(self) -> None:
        """A clean shutdown: durable queues and persistent messages are on disk."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
