"""``gameworker schema``: JSON Schema of every command, result and event, and the AsyncAPI doc.

Layout of ``--out`` (default ``./schemas``)::

    asyncapi.json                       AsyncAPI 3.0.0: channels, operations, messages
    commands/<task>.data.json           the command's ``data``
    commands/<task>.result.json         its answer: ``{ok: true, data}`` or ``{ok: false, error}``
    commands/actor.json                 the ``actor`` every command carries
    events/<type>.json                  the CloudEvent of one type, ``data`` included

Each file is a standalone JSON Schema (draft 2020-12), generated from the pydantic models the
worker validates with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from workers.settings import Settings

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "schema", help="write JSON Schemas of commands, results, events and an AsyncAPI doc"
    )
    p.add_argument("--out", type=Path, default=Path("schemas"), help="folder (default: schemas)")
    p.set_defaults(run=run)


def _standalone(schema: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": DIALECT, **schema, "title": title}


def documents() -> dict[str, dict[str, Any]]:
    """Every schema file by its relative path."""
    from pydantic import TypeAdapter

    from tasks.catalog import COMMANDS
    from tasks.event_models import EVENT_DATA, event_model
    from tasks.messages import ActorModel
    from tasks.result_models import Failed
    from workers.asyncapi import build_asyncapi, result_model

    docs: dict[str, dict[str, Any]] = {"asyncapi.json": build_asyncapi()}
    docs["commands/actor.json"] = _standalone(ActorModel.model_json_schema(), "actor")
    for c in COMMANDS.values():
        docs[f"commands/{c.name}.data.json"] = _standalone(
            c.data.model_json_schema(), f"{c.name} data"
        )
        union: Any = result_model(c) | Failed
        answer = TypeAdapter(union).json_schema()
        docs[f"commands/{c.name}.result.json"] = _standalone(answer, f"{c.name} result")
    for event_type in EVENT_DATA:
        docs[f"events/{event_type}.json"] = _standalone(
            event_model(event_type).model_json_schema(), f"gameworker.{event_type}"
        )
    return docs


def write(out: Path) -> list[Path]:
    written = []
    for relative, doc in documents().items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def run(_settings: Settings, args: argparse.Namespace) -> int:
    written = write(args.out)
    commands = sum(1 for p in written if p.parent.name == "commands")
    events = sum(1 for p in written if p.parent.name == "events")
    print(
        f"wrote {len(written)} files to {args.out}: asyncapi.json, {commands} command schemas, "
        f"{events} event schemas"
    )
    return 0
