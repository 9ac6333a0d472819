"""The temporary events consumer (``gameworker events tail``, the demo) on RabbitMQ and Redis.

It binds its own exclusive queue to the durable topic exchange, receives what is published
with matching routing keys, and leaves nothing behind when closed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue  # type: ignore[attr-defined]

from workers.event_stream import EventStream
from workers.settings import Settings

EXCHANGE = Exchange("gameworker.events", type="topic", durable=True)  # type: ignore[no-untyped-call]


def event(kind: str, tag: str, n: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"evt_{tag}_{n}",
        "type": f"gameworker.{kind}",
        "subject": f"obj_{n}",
        "sequence": str(n).zfill(20),
    }


def publish(url: str, *events: dict[str, Any]) -> None:
    with Connection(url) as conn:  # type: ignore[no-untyped-call]
        producer = conn.Producer()
        for e in events:
            producer.publish(
                json.dumps(e).encode(),
                exchange=EXCHANGE,
                routing_key=e["type"].removeprefix("gameworker."),
                content_type="application/cloudevents+json",
                declare=[EXCHANGE],
            )


def receive(stream: EventStream, tag: str, want: int) -> list[str]:
    ids: list[str] = []
    for _ in range(40):
        ids += [e["id"] for e in stream.poll(0.5) if str(e.get("id", "")).startswith(f"evt_{tag}")]
        if len(ids) >= want:
            break
    return sorted(ids)


def check_stream(url: str, tmp_path: Any) -> EventStream:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(home=tmp_path, broker_url=url)
    with EventStream(settings, ["game.*"]) as stream:
        publish(url, event("game.created", tag, 1), event("strategy.created", tag, 2))
        publish(url, event("game.deleted", tag, 3))
        assert receive(stream, tag, 2) == [f"evt_{tag}_1", f"evt_{tag}_3"]
    return stream


def test_on_rabbitmq_the_queue_is_gone_after(rabbit_url: str, tmp_path: Any) -> None:
    stream = check_stream(rabbit_url, tmp_path)
    conn: Any = Connection(rabbit_url)  # type: ignore[no-untyped-call]
    try:
        with pytest.raises(Exception, match=r"NOT_FOUND|no queue"):
            Queue(stream.name, channel=conn.channel()).queue_declare(passive=True)
    finally:
        conn.release()


def test_on_redis_the_binding_is_gone_after(redis_url: str, tmp_path: Any) -> None:
    import redis

    stream = check_stream(redis_url, tmp_path)
    bindings = redis.Redis.from_url(redis_url).smembers("_kombu.binding.gameworker.events")
    assert not any(stream.name.encode() in b for b in bindings)
