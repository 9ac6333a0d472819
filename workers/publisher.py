"""The kombu producer of ``gameworker.events``: CloudEvents in structured JSON, confirmed.

Every event goes to the durable topic exchange ``gameworker.events`` with the routing key of
its type without the ``gameworker.`` prefix (``game.created``), as one persistent message:

- the body is the CloudEvent itself (``specversion``, ``id``, ..., ``data``, ``sequence``),
  UTF-8 JSON;
- ``content_type`` is ``application/cloudevents+json``: the CloudEvents AMQP binding's mark of
  structured mode, so CloudEvents SDKs read the envelope (not the data alone) out of the body;
  a kombu consumer decodes it with ``json.loads(message.body)`` or after
  ``register_cloudevents_codec()``;
- ``message_id`` is the event id; ``delivery_mode`` 2 (persistent).

On RabbitMQ the channel is in confirm mode (``confirm_publish``): ``publish`` returns only once
the broker took the message; a nack, a timeout or a lost connection raises ``PublishFailed``
and the relay leaves that row pending. On Redis a batch goes out in one pipeline (kombu's
producer batch), in order: when it fails, none of it counts as sent and all of it is published
again (same ids). The embedded ``filesystem://`` broker takes a message when its file is in
place. One small connection pool per process; the publisher is built
after fork (``workers.bootstrap``), so no socket crosses a fork.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from kombu import Connection, Exchange  # type: ignore[attr-defined]
from kombu.serialization import register

from tasks.relay import PublishFailed
from workers import filesystem_transport

log = logging.getLogger("gameworker.publisher")

EVENTS_EXCHANGE = "gameworker.events"
TYPE_PREFIX = "gameworker."
CONTENT_TYPE = "application/cloudevents+json"
PERSISTENT = 2
CONFIRM_TIMEOUT = 10.0  # seconds a broker may take to confirm one event
POOL_LIMIT = 4  # connections per process (a threads pool may relay from several threads)

filesystem_transport.install()  # filesystem:// events are written whole and in order

EXCHANGE = Exchange(EVENTS_EXCHANGE, type="topic", durable=True)  # type: ignore[no-untyped-call]

# One retry after a lost connection (reconnect and publish again: the same event id, so a
# duplicate is harmless); then the relay stops and the row waits for the next pass.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.5}


def routing_key(event: Mapping[str, Any]) -> str:
    """``gameworker.game.created`` -> ``game.created``."""
    return str(event["type"]).removeprefix(TYPE_PREFIX)


def encode(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def register_cloudevents_codec() -> None:
    """Let kombu consumers decode ``application/cloudevents+json`` bodies into dicts."""
    register(  # type: ignore[no-untyped-call]
        "cloudevents",
        lambda obj: json.dumps(obj, ensure_ascii=False),
        json.loads,
        content_type=CONTENT_TYPE,
        content_encoding="utf-8",
    )


class KombuEventPublisher:
    """``EventPublisher`` over kombu: ``publish(events)`` in order, each confirmed."""

    def __init__(
        self,
        url: str,
        transport_options: Mapping[str, Any] | None = None,
        pool_limit: int = POOL_LIMIT,
        confirm_timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        options = {**(transport_options or {}), "confirm_publish": True}
        self.url = url
        self.confirm_timeout = confirm_timeout
        self._connection = Connection(  # type: ignore[no-untyped-call]
            url, transport_options=options, connect_timeout=5
        )
        self._pool = self._connection.Pool(limit=pool_limit)  # type: ignore[no-untyped-call]

    @property
    def transport(self) -> str:
        """``amqp``, ``redis``, ``filesystem``, ... (kombu's driver type)."""
        return str(self._connection.transport.driver_type)

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        if not events:
            return
        sent = 0
        try:
            with self._pool.acquire(block=True, timeout=30) as conn:
                try:
                    producer = conn.Producer()
                    if _pipelines(conn):
                        # Redis: one pipeline for the batch, in order; all or (retried) none.
                        # The exchange's bindings are read once per batch, not once per event.
                        with (
                            _bindings_read_once(conn.default_channel),
                            producer.batch(max_size=len(events)),
                        ):
                            for event in events:
                                self._publish_one(producer, event, retry=False)
                        sent = len(events)
                    else:
                        with _bindings_read_once(conn.default_channel):
                            for event in events:
                                self._publish_one(producer, event)
                                sent += 1
                except BaseException:
                    # A broken connection must not go back to the pool as if it were fine.
                    _reset(conn)
                    raise
        except PublishFailed:
            raise
        except Exception as exc:
            raise PublishFailed(sent, describe(exc)) from exc

    def _publish_one(self, producer: Any, event: Mapping[str, Any], retry: bool = True) -> None:
        producer.publish(
            encode(event),
            exchange=EXCHANGE,
            routing_key=routing_key(event),
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=PERSISTENT,
            message_id=str(event["id"]),
            declare=[EXCHANGE],
            retry=retry,
            retry_policy=RETRY_POLICY,
            timeout=self.confirm_timeout,
            confirm_timeout=self.confirm_timeout,
        )

    def close(self) -> None:
        self._pool.force_close_all()
        self._connection.release()  # type: ignore[no-untyped-call]


def _pipelines(conn: Any) -> bool:
    """Whether the transport buffers a producer batch in one round trip (Redis does)."""
    channel = conn.default_channel
    return bool(getattr(channel, "supports_batch_publish", False)) and hasattr(
        channel, "create_publish_batch"
    )


@contextmanager
def _bindings_read_once(channel: Any) -> Iterator[None]:
    """Within the block, a virtual channel looks each exchange's bindings up once."""
    lookup = getattr(channel, "get_table", None)
    if lookup is None:  # AMQP: the broker routes
        yield
        return
    tables: dict[str, Any] = {}

    def get_table(exchange: str) -> Any:
        if exchange not in tables:
            tables[exchange] = lookup(exchange)
        return tables[exchange]

    channel.get_table = get_table
    try:
        yield
    finally:
        del channel.get_table  # the class's method again


def describe(exc: BaseException) -> str:
    """``OperationalError <- MessageNacked: ...``: the error and what caused it, readable."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        text = str(seen).strip()
        parts.append(f"{type(seen).__name__}: {text}" if text else type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(parts)


def _reset(conn: Any) -> None:
    try:
        conn.close()  # reconnects on next use
    except Exception:  # already gone
        log.debug("closing a broken events connection failed", exc_info=True)
