"""Turning a list command's sort, limit and cursor into a page request, and rows into a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.paging import DEFAULT_LIMIT, CursorCodec, PageRequest, parse_sort


def page_request(
    codec: CursorCodec,
    cmd: Mapping[str, Any],
    allowed: Sequence[str],
    default_sort: str,
    **query: Any,
) -> PageRequest:
    """The request a list command makes.

    ``query`` is everything that narrows the list (kind, account, filters, include_deleted):
    with the sort it makes the binding a cursor must carry to be accepted.
    """
    sort = parse_sort(cmd.get("sort"), allowed, default_sort)
    binding = codec.binding(sort=[k.spec() for k in sort], **query)
    cursor = cmd.get("cursor")
    position = codec.decode(cursor, binding, len(sort)) if cursor is not None else None
    return PageRequest(
        sort=sort,
        limit=cmd.get("limit") or DEFAULT_LIMIT,
        position=position,
        with_total=bool(cmd.get("with_total")),
        binding=binding,
    )
