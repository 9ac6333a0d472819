"""What a bench run stands on: its own database, Redis DB (or RabbitMQ vhost) and workers.

``Stack`` creates a PostgreSQL database ``gwbench_<hex>`` and migrates it, claims an empty Redis
database number (a marker key, so two runs never share one), with ``rabbitmq`` also a vhost of
its own, and starts real worker processes: ``celery -A workers.app worker`` (prefork, the
production settings of ``celeryconfig``) with ``-I bench.noop`` for the ceiling's no-op task.
Leaving the ``with`` block stops the workers and drops all of it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import psutil  # type: ignore[import-untyped]

QUEUES = "games,strategies,maintenance"
CLAIM_KEY = "gameworker-bench:claim"
REDIS_DBS = range(15, 0, -1)  # DB 0 is left to the tests and to users


class StackError(RuntimeError):
    """Something the bench needs could not be set up."""


@dataclass
class Servers:
    postgres: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis: str = "redis://127.0.0.1:6379"
    rabbitmq: str | None = None  # amqp://guest:guest@127.0.0.1:5672 to run on RabbitMQ


@dataclass
class Worker:
    popen: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def children(self) -> list[Any]:
        """The pool processes (prefork children) of this worker, as ``psutil.Process``."""
        try:
            return list(psutil.Process(self.pid).children())
        except psutil.NoSuchProcess:
            return []

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    servers: Servers
    concurrency: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    database_url: str = ""
    broker_url: str = ""
    results_url: str = ""
    workers: list[Worker] = field(default_factory=list)
    _home: Path | None = None
    _redis_db: int | None = None
    _vhost: str | None = None

    # -- the servers ----------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self._home = Path(tempfile.mkdtemp(prefix=f"gwbench-{self.run_id}-"))
            self.database_url = self._create_database()
            self.results_url = self._claim_redis()
            self.broker_url = self._make_vhost() if self.servers.rabbitmq else self.results_url
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def broker_name(self) -> str:
        return "rabbitmq" if self._vhost else "redis"

    def env(self) -> dict[str, str]:
        """The environment of a gameworker process of this stack (production settings)."""
        assert self._home is not None
        return {
            **os.environ,
            "GAMEWORKER_HOME": str(self._home),
            "GAMEWORKER_DATABASE_URL": self.database_url,
            "GAMEWORKER_BROKER_URL": self.broker_url,
            "GAMEWORKER_RESULT_BACKEND": self.results_url,
            "GAMEWORKER_EVENTS_URL": self.broker_url,
            "GAMEWORKER_WORKER_CONCURRENCY": str(self.concurrency),
        }

    def _create_database(self) -> str:
        import psycopg

        from persistence.engine import make_engine
        from persistence.migrate import upgrade

        name = f"gwbench_{self.run_id}"
        with psycopg.connect(_plain(self.servers.postgres), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _with_path(self.servers.postgres, "/" + name)
        engine = make_engine(url, pool_size=1)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return url

    def _drop_database(self) -> None:
        import psycopg

        name = f"gwbench_{self.run_id}"
        with psycopg.connect(_plain(self.servers.postgres), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _claim_redis(self) -> str:
        """An empty Redis database number, claimed with a marker key until ``close``."""
        import redis

        for number in REDIS_DBS:
            client = redis.Redis.from_url(f"{self.servers.redis.rstrip('/')}/{number}")
            try:
                if client.dbsize() == 0 and client.set(CLAIM_KEY, self.run_id, nx=True):
                    self._redis_db = number
                    return f"{self.servers.redis.rstrip('/')}/{number}"
            finally:
                client.close()
        raise StackError("no empty Redis database (1-15) to run the bench in")

    def _release_redis(self) -> None:
        import redis

        if self._redis_db is None:
            return
        client = redis.Redis.from_url(f"{self.servers.redis.rstrip('/')}/{self._redis_db}")
        try:
            if client.get(CLAIM_KEY) == self.run_id.encode():
                client.flushdb()
        finally:
            client.close()
        self._redis_db = None

    def _make_vhost(self) -> str:
        assert self.servers.rabbitmq is not None
        vhost = f"gwbench-{self.run_id}"
        _rabbitmqctl("add_vhost", vhost)
        user = urlsplit(self.servers.rabbitmq).username or "guest"
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        self._vhost = vhost
        return _with_path(self.servers.rabbitmq, "/" + vhost)

    def close(self) -> None:
        self.stop_workers()
        for step in (self._release_redis, self._drop_database, self._drop_vhost):
            try:
                step()
            except Exception as exc:  # leave nothing behind that can be removed
                print(f"bench: cleanup {step.__name__}: {exc}", file=sys.stderr)
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def _drop_vhost(self) -> None:
        if self._vhost is not None:
            _rabbitmqctl("delete_vhost", self._vhost)
            self._vhost = None

    # -- the workers ----------------------------------------------------------------------------

    def start_workers(self, count: int = 1, timeout: float = 60.0) -> list[Worker]:
        """``count`` worker nodes of ``concurrency`` prefork processes each, ready."""
        assert self._home is not None
        for i in range(count):
            log = self._home / f"worker-{i}.log"
            handle = log.open("wb")
            argv = [
                sys.executable, "-m", "celery", "-A", "workers.app", "worker",
                "-P", "prefork", "-c", str(self.concurrency), "-Q", QUEUES,
                "-I", "bench.noop", "-l", "INFO", "-n", f"bench{i}-{self.run_id}@%h",
                "--without-mingle", "--without-gossip",
            ]  # fmt: skip
            popen = subprocess.Popen(
                argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env(), cwd=str(Path(__file__).resolve().parent.parent),
            )  # fmt: skip
            self.workers.append(Worker(popen, log, handle))
        for worker in self.workers:
            _wait_ready(worker, timeout)
        return self.workers

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.popen.poll() is None:
                worker.popen.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.popen.wait(30)
            except subprocess.TimeoutExpired:
                worker.popen.kill()
                worker.popen.wait(5)
            worker.handle.close()
        self.workers = []


def _wait_ready(worker: Worker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if " ready." in worker.log.read_text(encoding="utf-8", errors="replace"):
            return
        if worker.popen.poll() is not None:
            raise StackError(f"a worker exited with {worker.popen.returncode}:\n{worker.tail()}")
        time.sleep(0.1)
    raise StackError(f"a worker was not ready after {timeout:g} s:\n{worker.tail()}")


def _rabbitmqctl(*args: str) -> None:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise StackError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}")


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _plain(url: str) -> str:
    """A libpq URL (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def describe_machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }
