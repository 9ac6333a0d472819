"""Opaque, prefixed, time-ordered identifiers (a ULID body behind a type prefix)."""

from __future__ import annotations

import os
import time

GAME = "gam_"
GAME_TASK = "tsk_"
STRATEGY = "stg_"
EVENT = "evt_"
SCHEDULE = "sch_"
AUDIT = "aud_"

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id: prefix, 10 chars of milliseconds, 16 chars of randomness."""
    millis = time.time_ns() // 1_000_000
    return prefix + _encode(millis, 10) + _encode(int.from_bytes(os.urandom(10), "big"), 16)


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and len(value) > len(prefix)
