"""Keyset paging in SQL: ORDER BY and the WHERE that starts after (or before) a position.

Never OFFSET: the position is the sort values of the row the page starts from, so the cost of a
page does not grow with its depth. Nullable sort columns are compared through
``coalesce(col, '')`` (the same expression the indexes are built on), so NULLs sort first and
compare like any value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, tuple_

from domain.paging import PageRequest, SortKey


def order_by(columns: Mapping[str, ColumnElement[Any]], request: PageRequest) -> list[Any]:
    """ORDER BY in the direction the rows are read (reversed when paging backward)."""
    backward = request.position is not None and request.position.backward
    out = []
    for key in request.sort:
        col = columns[key.field]
        out.append(col.asc() if key.descending == backward else col.desc())
    return out


def after(
    columns: Mapping[str, ColumnElement[Any]], request: PageRequest
) -> ColumnElement[bool] | None:
    """Rows strictly past the request's position in reading order (None without a position)."""
    pos = request.position
    if pos is None:
        return None
    keys: list[tuple[SortKey, ColumnElement[Any], Any]] = [
        (k, columns[k.field], v) for k, v in zip(request.sort, pos.values, strict=True)
    ]

    def ascending(key: SortKey) -> bool:
        return key.descending == pos.backward  # reading order of this key

    if len({ascending(k) for k, _, _ in keys}) == 1:  # one direction: a row-value comparison
        left = tuple_(*(c for _, c, _ in keys))
        right = tuple_(*(v for _, _, v in keys))
        return left > right if ascending(keys[0][0]) else left < right
    branches: list[ColumnElement[bool]] = []
    for i, (key, col, value) in enumerate(keys):
        equal = [c == v for _, c, v in keys[:i]]
        step = col > value if ascending(key) else col < value
        branches.append(and_(*equal, step))
    first_key, first_col, first_value = keys[0]
    # The leading bound is redundant, but lets the planner start the index scan at the position.
    lead = first_col >= first_value if ascending(first_key) else first_col <= first_value
    return and_(lead, or_(false(), *branches))
