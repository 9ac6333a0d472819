"""Which faults are transient (retry them) and how long to wait before the next attempt."""

from __future__ import annotations

import random

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATEs worth another attempt: serialization failure, deadlock, lock timeout,
# connection failures, the server shutting down or out of connections.
TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",
        "40P01",
        "55P03",
        "08000",
        "08001",
        "08003",
        "08004",
        "08006",
        "57P01",
        "57P02",
        "57P03",
        "53300",
    }
)


def is_transient(exc: BaseException) -> bool:
    """A fault that may pass: a lost connection, a deadlock, a busy database."""
    if isinstance(exc, PoolTimeout | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in TRANSIENT_SQLSTATES:
            return True
        if isinstance(exc, OperationalError):
            text = str(exc.orig).lower()
            return sqlstate is None or "locked" in text or "busy" in text or "connection" in text
    return False


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter: a random wait up to base * 2**attempt, capped."""
    return random.uniform(0, min(cap, base * 2**attempt))


def retry_countdown(
    exc: BaseException, attempts_so_far: int, max_retries: int, base: float, cap: float
) -> float | None:
    """How long to wait before retrying ``exc``; None when it is not retried (not transient,
    or the retries are spent)."""
    if not is_transient(exc) or attempts_so_far >= max_retries:
        return None
    return backoff(attempts_so_far, base, cap)
