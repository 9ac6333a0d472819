"""Result objects of contract section 2, and pydantic errors turned into them."""

from __future__ import annotations

from typing import Any

import pydantic

from domain.errors import DomainError, ValidationError

Result = dict[str, Any]


def ok(data: Any) -> Result:
    return {"ok": True, "data": data}


def failed(error: DomainError) -> Result:
    return {"ok": False, "error": error.to_dict()}


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "data"


def _sentence(err: Any) -> str:
    message = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if err["type"] == "extra_forbidden":
        return "unknown field"
    return message


def from_pydantic(exc: pydantic.ValidationError, prefix: str = "") -> ValidationError:
    """One validation_error naming every offending field (``details.fields``)."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        where = _where(tuple(err["loc"]))
        where = f"{prefix}.{where}" if prefix and where != "data" else (prefix or where)
        fields.setdefault(where, _sentence(err))
    summary = "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:5])
    return ValidationError(f"invalid command: {summary}", {"fields": fields})
