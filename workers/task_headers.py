"""The headers of a Celery task message, checked before Celery reads them.

Celery trusts a protocol-2 message's headers: a ``timelimit`` of three numbers is unpacked
when a pool process frees up, outside every handler, and stops the whole worker
("Unrecoverable error"); an ``id`` or ``stamps`` of the wrong type makes the result impossible
to store, so the sender never hears back. A header of a known name and the wrong type makes
the message malformed: it is dead-lettered before Celery sees it (workers/dead_lettering.py).
Headers this list does not name are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeGuard


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def count(value: Any) -> TypeGuard[int]:
    """An integer from 0 (a bool is not one), small enough for any column."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _count_or_none(value: Any) -> bool:
    return value is None or count(value)


def _seconds(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    )


def _time_limits(value: Any) -> bool:
    """``[hard, soft]``, each seconds or null (or the whole header null)."""
    if value is None:
        return True
    return isinstance(value, list | tuple) and len(value) == 2 and all(map(_seconds, value))


def _mapping_or_none(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _list_or_none(value: Any) -> bool:
    return value is None or isinstance(value, list | tuple)


def _bool_or_none(value: Any) -> bool:
    return value is None or isinstance(value, bool)


CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "id": (_text, "a string"),
    "task": (_text, "a string"),
    "root_id": (_text_or_none, "a string or null"),
    "parent_id": (_text_or_none, "a string or null"),
    "group": (_text_or_none, "a string or null"),
    "shadow": (_text_or_none, "a string or null"),
    "eta": (_text_or_none, "an ISO 8601 string or null"),
    "expires": (_text_or_none, "an ISO 8601 string or null"),
    "argsrepr": (_text_or_none, "a string or null"),
    "kwargsrepr": (_text_or_none, "a string or null"),
    "origin": (_text_or_none, "a string or null"),
    "retries": (count, "a count (an integer from 0)"),
    "group_index": (_count_or_none, "a count or null"),
    "timelimit": (_time_limits, "[hard, soft], each seconds or null"),
    "stamps": (_mapping_or_none, "an object or null"),
    "stamped_headers": (_list_or_none, "a list or null"),
    "ignore_result": (_bool_or_none, "true, false or null"),
}


def header_problem(headers: Mapping[str, Any]) -> str | None:
    """Why a task message's headers would break Celery, or None when they would not."""
    for name, (valid, expected) in CHECKS.items():
        if name in headers and not valid(headers[name]):
            shown = repr(headers[name])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            return f"header {name} must be {expected} (got {shown})"
    return None
