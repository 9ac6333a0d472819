"""Scenario 4: a page of 20 games at depth 1, 1,000 and 50,000 pages, under every sort.

The account holds ``games`` games (1M by default), seeded in one bulk INSERT ... SELECT. For
every allowed sort field in both directions, the page at each depth is read

- through the product's path: a unit of work and ``list_games`` (the repository's keyset
  SELECT, the params, the signed cursors, the rendered page), and
- by the same keyset SELECT written by hand, through psycopg (one statement that returns the
  page's rows and their params),

and the ratio of the medians is reported. The cursor of a deep page is built with the codec
from the position of the row before it (read once with OFFSET, untimed): walking 50,000
pages would only time the walk. The SQL the repository ran is EXPLAINed (ANALYZE): which
index it used and how many rows it touched, so a page that is not flat with depth shows why.
"""

from __future__ import annotations

import base64
import json
import statistics
import time
from typing import Any

import psycopg
from sqlalchemy import event

from domain.actor import Actor
from domain.paging import Position
from domain.queries import GAME_SORT_FIELDS
from domain.services.games import list_games
from persistence.database import Database

ACCOUNT = "pages"
PAGE = 20
DEPTHS = (1, 1_000, 50_000)
NULLABLE = {"external_game_id", "platform"}  # sorted through coalesce(col, '')
COLUMNS = (
    "id, account_id, name, slug, external_game_id, platform, description, tags, page_url, "
    "steam_app_id, anti_cheat_enabled, default_board_id, strategy_id, created_by, updated_by, "
    "created_at, updated_at, deleted_at"
)

SEED = """
INSERT INTO games (id, account_id, name, slug, external_game_id, platform, description, tags,
    page_url, steam_app_id, anti_cheat_enabled, default_board_id, strategy_id, created_by,
    updated_by, created_at, updated_at, deleted_at)
SELECT 'gam_' || lpad(to_hex(i), 26, '0'), %(account)s,
    'Game ' || md5(i::text), 'pg-' || i,
    CASE WHEN i %% 10 = 0 THEN NULL ELSE 'ext-' || md5('x' || i) END,
    CASE WHEN i %% 7 = 0 THEN NULL
        ELSE (ARRAY['pc', 'ps5', 'xbox', 'switch', 'mobile'])[1 + i %% 5] END,
    NULL, '["bench"]'::jsonb, NULL, NULL, true, NULL, 'default', 'bench', 'bench',
    timestamptz '2024-01-01' + i * interval '1 second',
    timestamptz '2024-06-01' + ((i::bigint * 7919) %% %(n)s) * interval '1 second', NULL
FROM generate_series(1, %(n)s) AS i
"""
STANDALONE_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.tablename = 'games' AND i.schemaname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
"""
SEED_PARAMS = """
INSERT INTO game_params (game_id, key, value)
SELECT 'gam_' || lpad(to_hex(i), 26, '0'), k, to_jsonb(i)
FROM generate_series(10, %(n)s, 10) AS i, unnest(ARRAY['level', 'mode']) AS k
"""


def seed(url: str, n: int) -> float:
    """Fill the account with ``n`` games (every tenth with two params): seconds taken."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        # Building an index once over a full table is several times faster than growing it
        # row by row: set the plain indexes aside (their exact definitions kept), then rebuild.
        indexes = conn.execute(STANDALONE_INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(SEED, {"account": ACCOUNT, "n": n})
        conn.execute(SEED_PARAMS, {"n": n})
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE games")
        conn.execute("VACUUM ANALYZE game_params")
    return time.perf_counter() - started


def sort_expr(field: str) -> str:
    return f"coalesce({field}, '')" if field in NULLABLE else field


def hand_written(
    field: str, descending: bool, after: tuple[Any, ...] | None
) -> tuple[str, list[Any]]:
    """The keyset SELECT of one page, by hand: its rows with their params, 21 of them."""
    expr, op = sort_expr(field), "<" if descending else ">"
    where, args = "g.account_id = %s AND g.deleted_at IS NULL", [ACCOUNT]
    if field == "id":
        order = f"g.id {'DESC' if descending else 'ASC'}"
        if after is not None:
            where += f" AND g.id {op} %s"
            args.append(after[0])
    else:
        order = f"g.{expr} {'DESC' if descending else 'ASC'}, g.id ASC"
        if after is not None and not descending:
            where += f" AND (g.{expr}, g.id) > (%s, %s)"
            args += list(after)
        elif after is not None:
            # Mixed directions (the id tie-breaker is ascending): one index range per key, the
            # rest of the position's tie group and the groups past it, each ordered and limited.
            base = "h.account_id = %s AND h.deleted_at IS NULL"
            hx = f"h.{expr}".replace("h.coalesce(", "coalesce(h.")
            ties = f"SELECT h.id FROM games h WHERE {base} AND {hx} = %s AND h.id > %s"
            past = f"SELECT h.id FROM games h WHERE {base} AND {hx} < %s"
            tail = f" ORDER BY {hx} DESC, h.id ASC LIMIT {PAGE + 1}"
            where += f" AND g.id IN (({ties}{tail}) UNION ALL ({past}{tail}))"
            args += [ACCOUNT, after[0], after[1], ACCOUNT, after[0]]
    params = (
        "(SELECT coalesce(jsonb_object_agg(p.key, p.value), '{}') FROM game_params p "
        "WHERE p.game_id = g.id)"
    )
    cols = ", ".join("g." + c.strip() for c in COLUMNS.split(","))
    sql = f"SELECT {cols}, {params} FROM games g WHERE {where} ORDER BY {order} LIMIT {PAGE + 1}"
    return sql.replace("g.coalesce(", "coalesce(g."), args


def position_at(
    conn: psycopg.Connection[Any], field: str, descending: bool, offset: int
) -> tuple[Any, ...]:
    """The sort values of the row at ``offset`` (untimed set-up, OFFSET is fine here)."""
    sql, args = hand_written(field, descending, None)
    sql = sql.replace(f"LIMIT {PAGE + 1}", f"OFFSET {offset} LIMIT 1")
    row = conn.execute(sql, args).fetchone()
    assert row is not None, f"no row at offset {offset}"
    names = [c.strip() for c in COLUMNS.split(",")]
    record = dict(zip(names, row, strict=False))
    value = record[field] if record[field] is not None else ""
    return (value,) if field == "id" else (value, record["id"])


def binding_of(db: Database, actor: Actor, sort: str) -> str:
    """The query fingerprint the service binds this sort's cursors to (read off a cursor)."""
    with db.unit_of_work(read_only=True) as uow:
        page = list_games(uow, actor, {"sort": sort, "limit": PAGE})
    token = page["pagination"]["next_cursor"]
    body = token.partition(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["b"])


def timed(fn: Any, repeats: int) -> float:
    """Median milliseconds of ``fn`` after a warm-up."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def explain(conn: psycopg.Connection[Any], sql: str, params: Any) -> dict[str, Any]:
    """Which indexes the statement used, whether it sorted, and the rows it read."""
    found = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchone()
    assert found is not None
    plan = found[0][0]["Plan"]
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    on_games = [n for n in nodes if n.get("Relation Name") == "games"]
    return {
        "indexes": sorted({n["Index Name"] for n in on_games if "Index Name" in n}),
        "seq_scan": any(n["Node Type"] == "Seq Scan" for n in on_games),
        "sort": sorted({n["Node Type"] for n in nodes if n["Node Type"].endswith("Sort")}),
        "rows_read": sum(
            n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0) for n in on_games
        ),
        "index_scan": bool(on_games) and all("Index" in n["Node Type"] for n in on_games),
    }


def pagination(
    url: str, games: int, repeats: int, depths: tuple[int, ...] = DEPTHS
) -> dict[str, Any]:
    seconds = seed(_plain(url), games)
    db = Database(url, "bench-cursor-secret")
    actor = Actor("bench", ACCOUNT)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    rows: list[dict[str, Any]] = []
    pages = max(1, games // PAGE)
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        for field in GAME_SORT_FIELDS:
            for descending in (False, True):
                sort = f"{field}:{'desc' if descending else 'asc'}"
                binding = binding_of(db, actor, sort)
                for depth in depths:
                    if depth > pages:
                        continue
                    after = (
                        position_at(conn, field, descending, (depth - 1) * PAGE - 1)
                        if depth > 1
                        else None
                    )
                    cmd: dict[str, Any] = {"sort": sort, "limit": PAGE}
                    if after is not None:
                        cmd["cursor"] = db.cursors.encode(binding, Position(after))
                    sql, args = hand_written(field, descending, after)

                    def product(cmd: dict[str, Any] = cmd) -> None:
                        with db.unit_of_work(read_only=True) as uow:
                            page = list_games(uow, actor, cmd)
                        assert page["pagination"]["count"] == PAGE, page["pagination"]

                    def by_hand(
                        sql: str = sql, args: list[Any] = args, last: bool = depth == pages
                    ) -> None:
                        found = conn.execute(sql, args).fetchall()
                        assert len(found) == PAGE + 1 or last

                    statements.clear()
                    product()
                    per_call = list(statements)
                    page_sql = next(s for s in per_call if "FROM games" in s[0])
                    ours, raw = timed(product, repeats), timed(by_hand, repeats)
                    rows.append(
                        {
                            "sort": sort,
                            "depth": depth,
                            "product_ms": round(ours, 3),
                            "hand_ms": round(raw, 3),
                            "ratio": round(ours / raw, 3),
                            "statements": len(per_call),
                            "plan": explain(conn, *page_sql),
                            "hand_plan": explain(conn, sql, args),
                        }
                    )
    db.dispose()
    worst = max(rows, key=lambda r: r["ratio"]) if rows else None
    return {
        "games": games,
        "seed_seconds": round(seconds, 1),
        "pages": rows,
        "max_ratio": worst["ratio"] if worst else None,
        "worst": f"{worst['sort']} at depth {worst['depth']}" if worst else None,
        "not_index_scans": [
            f"{r['sort']}@{r['depth']}"
            for r in rows
            if not r["plan"]["index_scan"] or r["plan"]["sort"]
        ],
    }


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
