"""``gameworker``: run, migrate and talk to the service from a shell.

This file only dispatches. Each subcommand lives in its own module (``workers/cli_*.py``) with
``register(subparsers)``, which adds its parser and ``set_defaults(run=fn)``; ``fn(settings,
args) -> exit code``. To add one: write the module, then add it to ``SUBCOMMANDS``. Modules
import heavy things inside ``fn``, so ``gameworker --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pydantic

import workers.cli_bench as cli_bench
import workers.cli_events as cli_events
import workers.cli_flower as cli_flower
import workers.cli_migrate as cli_migrate
import workers.cli_run as cli_run
import workers.cli_schema as cli_schema
import workers.cli_send as cli_send
import workers.dead_letters_cli as dead_letters_cli
import workers.demo as demo
import workers.faults_report as faults_report
from workers.reach import Unreachable
from workers.settings import Settings

SUBCOMMANDS = (
    cli_migrate,
    cli_run,
    cli_flower,
    cli_send,
    cli_events,
    dead_letters_cli,
    cli_schema,
    demo,
    cli_bench,
    faults_report,
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gameworker")
    except PackageNotFoundError:  # a bare checkout, not installed
        return "unknown"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gameworker",
        description="Run, migrate and talk to gameworker. Settings come from GAMEWORKER_* "
        "variables; with none set, everything runs embedded under ./var.",
    )
    p.add_argument("--version", action="version", version=f"gameworker {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        try:
            module.register(sub)
        except ImportError:
            # A subcommand whose optional parts are not installed (the benchmarks are not in
            # the image) is left out rather than breaking every other one.
            continue
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
        settings.check()
    except (pydantic.ValidationError, ValueError) as exc:
        print(f"gameworker: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.run(settings, args))
    except Unreachable as exc:
        print(f"gameworker: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
