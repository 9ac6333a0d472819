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


MAX_FIELDS = 20
MAX_PATH = 120
MAX_SENTENCE = 300


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "data"


def _sentence(err: Any, in_data: bool) -> str:
    message = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if err["type"] == "extra_forbidden":
        top_level = not in_data and len(err["loc"]) == 1
        return "unknown keyword argument" if top_level else "unknown field"
    return message


def from_pydantic(exc: pydantic.ValidationError, *, in_data: bool = False) -> ValidationError:
    """One validation_error naming every offending field (``details.fields``).

    A field of ``data`` is named by its path inside ``data`` (``name``, ``filters.tag``), the
    way conflicts and the services name it; an envelope field by its own path
    (``actor.subject``, ``idempotency_key``); ``data`` stands for the data as a whole.
    """
    fields: dict[str, str] = {}
    errors = exc.errors(include_url=False, include_input=False)
    for err in errors[:MAX_FIELDS]:  # garbage with 20,000 bad keys gets a short answer
        where = _where(tuple(err["loc"]))[:MAX_PATH]
        fields.setdefault(where, _sentence(err, in_data)[:MAX_SENTENCE])
    summary = "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:5])
    if len(errors) > len(fields):
        summary += f" (and {len(errors) - len(fields)} more)"
    return ValidationError(f"invalid command: {summary}", {"fields": fields})
