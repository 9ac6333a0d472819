"""A temporary consumer of ``gameworker.events``: an exclusive, auto-deleted queue of its own.

Used by ``gameworker events tail`` and the demo. It binds its queue to the durable topic
exchange with one or more routing-key patterns (``#`` = every event, ``game.*``, ...), so it
sees only the events published while it is bound. The queue is deleted when the stream closes
(and by RabbitMQ when the connection drops); on the embedded ``filesystem://`` and on Redis a
stream killed with SIGKILL leaves its binding behind, so close streams with Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

from kombu import Connection, Exchange, Queue, binding  # type: ignore[attr-defined]

from tasks.event_models import EXCHANGE
from workers.reach import check_broker
from workers.redis_transport import transport_for
from workers.settings import Settings


def events_connection(settings: Settings) -> Any:
    """A kombu connection to the events broker, with the embedded broker's folders if used."""
    options: dict[str, Any] = {}
    if settings.events == settings.broker:
        import celeryconfig

        options = dict(celeryconfig.build(settings)["broker_transport_options"])
    return Connection(  # type: ignore[no-untyped-call]
        settings.events, transport=transport_for(settings.events), transport_options=options
    )


class EventStream:
    """``with EventStream(settings) as stream: for event in stream.events(timeout=5): ...``"""

    def __init__(self, settings: Settings, patterns: Sequence[str] = ("#",)) -> None:
        self.settings = settings
        self.patterns = list(patterns) or ["#"]
        self.name = f"gameworker.tail.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self._received: deque[dict[str, Any]] = deque()
        self._conn: Any = None
        self._consumer: Any = None
        self._queue: Any = None

    def __enter__(self) -> EventStream:
        conn = events_connection(self.settings)
        check_broker(conn, "events broker")
        exchange = Exchange(EXCHANGE, type="topic", durable=True)  # type: ignore[no-untyped-call]
        self._queue = Queue(  # type: ignore[no-untyped-call]
            self.name,
            bindings=[binding(exchange, routing_key=p) for p in self.patterns],  # type: ignore[no-untyped-call]
            durable=False,
            exclusive=True,
            auto_delete=True,
        )
        self._conn = conn
        self._consumer = conn.Consumer([self._queue], on_message=self._on_message)
        self._consumer.consume()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is None:
            return
        try:
            if self._consumer is not None:
                self._consumer.cancel()
            if self._queue is not None:
                # Deleting the queue drops its bindings on every transport (unbinding first
                # would make kombu's virtual transports forget them and leave them behind).
                self._queue(self._conn.default_channel).delete()
        except Exception:  # the broker may be gone already: nothing left to clean
            pass
        finally:
            self._conn.release()
            self._conn = None

    def _on_message(self, message: Any) -> None:
        body = message.body
        try:
            event = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except (UnicodeDecodeError, ValueError):
            event = {"type": "(undecodable)", "body": repr(body)[:500]}
        self._received.append(event if isinstance(event, dict) else {"body": event})
        message.ack()

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        """What arrived: waits up to ``timeout`` seconds for a first event, then takes what
        else is already there."""
        assert self._conn is not None, "use the stream as a context manager"
        deadline = time.monotonic() + timeout
        while True:
            wait = 0.02 if self._received else min(max(deadline - time.monotonic(), 0.02), 0.5)
            try:
                self._conn.drain_events(timeout=wait)
            except TimeoutError:
                if self._received or time.monotonic() >= deadline:
                    break
        out = list(self._received)
        self._received.clear()
        return out

    def events(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Events as they come, until ``timeout`` seconds have passed (None: forever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            left = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            yield from self.poll(min(left, 1.0))
