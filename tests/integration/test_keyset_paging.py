"""Keyset paging on the real stores: 1,000 games walked forward to the end and back to the
start, 20 at a time, under every allowed sort, against the database's own ORDER BY.

The games have ties everywhere a sort can tie: many share a ``created_at`` or a ``platform``,
a third have no ``external_game_id`` or ``platform`` (NULL, which sorts first ascending and
last descending, as ``''`` would), deleted games repeat live names, and names mix cases and
non-ASCII letters so the collation shows (code-point order on both stores).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from domain import ids
from domain.actor import Actor
from domain.games import Game
from domain.services.games import list_games
from persistence.database import Database
from tests.conftest import empty

ACME = Actor("alice", "acme")
ADMIN = Actor("ops", None, is_admin=True)
N = 1000
PAGE = 20
NULLABLE = {"external_game_id", "platform"}
WORDS = ["alpha", "Beta", "éclair", "Zulu", "zeta", "Ärger", "omega", "Omega", "_under", "9lives"]
PLATFORMS = ["pc", "PS5", "switch", "xbox", "Wii U"]
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

SORTS = [
    None,  # the default: created_at:desc, id:asc
    *[
        f"{f}:{d}"
        for f in ("id", "name", "slug", "external_game_id", "platform", "created_at", "updated_at")
        for d in ("asc", "desc")
    ],
    "platform:asc,created_at:desc",
    "external_game_id:desc,updated_at:asc",
    "created_at:asc,id:desc",
    "created_at:DESC,platform:ASC,external_game_id:desc",
]


def make_games(rng: random.Random) -> list[Game]:
    made: list[Game] = []
    for i in range(N + 50):
        account = "acme" if i < N else "globex"
        deleted = account == "acme" and i % 10 == 9
        # a deleted game reuses the name of a live one: ties on name under include_deleted
        name = f"{WORDS[i % len(WORDS)]} {i - 1 if deleted else i}"
        created = EPOCH + timedelta(seconds=rng.randrange(40))  # ~25 games per instant
        updated = created + timedelta(microseconds=rng.randrange(3) * 250_000)
        game = Game(
            id=ids.new_id(ids.GAME),
            account_id=account,
            name=name,
            slug=f"g-{i}",
            created_by="seed",
            updated_by="seed",
            created_at=created,
            updated_at=updated,
            external_game_id=None if i % 3 == 0 else f"{WORDS[i % 7]}.{rng.randrange(10**6)}.{i}",
            platform=None if i % 3 == 1 else rng.choice(PLATFORMS),
            deleted_at=updated if deleted else None,
        )
        made.append(game)
    return made


@pytest.fixture(scope="module")
def filled(database: Database) -> Database:
    empty(database)
    with database.unit_of_work() as uow:
        for game in make_games(random.Random(7)):
            uow.games.add(game)
        uow.commit()
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE games"))  # the planner sees 1,000 rows, not an empty table
    return database


def reference(db: Database, sort: str | None, where: str) -> list[str]:
    """The ids in the order the database gives for the equivalent ORDER BY."""
    keys = [
        (k.split(":")[0], k.split(":")[1].lower()) for k in (sort or "created_at:desc").split(",")
    ]
    if all(f != "id" for f, _ in keys):
        keys.append(("id", "asc"))
    order = []
    for field, direction in keys:
        nulls = ""
        if field in NULLABLE:
            nulls = " NULLS FIRST" if direction == "asc" else " NULLS LAST"
        order.append(f"{field} {direction.upper()}{nulls}")
    query = f"SELECT id FROM games WHERE {where} ORDER BY {', '.join(order)}"
    with db.engine.connect() as conn:
        return [row.id for row in conn.execute(text(query))]


def page(db: Database, actor: Actor, cmd: dict[str, Any]) -> dict[str, Any]:
    with db.unit_of_work() as uow:
        return list_games(uow, actor, cmd)


def walk(db: Database, actor: Actor, query: dict[str, Any]) -> tuple[list[str], int]:
    """Walk to the end, then back to the start; return the ids in order and the page count."""
    forward: list[list[str]] = []
    result = page(db, actor, {**query, "limit": PAGE})
    assert result["pagination"]["has_prev"] is False and result["pagination"]["prev_cursor"] is None
    while True:
        items = [g["id"] for g in result["items"]]
        assert result["pagination"]["count"] == len(items)
        forward.append(items)
        if not result["pagination"]["has_next"]:
            assert result["pagination"]["next_cursor"] is None
            break
        assert len(items) == PAGE
        result = page(
            db, actor, {**query, "limit": PAGE, "cursor": result["pagination"]["next_cursor"]}
        )
        assert result["pagination"]["has_prev"] is True

    backward: list[list[str]] = [forward[-1]]
    while result["pagination"]["has_prev"]:
        result = page(
            db, actor, {**query, "limit": PAGE, "cursor": result["pagination"]["prev_cursor"]}
        )
        assert result["pagination"]["has_next"] is True
        backward.insert(0, [g["id"] for g in result["items"]])
    assert result["pagination"]["prev_cursor"] is None
    assert backward == forward  # the same pages, each in normal order
    flat = [i for p in forward for i in p]
    assert len(flat) == len(set(flat))  # each exactly once
    return flat, len(forward)


@pytest.mark.slow
@pytest.mark.parametrize("sort", SORTS, ids=lambda s: s or "default")
def test_every_sort_walks_forward_and_back_in_database_order(
    filled: Database, sort: str | None
) -> None:
    query: dict[str, Any] = {"include_deleted": True}
    if sort is not None:
        query["sort"] = sort
    walked, pages = walk(filled, ACME, query)
    assert pages == N // PAGE
    assert walked == reference(filled, sort, "account_id = 'acme'")


@pytest.mark.slow
def test_live_games_only_and_every_account(filled: Database) -> None:
    sort = "platform:desc,created_at:asc"
    walked, _ = walk(filled, ACME, {"sort": sort})
    assert len(walked) == 900
    assert walked == reference(filled, sort, "account_id = 'acme' AND deleted_at IS NULL")
    walked, pages = walk(filled, ADMIN, {"sort": sort, "include_deleted": True})
    assert len(walked) == N + 50 and pages == (N + 50 + PAGE - 1) // PAGE
    assert walked == reference(filled, sort, "1 = 1")


def test_filtered_walk_with_total(filled: Database) -> None:
    query = {"filters": {"platform": "pc"}, "sort": "external_game_id:asc", "with_total": True}
    walked, _ = walk(filled, ACME, query)
    expected = reference(
        filled,
        "external_game_id:asc",
        "account_id = 'acme' AND deleted_at IS NULL AND platform = 'pc'",
    )
    assert walked == expected and len(expected) > PAGE
    assert page(filled, ACME, {**query, "limit": 5})["pagination"]["total"] == len(expected)


def test_a_page_past_rows_deleted_since_is_empty_with_a_way_back(filled: Database) -> None:
    first = page(filled, ACME, {"sort": "id:desc", "limit": 999, "include_deleted": True})
    last_page = page(
        filled,
        ACME,
        {
            "sort": "id:desc",
            "limit": 20,
            "include_deleted": True,
            "cursor": first["pagination"]["next_cursor"],
        },
    )
    assert len(last_page["items"]) == 1 and last_page["pagination"]["has_next"] is False


def explain_pages(db: Database, sort: str) -> list[str]:
    """The plans of the first page, a page past a position and a page back from it."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT GAMES.ID"):
            statements.append((statement, params))

    plans = []
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        first = page(db, ACME, {"sort": sort})["pagination"]
        deep = page(db, ACME, {"sort": sort, "cursor": first["next_cursor"]})["pagination"]
        page(db, ACME, {"sort": sort, "cursor": deep["prev_cursor"]})
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    with db.engine.connect() as conn:
        # Ask whether an index gives the order, not what the planner prefers for 1,000 rows.
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        conn.exec_driver_sql("SET enable_sort = off")  # a full sort only if nothing else can
        for statement, params in statements:
            rows = conn.exec_driver_sql("EXPLAIN " + statement, params)
            plans.append("\n".join(r[0] for r in rows))
        conn.rollback()
    assert len(plans) == 3
    return plans


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sort",
    [
        f"{f}:{d}"
        for f in ("id", "name", "slug", "external_game_id", "platform", "created_at", "updated_at")
        for d in ("asc", "desc")
    ],
)
def test_every_single_field_sort_reads_an_index_in_order(filled: Database, sort: str) -> None:
    """A page reads an index in the sort's order: never a sort of the account's games.

    Where the tie-breaker's direction differs from the index's, PostgreSQL reads the index
    and sorts each group of equal values (Incremental Sort): fine for name, slug and the
    timestamps, whose groups are one row; platform and external_game_id have indexes of
    their own for both directions, since their groups are large.
    """
    for plan in explain_pages(filled, sort):
        nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
        assert any(n.startswith("Index Scan") for n in nodes), plan
        assert not any(n.startswith("Sort  (") for n in nodes), plan
        if sort.split(":")[0] in NULLABLE | {"id"}:
            assert not any(n.startswith("Incremental Sort") for n in nodes), plan
