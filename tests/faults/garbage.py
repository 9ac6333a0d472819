"""Hypothesis strategies of commands that must be refused: each carries at least one fault.

The faults are read off the commands' own JSON schemas (``tasks.catalog``): an unknown field,
a required field left out, a value of a JSON type the field does not take, a string or list
over its limit, text a database cannot store (NUL, lone surrogates), deep JSON, and broken
envelopes (positional arguments, a bad actor, ``data`` that is not an object, unknown keyword
arguments). Everything else in the message is arbitrary.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tasks.catalog import COMMANDS

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()  # NaN and Infinity too: Python's JSON reads them
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
BY_TYPE = {
    "string": st.text(max_size=30),
    "integer": st.integers(-(2**70), 2**70),
    "number": st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "array": st.lists(scalars, max_size=3),
    "object": st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    "null": st.none(),
}
BAD_TEXT = st.sampled_from(["\x00", "\ud800", "\udfff", "a\x00b", "name\udc80"])


BAD_ACTOR_FIELDS = [
    *[("is_admin", v) for v in ("yes", 1, [], {})],
    *[("roles", v) for v in ("admin", {}, 3.5, ["r" * 65], [1], [None])],
    *[("account_id", v) for v in ([], {}, 3.5, "bad id!", "", "a" * 65)],
    *[("subject", v) for v in ([], {}, 3.5, "", "s" * 201, None)],
]


def deep(depth: int, leaf: Any = 1) -> Any:
    """JSON nested ``depth`` levels (objects and lists in turn)."""
    value = leaf
    for i in range(depth):
        value = {"a": value} if i % 2 else [value]
    return value


@dataclass(frozen=True)
class Field:
    name: str
    types: frozenset[str] | None  # None: the schema does not say (any value may be refused)
    required: bool
    max_length: int | None
    max_items: int | None


def _types(prop: dict[str, Any]) -> frozenset[str] | None:
    options = prop.get("anyOf", [prop])
    out: set[str] = set()
    for option in options:
        if "$ref" in option or "properties" in option:
            out.add("object")
        elif "type" in option:
            out.add(option["type"])
            if option.get("format") in ("date-time", "date"):
                out |= {"integer", "number"}  # a timestamp may be given as seconds
            if option["type"] == "integer":
                out.add("number")  # 1.0 may pass as 1: not a wrong type for sure
            if option["type"] == "number":
                out.add("integer")
        elif "enum" in option or "const" in option:
            out.add("string")
        else:
            return None
    return frozenset(out) or None


def _limit(prop: dict[str, Any], key: str) -> int | None:
    for option in prop.get("anyOf", [prop]):
        if key in option:
            return int(option[key])
    return None


def fields_of(task: str) -> list[Field]:
    schema = COMMANDS[task].data.model_json_schema()
    required = set(schema.get("required", []))
    return [
        Field(
            name,
            _types(prop),
            name in required,
            _limit(prop, "maxLength"),
            _limit(prop, "maxItems"),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


WRITE_COMMANDS = sorted(COMMANDS)


@dataclass
class Garbage:
    """One message: where its fault is, and the keyword arguments (and args) it carries."""

    task: str
    fault: str
    kwargs: Any
    args: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        short = reprlib.Repr()
        short.maxlevel, short.maxstring, short.maxother = 6, 80, 80
        shown = f"{short.repr(self.kwargs)}, {short.repr(self.args)}"
        return f"Garbage({self.task!r}, {self.fault!r}, {shown})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis prints examples: deep JSON must not recurse


def _actor(draw: st.DrawFn) -> dict[str, Any]:
    return draw(
        st.sampled_from(
            [
                {"account_id": "acme", "subject": "fuzz"},
                {"account_id": None, "subject": "fuzz-admin", "is_admin": True},
                {"account_id": "acme", "subject": "fuzz", "roles": ["strategy_admin"]},
            ]
        )
    )


def _loose_data(draw: st.DrawFn, fields: list[Field]) -> dict[str, Any]:
    """Arbitrary values for a random subset of the command's fields."""
    chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=4)) if fields else []
    data = {}
    for f in chosen:
        data[f.name] = draw(BY_TYPE[next(iter(sorted(f.types)))] if f.types else json_values)
    return data


@st.composite
def garbage(draw: st.DrawFn) -> Garbage:
    """A command message with at least one fault that makes it a ``validation_error``."""
    task = draw(st.sampled_from(WRITE_COMMANDS))
    fields = fields_of(task)
    data = _loose_data(draw, fields)
    actor = _actor(draw)
    kwargs: dict[str, Any] = {"actor": actor, "data": data}
    fault = draw(
        st.sampled_from(
            [
                "unknown field",
                "missing field",
                "wrong type",
                "oversized",
                "bad text",
                "deep json",
                "huge",
                "envelope",
            ]
        )
    )
    names = {f.name for f in fields}
    if fault == "unknown field" or (
        fault == "missing field" and not any(f.required for f in fields)
    ):
        fault = "unknown field"
        key = draw(st.text(min_size=1, max_size=30).filter(lambda k: k not in names))
        data[key] = draw(json_values)
    elif fault == "missing field":
        for f in fields:
            if f.required:
                data.pop(f.name, None)
    elif fault == "wrong type":
        typed = [f for f in fields if f.types and set(JSON_TYPES) - f.types]
        if not typed:
            return draw(garbage())
        f = draw(st.sampled_from(typed))
        wrong = draw(st.sampled_from(sorted(set(JSON_TYPES) - f.types)))
        data[f.name] = draw(BY_TYPE[wrong])
        fault = f"wrong type: {f.name} as {wrong}"
    elif fault == "oversized":
        limited = [f for f in fields if f.max_length or f.max_items]
        if not limited:
            return draw(garbage())
        f = draw(st.sampled_from(limited))
        if f.max_length:
            data[f.name] = "x" * (f.max_length + draw(st.integers(1, 100_000)))
        else:
            data[f.name] = ["x"] * ((f.max_items or 0) + draw(st.integers(1, 10_000)))
        fault = f"oversized: {f.name}"
    elif fault == "bad text":
        place = draw(st.sampled_from(["field", "actor", "key", "param"]))
        text = draw(st.text(max_size=5)) + draw(BAD_TEXT) + draw(st.text(max_size=5))
        strings = [f for f in fields if f.types and "string" in f.types]
        if place == "field" and strings:
            data[draw(st.sampled_from(strings)).name] = text
        elif place == "param" and any(f.name == "params" for f in fields):
            data["params"] = {"k": text}
        elif place == "key":
            kwargs["idempotency_key"] = text
        else:
            kwargs["actor"] = {**actor, "subject": text}
    elif fault == "deep json":
        depth = draw(st.sampled_from([50, 200, 1_000, 5_000]))
        where = draw(st.sampled_from(["data", "actor", "field"]))
        if where == "data":
            kwargs["data"] = {"nested": deep(depth)}
        elif where == "actor":
            kwargs["actor"] = {**actor, "roles": deep(depth)}
        else:
            name = draw(st.sampled_from(sorted(names))) if names else "nested"
            data[name] = deep(depth, leaf="x") if depth % 2 else {"a": deep(depth)}
            if name in names and all(
                t in ("object", "null") for t in (fields_of_types(fields, name))
            ):
                data["unknown-too"] = 1  # an object field may take it: add a sure fault
    elif fault == "huge":
        kind = draw(st.sampled_from(["keys", "string", "list"]))
        if kind == "keys":
            data.update({f"k{i}": i for i in range(draw(st.integers(200, 20_000)))})
        elif kind == "string":
            kwargs["actor"] = {**actor, "subject": "s" * draw(st.integers(201, 1_000_000))}
        else:
            kwargs["actor"] = {**actor, "roles": ["r"] * draw(st.integers(51, 100_000))}
        fault = f"huge {kind}"
    else:
        kind = draw(
            st.sampled_from(
                [
                    "positional",
                    "no actor",
                    "actor type",
                    "actor field",
                    "anonymous",
                    "data type",
                    "extra kwarg",
                    "key type",
                    "key length",
                ]
            )
        )
        fault = f"envelope: {kind}"
        if kind == "positional":
            return Garbage(
                task, fault, kwargs, tuple(draw(st.lists(json_values, min_size=1, max_size=3)))
            )
        if kind == "no actor":
            del kwargs["actor"]
        elif kind == "actor type":
            kwargs["actor"] = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        elif kind == "actor field":
            name, bad = draw(st.sampled_from(BAD_ACTOR_FIELDS))
            kwargs["actor"] = {**actor, name: bad}
        elif kind == "anonymous":
            kwargs["actor"] = {"subject": "nobody", "account_id": None}
        elif kind == "data type":
            kwargs["data"] = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        elif kind == "extra kwarg":
            kwargs[
                draw(
                    st.text(min_size=1, max_size=20).filter(
                        lambda k: k not in ("actor", "data", "idempotency_key")
                    )
                )
            ] = draw(json_values)
        elif kind == "key type":
            kwargs["idempotency_key"] = draw(
                json_values.filter(lambda v: not isinstance(v, str) and v is not None)
            )
        else:
            kwargs["idempotency_key"] = draw(st.sampled_from(["", "k" * 201]))
    return Garbage(task, fault, kwargs)


def fields_of_types(fields: list[Field], name: str) -> frozenset[str]:
    for f in fields:
        if f.name == name:
            return f.types or frozenset(JSON_TYPES)
    return frozenset()
