"""One upstream producer of the load scenarios: sends its commands, then collects the results.

Run as a script (``python load_producer.py SPEC_FILE``); it imports Celery alone. It behaves as
an upstream service should when the broker or the result backend goes away for a moment: it
sends a command again **with the same task id and idempotency key** until the send is
accepted, and keeps asking for a result until one comes or its deadline passes. A command
unanswered for ``answer_timeout`` seconds is sent again the same way (a broker can lose a
message it had just handed out when it stops). It writes one JSON line per command to
``out``: ``{"id", "result"}`` or ``{"id", "error"}``, and the number of sends it repeated.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from celery import Celery


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    app = Celery("load-producer", broker=spec["broker"], backend=spec["backend"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        broker_connection_timeout=2,
        broker_transport_options={"max_retries": 2},
        result_backend_transport_options={"retry_policy": {"timeout": 2.0}},
    )
    resent = 0
    deadline = time.monotonic() + spec["deadline"]
    for command in spec["commands"]:
        while True:
            try:
                app.send_task(
                    command["name"],
                    kwargs=command["kwargs"],
                    queue=command["queue"],
                    task_id=command["id"],
                    retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
                )
                break
            except Exception:  # the broker is away: send it again, same id, same key
                resent += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    sent_at = time.monotonic()
    lines = []
    for command in spec["commands"]:
        line = collect(spec, command["id"], deadline, sent_at, lambda c=command: send(app, c))
        lines.append(line)
    with open(spec["out"], "w") as out:
        for line in lines:
            out.write(json.dumps(line) + "\n")
        unanswered = sum(line.pop("resent_unanswered", 0) for line in lines)
        out.write(json.dumps({"resent": resent, "resent_unanswered": unanswered}) + "\n")
    app.close()


def send(app: Celery, command: dict[str, Any]) -> None:
    """Send a command again, with its task id and idempotency key: it runs at most once."""
    with contextlib.suppress(Exception):  # the next round tries again
        app.send_task(
            command["name"], kwargs=command["kwargs"], queue=command["queue"], task_id=command["id"]
        )


def client(spec: dict[str, Any]) -> Celery:
    app = Celery("load-results", broker=spec["broker"], backend=spec["backend"])
    app.conf.update(result_accept_content=["json"], accept_content=["json"])
    return app


_results: list[Celery] = []


def collect(
    spec: dict[str, Any],
    task_id: str,
    deadline: float,
    sent_at: float,
    resend: Callable[[], None],
) -> dict[str, Any]:
    """Poll one result; a backend that went away gets a new client (Celery's gives up).

    A command still unanswered ``answer_timeout`` seconds after it was sent (and after each
    further such wait) is sent again with the same id and key, as an upstream service should:
    a message the broker lost runs then, one merely late is answered from its record.
    """
    if not _results:
        _results.append(client(spec))
    resent = 0
    next_resend = sent_at + spec["answer_timeout"]
    while True:
        if time.monotonic() > next_resend:
            resend()
            resent += 1
            next_resend = time.monotonic() + spec["answer_timeout"]
        try:
            result = _results[0].AsyncResult(task_id)
            state = result.state
            if state == "SUCCESS":
                return {"id": task_id, "result": result.result, "resent_unanswered": resent}
            if state in ("FAILURE", "REVOKED"):
                return {"id": task_id, "error": f"{state}: {result.result!r}"[:500]}
        except Exception:  # the backend is away (or its client gave up): start afresh
            time.sleep(0.5)
            _results[0] = client(spec)
        if time.monotonic() > deadline:
            return {"id": task_id, "error": "no result before the deadline"}
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
