"""Flower's ``/metrics`` behind the same basic auth as every other page.

Flower 2.2 serves its Prometheus metrics (worker host names, task names, counts, run times,
queue lengths) without asking for credentials, while every dashboard and API route asks
(found by tests/faults/test_flower_auth.py). ``gameworker flower`` makes ``/metrics`` ask too;
a Prometheus scrape job gives the credentials with its ``basic_auth`` block.
"""

from __future__ import annotations

from typing import Any


def require_auth_for_metrics() -> None:
    """Wrap Flower's metrics view so that it checks credentials first (idempotent)."""
    from flower.views import monitor
    from tornado.web import HTTPError

    original = monitor.Metrics.get
    if getattr(original, "gameworker_auth", False):
        return

    async def get(self: Any) -> None:
        if not self.current_user:  # Flower's check: 401 on missing or wrong basic auth
            raise HTTPError(401)
        await original(self)

    get.gameworker_auth = True  # type: ignore[attr-defined]
    monitor.Metrics.get = get
