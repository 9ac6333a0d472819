"""``gameworker send``: send one command by name, as an upstream service would.

``--actor`` and ``--data`` take JSON, ``@file.json``, or ``-`` for standard input. Without
``--wait`` it prints the task id and queue. With ``--wait`` it shows a progress bar while the
task reports ``PROGRESS`` (meta ``{done, total}``), prints the answer as JSON (a maintenance
task's summary as it is) and exits with 0 for ``ok: true`` (or a summary), 1 for
``ok: false``, 3 when the task failed (dead-lettered), 4 on timeout.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from workers.settings import Settings

EXIT_REJECTED, EXIT_FAILED, EXIT_TIMEOUT = 1, 3, 4


def register(sub: Any) -> None:
    p = sub.add_parser(
        "send",
        help="send a command by name and (with --wait) print its answer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", help="the command's name, e.g. games.create")
    p.add_argument("--actor", help="JSON actor (required for commands; not for maintenance.*)")
    p.add_argument("--data", default="{}", help="JSON data of the command (default: {})")
    p.add_argument("--key", help="idempotency key (default: the Celery task id)")
    p.add_argument("--wait", action="store_true", help="wait for the answer and print it")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (60)")
    p.set_defaults(run=run)


class UsageError(Exception):
    pass


def read_json(value: str, option: str) -> Any:
    """Parse JSON given inline, as ``@path`` or ``-`` (stdin)."""
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{option}: cannot read {value[1:]}: {exc.strerror}") from None
    else:
        text = value
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from None


def check_task(task: str) -> None:
    from tasks.catalog import COMMANDS, SYSTEM_TASKS

    names = [*COMMANDS, *SYSTEM_TASKS]
    if task in names:
        return
    close = difflib.get_close_matches(task, names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UsageError(f"unknown task {task!r}.{hint} Known: {', '.join(sorted(names))}")


class ProgressBar:
    """``[#####.....] 512/1000  51%`` redrawn in place on a terminal, one line per step else."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.drawn = False
        self._last_line = 0.0

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 0.0
        filled = round(self.width * min(share, 1.0))
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {done}/{total} {share:4.0%}"
        if self.tty:
            self.stream.write("\r" + line)
            self.drawn = True
        elif time.monotonic() - self._last_line >= 0.5 or done >= total:
            self.stream.write(f"progress {line}\n")
            self._last_line = time.monotonic()
        self.stream.flush()

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def run(settings: Settings, args: argparse.Namespace) -> int:
    from workers.client import CommandFailed, CommandTimeout, GameworkerClient

    try:
        check_task(args.task)
        data = read_json(args.data, "--data")
        actor = read_json(args.actor, "--actor") if args.actor is not None else None
        if not isinstance(data, dict):
            raise UsageError("--data must be a JSON object")
        if actor is not None and not isinstance(actor, dict):
            raise UsageError("--actor must be a JSON object")
        if actor is None and not args.task.startswith(("maintenance.", "events.")):
            raise UsageError(
                'commands need --actor, e.g. --actor \'{"account_id": "acme", "subject": "me"}\''
            )
    except UsageError as exc:
        print(f"gameworker send: {exc}", file=sys.stderr)
        return 2
    with GameworkerClient.from_settings(settings, timeout=args.timeout) as client:
        _check_reachable(client, args.wait)
        result = client.send(args.task, actor, data, idempotency_key=args.key)
        if not args.wait:
            print(json.dumps({"task_id": result.id, "task": args.task, "queue": _queue(args)}))
            return 0
        bar = ProgressBar(sys.stderr)
        try:
            answer = client.wait(result, task=args.task, on_progress=bar)
        except CommandFailed as exc:
            bar.finish()
            print(json.dumps({"task_id": result.id, "state": "FAILURE", "error": exc.error}))
            return EXIT_FAILED
        except CommandTimeout as exc:
            bar.finish()
            print(f"gameworker send: {exc}", file=sys.stderr)
            return EXIT_TIMEOUT
        bar.finish()
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    rejected = isinstance(answer, dict) and answer.get("ok") is False
    return EXIT_REJECTED if rejected else 0


def _queue(args: argparse.Namespace) -> str:
    from tasks.catalog import queue_for

    return queue_for(args.task)


def _check_reachable(client: Any, wait: bool) -> None:
    from workers.reach import Unreachable, check_broker

    with client.app.connection_for_write() as conn:
        check_broker(conn)
    if wait:
        backend = client.app.backend
        try:
            backend.get_task_meta("gameworker-reachability-check")
        except Exception as exc:
            raise Unreachable("result backend", str(backend.as_uri()), exc) from None
