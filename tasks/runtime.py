"""What a task needs at run time, handed over by the worker's bootstrap.

The Celery app carries it (``app.runtime``): tasks never import ``workers``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from domain.services.maintenance import MaintenancePolicy
from persistence.database import Database

if TYPE_CHECKING:
    from tasks.relay import EventPublisher


@dataclass
class Runtime:
    db: Database
    max_retries: int = 5
    retry_backoff_base: float = 0.5
    retry_backoff_cap: float = 30.0
    after_commit: Callable[[], None] = field(default=lambda: None)
    """Called after a command committed events (kicks the relay)."""
    publisher: EventPublisher | None = None
    """Puts outbox rows on gameworker.events (``events.relay``); None where nothing relays."""
    relay_batch_size: int = 500
    maintenance: MaintenancePolicy = field(default_factory=MaintenancePolicy)
    """Retentions, batch size and time budget of the beat-driven maintenance."""


class HasRuntime(Protocol):
    @property
    def runtime(self) -> Runtime: ...
