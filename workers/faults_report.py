"""``gameworker faults report``: run the fault suite at full size and print its figures.

The suite lives in ``tests/faults`` of a checkout (it needs PostgreSQL, Redis and RabbitMQ on
127.0.0.1 and starts servers of its own); CI runs it scaled down. This command runs it with
``GAMEWORKER_FAULTS_SCALE`` (default 1: the issue's full counts: 5,000 commands per load
scenario, 10,000 fuzzed messages at the task code and 10,000 over the broker), collects the
figures every scenario records, and prints them with their targets. It exits non-zero when a
test failed or a figure is off its target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from workers.settings import Settings

SUITE = Path(__file__).resolve().parents[1] / "tests" / "faults"


def register(sub: Any) -> None:
    faults = sub.add_parser("faults", help="the fault, load and abuse suite")
    actions = faults.add_subparsers(dest="faults_command", required=True, metavar="ACTION")
    report = actions.add_parser("report", help="run the suite at full size and print its figures")
    report.add_argument("--scale", type=float, default=1.0, help="share of the full counts")
    report.add_argument("-k", dest="select", help="only the scenarios pytest -k selects")
    report.add_argument("--json", type=Path, help="also write the figures to this file")
    report.set_defaults(run=run)


def render(rows: list[dict[str, Any]]) -> list[str]:
    """The figures as lines of text: one block per scenario, each target shown."""
    lines: list[str] = []
    for row in rows:
        mark = "at target" if row["at_target"] else "OFF TARGET"
        lines.append(f"{row['name']}  [{mark}]")
        for key, value in row["figures"].items():
            target = row["targets"].get(key)
            suffix = "" if target is None else f"   (target {target})"
            lines.append(f"    {key:<52} {value}{suffix}")
    return lines


def run(_settings: Settings, args: argparse.Namespace) -> int:
    if not SUITE.is_dir():
        print(
            f"gameworker faults report: the suite is not here ({SUITE}); run this command "
            "from a checkout of gameworker (the suite is not part of the installed package).",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="gameworker-faults-") as folder:
        out = Path(folder) / "figures.json"
        env = {
            **os.environ,
            "GAMEWORKER_FAULTS_SCALE": str(args.scale),
            "GAMEWORKER_FAULTS_FIGURES": str(out),
        }
        command = [sys.executable, "-m", "pytest", str(SUITE), "-q", "-p", "no:cacheprovider"]
        if args.select:
            command += ["-k", args.select]
        print(f"gameworker faults report: running the suite at scale {args.scale} ...")
        tests = subprocess.run(command, cwd=SUITE.parents[1], env=env)
        rows: list[dict[str, Any]] = json.loads(out.read_text()) if out.exists() else []
    print()
    print(f"gameworker fault figures (scale {args.scale})")
    for line in render(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    off = [row["name"] for row in rows if not row["at_target"]]
    if off:
        print(f"\noff target: {', '.join(off)}")
    if tests.returncode != 0:
        print(f"\nthe suite failed (pytest exit {tests.returncode}): see its output above")
    return 1 if off or tests.returncode != 0 or not rows else 0
