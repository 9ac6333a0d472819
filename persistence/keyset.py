"""Keyset paging in SQL: the SELECT of one page, read from a position in the sort's order.

Never OFFSET: the position is the sort values of the row the page starts from, so the cost of a
page does not grow with its depth. Nullable sort columns are compared through
``coalesce(col, '')`` (the same expression the indexes are built on), so NULLs sort first and
compare like any value.

When every key is read in one direction, "past the position" is one row-value comparison, an
index range. When directions are mixed (the ``id`` tie-breaker is ascending, so every
descending sort mixes them), it is an OR of one range per key, which no index scan can read in
order: ``paged`` then reads each range as a branch of its own (ordered, limited, ids only) and
takes the page from their union, so a page never scans the rows before its position, however
many rows tie there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    any_,
    false,
    func,
    or_,
    select,
    tuple_,
    union_all,
)

from domain.paging import PageRequest

Columns = Mapping[str, ColumnElement[Any]]


def order_by(columns: Columns, request: PageRequest) -> list[Any]:
    """ORDER BY in the direction the rows are read (reversed when paging backward)."""
    backward = request.position is not None and request.position.backward
    out = []
    for key in request.sort:
        col = columns[key.field]
        out.append(col.asc() if key.descending == backward else col.desc())
    return out


def _keys(
    columns: Columns, request: PageRequest
) -> list[tuple[bool, ColumnElement[Any], Any]] | None:
    """(ascending in reading order, column, position value) per key; None without a position."""
    pos = request.position
    if pos is None:
        return None
    return [
        (key.descending == pos.backward, columns[key.field], value)
        for key, value in zip(request.sort, pos.values, strict=True)
    ]


def _step(ascending: bool, col: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    step: ColumnElement[bool] = col > value if ascending else col < value
    return step


def _lead(keys: list[tuple[bool, ColumnElement[Any], Any]]) -> ColumnElement[bool]:
    """The bound on the first key: redundant, but where an index lacks the later keys it still
    lets the scan start at the position (a row comparison is an index condition only when every
    one of its columns is in the index, in order)."""
    ascending, col, value = keys[0]
    lead: ColumnElement[bool] = col >= value if ascending else col <= value
    return lead


def after(columns: Columns, request: PageRequest) -> ColumnElement[bool] | None:
    """Rows strictly past the request's position in reading order (None without a position).

    One condition for any sort; ``paged`` reads mixed directions faster.
    """
    keys = _keys(columns, request)
    if keys is None:
        return None
    if len({asc for asc, _, _ in keys}) == 1:  # one direction: a row-value comparison
        left = tuple_(*(c for _, c, _ in keys))
        right = tuple_(*(v for _, _, v in keys))
        return and_(_lead(keys), left > right if keys[0][0] else left < right)
    branches = [
        and_(*(c == v for _, c, v in keys[:i]), _step(asc, col, value))
        for i, (asc, col, value) in enumerate(keys)
    ]
    return and_(_lead(keys), or_(false(), *branches))


def paged(query: Select[Any], columns: Columns, request: PageRequest, dialect: str) -> Select[Any]:
    """The page's SELECT: up to ``limit + 1`` rows past the position, in reading order."""
    order = order_by(columns, request)
    limit = request.limit + 1
    keys = _keys(columns, request)
    if keys is None or len({asc for asc, _, _ in keys}) == 1:
        start = after(columns, request)
        query = query if start is None else query.where(start)
        return query.order_by(*order).limit(limit)
    # Mixed directions: one ordered, limited branch per key (rows equal on the keys before it
    # and past the position on it), each one index range; the page is the first rows of their
    # union (at most limit + 1 ids per branch). The branches carry ids only: cheap to build.
    ident = columns["id"]
    branches = [
        query.with_only_columns(ident)
        .where(*(c == v for _, c, v in keys[:i]), _step(asc, col, value))
        .order_by(*order)
        .limit(limit)
        .subquery()
        for i, (asc, col, value) in enumerate(keys)
    ]
    merged = union_all(*(select(branch.c[0]) for branch in branches))
    if dialect == "postgresql":
        # = ANY(ARRAY(...)): the ids are read first, then looked up by key. (With IN, the
        # planner may instead walk the whole account in id order to semi-join them.)
        chosen = ident == any_(func.array(merged.scalar_subquery()))
    else:
        chosen = ident.in_(merged)
    return query.where(chosen).order_by(*order).limit(limit)
