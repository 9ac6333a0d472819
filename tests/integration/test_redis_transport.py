"""gameworker's Redis transport (workers/redis_transport.py) on the machine's Redis.

The point of it: a message the consumer has popped is never out of Redis. kombu's own transport
pops with BRPOP and records the message in ``unacked`` in a second command; a reply lost in
between (Redis stopping, a connection cut) loses the message. The tests cut the connection
right after the pop, before its reply is read, as a Redis restart does.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_py
from kombu import Connection, Consumer, Exchange, Producer, Queue  # type: ignore[attr-defined]

from tests.conftest import make_app
from tests.services import REDIS
from workers.redis_transport import TRANSPORT, Channel, Transport, transport_for

pytestmark = pytest.mark.redis


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis_py.Redis]:
    client = redis_py.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(params=["", "prefixed"])
def prefix(request: pytest.FixtureRequest, raw: redis_py.Redis) -> Iterator[str]:
    """A key prefix of the test's own ("" runs it without ``global_keyprefix``)."""
    mark = f"gwtt-{uuid.uuid4().hex[:8]}"
    value = f"{mark}:" if request.param else ""
    yield value
    if value:
        keys = list(raw.scan_iter(f"{mark}:*"))
        if keys:
            raw.delete(*keys)


def connect(url: str, prefix: str, transport: str | None = TRANSPORT, **options: Any) -> Any:
    opts: dict[str, Any] = {"unacked_restore_throttle": 1, **options}
    if prefix:
        opts["global_keyprefix"] = prefix
    return Connection(url, transport=transport, transport_options=opts)  # type: ignore[no-untyped-call]


def queue_named(kind: str) -> Queue:
    exchange = Exchange(f"gwtt.{kind}", type="direct", durable=True)  # type: ignore[no-untyped-call]
    name = f"gwtt.{kind}.{uuid.uuid4().hex[:8]}"
    return Queue(name, exchange, routing_key=name, durable=True)  # type: ignore[no-untyped-call]


def drain(conn: Any, seconds: float, until: Any) -> None:
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            conn.drain_events(timeout=0.2)


def take_and_delete(conn: Any, queue: Queue, seconds: float) -> list[tuple[Any, bool]]:
    """Consume ``queue`` until a message comes (acknowledged), then delete the queue.

    What came, as (body, redelivered) pairs.
    """
    got: list[tuple[Any, bool]] = []

    def on(body: Any, message: Any) -> None:
        got.append((body, message.delivery_info.get("redelivered", False)))
        message.ack()

    with Consumer(conn, [queue], callbacks=[on]):  # type: ignore[no-untyped-call]
        drain(conn, seconds, lambda: got)
    queue(conn.default_channel).delete()
    return got


def unacked(raw: redis_py.Redis, prefix: str) -> int:
    return int(raw.hlen(f"{prefix}unacked"))


def cut_after_pop(conn: Any, queue: Queue) -> Any:
    """Send the consumer's pop, let Redis run it, and drop the connection unread."""
    channel = conn.default_channel
    consumer = Consumer(channel, [queue], callbacks=[lambda body, message: None])  # type: ignore[no-untyped-call]
    consumer.consume()
    conn.transport.cycle._register_BRPOP(channel)  # sends the pop, as drain_events does
    assert channel._in_poll
    time.sleep(0.3)  # Redis has answered; the answer is never read
    channel.client.connection.disconnect()
    channel._in_poll = None
    return channel


def test_a_message_popped_as_the_connection_is_cut_comes_back(
    redis_url: str, raw: redis_py.Redis, prefix: str
) -> None:
    """Recorded as unacknowledged, and put back after the unread timeout (not the hour)."""
    queue = queue_named("cut")
    options = {"visibility_timeout": 3600, "unread_timeout": 1}
    with connect(redis_url, prefix, **options) as conn:
        queue(conn.default_channel).declare()
        Producer(conn, exchange=queue.exchange).publish(  # type: ignore[no-untyped-call]
            {"n": 1}, routing_key=queue.routing_key, serializer="json"
        )
        cut_after_pop(conn, queue)

    assert raw.llen(f"{prefix}{queue.name}") == 0, "the pop did run"
    assert unacked(raw, prefix) == 1, "the popped message is recorded as unacknowledged"

    time.sleep(1.2)  # past the unread timeout, far from the visibility timeout
    with connect(redis_url, prefix, **options) as conn:
        got = take_and_delete(conn, queue, 10)
    assert got == [({"n": 1}, True)]
    assert unacked(raw, prefix) == 0


def test_a_message_being_handled_is_not_put_back_early(
    redis_url: str, raw: redis_py.Redis, prefix: str
) -> None:
    """Once its reply is read, a message waits the whole visibility timeout, as with kombu."""
    queue = queue_named("held")
    options = {"visibility_timeout": 3600, "unread_timeout": 1}
    held: list[Any] = []
    with (
        connect(redis_url, prefix, **options) as first,
        connect(redis_url, prefix, **options) as second,
    ):
        queue(first.default_channel).declare()
        Producer(first, exchange=queue.exchange).publish(  # type: ignore[no-untyped-call]
            {"n": 1}, routing_key=queue.routing_key, serializer="json"
        )
        with Consumer(first, [queue], callbacks=[lambda body, m: held.append(m)]):  # type: ignore[no-untyped-call]
            drain(first, 5, lambda: held)
            time.sleep(1.5)  # past the unread timeout: the first consumer is still on it
            again: list[Any] = []
            with Consumer(second, [queue], callbacks=[lambda body, m: again.append(m)]):  # type: ignore[no-untyped-call]
                drain(second, 2, lambda: again)  # restore passes run while it finds nothing
            assert again == [] and unacked(raw, prefix) == 1
            held[0].ack()
        queue(first.default_channel).delete()
    assert unacked(raw, prefix) == 0


def test_kombus_own_transport_loses_that_message(redis_url: str, raw: redis_py.Redis) -> None:
    """Why the transport exists. If this fails, kombu has closed the window: drop ours."""
    queue = queue_named("stock")
    prefix = f"gwtt-{uuid.uuid4().hex[:8]}:"
    try:
        with connect(redis_url, prefix, transport=None, visibility_timeout=1) as conn:
            queue(conn.default_channel).declare()
            Producer(conn, exchange=queue.exchange).publish(  # type: ignore[no-untyped-call]
                {"n": 1}, routing_key=queue.routing_key, serializer="json"
            )
            cut_after_pop(conn, queue)
        assert raw.llen(f"{prefix}{queue.name}") == 0
        assert unacked(raw, prefix) == 0, "kombu's BRPOP leaves the message nowhere"
    finally:
        keys = list(raw.scan_iter(f"{prefix}*"))
        if keys:
            raw.delete(*keys)


def left_overdue(
    conn: Any, queue: Queue, routing_key: str, raw: redis_py.Redis, prefix: str
) -> Any:
    """A message of ``queue`` taken and not acknowledged, as if taken long ago (its reply lost)."""
    channel = conn.default_channel
    queue(channel).declare()
    Producer(channel, exchange=queue.exchange).publish(  # type: ignore[no-untyped-call]
        {"n": 1}, routing_key=routing_key, serializer="json"
    )
    message = channel.basic_get(queue.name, no_ack=False)
    assert message is not None and unacked(raw, prefix) == 1
    raw.zadd(f"{prefix}unacked_index", {message.delivery_tag: 0})
    return message


BOUND = {
    "direct": ("direct", None, "game.created"),
    "topic #": ("topic", "#", "game.created"),
    "topic game.*": ("topic", "game.*", "game.created"),
}


@pytest.mark.parametrize("kind", list(BOUND))
def test_a_message_put_back_by_a_consumer_that_never_declared_its_exchange_arrives(
    redis_url: str, raw: redis_py.Redis, prefix: str, kind: str
) -> None:
    """The worker puts back its subscribers' overdue events, of an exchange it never declared.

    kombu takes an exchange it has not declared for a direct one: a topic exchange's message
    found no queue and was deleted from ``unacked`` (one event lost in the fault suite's Redis
    restart, docs/faults.md). Its type is read off the bindings instead.
    """
    exchange_type, binding, routing_key = BOUND[kind]
    exchange = Exchange(f"gwtt.x.{uuid.uuid4().hex[:8]}", type=exchange_type, durable=True)  # type: ignore[no-untyped-call]
    queue = Queue(f"gwtt.sub.{uuid.uuid4().hex[:8]}", exchange, routing_key=binding or routing_key)  # type: ignore[no-untyped-call]
    with connect(redis_url, prefix) as subscriber:
        taken = left_overdue(subscriber, queue, routing_key, raw, prefix)
        with connect(redis_url, prefix, visibility_timeout=60) as other:  # declared nothing
            assert exchange.name not in other.default_channel.state.exchanges
            other.default_channel.qos.restore_visible(interval=1)
        assert raw.llen(f"{prefix}{queue.name}") == 1, "put back on its queue"
        assert unacked(raw, prefix) == 0
        taken.ack()  # the subscriber finishes late: nothing left to remove
        got = take_and_delete(subscriber, queue, 5)
    assert got == [({"n": 1}, True)]
    assert unacked(raw, prefix) == 0


def test_kombus_own_transport_drops_such_a_message(redis_url: str, raw: redis_py.Redis) -> None:
    """Why ``Channel.typeof`` exists. If this fails, kombu routes it right now: drop ours."""
    prefix = f"gwtt-{uuid.uuid4().hex[:8]}:"
    exchange = Exchange(f"gwtt.x.{uuid.uuid4().hex[:8]}", type="topic", durable=True)  # type: ignore[no-untyped-call]
    queue = Queue(f"gwtt.sub.{uuid.uuid4().hex[:8]}", exchange, routing_key="#")  # type: ignore[no-untyped-call]
    try:
        with connect(redis_url, prefix, transport=None) as subscriber:
            left_overdue(subscriber, queue, "game.created", raw, prefix)
            with connect(redis_url, prefix, transport=None, visibility_timeout=60) as other:
                other.default_channel.qos.restore_visible(interval=1)
            assert unacked(raw, prefix) == 0
            assert raw.llen(f"{prefix}{queue.name}") == 0, "kombu put it nowhere"
            subscriber.default_channel.qos._delivered.clear()  # no restore at close
    finally:
        keys = list(raw.scan_iter(f"{prefix}*"))
        if keys:
            raw.delete(*keys)


def test_every_message_of_every_queue_and_priority_arrives_once(
    redis_url: str, raw: redis_py.Redis, prefix: str
) -> None:
    first, second = queue_named("a"), queue_named("b")
    sent = {(q.name, n, p) for q in (first, second) for n in range(20) for p in (0, 5, 9)}
    got: list[tuple[str, int, int]] = []
    with connect(redis_url, prefix) as conn:
        producer = Producer(conn)  # type: ignore[no-untyped-call]
        for q in (first, second):
            q(conn.default_channel).declare()
        for name, n, priority in sorted(sent):
            q = first if name == first.name else second
            producer.publish(
                {"q": name, "n": n, "p": priority},
                exchange=q.exchange,
                routing_key=q.routing_key,
                priority=priority,
                serializer="json",
            )
        in_flight: list[int] = []

        def on(body: Any, message: Any) -> None:
            in_flight.append(unacked(raw, prefix))
            got.append((body["q"], body["n"], body["p"]))
            message.ack()

        with Consumer(conn, [first, second], callbacks=[on]):  # type: ignore[no-untyped-call]
            drain(conn, 20, lambda: len(got) >= len(sent))
        for q in (first, second):
            q(conn.default_channel).delete()
    assert sorted(got) == sorted(sent)
    assert set(in_flight) == {1}, "each message was recorded while it was being handled"
    assert unacked(raw, prefix) == 0
    assert raw.zcard(f"{prefix}unacked_index") == 0
    for name in (first.name, second.name):
        # first in, first out within a queue and a priority
        mine = [(n, p) for q, n, p in got if q == name]
        for priority in (0, 5, 9):
            assert [n for n, p in mine if p == priority] == list(range(20))


def test_a_consumer_without_acks_leaves_nothing_unacknowledged(
    redis_url: str, raw: redis_py.Redis, prefix: str
) -> None:
    queue = queue_named("noack")
    got: list[Any] = []
    with connect(redis_url, prefix) as conn:
        queue(conn.default_channel).declare()
        producer = Producer(conn, exchange=queue.exchange)  # type: ignore[no-untyped-call]
        for n in range(5):
            producer.publish({"n": n}, routing_key=queue.routing_key, serializer="json")
        with Consumer(  # type: ignore[no-untyped-call]
            conn, [queue], callbacks=[lambda body, message: got.append(body)], no_ack=True
        ):
            drain(conn, 10, lambda: len(got) >= 5)
        producer.publish({"n": 5}, routing_key=queue.routing_key, serializer="json")
        taken = queue(conn.default_channel).get(no_ack=True)
        queue(conn.default_channel).delete()
    assert [b["n"] for b in got] == [0, 1, 2, 3, 4]
    assert taken is not None and taken.payload == {"n": 5}
    assert unacked(raw, prefix) == 0


def test_get_records_until_acked_and_a_requeued_message_comes_back(
    redis_url: str, raw: redis_py.Redis, prefix: str
) -> None:
    queue = queue_named("get")
    with connect(redis_url, prefix) as conn:
        bound = queue(conn.default_channel)
        bound.declare()
        Producer(conn, exchange=queue.exchange).publish(  # type: ignore[no-untyped-call]
            {"n": 1}, routing_key=queue.routing_key, serializer="json"
        )
        message = bound.get()
        assert message is not None and message.payload == {"n": 1}
        assert unacked(raw, prefix) == 1
        message.reject(requeue=True)
        assert unacked(raw, prefix) == 0
        again = bound.get()
        assert again is not None and again.payload == {"n": 1}
        again.ack()
        assert bound.get() is None
        bound.delete()
    assert unacked(raw, prefix) == 0


def test_a_message_on_an_idle_queue_is_taken_at_once(redis_url: str, prefix: str) -> None:
    """Waiting never takes a message out of Redis, and does not sit on it either."""
    queue = queue_named("idle")
    got: list[float] = []
    with connect(redis_url, prefix) as conn:
        queue(conn.default_channel).declare()
        producer = Producer(conn, exchange=queue.exchange)  # type: ignore[no-untyped-call]
        with Consumer(  # type: ignore[no-untyped-call]
            conn, [queue], callbacks=[lambda body, m: (got.append(time.monotonic()), m.ack())]
        ):
            drain(conn, 1, lambda: False)  # idle: the consumer is waiting
            sent = time.monotonic()
            producer.publish({"n": 1}, routing_key=queue.routing_key, serializer="json")
            drain(conn, 5, lambda: got)
        queue(conn.default_channel).delete()
    assert got and got[0] - sent < 1.0


@pytest.mark.parametrize(("half_life", "waits_on"), [(10.0, "busy"), (0.01, "rare")])
def test_an_idle_consumer_waits_on_the_queue_its_recent_messages_came_from(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch, half_life: float, waits_on: str
) -> None:
    """Not on the last one: a worker was put on the relay queue by every relay kick.

    With a half-life far shorter than the test, only the last message still counts.
    """
    queues = {"busy": queue_named("busy"), "rare": queue_named("rare")}
    waits: list[str] = []
    send = redis_py.connection.Connection.send_command

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args and args[0] == "BLMOVE":
            waits.append(str(args[1]))
        return send(self, *args, **kwargs)

    got: list[Any] = []
    with connect(redis_url, prefix, wait_half_life=half_life) as conn:
        producer = Producer(conn)  # type: ignore[no-untyped-call]
        with Consumer(  # type: ignore[no-untyped-call]
            conn, list(queues.values()), callbacks=[lambda body, m: (got.append(body), m.ack())]
        ):
            for name, count in (("busy", 5), ("rare", 1)):  # the rare queue's message last
                for n in range(count):
                    q = queues[name]
                    producer.publish(
                        {"n": n}, exchange=q.exchange, routing_key=q.routing_key, serializer="json"
                    )
                wanted = len(got) + count
                drain(conn, 5, lambda wanted=wanted: len(got) == wanted)
                time.sleep(0.2)
            monkeypatch.setattr(redis_py.connection.Connection, "send_command", spy)
            drain(conn, 0.5, lambda: False)  # idle: it waits
            monkeypatch.undo()
        for q in queues.values():
            q(conn.default_channel).delete()
    assert len(got) == 6
    assert waits and set(waits) == {f"{prefix}{queues[waits_on].name}"}


def test_gameworker_uses_it_for_redis_brokers_only(tmp_path: Any) -> None:
    assert transport_for("redis://localhost:6379/0") == TRANSPORT
    assert transport_for("rediss://localhost:6379/0") == TRANSPORT
    assert transport_for("amqp://guest:guest@localhost//") is None
    assert transport_for("filesystem://") is None
    from persistence.database import Database
    from tests.conftest import CURSOR_SECRET

    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}", CURSOR_SECRET)
    app = make_app(db, tmp_path, broker=REDIS.url, backend=REDIS.url)
    try:
        with app.connection_for_read() as conn:
            assert type(conn.transport).__module__ == "workers.redis_transport"
    finally:
        app.close()
        db.dispose()


class _NoBlmoveChannel(Channel):
    wait_command = "GWNOSUCHWAIT"  # what a Redis older than 6.2 answers for BLMOVE


class _NoBlmoveTransport(Transport):
    Channel = _NoBlmoveChannel


def test_a_server_without_blmove_is_polled_instead(
    redis_url: str, raw: redis_py.Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    queue = queue_named("old")
    got: list[Any] = []
    with connect(redis_url, prefix, transport=_NoBlmoveTransport) as conn:  # type: ignore[arg-type]
        queue(conn.default_channel).declare()
        producer = Producer(conn, exchange=queue.exchange)  # type: ignore[no-untyped-call]
        with Consumer(  # type: ignore[no-untyped-call]
            conn, [queue], callbacks=[lambda body, m: (got.append(body), m.ack())]
        ):
            drain(conn, 1, lambda: False)  # idle: the wait is refused, the channel falls back
            for n in range(3):
                producer.publish({"n": n}, routing_key=queue.routing_key, serializer="json")
            drain(conn, 5, lambda: len(got) >= 3)
            assert conn.default_channel.wait_command == "BLPOP"
        queue(conn.default_channel).delete()
    assert got == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert unacked(raw, prefix) == 0
    assert "waiting for messages by polling" in caplog.text
