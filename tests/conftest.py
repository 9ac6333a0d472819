"""Shared fixtures: databases on both stores, Celery apps on several brokers, a worker.

- ``db`` is a migrated ``Database``, parametrized over SQLite and PostgreSQL (tests marked
  ``sqlite_only`` or ``postgres`` narrow it). Each test run creates its own PostgreSQL database
  and drops it at the end; every test starts with empty tables.
- ``celery_app`` is a gameworker Celery app on ``memory://`` wired to ``db``; ``worker`` runs an
  embedded worker (threads pool) on the contract's three queues; ``send`` sends a command by
  name as an upstream service would and waits for its result.
- ``redis_app`` / ``redis_worker`` are the same on Redis (+ PostgreSQL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import create_engine, text

from persistence.database import Database
from persistence.migrate import upgrade
from persistence.tables import metadata
from tasks.runtime import Runtime
from tests.services import POSTGRES, REDIS, SERVERS, Server
from workers.app import GameworkerCelery, create_app
from workers.settings import Settings

QUEUES = ["games", "strategies", "maintenance"]
ACTOR = {"account_id": "acme", "subject": "api-key-acme"}
OTHER = {"account_id": "globex", "subject": "api-key-globex"}
ADMIN = {"account_id": None, "subject": "ops-admin", "is_admin": True}
CURSOR_SECRET = "test-cursor-secret"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: runs on SQLite alone")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [s for s in SERVERS.values() if s.required and not s.reachable()]
    if missing:
        names = ", ".join(f"{s.name} at {s.url}" for s in missing)
        pytest.exit(f"required test servers cannot be reached: {names}", returncode=3)


def need(server: Server) -> None:
    if not server.reachable():
        pytest.skip(f"{server.name} is not reachable at {server.url}")


# --- databases ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test run, dropped at the end."""
    need(POSTGRES)
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        POSTGRES.url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES.url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'gameworker.db'}"


_databases: dict[str, Database] = {}


def _database(url: str) -> Database:
    if url not in _databases:
        db = Database(url, CURSOR_SECRET)
        upgrade(db.engine)
        _databases[url] = db
    return _databases[url]


def empty(db: Database) -> None:
    """Empty every table (keeping the schema) and restart the id sequences.

    DELETE, not TRUNCATE: on the few rows a test leaves it takes ~20 ms where TRUNCATE of every
    table takes ~400 ms on PostgreSQL, for every test.
    """
    with db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        if db.dialect == "postgresql":
            for table in metadata.sorted_tables:
                for column in table.primary_key.columns:
                    if column.autoincrement is True:
                        conn.execute(
                            text("SELECT setval(pg_get_serial_sequence(:t, :c), 1, false)"),
                            {"t": table.name, "c": column.name},
                        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``postgres`` tests skip the SQLite parameter, ``sqlite_only`` ones the PostgreSQL one."""
    for item in items:
        store = getattr(item, "callspec", None) and item.callspec.params.get("store")
        if store == "sqlite" and item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only"))
        if store == "postgres" and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite only"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def database(store: str, request: pytest.FixtureRequest) -> Database:
    """The migrated database of the store (one per store for the whole run)."""
    if store == "postgres":
        return _database(request.getfixturevalue("postgres_url"))
    return _database(request.getfixturevalue("sqlite_url"))


@pytest.fixture
def db(database: Database) -> Database:
    """A migrated, empty database on the store of the test's parameter."""
    empty(database)
    return database


@pytest.fixture
def pg_db(postgres_url: str) -> Database:
    database = _database(postgres_url)
    empty(database)
    return database


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for db in _databases.values():
        db.dispose()
    _databases.clear()


# --- Celery ------------------------------------------------------------------------------


def make_app(
    db: Database,
    tmp: Path,
    broker: str = "memory://",
    backend: str = "cache+memory://",
    **overrides: Any,
) -> GameworkerCelery:
    """A gameworker app on ``broker`` whose tasks use ``db``."""
    settings = Settings(
        home=tmp,
        database_url=db.url,
        broker_url=broker,
        result_backend=backend,
        cursor_secret=CURSOR_SECRET,
        **overrides,
    )
    app = create_app(settings)
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "polling_interval": 0.01,
    }
    app.loader.import_default_modules()
    app.holder.set(
        Runtime(
            db=db, max_retries=settings.max_retries, retry_backoff_base=0.05, retry_backoff_cap=0.5
        )
    )
    return app


@pytest.fixture(scope="module")
def celery_app(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GameworkerCelery]:
    """An app on ``memory://`` for the module (memory:// is process-global: one worker)."""
    app = make_app(database, tmp_path_factory.mktemp("celery"))
    yield app
    app.close()


@pytest.fixture(scope="module")
def worker(celery_app: GameworkerCelery) -> Iterator[Any]:
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=QUEUES,
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as w:
        yield w


Send = Callable[..., dict[str, Any]]


def sender(app: GameworkerCelery) -> Send:
    def send(
        name: str,
        data: dict[str, Any] | None = None,
        actor: dict[str, Any] | None = None,
        key: str | None = None,
        timeout: float = 30,
        **raw: Any,
    ) -> dict[str, Any]:
        """Send a command by name, as an upstream service would, and wait for its result."""
        kwargs: dict[str, Any] = {
            "actor": ACTOR if actor is None else actor,
            "data": {} if data is None else data,
        }
        if key is not None:
            kwargs["idempotency_key"] = key
        kwargs.update(raw)
        queue = (
            "strategies"
            if name.startswith("strategies.")
            else ("maintenance" if name.startswith(("maintenance.", "events.")) else "games")
        )
        result = app.send_task(name, kwargs=kwargs, queue=queue)
        value: dict[str, Any] = result.get(timeout=timeout, interval=0.01)
        return value

    return send


@pytest.fixture
def send(db: Database, celery_app: GameworkerCelery, worker: Any) -> Send:
    """Send commands to the module's embedded worker, on empty tables."""
    return sender(celery_app)


@pytest.fixture
def redis_url() -> str:
    need(REDIS)
    return REDIS.url


@pytest.fixture
def redis_app(pg_db: Database, tmp_path: Path, redis_url: str) -> Iterator[GameworkerCelery]:
    """A gameworker app on Redis (broker and results, under a key prefix of its own)."""
    prefix = f"gwtest-{uuid.uuid4().hex[:8]}:"
    app = make_app(pg_db, tmp_path, broker=redis_url, backend=redis_url)
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": prefix,
    }
    app.conf.result_backend_transport_options = {"global_keyprefix": prefix}
    yield app
    app.close()


@pytest.fixture
def redis_send(redis_app: GameworkerCelery) -> Iterator[Send]:
    with start_worker(
        redis_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=QUEUES,
        loglevel="WARNING",
        shutdown_timeout=30,
    ):
        yield sender(redis_app)


@pytest.fixture(autouse=True)
def _no_env_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their settings explicitly; the caller's GAMEWORKER_* never leaks in."""
    for name in list(os.environ):
        if name.startswith("GAMEWORKER_") and not name.startswith("GAMEWORKER_TEST_"):
            monkeypatch.delenv(name)
