"""``gameworker demo``: the whole service on the embedded default, in under a minute.

With no configuration it keeps everything under ``./var`` (or ``GAMEWORKER_HOME``): it
migrates the SQLite database, binds an events consumer to ``gameworker.events``, starts a
worker on the three queues (which also runs the event relay) and beat, plays the story of
``workers.demo_story`` through the typed client, prints each answer and every event as it
arrives, and ends with a summary table. ``--keep-running`` leaves the worker and beat up.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Any, TextIO

from workers.settings import Settings

EXPECTED_EVENTS = (
    "game.created",
    "game.updated",
    "game_task.created",
    "game_task.updated",
    "strategy.created",
    "strategy.published",
    "strategy.archived",
    "strategy.rolled_back",
    "command.rejected",
)
QUIET = 1.5  # seconds without a new event before the demo stops waiting for more


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo on the embedded default")
    p.add_argument(
        "--keep-running", action="store_true", help="leave the worker and beat running after"
    )
    p.add_argument("--no-beat", action="store_true", help="do not start beat")
    p.set_defaults(run=run)


class Demo:
    def __init__(self, settings: Settings, out: TextIO) -> None:
        self.settings = settings
        self.out = out
        self.events: list[dict[str, Any]] = []
        self.stream: Any = None
        self.saved = settings.home_dir / "demo-events.jsonl"
        self.saved.parent.mkdir(parents=True, exist_ok=True)
        self.saved.write_text("", encoding="utf-8")

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def drain(self, wait: float = 0.15) -> None:
        """Print the events that arrived (waiting up to ``wait`` seconds for the first)."""
        for event in self.stream.poll(wait):
            self.events.append(event)
            with self.saved.open("a", encoding="utf-8") as f:
                f.write(json.dumps(event, ensure_ascii=False) + "\n")
            kind = str(event.get("type", "")).removeprefix("gameworker.")
            self.say(
                f"     event {kind:<22} {event.get('subject', '')}  seq {event.get('sequence')}"
            )

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until the expected event types came and no new event came for a moment."""
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            before = len(self.events)
            self.drain(0.3)
            if len(self.events) != before:
                quiet_since = time.monotonic()
            elif not self.missing() and time.monotonic() - quiet_since >= QUIET:
                return

    def missing(self) -> list[str]:
        seen = {str(e.get("type", "")).removeprefix("gameworker.") for e in self.events}
        return [t for t in EXPECTED_EVENTS if t not in seen]


def run(settings: Settings, args: argparse.Namespace) -> int:
    from persistence.engine import make_engine
    from persistence.migrate import upgrade
    from workers import demo_processes as procs
    from workers.client import CommandFailed, CommandTimeout, GameworkerClient
    from workers.demo_story import Story
    from workers.event_stream import EventStream
    from workers.reach import check_database, safe_url

    out = sys.stdout
    demo = Demo(settings, out)
    started = time.monotonic()
    demo.say(f"gameworker demo  (home {settings.home_dir})")
    demo.say(f"  database {safe_url(settings.database)}")
    demo.say(f"  broker   {safe_url(settings.broker)}")
    check_database(settings.database)
    engine = make_engine(settings.database)
    try:
        demo.say(f"  migrated to revision {upgrade(engine)}")
    finally:
        engine.dispose()
    processes: list[procs.Process] = []
    steps: list[Any] = []
    keep = bool(args.keep_running)
    try:
        with EventStream(settings) as stream:
            demo.stream = stream
            demo.say("  bound an events consumer to gameworker.events (#)")
            worker = procs.start_worker(settings, keep)
            processes.append(worker)
            if not args.no_beat:
                processes.append(procs.start_beat(settings, keep))
            worker.wait_ready(" ready.", timeout=45)
            demo.say(
                f"  worker up after {time.monotonic() - started:.1f} s (pid {worker.pid}, "
                f"log {worker.log}); it runs the relay on 'maintenance'"
            )
            if not args.no_beat:
                demo.say(f"  beat up (pid {processes[-1].pid}, log {processes[-1].log})")
            with GameworkerClient.from_settings(settings, timeout=30) as client:
                story = Story(client, out, demo.drain)
                demo.say(f"\nThe story of account {story.actor['account_id']}:")
                steps = story.run()
            demo.say(
                f"\nstory told at {time.monotonic() - started:.1f} s; waiting for the last events"
            )
            demo.settle()
    except procs.StartFailed as exc:
        print(f"gameworker demo: {exc}", file=sys.stderr)
        return 1
    except (CommandFailed, CommandTimeout) as exc:
        print(f"gameworker demo: {exc}", file=sys.stderr)
        for process in processes:
            print(f"--- last lines of {process.log}:\n{process.tail()}", file=sys.stderr)
        return 1
    finally:
        if keep:
            pids = " ".join(str(p.pid) for p in processes if p.alive())
            demo.say(f"\n--keep-running: still running (stop with: kill {pids})")
        else:
            stopping = time.monotonic()
            for process in processes:
                process.terminate()  # all at once: they shut down side by side
            for process in processes:
                process.stop()
            demo.say(f"\nstopped the worker and beat in {time.monotonic() - stopping:.1f} s")
    return summary(demo, steps, time.monotonic() - started)


def summary(demo: Demo, steps: list[Any], seconds: float) -> int:
    say = demo.say
    say("\nSummary")
    say(f"  {'#':>2}  {'step':<42} {'command':<20} {'outcome':<18} {'ms':>6}")
    for s in steps:
        outcome = s.outcome if s.as_expected else f"{s.outcome} (expected {s.expected})"
        say(f"  {s.number:>2}  {s.title:<42} {s.task:<20} {outcome:<18} {s.ms:>6.0f}")
    counts = Counter(str(e.get("type", "")).removeprefix("gameworker.") for e in demo.events)
    say("\n  events received by type:")
    for kind, n in sorted(counts.items()):
        say(f"    {kind:<26} {n:>3}")
    wrong = [s for s in steps if not s.as_expected]
    missing = demo.missing()
    ok = not wrong and not missing
    say(
        f"\n  {len(steps)} steps, {len(steps) - len(wrong)} as expected; "
        f"{len(demo.events)} events (saved to {demo.saved}); {seconds:.1f} s"
    )
    if missing:
        say(f"  MISSING events: {', '.join(missing)} (is the relay running?)")
    say("  demo finished: OK" if ok else "  demo finished: FAILED")
    return 0 if ok else 1
