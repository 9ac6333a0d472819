"""Which real servers the tests use, and whether they must be there.

``GAMEWORKER_TEST_REQUIRE`` (comma-separated: postgres, redis, rabbitmq) names the servers a run
needs: if one cannot be reached the run fails. ``.ci/run`` requires all three. Without it, the
tests of an unreachable server are skipped with the reason shown in the summary.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Server:
    name: str
    url: str

    @property
    def required(self) -> bool:
        wanted = os.environ.get("GAMEWORKER_TEST_REQUIRE", "")
        return self.name in {w.strip() for w in wanted.split(",")}

    def reachable(self) -> bool:
        return _reachable(self.url)


@cache
def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


POSTGRES = Server(
    "postgres",
    os.environ.get("GAMEWORKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
REDIS = Server("redis", os.environ.get("GAMEWORKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
RABBITMQ = Server(
    "rabbitmq",
    os.environ.get("GAMEWORKER_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"),
)
SERVERS = {s.name: s for s in (POSTGRES, REDIS, RABBITMQ)}
