"""kombu's Redis transport, with a message never out of Redis between its queue and ``unacked``.

kombu's own transport takes a message with ``BRPOP`` and only then, in a second command, records
it in the ``unacked`` hash that brings it back after the visibility timeout. A message popped in
between (Redis stopping, a connection cut, the consumer killed before the reply was read) is in
neither place: it is lost. The fault suite saw it happen under load with Redis restarted once.

Here one Lua script pops the message *and* records it in ``unacked`` (kombu's own entry),
atomically: whatever happens to the reply, the message is either still on its queue or in
``unacked``, from where kombu's own ``restore_visible`` puts it back. The script indexes it as
if it had been taken ``visibility_timeout - unread_timeout`` seconds ago; reading the reply
re-indexes it at now, as kombu does. So a message whose reply was lost comes back
``unread_timeout`` (15 s, a transport option) later, at the next restore pass of any consumer of
that Redis database; one being worked on, after the visibility timeout, as with kombu.
Consumers that do not acknowledge (``no_ack``: Flower's event receiver) are not recorded, as
with kombu.

Lists cannot be waited on without popping from them, so when every queue is empty the channel
waits with ``BLMOVE q q RIGHT RIGHT``, which leaves the list as it was, for at most
``reliable_wait`` seconds (0.1; a transport option), then tries the script again. It waits on
the queue most of its recent messages came from (counts halved every ``wait_half_life``
seconds, 10): a message there is taken at once, one on another queue within ``reliable_wait``.
Waiting on the last queue instead put the worker on the relay queue after every relay kick, and
the next command waited out the 0.1 s: the latency bench's result p99 went from 2.4 to 5.6
times the p50. An idle consumer costs Redis two cheap commands per ``reliable_wait``.

Redis 6.2 or newer has ``BLMOVE``; on an older server (or a Redis-compatible one without it)
the channel says so once in the log and waits with ``BLPOP`` on a key nothing is pushed to,
which only sleeps: a message reaching an idle consumer then waits up to ``reliable_wait``.

A message is put back through its exchange, as kombu does, by whichever consumer of the
database finds it overdue, often one that never declared that exchange: ``typeof`` reads a
topic exchange's type off its bindings there, where kombu took it for a direct one and dropped
the message (``Channel.typeof``).

Used for every ``redis://`` and ``rediss://`` broker URL of the worker, beat, Flower and the
CLI (``celeryconfig.build``), and by ``transport_for`` for any other kombu consumer:
``Connection(url, transport=transport_for(url))``.
"""

from __future__ import annotations

import logging
from queue import Empty
from time import monotonic, time
from typing import Any
from urllib.parse import urlparse

from kombu.transport import redis, virtual
from kombu.utils import encoding, json

# kombu is only partly typed: its pieces are used as Any here.
_Channel: Any = redis.Channel
_QoS: Any = redis.QoS
_Transport: Any = redis.Transport
_Poller: Any = redis.MultiChannelPoller
_VirtualQoS: Any = virtual.QoS
_loads: Any = json.loads
_to_str: Any = encoding.bytes_to_str

log = logging.getLogger("gameworker.redis")

TRANSPORT = "workers.redis_transport:Transport"
IDLE_KEY = "_gameworker.idle"
"""A list nothing is ever pushed to: ``BLPOP`` on it only waits."""
SCHEMES = ("redis", "rediss")

# KEYS[1] the unacked hash, KEYS[2] its index, KEYS[3..] the queue lists, in order.
# ARGV[1] the time to index the message at; ARGV[2..] "1" where the message of KEYS[i + 1] is
# to be recorded as unacknowledged. Returns {position of the list (1-based), message, recorded}.
POP_AND_RECORD = """
for i = 3, #KEYS do
  local item = redis.call('RPOP', KEYS[i])
  if item then
    local recorded = 0
    if ARGV[i - 1] == '1' then
      local ok, message = pcall(cjson.decode, item)
      if ok and type(message) == 'table' and type(message.properties) == 'table' then
        local properties = message.properties
        local tag = properties.delivery_tag
        local info = properties.delivery_info
        if type(tag) == 'string' and type(info) == 'table' then
          redis.call('ZADD', KEYS[2], ARGV[1], tag)
          redis.call('HSET', KEYS[1], tag, '[' .. item .. ',' .. cjson.encode(info.exchange)
            .. ',' .. cjson.encode(info.routing_key) .. ']')
          recorded = 1
        end
      end
    end
    return {i - 2, item, recorded}
  end
end
return false
"""


def transport_for(url: str) -> str | None:
    """This transport for a Redis URL; ``None`` (the URL's own transport) for any other."""
    scheme = urlparse(url).scheme if "://" in url else ""
    return TRANSPORT if scheme in SCHEMES else None


class QoS(_QoS):  # type: ignore[misc]
    """kombu's Redis QoS, without rewriting what the pop script has already recorded."""

    def append(self, message: Any, delivery_tag: str) -> None:
        if self.channel.take_recorded(delivery_tag):
            # The reply reached us: index the message at now, as kombu does, instead of the
            # early score the script gave it for the case where the reply is lost.
            with self.channel.conn_or_acquire() as client:
                client.zadd(self.unacked_index_key, {delivery_tag: time()}, xx=True)
            _VirtualQoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)


class Channel(_Channel):  # type: ignore[misc]
    QoS = QoS
    reliable_wait = 0.1
    unread_timeout = 15.0
    """Seconds after which a popped message whose reply was never read is put back."""
    wait_command = "BLMOVE"
    """Set to ``BLPOP`` (a plain sleep on an unused key) when the server lacks ``BLMOVE``."""
    wait_half_life = 10.0
    """Seconds in which a message taken from a queue loses half its weight in picking the wait."""
    from_transport_options = (
        *_Channel.from_transport_options,
        "reliable_wait",
        "unread_timeout",
        "wait_half_life",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._recorded: set[str] = set()
        self._no_ack_queues: set[str] = set()
        self._waiting = False  # the command in flight is the wait, not the pop
        self._idle = False  # the last pop found every queue empty
        self._taken: dict[str, float] = {}  # per queue, messages taken (decayed)
        self._taken_at = monotonic()
        self._popped_from: list[str] = []
        super().__init__(*args, **kwargs)

    # -- consumers ---------------------------------------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        if no_ack:
            self._no_ack_queues.add(queue)
        else:
            self._no_ack_queues.discard(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def _basic_cancel(self, consumer_tag: str) -> Any:
        queue = self._tag_to_queue.get(consumer_tag)
        ret = super()._basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            self._no_ack_queues.discard(queue)
        return ret

    # -- routing by a connection that never declared the exchange -----------------------------

    def typeof(self, exchange: str, default: str = "direct") -> Any:
        """The exchange's type; for one not declared on this connection, read off its bindings.

        kombu keeps exchange types in the memory of the connection that declared them and takes
        any other exchange for a direct one. Putting an unacknowledged message back routes it
        through its exchange again, and the process doing it (any consumer of the database:
        the worker restores its subscribers' events too) has usually never declared that
        exchange: a message of a topic exchange (``gameworker.events``) was then matched as if
        direct, found no queue, and was deleted from ``unacked`` without being put anywhere.
        Only a topic exchange's bindings carry a pattern, so the bindings in Redis tell it.
        """
        undeclared = bool(exchange) and exchange not in self.state.exchanges
        if undeclared and any(pattern for _, pattern, _ in self.get_table(exchange)):
            return super().typeof(exchange, "topic")
        return super().typeof(exchange, default)

    def take_recorded(self, delivery_tag: str) -> bool:
        """Whether the pop script recorded this message as unacknowledged (once)."""
        if delivery_tag in self._recorded:
            self._recorded.discard(delivery_tag)
            return True
        return False

    # -- the script --------------------------------------------------------------------------

    def _pop_command(
        self, queues: list[str], record: dict[str, bool]
    ) -> tuple[list[Any], list[str]]:
        """The EVAL command that pops from the first non-empty list of ``queues``."""
        order = [(q, self._q_for_pri(q, pri)) for pri in self.priority_steps for q in queues]
        keys = [self._key(self.unacked_key), self._key(self.unacked_index_key)]
        keys += [self._key(key) for _, key in order]
        flags = ["1" if record[q] else "0" for q, _ in order]
        command = ["EVAL", POP_AND_RECORD, len(keys), *keys, repr(self._unread_score()), *flags]
        return command, [q for q, _ in order]

    def _key(self, name: str) -> str:
        """A key as Redis knows it: kombu prefixes only the commands it sends itself."""
        return f"{self.global_keyprefix or ''}{name}"

    def _unread_score(self) -> float:
        """The index score of a popped message whose reply has not been read yet.

        ``restore_visible`` puts back what is indexed before ``now - visibility_timeout``: this
        score makes that ``unread_timeout`` seconds from now, so a message whose reply was lost
        (Redis stopping, the connection cut, the consumer killed) comes back that soon, not
        after the whole visibility timeout. Reading the reply re-indexes it at now (``QoS``).
        """
        visibility = float(self.visibility_timeout)
        return time() - max(0.0, visibility - float(self.unread_timeout))

    def _take(self, reply: Any, queues: list[str]) -> tuple[str, dict[str, Any]] | None:
        """The queue and payload of a script's reply; notes a recorded delivery tag."""
        if not reply:
            return None
        position, item, recorded = reply
        payload: dict[str, Any] = _loads(_to_str(item))
        if int(recorded):
            self._recorded.add(payload["properties"]["delivery_tag"])
        return queues[int(position) - 1], payload

    # -- which queue to wait on --------------------------------------------------------------

    def _note_taken(self, queue: str) -> None:
        now = monotonic()
        factor = 0.5 ** ((now - self._taken_at) / float(self.wait_half_life))
        if factor < 1.0:
            self._taken = {q: n * factor for q, n in self._taken.items() if n * factor > 1e-3}
        self._taken_at = now
        self._taken[queue] = self._taken.get(queue, 0.0) + 1.0

    def _busiest(self, queues: list[str]) -> str:
        """Of ``queues``, the one most recent messages came from (the first, on a tie)."""
        return max(queues, key=lambda q: self._taken.get(q, 0.0))

    # -- consuming through the poller (worker, drain_events) --------------------------------

    def _brpop_start(self, timeout: float | None = None) -> None:
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        if self._idle:
            key = self._key(self._busiest(queues))
            most = float(self.reliable_wait)
            seconds = min(most, float(timeout or self.brpop_timeout or most))
            command: list[Any] = (
                ["BLMOVE", key, key, "RIGHT", "RIGHT", seconds]
                if self.wait_command == "BLMOVE"
                else [self.wait_command, self._key(IDLE_KEY), seconds]
            )
            self._waiting = True
        else:
            record = {q: q not in self._no_ack_queues for q in queues}
            command, self._popped_from = self._pop_command(queues, record)
            self._waiting = False
        self._in_poll = self.client.connection
        self._brpop_sent_at = monotonic()
        self.client.connection.send_command(*command)

    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                reply = self.client.parse_response(
                    self.client.connection,
                    self.wait_command if self._waiting else "EVAL",
                    **options,
                )
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            except self.ResponseError as exc:
                if not (self._waiting and "unknown command" in str(exc).lower()):
                    raise
                log.warning(
                    "Redis has no %s (older than 6.2?): waiting for messages by polling every "
                    "%s s instead",
                    self.wait_command,
                    self.reliable_wait,
                )
                self.wait_command = "BLPOP"
                self._idle = False
                raise Empty() from None
            if self._waiting:
                self._idle = False  # something came, or the wait ran out: pop again
                raise Empty()
            taken = self._take(reply, self._popped_from)
            if taken is None:
                self._idle = True
                raise Empty()
            queue, payload = taken
            self._idle = False
            self._note_taken(queue)
            self._queue_cycle.rotate(queue)
            self.connection._deliver(payload, queue)
            return True
        finally:
            self._in_poll = None
            self._flush_brpop_reauth()

    # -- basic_get ---------------------------------------------------------------------------

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        command, queues = self._pop_command([queue], {queue: not no_ack})
        with self.conn_or_acquire() as client:
            reply = client.execute_command(*command)
            self._maybe_update_queues_expire(client, queue)
        taken = self._take(reply, queues)
        if taken is None:
            return None
        message = self.Message(taken[1], channel=self)
        if not no_ack:
            self.qos.append(message, message.delivery_tag)
        return message


class Poller(_Poller):  # type: ignore[misc]
    """kombu's poller, restoring overdue messages whenever a drain finds nothing.

    kombu does that only when a poll times out without any reply, which its one-second
    ``BRPOP`` allows; this transport's replies come every ``reliable_wait``, so a consumer
    without an event loop (``drain_events``) would otherwise never put anything back. It is
    throttled by ``unacked_restore_throttle`` as kombu's is. An event loop (the Celery worker)
    restores on its own timer (``unacked_restore_interval``).
    """

    def get(self, callback: Any, timeout: float | None = None) -> Any:
        try:
            return super().get(callback, timeout)
        except Empty:
            self.maybe_restore_messages()
            raise


class Transport(_Transport):  # type: ignore[misc]
    Channel = Channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cycle = Poller()
