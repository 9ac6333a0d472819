"""Keyset paging on the real stores: 1,000 games walked forward to the end and back to the
start, 20 at a time, under every allowed sort, against the database's own ORDER BY.

The games have ties everywhere a sort can tie: many share a ``created_at`` or a ``platform``,
half have no ``external_game_id`` or ``platform`` (NULL, which sorts first ascending and
last descending, as ``''`` would), deleted games repeat live names, and names mix cases and
non-ASCII letters so the collation shows (code-point order on both stores).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from domain import ids
from domain.actor import Actor
from domain.game_tasks import GameTask
from domain.games import Game
from domain.services.game_tasks import list_tasks
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


TASKS = 300
TASK_GAME = Game.new("initech", "task-game", "seed", {"name": "Task game"})  # its own account
TASK_SORTS = [
    *[
        f"{f}:{d}"
        for f in ("id", "external_task_id", "status", "created_at", "updated_at")
        for d in ("asc", "desc")
    ],
    "status:asc,created_at:desc",
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
            external_game_id=None if i % 4 < 2 else f"{WORDS[i % 7]}.{rng.randrange(10**6)}.{i}",
            platform=None if i % 4 in (1, 2) else rng.choice(PLATFORMS),
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
        uow.games.add(TASK_GAME)
        rng = random.Random(11)
        for i in range(TASKS):
            task = GameTask.new(
                TASK_GAME.id, "initech", {"external_task_id": f"{WORDS[i % 10]}.{i}"}
            )
            task.status = rng.choice(["open", "done", "Open", "blocked"])
            task.created_at = EPOCH + timedelta(seconds=rng.randrange(20))  # ties
            task.updated_at = task.created_at + timedelta(microseconds=rng.randrange(2))
            uow.game_tasks.add(task)
        uow.commit()
    with database.engine.begin() as conn:  # the planner sees the rows, not an empty table
        conn.execute(text("ANALYZE games"))
        conn.execute(text("ANALYZE game_tasks"))
    return database


def reference(db: Database, sort: str | None, where: str, table: str = "games") -> list[str]:
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
    query = f"SELECT id FROM {table} WHERE {where} ORDER BY {', '.join(order)}"
    with db.engine.connect() as conn:
        return [row.id for row in conn.execute(text(query))]


def inside_largest_tie(db: Database, sort: str, where: str, table: str = "games") -> int:
    """A depth whose position lies in the middle of the largest group of rows that tie on the
    sort's first field: where a page that scans from the group's start would show it."""
    field = sort.split(":")[0]
    ids = reference(db, sort, where, table)
    with db.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, {field} AS v FROM {table} WHERE {where}"))
        value = {r.id: r.v for r in rows}
    best_start, best_len, start = 0, 1, 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or value[ids[i]] != value[ids[start]]:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = i
    return max(PAGE, best_start + best_len // 2)


Lister = Callable[..., dict[str, Any]]


def page(db: Database, actor: Actor, cmd: dict[str, Any], lister: Lister = list_games) -> Any:
    with db.unit_of_work() as uow:
        return lister(uow, actor, cmd)


def walk(
    db: Database, actor: Actor, query: dict[str, Any], lister: Lister = list_games
) -> tuple[list[str], int]:
    """Walk to the end, then back to the start; return the ids in order and the page count."""
    forward: list[list[str]] = []
    result = page(db, actor, {**query, "limit": PAGE}, lister)
    assert result["pagination"]["has_prev"] is False and result["pagination"]["prev_cursor"] is None
    while True:
        items = [g["id"] for g in result["items"]]
        assert result["pagination"]["count"] == len(items)
        forward.append(items)
        if not result["pagination"]["has_next"]:
            assert result["pagination"]["next_cursor"] is None
            break
        assert len(items) == PAGE
        cursor = result["pagination"]["next_cursor"]
        result = page(db, actor, {**query, "limit": PAGE, "cursor": cursor}, lister)
        assert result["pagination"]["has_prev"] is True

    backward: list[list[str]] = [forward[-1]]
    while result["pagination"]["has_prev"]:
        cursor = result["pagination"]["prev_cursor"]
        result = page(db, actor, {**query, "limit": PAGE, "cursor": cursor}, lister)
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
    assert len(walked) == N + 51 and pages == (N + 51 + PAGE - 1) // PAGE  # + the task game
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


def explain_pages(
    db: Database, actor: Actor, query: dict[str, Any], depth: int, lister: Lister = list_games
) -> list[str]:
    """EXPLAIN ANALYZE of the first page, a page ``depth`` rows in, and the page back from it."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if " LIMIT " in statement.upper():  # the page's query, not a lookup or the params
            statements.append((statement, params))

    plans = []
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        first = page(db, actor, {**query, "limit": PAGE}, lister)
        skip = page(db, actor, {**query, "limit": depth}, lister)["pagination"]
        deep = page(db, actor, {**query, "cursor": skip["next_cursor"]}, lister)["pagination"]
        page(db, actor, {**query, "cursor": deep["prev_cursor"]}, lister)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert first["items"]
    with db.engine.connect() as conn:
        # Ask whether an index gives the order, not what the planner prefers for 1,000 rows.
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        for statement, params in statements[:1] + statements[2:]:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params)
            plans.append("\n".join(r[0] for r in rows))
        conn.rollback()
    assert len(plans) == 3
    return plans


SCAN = re.compile(r"(Index Scan|Index Only Scan|Seq Scan|Bitmap Heap Scan).*rows=(\d+) loops=(\d+)")


def rows_read(plan: str) -> int:
    """The rows every scan of the plan read: those it returned and those it filtered out."""
    returned = sum(int(m[1]) * int(m[2]) for m in SCAN.findall(plan))
    removed = sum(int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan))
    return returned + removed


def check_plan(plan: str) -> None:
    """The page reads indexes from its position: a few pages' worth of rows (a page per branch
    when directions are mixed, and their lookups), never the rows before the position in a tie
    group (the middle of a 500-row group here) or the account (1,000 rows). Its cost does not
    grow with its depth."""
    assert "Index" in plan and "Seq Scan" not in plan, plan
    assert rows_read(plan) <= 200, plan


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
    """Every sort's pages read an index from the position, at any depth.

    The id tie-breaker is ascending, so a descending sort mixes directions: its page is a
    merge of one index range per key (persistence/keyset.py). Where an index's tie order is
    the other way, PostgreSQL sorts each group of equal values (Incremental Sort): one-row
    groups for name, slug and the timestamps; platform and external_game_id, whose groups are
    large, have an index for each direction.
    """
    depth = inside_largest_tie(filled, sort, "account_id = 'acme'")
    query = {"sort": sort, "include_deleted": True}
    for plan in explain_pages(filled, ACME, query, depth=depth):
        check_plan(plan)


@pytest.mark.parametrize("sort", TASK_SORTS)
def test_game_tasks_walk_forward_and_back_in_database_order(filled: Database, sort: str) -> None:
    walked, pages = walk(filled, ADMIN, {"game_id": TASK_GAME.id, "sort": sort}, list_tasks)
    assert pages == TASKS // PAGE
    assert walked == reference(filled, sort, f"game_id = '{TASK_GAME.id}'", "game_tasks")


@pytest.mark.postgres
@pytest.mark.parametrize("sort", [s for s in TASK_SORTS if "," not in s])
def test_every_game_task_sort_reads_an_index_in_order(filled: Database, sort: str) -> None:
    query = {"game_id": TASK_GAME.id, "sort": sort}
    depth = inside_largest_tie(filled, sort, f"game_id = '{TASK_GAME.id}'", "game_tasks")
    for plan in explain_pages(filled, ADMIN, query, depth=depth, lister=list_tasks):
        check_plan(plan)
