"""Hypothesis strategies of raw broker messages: what a broken or hostile producer publishes.

Bodies that are not JSON, invalid UTF-8, JSON of the wrong shape, JSON nested past every
parser's recursion limit, bodies over the size limit; content types that are not JSON (pickle,
YAML, plain text, the signed ``application/data``, nonsense); task headers with names no worker
knows, ids that are not strings, and time limits, ETAs and retry counts of the wrong type.
Each message names a marker (``Raw.key``) to find its dead letter or its result by.
"""

from __future__ import annotations

import json
import pickle
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.faults.garbage import Garbage, garbage

ACTOR = {"account_id": "acme", "subject": "fuzz"}
CONTENT_TYPES = [
    "application/x-python-serialize",
    "application/x-yaml",
    "text/plain",
    "application/data",
    "application/octet-stream",
    "application/x-msgpack",
    "image/png",
    "",
]


@dataclass
class Raw:
    """One message as it goes on the wire."""

    fault: str
    body: bytes
    content_type: str
    headers: dict[str, Any]
    queue: str = "games"
    content_encoding: str = "utf-8"
    properties: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None
    """The id a dead letter or a result of this message is found by (None: it has none)."""
    answered: bool = False
    """A well-formed task message: answered by its task (validation_error), not dead-lettered."""

    def __repr__(self) -> str:
        return (
            f"Raw({self.fault!r}, body={self.body[:120]!r}... ({len(self.body)} bytes), "
            f"content_type={self.content_type!r}, headers={str(self.headers)[:300]})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def task_headers(task_id: str, task: str = "games.create") -> dict[str, Any]:
    """Celery's protocol-2 headers of a task message."""
    return {
        "lang": "py",
        "task": task,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": "()",
        "kwargsrepr": "{}",
        "origin": "fuzz@localhost",
        "ignore_result": False,
    }


def body_of(kwargs: Any, args: Any = ()) -> bytes:
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    return json.dumps([list(args), kwargs, embed]).encode()


def deep_text(depth: int) -> bytes:
    """JSON ``depth`` levels deep, written without recursion (no encoder would)."""
    return b'[[], {"actor": ' + b"[" * depth + b"1" + b"]" * depth + b"}, {}]"


HEADER_FAULTS: list[tuple[str, Any]] = [
    ("timelimit", "soon"),
    ("timelimit", [1, 2, 3]),
    ("timelimit", ["a", None]),
    ("eta", "not-a-date"),
    ("eta", 12),
    ("expires", "yesterday-ish"),
    ("expires", {"when": 1}),
    ("retries", "many"),
    ("retries", None),
    ("argsrepr", "x" * 100_000),
    ("kwargsrepr", None),
    ("root_id", 7),
    ("parent_id", ["p"]),
    ("group", {"g": 1}),
    ("shadow", 12),
    ("stamps", "stamp"),
    ("ignore_result", "no"),
]


@st.composite
def raw_messages(draw: st.DrawFn, max_bytes: int = 1_000_000) -> Raw:
    """A raw message a worker must survive, and answer or dead-letter."""
    task_id = f"fuzz-{uuid.uuid4()}"
    headers = task_headers(task_id)
    fault = draw(
        st.sampled_from(
            [
                "binary body",
                "text body",
                "invalid utf-8",
                "json of the wrong shape",
                "deep json",
                "oversized",
                "content type",
                "unknown task",
                "id not a string",
                "no task header",
                "bad header",
                "command garbage",
            ]
        )
    )
    good = body_of({"actor": ACTOR, "data": {"name": f"fuzz-{task_id}"}})
    raw = Raw(fault, good, "application/json", headers, task_id=task_id)
    if fault == "binary body":
        raw.body = draw(st.binary(min_size=1, max_size=2_000))
    elif fault == "text body":
        raw.body = draw(st.text(min_size=1, max_size=500)).encode("utf-8", "surrogatepass")
        raw.body = raw.body if not _json_of_shape(raw.body) else b"not json" + raw.body
    elif fault == "invalid utf-8":
        raw.body = (
            good[:20] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"])) + good[20:]
        )
    elif fault == "json of the wrong shape":
        shape = draw(
            st.sampled_from(
                [b"{}", b"[]", b"null", b"1", b'"x"', b"[1,2]", b"[[],[],{}]", b'[{}, {}, {}]',
                 b'[[], {}, "embed"]', b"[[], [], []]", b'[1, {"actor": {}}, {}]']
            )
        )  # fmt: skip
        raw.body = shape
    elif fault == "deep json":
        raw.body = deep_text(draw(st.sampled_from([2_000, 20_000])))
    elif fault == "oversized":
        raw.body = body_of({"actor": ACTOR, "data": {"name": "x" * (max_bytes + 1)}})
    elif fault == "content type":
        raw.content_type = draw(st.sampled_from(CONTENT_TYPES))
        if raw.content_type == "application/x-python-serialize":
            raw.body = pickle.dumps(((), {"actor": ACTOR, "data": {}}, {}))
        raw.content_encoding = draw(st.sampled_from(["utf-8", "binary"]))
    elif fault == "unknown task":
        name = draw(st.sampled_from(["games.explode", "", "celery.ping", "x" * 300, "games"]))
        headers["task"] = name
    elif fault == "id not a string":
        headers["id"] = draw(st.sampled_from([None, 12, ["id"], {"id": 1}]))
        headers["root_id"] = headers["id"]
        raw.task_id = None
    elif fault == "no task header":
        del headers["task"]
        if draw(st.booleans()):
            raw.body = json.dumps({"id": task_id, "kwargs": {}}).encode()  # protocol 1-ish
    elif fault == "bad header":
        name, value = draw(st.sampled_from(HEADER_FAULTS))
        headers[name] = value
        raw.fault = f"bad header: {name}={str(value)[:20]}"
    else:
        g: Garbage = draw(garbage())
        raw.fault = f"command garbage: {g.fault}"
        headers["task"] = g.task
        raw.queue = "strategies" if g.task.startswith("strategies.") else "games"
        try:
            raw.body = body_of(g.kwargs, g.args)
        except (RecursionError, ValueError):  # deeper than json.dumps goes: send it as text
            raw.body = deep_text(5_000)
            raw.fault += " (as text)"
        else:
            raw.answered = True
    raw.properties = {"correlation_id": task_id, "reply_to": ""}
    return raw


def _json_of_shape(body: bytes) -> bool:
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return isinstance(value, list) and len(value) == 3
