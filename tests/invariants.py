"""The invariant of contract section 7, checked after every strategy test on every store.

After any committed change, no game or game task refers to an ARCHIVED strategy or to a
custom strategy of another account. Checked here in its stronger form: every ``custom:``
reference names an existing PUBLISHED strategy of the row's own account (a DRAFT can never be
referred to, and a missing one would be a dangling reference).

Test modules turn the check on with ``from tests.invariants import strategy_refs_hold  # noqa``:
the autouse fixture runs it after each test on the databases (``db``, ``pg_db``) and the fake
unit of work (``uow``) the test used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Table, and_, exists, literal, not_, select

from domain.rules import CUSTOM_PREFIX
from domain.strategies import PUBLISHED
from persistence.database import Database
from persistence.tables import game_tasks, games, strategies
from tests.fakes import FakeUnitOfWork


def broken_refs(db: Database) -> dict[str, list[tuple[str, str]]]:
    """``{table: [(row id, strategy_id)]}`` of the rows whose custom reference is not valid."""
    out: dict[str, list[tuple[str, str]]] = {}
    with db.engine.connect() as conn:
        for table in (games, game_tasks):
            valid = exists(
                select(1).where(
                    (literal(CUSTOM_PREFIX) + strategies.c.id) == table.c.strategy_id,
                    strategies.c.account_id == table.c.account_id,
                    strategies.c.status == PUBLISHED,
                )
            )
            query = select(table.c.id, table.c.strategy_id).where(
                and_(table.c.strategy_id.like(CUSTOM_PREFIX + "%"), not_(valid))
            )
            rows = [(r.id, r.strategy_id) for r in conn.execute(query)]
            if rows:
                out[_name(table)] = rows
    return out


def published_per_family(db: Database) -> dict[tuple[str, str], int]:
    """How many PUBLISHED versions each family has (the database allows at most one)."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(strategies.c.account_id, strategies.c.name, strategies.c.status))
        counts: dict[tuple[str, str], int] = {}
        for r in rows:
            key = (r.account_id, r.name)
            counts[key] = counts.get(key, 0) + (r.status == PUBLISHED)
    return counts


def assert_refs_hold(db: Database) -> None:
    broken = broken_refs(db)
    assert not broken, f"rows refer to ARCHIVED, foreign or missing strategies: {broken}"
    several = {k: n for k, n in published_per_family(db).items() if n > 1}
    assert not several, f"families with more than one PUBLISHED version: {several}"


def assert_fake_refs_hold(uow: FakeUnitOfWork) -> None:
    rows: list[Any] = [*uow.games.rows.values(), *uow.game_tasks.rows.values()]
    broken = []
    for row in rows:
        if not row.strategy_id.startswith(CUSTOM_PREFIX):
            continue
        target = uow.strategies.rows.get(row.strategy_id[len(CUSTOM_PREFIX) :])
        if target is None or target.account_id != row.account_id or target.status != PUBLISHED:
            broken.append((row.id, row.strategy_id))
    assert not broken, f"rows refer to ARCHIVED, foreign or missing strategies: {broken}"


@pytest.fixture(autouse=True)
def strategy_refs_hold(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test: the invariant holds on whatever store the test used.

    The stores are taken before the test runs: asking for them afterwards could set up a fresh
    (empty) one, and an empty store proves nothing.
    """
    used = [n for n in ("db", "pg_db", "uow") if n in request.fixturenames]
    stores = {n: request.getfixturevalue(n) for n in used}
    yield
    for name, store in stores.items():
        if name == "uow":
            assert_fake_refs_hold(store)
        else:
            assert_refs_hold(store)


def _name(table: Table) -> str:
    return str(table.name)
