"""The field rules of the contract, as plain functions that clean or refuse a value.

Each returns the cleaned value or raises ``FieldRuleError`` with a sentence a user can act on.
The message models call them, so a rule lives here once.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from domain.errors import FieldRuleError

BUILT_IN_STRATEGIES = frozenset(
    {"default", "constantEffortStrategy", "greencrowdStrategy", "greengageStrategy", "socio_bee"}
)
CUSTOM_PREFIX = "custom:"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ACCOUNT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PARAM_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
STEAM_APP_ID_RE = re.compile(r"^[0-9]{1,20}$")
CUSTOM_ID_RE = re.compile(r"^custom:stg_[0-9a-z]{1,60}$")

ParamValue = str | int | float | bool
Params = dict[str, ParamValue]


def _length(value: str, low: int, high: int, what: str = "") -> str:
    if not low <= len(value) <= high:
        raise FieldRuleError(f"{what or 'must be'} {low}-{high} characters (got {len(value)})")
    return value


def account_id(value: str) -> str:
    if not ACCOUNT_ID_RE.match(value):
        raise FieldRuleError("must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'")
    return value


def subject(value: str) -> str:
    return _length(value, 1, 200)


def name(value: str) -> str:
    value = value.strip()
    if not value:
        raise FieldRuleError("must not be blank")
    return _length(value, 1, 200)


def slug(value: str) -> str:
    if not 2 <= len(value) <= 50 or not SLUG_RE.match(value):
        raise FieldRuleError("must be 2-50 characters of a-z and 0-9 in hyphen-separated words")
    return value


def external_id(value: str) -> str:
    if not EXTERNAL_ID_RE.match(value):
        raise FieldRuleError("must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'")
    return value


def platform(value: str) -> str:
    return _length(value, 1, 64)


def description(value: str) -> str:
    return _length(value, 0, 2000)


def opaque_id(value: str) -> str:
    return _length(value, 1, 64)


def status(value: str) -> str:
    return _length(value, 1, 32)


def tags(values: list[str]) -> list[str]:
    if len(values) > 20:
        raise FieldRuleError(f"at most 20 tags (got {len(values)})")
    seen: dict[str, None] = {}
    for raw in values:
        tag = raw.strip()
        if not 1 <= len(tag) <= 32:
            raise FieldRuleError(f"each tag must be 1-32 characters after trimming: {raw!r}")
        seen.setdefault(tag, None)
    return list(seen)


def page_url(value: str) -> str:
    if len(value) > 2048:
        raise FieldRuleError("must be at most 2048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise FieldRuleError("must be an absolute http or https URL")
    return value


def steam_app_id(value: str) -> str:
    if not STEAM_APP_ID_RE.match(value):
        raise FieldRuleError("must be 1-20 digits")
    return value


def strategy_id(value: str) -> str:
    """A built-in id or the syntax of a ``custom:`` id (whether it exists is the service's)."""
    if value in BUILT_IN_STRATEGIES or CUSTOM_ID_RE.match(value):
        return value
    raise FieldRuleError(
        "must be a built-in strategy (" + ", ".join(sorted(BUILT_IN_STRATEGIES)) + ") "
        "or custom:<strategy id>"
    )


def is_custom(value: str) -> bool:
    return value.startswith(CUSTOM_PREFIX)


def custom_target(value: str) -> str:
    """The strategy id a ``custom:`` reference names."""
    return value[len(CUSTOM_PREFIX) :]


def param_value(key: str, value: Any) -> ParamValue:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldRuleError(f"params.{key}: numbers must be finite")
        return value
    if isinstance(value, str):
        if len(value) > 1000:
            raise FieldRuleError(f"params.{key}: a string value is at most 1000 characters")
        return value
    raise FieldRuleError(f"params.{key}: a value is a string, a number or a boolean")


def param_key(key: str) -> str:
    if not PARAM_KEY_RE.match(key):
        raise FieldRuleError(f"param key {key!r} must be 1-64 characters of A-Z, a-z, 0-9, _ . -")
    return key


def params(values: dict[str, Any]) -> Params:
    if len(values) > 100:
        raise FieldRuleError(f"at most 100 keys (got {len(values)})")
    return {param_key(k): param_value(k, v) for k, v in values.items()}
