"""Surviving a broker that goes away: the worker reconnects instead of exiting.

When the broker connection drops, Celery closes it, and kombu's Redis transport then tries to
put the worker's unacknowledged messages back on the broker that is gone. With Celery 5.7 and
kombu 5.7 that attempt can fail with an ``AttributeError`` (the connection's parameters are
already cleared), which Celery's ``ignore_errors`` does not ignore: the worker logs
"Unrecoverable error" and exits (seen restarting Redis under load, tests/faults/test_load.py).

Here a failure to close the lost connection is logged and left behind: Celery goes on to
cancel the late-acknowledged commands that were running and to reconnect. Nothing is lost:
the messages stay in Redis's unacknowledged set and come back after ``visibility_timeout``
(RabbitMQ requeues them at once when the connection drops), and their idempotency records make
a second delivery answer the first result.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("gameworker.broker")


class SurvivesBrokerLoss:
    """A Celery consumer mixin: closing a lost broker connection never stops the worker."""

    connection: Any

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        connection = self.connection
        if connection is not None:
            close = connection.close

            def close_quietly() -> None:
                try:
                    close()
                except Exception:
                    log.warning(
                        "could not close the lost broker connection cleanly; unacknowledged "
                        "messages come back after the visibility timeout",
                        exc_info=True,
                    )

            connection.close = close_quietly
        super().on_connection_error_after_connected(exc)  # type: ignore[misc]
