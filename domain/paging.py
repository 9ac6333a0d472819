"""Sorting and keyset paging: the sort spec, the signed cursor and the page it yields.

A cursor carries the position of a row (its sort values and id), the direction to go from it,
and a fingerprint of the query it belongs to (account, filters, sort, include_deleted). It is
signed, so a garbled, tampered or foreign cursor is refused with ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from domain.errors import InvalidCursor, ValidationError

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False

    def spec(self) -> str:
        return f"{self.field}:{'desc' if self.descending else 'asc'}"


def parse_sort(text: str | None, allowed: Sequence[str], default: str) -> tuple[SortKey, ...]:
    """Parse ``"field:dir,field:dir"``; ``id:asc`` is appended when ``id`` is absent."""
    spec = default if text is None else text
    keys: list[SortKey] = []
    for part in spec.split(","):
        field, _, direction = part.strip().partition(":")
        direction = (direction or "asc").strip().lower()
        field = field.strip()
        if field not in allowed:
            raise ValidationError.field(
                "sort", f"unknown sort field {field[:40]!r}; allowed: {', '.join(allowed)}"
            )
        if direction not in ("asc", "desc"):
            raise ValidationError.field("sort", f"direction must be asc or desc in {part[:60]!r}")
        if any(k.field == field for k in keys):
            raise ValidationError.field("sort", f"field {field!r} is named twice")
        keys.append(SortKey(field, direction == "desc"))
    if not any(k.field == "id" for k in keys):
        keys.append(SortKey("id"))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: the sort values of a row, and which way to read from it."""

    values: tuple[Any, ...]
    backward: bool = False


@dataclass(frozen=True, slots=True)
class PageRequest:
    sort: tuple[SortKey, ...]
    limit: int = DEFAULT_LIMIT
    position: Position | None = None
    with_total: bool = False
    binding: str = ""


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    prev_cursor: str | None
    has_next: bool
    has_prev: bool
    total: int | None = None

    def to_dict(self, render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
        return {
            "items": [render(item) for item in self.items],
            "pagination": {
                "next_cursor": self.next_cursor,
                "prev_cursor": self.prev_cursor,
                "has_next": self.has_next,
                "has_prev": self.has_prev,
                "count": len(self.items),
                "total": self.total,
            },
        }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) != {"dt"} or not isinstance(value["dt"], str):
            raise ValueError("bad value")
        return datetime.fromisoformat(value["dt"])
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError("bad value")


class CursorCodec:
    """Makes and reads signed cursors bound to one query."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @staticmethod
    def binding(**query: Any) -> str:
        """The fingerprint of a query: the same query always gives the same string."""
        canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def encode(self, binding: str, position: Position) -> str:
        body = json.dumps(
            {
                "b": binding,
                "d": "p" if position.backward else "n",
                "v": [_encode_value(v) for v in position.values],
            },
            separators=(",", ":"),
        ).encode()
        return _b64(body) + "." + _b64(self._sign(body))

    def decode(self, token: str, binding: str, width: int) -> Position:
        """Read a cursor made for this query (``width`` sort values), or raise InvalidCursor."""
        try:
            body_text, _, sig_text = token.partition(".")
            body = _unb64(body_text)
            if not hmac.compare_digest(_unb64(sig_text), self._sign(body)):
                raise InvalidCursor("the cursor is garbled or was tampered with")
            payload = json.loads(body)
            values = tuple(_decode_value(v) for v in payload["v"])
            direction = payload["d"]
            cursor_binding = payload["b"]
        except InvalidCursor:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCursor("the cursor is garbled or was tampered with") from exc
        if cursor_binding != binding:
            raise InvalidCursor("the cursor was made for another query (filters, sort or account)")
        if direction not in ("n", "p") or len(values) != width:
            raise InvalidCursor("the cursor is garbled or was tampered with")
        return Position(values, backward=direction == "p")

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:16]


def sort_values(item: Any, sort: tuple[SortKey, ...]) -> tuple[Any, ...]:
    """The position of an item (object or mapping) under a sort; a missing value sorts as ''."""
    get = item.get if isinstance(item, dict) else lambda f: getattr(item, f)
    values = (get(k.field) for k in sort)
    return tuple("" if v is None else v for v in values)


def page_from_rows(
    rows: list[T],
    request: PageRequest,
    codec: CursorCodec,
    total: int | None = None,
) -> Page[T]:
    """Shape ``limit + 1`` rows read in the direction of the request into a page."""
    binding = request.binding
    pos = request.position
    more = len(rows) > request.limit
    items = rows[: request.limit]
    backward = pos is not None and pos.backward
    if backward:
        items.reverse()
    has_next = more if not backward else True
    has_prev = (pos is not None) if not backward else more

    def cursor(row: T, back: bool) -> str:
        return codec.encode(binding, Position(sort_values(row, request.sort), backward=back))

    if items:
        next_cursor = cursor(items[-1], False) if has_next else None
        prev_cursor = cursor(items[0], True) if has_prev else None
    else:  # nothing here (rows gone since): keep a way back to where the reader came from
        next_cursor = codec.encode(binding, Position(pos.values)) if pos and backward else None
        prev_cursor = (
            codec.encode(binding, Position(pos.values, True)) if pos and not backward else None
        )
        has_next, has_prev = next_cursor is not None, prev_cursor is not None
    return Page(items, next_cursor, prev_cursor, has_next, has_prev, total)
