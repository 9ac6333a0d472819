"""Values no database stores are refused before they reach one (tasks/text.py)."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from tasks.base import Ident, parse_command
from tasks.messages import GameCreate, Message
from tasks.results import MAX_FIELDS, from_pydantic
from tasks.text import MAX_DEPTH, first_fault, plain_fields

ACTOR = {"account_id": "acme", "subject": "me"}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("value", "where", "problem"),
    [
        ({"name": "a\x00b"}, "name", "NUL"),
        ({"name": "\ud800"}, "name", "surrogates"),
        ({"tags": ["ok", "x\udfff"]}, "tags.1", "surrogates"),
        ({"params": {"k": float("nan")}}, "params.k", "finite"),
        ({"params": {"k": float("inf")}}, "params.k", "finite"),
        ({"bad\x00key": 1}, "?", "key"),
        ({"definition": nested(MAX_DEPTH + 5)}, "definition.a", "nested deeper"),
    ],
)
def test_first_fault_names_where_and_what(value: Any, where: str, problem: str) -> None:
    found = first_fault(value)
    assert found is not None
    assert found[0].startswith(where) and problem in found[1]


def test_plain_values_and_a_hundred_levels_pass() -> None:
    assert first_fault({"name": "Space Chess é ✓", "n": 1.5, "definition": nested(90)}) is None


def test_a_million_levels_are_refused_without_recursion() -> None:
    value: Any = 1
    for _ in range(1_000_000):
        value = [value]
    assert first_fault(value) is not None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"actor": ACTOR, "data": {"name": "x\x00"}}, "name"),
        ({"actor": {**ACTOR, "subject": "\ud800"}, "data": {"name": "x"}}, "actor.subject"),
        ({"actor": ACTOR, "data": {"name": "x"}, "idempotency_key": "k\x00"}, "idempotency_key"),
    ],
)
def test_a_command_carrying_them_is_a_validation_error(kwargs: Any, field: str) -> None:
    with pytest.raises(Exception) as caught:
        parse_command((), kwargs, GameCreate)
    error = caught.value
    assert getattr(error, "code", None) == "validation_error"
    assert field in error.details["fields"]  # type: ignore[attr-defined]


def test_nothing_unstorable_is_guessed_as_an_identity() -> None:
    ident = Ident.guess(
        {
            "actor": {"account_id": "a\x00", "subject": "s"},
            "idempotency_key": "\ud800",
            "data": {"game_id": "g\x00"},
        },
        "task-id",
    )
    assert ident.account_id is None and ident.key == "task-id" and ident.subject == "task-id"


def test_plain_fields_keeps_only_small_storable_scalars() -> None:
    data = {
        "strategy_id": "stg_1",
        "target_version": 2,
        "big": 2**70,
        "nan": float("nan"),
        "long": "x" * 201,
        "nul": "\x00",
        "deep": nested(3),
        "flag": True,
        "none": None,
    }
    assert plain_fields(data) == {
        "strategy_id": "stg_1",
        "target_version": 2,
        "flag": True,
        "none": None,
    }


class Strict(Message):
    name: str


def test_an_answer_to_thousands_of_bad_fields_stays_short() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Strict.model_validate({f"k{i}": i for i in range(5_000)} | {"x" * 10_000: 1})
    error = from_pydantic(caught.value, in_data=True)
    assert len(error.details["fields"]) == MAX_FIELDS
    assert all(len(k) <= 120 for k in error.details["fields"])
    assert "more)" in error.message and len(error.message) < 2_000
