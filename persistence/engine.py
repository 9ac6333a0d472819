"""Engines for PostgreSQL (psycopg 3) and SQLite (WAL, busy timeout, one writer at a time)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE = 1.0  # seconds a pooled connection may rest before it is pinged on checkout


def normalize_url(url: str) -> URL:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, pool_size: int = 5, echo: bool = False) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo)
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        echo=echo,
    )
    ping_when_idle(engine)
    return engine


def ping_when_idle(engine: Engine, idle: float = PING_AFTER_IDLE) -> None:
    """Ping a pooled connection on checkout only if it sat idle for ``idle`` seconds.

    ``pool_pre_ping`` would cost every unit of work a round trip. A connection handed back a
    moment ago is as alive as the ping would say; one that waited (a restarted server, an idle
    timeout) is pinged, and a dead one is replaced before anyone uses it. A connection that
    dies mid-command raises a transient error, which the command's retry covers.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle:
            return  # fresh from connect, or back in the pool a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            alive = not engine.dialect.is_disconnect(exc, dbapi_conn, None)
            if alive:
                raise
        if not alive:
            # The pool drops this connection and checks out (or makes) another one.
            raise DisconnectionError("a pooled connection was found dead")


def _sqlite_engine(url: URL, echo: bool) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # writers queue up
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable with WAL at commit boundaries
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads then writes can fail
        # with "database is locked" without waiting; an immediate one waits its turn.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
