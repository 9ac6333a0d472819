"""The ceiling's task: does nothing, on the product's app, settings, broker, pool and queue.

Loaded only into the bench's workers (``celery -A workers.app worker -I bench.noop``), never
into the product. It takes a command's keyword arguments, so its messages weigh what a
``games.create`` weighs, and answers a result of the same shape.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

NOOP_TASK = "bench.noop"


@shared_task(name=NOOP_TASK)  # type: ignore[untyped-decorator]
def noop(**_: Any) -> dict[str, Any]:
    return {"ok": True, "data": {}}
