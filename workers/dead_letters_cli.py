"""``gameworker dead-letters``: list, show and re-send the commands gameworker gave up on.

- ``list [--limit N] [--json]``: newest first: id, task, queue, attempts, last seen, whether it
  was re-sent, and the start of the error.
- ``show ID``: the whole row as JSON (arguments, error, first and last seen).
- ``resend ID [--force]``: sends the command again by name, with its original keyword
  arguments, to its queue, and marks the row re-sent. The idempotency key stays the same (a
  command sent without one gets its first task id as key), so a command that did go through in
  the meantime is answered from its record and changes nothing. A message that could not be
  decoded holds no command to re-send; a row already re-sent needs ``--force``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workers.settings import Settings

EXIT_NOT_FOUND, EXIT_REFUSED = 1, 2
QUEUE_OF = (("strategies.", "strategies"), ("maintenance.", "maintenance"))


def register(sub: Any) -> None:
    p = sub.add_parser(
        "dead-letters",
        help="list, show and re-send dead-lettered commands",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="dead_letters_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the newest dead letters")
    listing.add_argument("-n", "--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = actions.add_parser("show", help="one dead letter, in full, as JSON")
    show.add_argument("id", type=int)
    resend = actions.add_parser("resend", help="send a dead-lettered command again")
    resend.add_argument("id", type=int)
    resend.add_argument("--force", action="store_true", help="re-send even if re-sent before")
    p.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    from persistence.database import Database
    from persistence.dead_letters import DeadLetters
    from workers.reach import check_database

    check_database(settings.database)
    db = Database(settings.database, settings.cursor_secret.get_secret_value(), pool_size=1)
    try:
        with db.engine.begin() as conn:
            letters = DeadLetters(conn)
            if args.dead_letters_command == "list":
                return _list(letters.list(args.limit), args.json)
            row = letters.get(args.id)
            if row is None:
                print(f"gameworker: no dead letter {args.id}", file=sys.stderr)
                return EXIT_NOT_FOUND
            if args.dead_letters_command == "show":
                print(json.dumps(row, default=str, indent=2, ensure_ascii=False))
                return 0
            code = _resend(settings, row, args.force)
            if code == 0:
                letters.mark_resent(args.id)
            return code
    finally:
        db.dispose()


def _list(rows: list[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        for row in rows:
            print(json.dumps(row, default=str, ensure_ascii=False))
        return 0
    if not rows:
        print("no dead letters")
        return 0
    print(f"{'id':>6}  {'task':<28} {'queue':<12} {'tries':>5}  {'last seen':<20} resent  error")
    for r in rows:
        error = " ".join(str(r["error"]).split())
        print(
            f"{r['id']:>6}  {r['task'][:28]:<28} {(r['queue'] or '-')[:12]:<12} "
            f"{r['attempts']:>5}  {str(r['last_seen'])[:19]:<20} "
            f"{'yes' if r['resent_at'] else 'no':<6}  {error[:70]}"
        )
    return 0


def queue_for(task: str, queue: str | None) -> str:
    if queue:
        return queue
    for prefix, name in QUEUE_OF:
        if task.startswith(prefix):
            return name
    return "games"


def _resend(settings: Settings, row: dict[str, Any], force: bool) -> int:
    arguments = row["arguments"] if isinstance(row["arguments"], dict) else {}
    kwargs = arguments.get("kwargs")
    if not isinstance(kwargs, dict):
        print(
            f"gameworker: dead letter {row['id']} holds no command to re-send (the message "
            f"could not be decoded: {row['error'][:200]})",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if row["resent_at"] and not force:
        print(
            f"gameworker: dead letter {row['id']} was re-sent at {row['resent_at']}; "
            "use --force to send it again",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if "idempotency_key" not in kwargs and row["task_id"]:
        kwargs = {**kwargs, "idempotency_key": row["task_id"]}  # the key it ran under
    from workers.app import create_app
    from workers.reach import check_settings_broker

    check_settings_broker(settings)
    app = create_app(settings)
    try:
        queue = queue_for(row["task"], row["queue"])
        sent = app.send_task(row["task"], kwargs=kwargs, queue=queue)
    finally:
        app.close()
    print(json.dumps({"dead_letter": row["id"], "task": row["task"], "queue": queue,
                      "task_id": sent.id}))  # fmt: skip
    return 0
