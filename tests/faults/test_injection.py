"""Injection: SQL, oversized and tampered values in sorts, filters, ids and cursors.

Each is either refused (``validation_error`` / ``invalid_cursor``) or taken as a plain value
(a free-text filter matches the text literally, ``%`` and ``_`` included); never executed.
After every attempt the data is intact: the same rows in every table, and every table still
there. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from domain.paging import CursorCodec, Position
from domain.queries import GAME_SORT_FIELDS
from persistence.database import Database
from persistence.tables import metadata
from tests.conftest import CURSOR_SECRET, empty
from tests.faults import figures
from tests.faults.conftest import Call
from tests.faults.scale import scaled
from tests.faults.world import ADMIN, owner

ACME = owner("acme")
SQL = [
    "'; DROP TABLE games; --",
    "name; DROP TABLE games",
    "name:asc; DELETE FROM games",
    "name:asc,(SELECT 1)",
    "id:asc UNION SELECT * FROM games",
    "created_at:desc--",
    "name:asc nulls first",
    'name COLLATE "C"',
    "lower(name)",
    "games.name",
    "name:asc,id:asc,pg_sleep(5)",
    "1=1) OR (1=1",
    '" OR ""="',
    "name:asc\x00; DROP TABLE games",
    "name:asc/**/",
]
NAMES = ["Space Chess", "50% Off", "snake_case", "O'Brien's Quest", "back\\slash", "Tidy Town"]
FUZZ = settings(
    max_examples=scaled(1000, minimum=25),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class Tally:
    attempts = 0
    refused = 0
    literal = 0
    changed = 0


def fingerprint(db: Database) -> dict[str, str]:
    """Every table's rows, hashed: equal fingerprints, equal data (and every table exists)."""
    out = {}
    with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            count = conn.execute(select(func.count()).select_from(table)).scalar_one()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = f"{count}:{digest}"
    return out


@pytest.fixture(scope="module")
def seeded(database: Database, call: Call) -> dict[str, Any]:
    """Games of two accounts with awkward names; the module's probes only read them."""
    empty(database)
    games = []
    for account in ("acme", "globex"):
        for i, name in enumerate(NAMES):
            created = call(
                "games.create",
                {
                    "name": name,
                    "platform": "pc" if i % 2 else "O'Neil; DROP",
                    "tags": ["x%", "y_"] if i % 2 else ["plain"],
                    "external_game_id": f"ext-{i}",
                },
                owner(account),
            )
            assert created["ok"], created
            games.append(created["data"])
    task = call("game_tasks.create", {"game_id": games[0]["id"], "external_task_id": "t-1"}, ACME)
    assert task["ok"], task
    return {"games": games, "before": fingerprint(database)}


def refused(answer: dict[str, Any], code: str, field: str) -> None:
    assert answer["ok"] is False, answer
    assert answer["error"]["code"] == code, answer
    assert field in json.dumps(answer["error"]["details"]), answer
    Tally.refused += 1


def intact(db: Database, seeded: dict[str, Any]) -> None:
    Tally.attempts += 1
    now = fingerprint(db)
    if now != seeded["before"]:
        Tally.changed += 1
    assert now == seeded["before"], "the data changed"


@pytest.mark.parametrize("sort", SQL)
@pytest.mark.parametrize("task", ["games.list", "game_tasks.list"])
def test_sql_in_sort_is_refused(
    database: Database, call: Call, seeded: dict[str, Any], task: str, sort: str
) -> None:
    data: dict[str, Any] = {"sort": sort}
    if task == "game_tasks.list":
        data["game_id"] = seeded["games"][0]["id"]
    refused(call(task, data, ACME), "validation_error", "sort")
    intact(database, seeded)


@FUZZ
@given(sort=st.text(max_size=400))
@example(sort="x" * 301)
@example(sort="name:asc," * 40)
def test_any_sort_text_is_a_known_spec_or_refused(
    database: Database, call: Call, seeded: dict[str, Any], sort: str
) -> None:
    answer = call("games.list", {"sort": sort}, ACME)
    if answer["ok"]:
        parts = [p.strip().partition(":") for p in sort.split(",")]
        assert all(f.strip() in GAME_SORT_FIELDS for f, _, _ in parts), (sort, answer)
        assert all(d.strip().lower() in ("", "asc", "desc") for _, _, d in parts), sort
    else:
        refused(answer, "validation_error", "sort")
    intact(database, seeded)


@FUZZ
@given(
    text=st.text(
        alphabet=st.characters(min_codepoint=0, max_codepoint=127)
        | st.sampled_from("%_\\'\";-*/é"),
        min_size=1,
        max_size=60,
    )
)
@example(text="%")
@example(text="_")
@example(text="\\")
@example(text="' OR '1'='1")
@example(text="'; DROP TABLE games; --")
@example(text="\x00")
@example(text="a" * 201)
def test_name_contains_matches_the_text_literally(
    database: Database, call: Call, seeded: dict[str, Any], text: str
) -> None:
    answer = call("games.list", {"filters": {"name_contains": text}, "limit": 100}, ACME)
    if not answer["ok"]:  # too long, or a character the database cannot store
        refused(answer, "validation_error", "name_contains")
    else:
        expected = sorted(
            g["id"]
            for g in seeded["games"]
            if g["account_id"] == "acme" and text.lower() in g["name"].lower()
        )
        assert sorted(g["id"] for g in answer["data"]["items"]) == expected, text
        Tally.literal += 1
    intact(database, seeded)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"anti_cheat_enabled": "true OR 1=1"}, "anti_cheat_enabled"),
        ({"created_after": "2020-01-01' OR '1'='1"}, "created_after"),
        ({"updated_before": "now(); DROP TABLE games"}, "updated_before"),
        ({"external_game_id": "ext-1' OR '1'='1"}, "external_game_id"),
        ({"external_game_id": ["ext-1", "x' --"]}, "external_game_id"),
        ({"external_game_id": ["e"] * 101}, "external_game_id"),
        ({"strategy_id": "default' OR '1'='1"}, "strategy_id"),
        ({"slug": "space-chess'--"}, "slug"),
        ({"platform": "p" * 65}, "platform"),
        ({"tag": "t" * 33}, "tag"),
        ({"name_contains": "n" * 201}, "name_contains"),
        ({"unknown; DROP TABLE games": 1}, "unknown; DROP TABLE games"),
        ({"name_contains": {"$ne": None}}, "name_contains"),
    ],
)
def test_typed_filters_refuse_sql_and_oversized_values(
    database: Database, call: Call, seeded: dict[str, Any], filters: Any, field: str
) -> None:
    refused(call("games.list", {"filters": filters}, ACME), "validation_error", field)
    intact(database, seeded)


@pytest.mark.parametrize("value", ["O'Neil; DROP", "x%", "y_", "' OR '1'='1"])
def test_equality_filters_take_the_value_as_it_is(
    database: Database, call: Call, seeded: dict[str, Any], value: str
) -> None:
    for field, has in (
        ("platform", lambda g: g["platform"] == value),
        ("tag", lambda g: value in g["tags"]),
    ):
        answer = call("games.list", {"filters": {field: value}, "limit": 100}, ACME)
        assert answer["ok"], answer
        expected = sorted(g["id"] for g in seeded["games"] if g["account_id"] == "acme" and has(g))
        assert sorted(g["id"] for g in answer["data"]["items"]) == expected, (field, value)
        Tally.literal += 1
    intact(database, seeded)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"limit": "10; DROP TABLE games"}, "limit"),
        ({"limit": 10**20}, "limit"),
        ({"limit": 0}, "limit"),
        ({"account_id": "acme' OR '1'='1"}, "account_id"),
        ({"include_deleted": "true; --"}, "include_deleted"),
        ({"with_total": 1}, "with_total"),
    ],
)
def test_paging_fields_refuse_sql(
    database: Database, call: Call, seeded: dict[str, Any], data: Any, field: str
) -> None:
    refused(call("games.list", data, ADMIN), "validation_error", field)
    intact(database, seeded)


@pytest.mark.parametrize(
    ("task", "data"),
    [
        ("games.get", {"game_id": "gam_' OR '1'='1"}),
        ("games.get", {"slug": "x' OR '1'='1"}),
        ("games.get", {"external_game_id": "ext-1'--"}),
        ("games.delete", {"game_id": "'; DELETE FROM games; --"}),
        ("games.purge", {"game_id": "x' OR 1=1 --"}),
        ("game_tasks.get", {"task_id": "tsk_' OR 1=1"}),
        ("games.external_ids", {"game_ids": ["' OR 1=1 --", "gam_x"]}),
    ],
)
def test_ids_with_sql_name_nothing(
    database: Database, call: Call, seeded: dict[str, Any], task: str, data: Any
) -> None:
    answer = call(task, data, ACME)
    if answer["ok"]:  # a mapping: of nothing
        assert answer["data"] == {"mapping": {}}, answer
        Tally.literal += 1
    else:
        assert answer["error"]["code"] in ("not_found", "validation_error"), answer
        Tally.refused += 1
    if task not in ("games.delete", "games.purge"):
        intact(database, seeded)
        return
    # a refused write records its own answer (idempotency + command.rejected): objects intact
    now = fingerprint(database)
    for table in ("games", "game_params", "game_tasks", "game_task_params", "strategies"):
        assert now[table] == seeded["before"][table], table
    seeded["before"] = now
    Tally.attempts += 1


def _cursor(call: Call, data: dict[str, Any]) -> str:
    first = call("games.list", {**data, "limit": 2}, ACME)
    assert first["ok"] and first["data"]["pagination"]["next_cursor"], first
    cursor: str = first["data"]["pagination"]["next_cursor"]
    return cursor


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_foreign_and_forged_cursors_are_refused(
    database: Database, call: Call, seeded: dict[str, Any]
) -> None:
    cursor = _cursor(call, {"sort": "name:asc"})
    body, _, sig = cursor.partition(".")
    forged_body = json.dumps({"b": "x", "d": "n", "v": ["'; DROP TABLE games; --", "gam_x"]})
    forged = [
        _b64(forged_body.encode()) + "." + sig,  # someone else's values, the old signature
        _b64(forged_body.encode()) + "." + _b64(b"\x00" * 16),
        body + "." + _b64(b"\x01" * 16),
        body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + sig,
        cursor + "' OR '1'='1",
        "'; DROP TABLE games; --",
        "not-base64!!!.@@@",
        ".",
        "x" * 4096,
        _b64(b"\xff\xfe\x00garbage") + "." + sig,
    ]
    for token in forged:
        refused(
            call("games.list", {"sort": "name:asc", "cursor": token}, ACME),
            "invalid_cursor",
            "cursor",
        )
    refused(
        call("games.list", {"sort": "name:asc", "cursor": "x" * 4097}, ACME),
        "validation_error",
        "cursor",
    )
    # a genuine cursor, reused with another sort, filters, account or include_deleted
    for other, who in (
        ({"sort": "name:desc"}, ACME),
        ({"sort": "name:asc", "filters": {"platform": "pc"}}, ACME),
        ({"sort": "name:asc", "include_deleted": True}, ACME),
        ({"sort": "name:asc"}, owner("globex")),
    ):
        refused(call("games.list", {**other, "cursor": cursor}, who), "invalid_cursor", "cursor")
    assert call("games.list", {"sort": "name:asc", "cursor": cursor}, ACME)["ok"]
    intact(database, seeded)


@FUZZ
@given(position=st.integers(0, 200), byte=st.integers(1, 255))
def test_any_flipped_byte_in_a_cursor_is_refused(
    database: Database, call: Call, seeded: dict[str, Any], position: int, byte: int
) -> None:
    cursor = _cursor(call, {"sort": "created_at:desc"})
    raw = bytearray(cursor.encode())
    raw[position % len(raw)] ^= byte
    token = raw.decode("latin-1")
    answer = call("games.list", {"sort": "created_at:desc", "cursor": token}, ACME)
    if answer["ok"]:  # the flip landed where base64 ignores it: the same position
        assert answer == call("games.list", {"sort": "created_at:desc", "cursor": cursor}, ACME)
    elif answer["error"]["code"] == "validation_error":  # it made a NUL: refused before that
        refused(answer, "validation_error", "cursor")
    else:
        refused(answer, "invalid_cursor", "cursor")
    intact(database, seeded)


def test_a_signed_cursor_carrying_sql_is_only_a_position(
    database: Database, call: Call, seeded: dict[str, Any]
) -> None:
    """Even with the secret, a cursor's values are bound parameters, never SQL."""
    genuine = _cursor(call, {"sort": "name:asc"})
    binding = json.loads(base64.urlsafe_b64decode(genuine.partition(".")[0] + "=="))["b"]
    codec = CursorCodec(CURSOR_SECRET.encode())
    token = codec.encode(binding, Position(("' OR '1'='1'; DROP TABLE games; --", "gam_")))
    answer = call("games.list", {"sort": "name:asc", "cursor": token, "limit": 100}, ACME)
    assert answer["ok"], answer
    after = sorted(
        g["name"] for g in seeded["games"] if g["account_id"] == "acme" and g["name"] > "'"
    )
    assert sorted(g["name"] for g in answer["data"]["items"]) == after
    intact(database, seeded)


def test_injection_figures(database: Database) -> None:
    """The module's count of attempts (runs last in the module)."""
    assert Tally.attempts > 0
    figures.record(
        f"injection ({database.dialect})",
        {
            "attempts": Tally.attempts,
            "refused (validation_error/invalid_cursor)": Tally.refused,
            "taken literally": Tally.literal,
            "executed or data changed": Tally.changed,
        },
        {"executed or data changed": 0},
    )
    Tally.attempts = Tally.refused = Tally.literal = Tally.changed = 0
