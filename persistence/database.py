"""The database a process talks to: its engine, cursor codec and units of work."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from domain.paging import CursorCodec
from persistence.engine import make_engine
from persistence.unit_of_work import NO_CAUSE, Causation, SqlUnitOfWork


class Database:
    def __init__(self, url: str, cursor_secret: str, pool_size: int = 5) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, pool_size=pool_size)
        self.cursors = CursorCodec(cursor_secret.encode())

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(
        self,
        causation: Causation = NO_CAUSE,
        on_progress: Callable[[int, int], None] | None = None,
        read_only: bool = False,
    ) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.cursors, causation, on_progress, read_only)

    def dispose(self) -> None:
        self.engine.dispose()
