"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON, as JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


def sortable(length: int | None = None) -> TypeEngine[str]:
    """Text that sorts by code point on both stores (collation "C" on PostgreSQL)."""
    base: TypeEngine[str] = String(length) if length else Text()
    return base.with_variant(
        String(length, collation="C") if length else Text(collation="C"), "postgresql"
    )


def big_id() -> TypeEngine[int]:
    """An auto-incrementing 64-bit key (INTEGER on SQLite, where only that autoincrements)."""
    return BigInteger().with_variant(Integer(), "sqlite")
