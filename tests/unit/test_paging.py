"""Sort parsing, the signed cursor (tampering, binding) and pages shaped from rows."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.errors import InvalidCursor, ValidationError
from domain.paging import CursorCodec, PageRequest, Position, SortKey, page_from_rows, parse_sort
from domain.queries import GAME_SORT_FIELDS

CODEC = CursorCodec(b"secret")


def test_default_sort_gets_the_id_tie_breaker() -> None:
    assert parse_sort(None, GAME_SORT_FIELDS, "created_at:desc") == (
        SortKey("created_at", True),
        SortKey("id"),
    )


def test_sort_is_parsed_case_insensitively_with_id_appended_when_absent() -> None:
    assert parse_sort(" name:ASC , updated_at:Desc ", GAME_SORT_FIELDS, "x") == (
        SortKey("name"),
        SortKey("updated_at", True),
        SortKey("id"),
    )
    assert parse_sort("platform", GAME_SORT_FIELDS, "x") == (SortKey("platform"), SortKey("id"))


def test_id_named_anywhere_is_not_appended_again() -> None:
    assert parse_sort("id:desc,name:asc", GAME_SORT_FIELDS, "x") == (
        SortKey("id", True),
        SortKey("name"),
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "deleted_at:asc",
        "name:up",
        "name:asc,",
        "name:asc,name:desc",
        "Name:asc",
        "params:asc",
        ",",
        "name:asc:desc",
    ],
)
def test_bad_sorts_are_validation_errors_naming_sort(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_sort(bad, GAME_SORT_FIELDS, "created_at:desc")
    assert caught.value.names_field("sort")


def test_cursor_round_trips_values_and_direction() -> None:
    when = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    for values in [("a", "gam_1"), (when, "gam_2"), ("", 3), (None, 1.5, True)]:
        for backward in (False, True):
            token = CODEC.encode("bind", Position(values, backward))
            assert CODEC.decode(token, "bind", len(values)) == Position(values, backward)


def test_cursor_is_url_safe_text() -> None:
    token = CODEC.encode("bind", Position(("ünïcode/+?", "gam_1")))
    assert all(c.isalnum() or c in "-_." for c in token)


def _payload(token: str) -> dict[str, Any]:
    body = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def _forge(token: str, **changes: Any) -> str:
    payload = {**_payload(token), **changes}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return body + "." + token.split(".")[1]


@pytest.mark.parametrize(
    "garbled",
    [
        "",
        "x",
        ".",
        "not-a-cursor",
        "a.b.c",
        "!!!.@@@",
        "eyJ9.AAAA",
        "é",
    ],
)
def test_garbled_cursors_are_invalid_cursor(garbled: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        CODEC.decode(garbled, "bind", 2)
    assert caught.value.code == "invalid_cursor"
    assert caught.value.names_field("cursor")


def test_tampered_cursors_are_refused() -> None:
    token = CODEC.encode("bind", Position(("m", "gam_5")))
    for forged in [
        _forge(token, v=["z", "gam_9"]),  # moved position
        _forge(token, d="p"),  # flipped direction
        _forge(token, b="other"),  # rebound to another query
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # bad signature
        token.split(".")[0] + ".",  # signature removed
        token + "x",
    ]:
        with pytest.raises(InvalidCursor):
            CODEC.decode(forged, "bind", 2)


def test_a_cursor_signed_with_another_secret_is_refused() -> None:
    token = CursorCodec(b"other-secret").encode("bind", Position(("m", "gam_5")))
    with pytest.raises(InvalidCursor):
        CODEC.decode(token, "bind", 2)


def test_a_cursor_of_another_query_is_refused() -> None:
    token = CODEC.encode("bind-a", Position(("m", "gam_5")))
    with pytest.raises(InvalidCursor, match="another query"):
        CODEC.decode(token, "bind-b", 2)


def test_a_cursor_with_the_wrong_number_of_values_is_refused() -> None:
    token = CODEC.encode("bind", Position(("m", "gam_5")))
    with pytest.raises(InvalidCursor):
        CODEC.decode(token, "bind", 3)


def test_a_signed_cursor_with_bad_contents_is_refused() -> None:
    codec = CursorCodec(b"secret")
    for body in [b"[]", b'{"b":"bind","d":"x","v":["a","b"]}', b'{"b":"bind","d":"n","v":[[1],2]}']:
        token = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        sig = base64.urlsafe_b64encode(codec._sign(body)).rstrip(b"=").decode()
        with pytest.raises(InvalidCursor):
            codec.decode(f"{token}.{sig}", "bind", 2)


def test_binding_is_stable_and_distinguishes_queries() -> None:
    a = CursorCodec.binding(kind="games", account_id="acme", filters={"tag": "x"}, sort=["id:asc"])
    same = CursorCodec.binding(
        sort=["id:asc"], filters={"tag": "x"}, account_id="acme", kind="games"
    )
    assert a == same
    others = [
        CursorCodec.binding(
            kind="games", account_id="globex", filters={"tag": "x"}, sort=["id:asc"]
        ),
        CursorCodec.binding(kind="games", account_id="acme", filters={"tag": "y"}, sort=["id:asc"]),
        CursorCodec.binding(
            kind="games", account_id="acme", filters={"tag": "x"}, sort=["id:desc"]
        ),
        CursorCodec.binding(kind="games", account_id=None, filters={"tag": "x"}, sort=["id:asc"]),
        CursorCodec.binding(kind="tasks", account_id="acme", filters={"tag": "x"}, sort=["id:asc"]),
    ]
    assert len({a, *others}) == 6


# --- pages shaped from rows -----------------------------------------------------------------

SORT = (SortKey("id"),)
ROWS = [{"id": f"r{i:02d}"} for i in range(10)]


def request(position: Position | None = None, limit: int = 3) -> PageRequest:
    return PageRequest(sort=SORT, limit=limit, position=position, binding="b")


def pos(token: str | None) -> Position:
    assert token is not None
    return CODEC.decode(token, "b", 1)


def test_first_page() -> None:
    page = page_from_rows(ROWS[:4], request(), CODEC)
    assert [r["id"] for r in page.items] == ["r00", "r01", "r02"]
    assert page.has_next and not page.has_prev and page.prev_cursor is None
    assert pos(page.next_cursor) == Position(("r02",))
    assert page.to_dict(dict)["pagination"] == {
        "next_cursor": page.next_cursor,
        "prev_cursor": None,
        "has_next": True,
        "has_prev": False,
        "count": 3,
        "total": None,
    }


def test_last_forward_page_has_no_next() -> None:
    page = page_from_rows(ROWS[8:], request(Position(("r07",))), CODEC, total=10)
    assert [r["id"] for r in page.items] == ["r08", "r09"]
    assert not page.has_next and page.next_cursor is None
    assert page.has_prev and pos(page.prev_cursor) == Position(("r08",), backward=True)
    assert page.to_dict(dict)["pagination"]["total"] == 10


def test_backward_page_comes_in_normal_order() -> None:
    rows_read_backward = [ROWS[5], ROWS[4], ROWS[3], ROWS[2]]  # limit + 1, nearest first
    page = page_from_rows(rows_read_backward, request(Position(("r06",), backward=True)), CODEC)
    assert [r["id"] for r in page.items] == ["r03", "r04", "r05"]
    assert page.has_next and pos(page.next_cursor) == Position(("r05",))
    assert page.has_prev and pos(page.prev_cursor) == Position(("r03",), backward=True)


def test_backward_to_the_start_has_no_prev() -> None:
    page = page_from_rows([ROWS[2], ROWS[1], ROWS[0]], request(Position(("r03",), True)), CODEC)
    assert [r["id"] for r in page.items] == ["r00", "r01", "r02"]
    assert not page.has_prev and page.prev_cursor is None
    assert page.has_next


def test_empty_list() -> None:
    page = page_from_rows([], request(), CODEC)
    assert page.items == [] and not page.has_next and not page.has_prev
    assert page.next_cursor is None and page.prev_cursor is None


def test_empty_page_past_the_end_keeps_a_way_back() -> None:
    page = page_from_rows([], request(Position(("r09",))), CODEC)
    assert page.items == [] and not page.has_next and page.has_prev
    assert pos(page.prev_cursor) == Position(("r09",), backward=True)
