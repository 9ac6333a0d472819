"""``gameworker events tail``: print the events of ``gameworker.events`` as they come."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from workers.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("events", help="watch the events gameworker publishes")
    events = p.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    t = events.add_parser(
        "tail",
        help="bind a temporary queue to gameworker.events and print events as they come",
        description="Binds an exclusive, auto-deleted queue to the topic exchange "
        "gameworker.events and prints each event as one JSON line. Only events published "
        "while it runs are seen.",
    )
    t.add_argument(
        "patterns",
        nargs="*",
        default=["#"],
        metavar="PATTERN",
        help="routing-key patterns: '#' every event (default), 'game.*', 'strategy.#', ...",
    )
    t.add_argument("-n", "--count", type=int, help="exit after this many events")
    t.add_argument("-t", "--timeout", type=float, help="exit after this many seconds")
    t.add_argument(
        "--format",
        choices=("json", "line"),
        default="json",
        help="json: the CloudEvent as one line (default); line: sequence, type, subject",
    )
    t.set_defaults(run=run)


def render(event: dict[str, Any], form: str) -> str:
    if form == "json":
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return "{:>20}  {:<28} {:<36} {}".format(
        str(event.get("sequence", "")),
        str(event.get("type", "")).removeprefix("gameworker."),
        str(event.get("subject", "")),
        event.get("accountid") or "-",
    )


def _stop(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def run(settings: Settings, args: argparse.Namespace) -> int:
    from workers.event_stream import EventStream
    from workers.reach import safe_url

    signal.signal(signal.SIGTERM, _stop)  # close the stream (and its queue) on SIGTERM too
    seen = 0
    try:
        with EventStream(settings, args.patterns) as stream:
            print(
                f"listening on {safe_url(settings.events)} exchange gameworker.events "
                f"for {' '.join(args.patterns)} (Ctrl-C to stop)",
                file=sys.stderr,
                flush=True,
            )
            for event in stream.events(timeout=args.timeout):
                print(render(event, args.format), flush=True)
                seen += 1
                if args.count is not None and seen >= args.count:
                    break
    except KeyboardInterrupt:
        pass
    return 0
