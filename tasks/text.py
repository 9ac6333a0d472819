"""Values a database can store: no NUL, no unpaired surrogate, no NaN, no absurd nesting.

JSON carries both (``"\\u0000"``, ``"\\ud800"``) and Python decodes them into ``str``, but
PostgreSQL refuses NUL in ``text`` and ``jsonb`` and no driver can encode a lone surrogate as
UTF-8. A command carrying either anywhere in its arguments is refused as a
``validation_error`` before any of it reaches the database, and nothing guessed from a refused
command (its key, subject, account) is stored unless it is storable. The same goes for NaN and
Infinity (Python's JSON reads them; PostgreSQL's ``jsonb`` does not) and for JSON nested
deeper than ``MAX_DEPTH`` (a recursion error waiting to happen in every encoder on the way).
"""

from __future__ import annotations

import math
import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH = 100
"""How deep JSON a command may nest (a strategy definition, say): deeper is refused."""


def storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


def _where(path: str, key: object) -> str:
    part = str(key)[:40]
    return f"{path}.{part}" if path else part


def first_fault(value: Any, max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """Where the first unstorable string, or nesting past ``max_depth``, is: (path, problem).

    Walks without recursion, so garbage nested a million levels deep is refused, not a crash.
    """
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, str):
            if not storable(item):
                return path or "value", "text must not contain NUL or unpaired surrogates"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return path or "value", "numbers must be finite (JSON has no NaN or Infinity)"
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                return path or "value", f"nested deeper than {max_depth} levels"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and not storable(key):
                    return _where(path, "?"), "a key must not contain NUL or unpaired surrogates"
                stack.append((_where(path, key), child, depth + 1))
    return None


def plain_fields(data: dict[Any, Any], longest: int = 200) -> dict[str, Any]:
    """The top-level fields of refused data that are safe to keep in a record of it.

    Short storable strings, numbers in the 64-bit range, booleans and nulls; the rest (deep
    JSON, megabyte strings, NUL) is left out, so recording a refusal never fails on garbage.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or len(key) > 64 or not storable(key):
            continue
        if isinstance(value, str) and (len(value) > longest or not storable(value)):
            continue
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        if value is None or isinstance(value, str | int | float | bool):
            out[key] = value
    return out
