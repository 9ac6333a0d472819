#!/usr/bin/env python3
"""A consumer of gameworker's events: a durable queue of its own, deduplicated, in order.

Run it next to a gameworker (any broker gameworker supports)::

    python examples/consume_events.py                                  # the embedded default
    python examples/consume_events.py --broker amqp://guest:guest@localhost:5672//
    python examples/consume_events.py --broker redis://localhost:6379/0 'game.*' 'strategy.#'

It needs only kombu (``pip install kombu``), no gameworker code. What it shows:

- bind a **durable queue of your own** (``--queue``) to the topic exchange ``gameworker.events``
  with the routing keys you care about (``game.created``, ``game.*``, ``#`` for all); events
  published while the queue exists wait in it while the consumer is down;
- the body is one CloudEvent (structured JSON, content type ``application/cloudevents+json``);
- **deduplicate on ``id``** (delivery is at least once) and, where order matters, keep the last
  ``sequence`` applied per subject: a smaller one is an old event come late;
- acknowledge after handling: a consumer killed mid-way gets the event again.

On Redis, kombu's own transport can lose an event it pops just as Redis stops or the connection
drops; pass ``--transport workers.redis_transport:Transport`` (gameworker's, which needs only
kombu: copy the module if gameworker is not installed) to have it come back instead.

With ``--count N`` it stops after N events; ``--timeout S`` after S quiet seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import OrderedDict
from typing import Any

from kombu import Connection, Exchange, Queue

EXCHANGE = Exchange("gameworker.events", type="topic", durable=True)


def embedded_options(home: str) -> dict[str, Any]:
    """The folders of gameworker's embedded ``filesystem://`` broker under GAMEWORKER_HOME."""
    folder = os.path.join(os.path.abspath(home), "broker")
    for sub in ("in", "control", "processed"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    return {
        "data_folder_in": os.path.join(folder, "in"),
        "data_folder_out": os.path.join(folder, "in"),
        "control_folder": os.path.join(folder, "control"),
        "processed_folder": os.path.join(folder, "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }


class Deduplicator:
    """Remembers the last N event ids, and the last sequence applied per subject."""

    def __init__(self, size: int = 100_000) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.size = size
        self.last_sequence: dict[str, int] = {}

    def is_new(self, event: dict[str, Any]) -> bool:
        if event["id"] in self.seen:
            return False
        self.seen[event["id"]] = None
        if len(self.seen) > self.size:
            self.seen.popitem(last=False)
        return True

    def is_stale(self, event: dict[str, Any]) -> bool:
        """An older change of a subject than one already applied (late or re-sent)."""
        sequence = int(event["sequence"])
        last = self.last_sequence.get(event["subject"], -1)
        if sequence < last:
            return True
        self.last_sequence[event["subject"]] = sequence
        return False


def handle(event: dict[str, Any]) -> None:
    """Your code goes here. This one prints a line per event."""
    print(
        f"{event['sequence']}  {event['type']:<36} {event['subject']:<32} "
        f"account={event['accountid']} key={event['correlationid']}",
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("patterns", nargs="*", default=["#"], help="routing keys (default: #)")
    p.add_argument("--broker", default=os.environ.get("GAMEWORKER_EVENTS_URL", "filesystem://"))
    p.add_argument("--home", default=os.environ.get("GAMEWORKER_HOME", "var"))
    p.add_argument("--queue", default="example-consumer.events", help="your durable queue")
    p.add_argument("--count", type=int, help="stop after this many events")
    p.add_argument("--timeout", type=float, help="stop after this many quiet seconds")
    p.add_argument(
        "--transport",
        help="a kombu transport class for the URL, e.g. workers.redis_transport:Transport "
        "(on Redis: kombu's own can lose an event it takes as Redis stops)",
    )
    args = p.parse_args()

    options = embedded_options(args.home) if args.broker.startswith("filesystem") else {}
    queue = Queue(args.queue, durable=True)
    dedupe = Deduplicator()
    handled = 0

    def on_message(message: Any) -> None:
        nonlocal handled
        raw = message.body
        event = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        if dedupe.is_new(event) and not dedupe.is_stale(event):
            handle(event)
            handled += 1
        message.ack()  # after handling: at least once

    with Connection(args.broker, transport=args.transport, transport_options=options) as conn:
        channel = conn.channel()
        EXCHANGE(channel).declare()  # idempotent: gameworker declares it the same way
        queue = queue(channel)
        queue.declare()
        for pattern in args.patterns:
            queue.bind_to(EXCHANGE(channel), routing_key=pattern)
        # on_message gets the raw message: the body is parsed as JSON here, never unpickled
        with conn.Consumer(queue, on_message=on_message):
            print(f"listening on {args.queue} for {', '.join(args.patterns)}", file=sys.stderr)
            while args.count is None or handled < args.count:
                try:
                    conn.drain_events(timeout=args.timeout or 1.0)
                except TimeoutError:
                    if args.timeout:
                        break
                except KeyboardInterrupt:
                    break
    return 0


if __name__ == "__main__":
    sys.exit(main())
