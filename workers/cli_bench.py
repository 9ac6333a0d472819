"""``gameworker bench``: the benchmarks of ``bench/`` (docs/benchmarks.md).

The options are the bench's own (``bench.options``); ``gameworker bench --help`` lists them.
"""

from __future__ import annotations

import argparse
from typing import Any

from workers.settings import Settings


def register(sub: Any) -> None:
    from bench.options import DESCRIPTION, add_arguments

    p = sub.add_parser(
        "bench",
        help="run the benchmarks against ceilings measured in the same run",
        description=DESCRIPTION,
    )
    add_arguments(p)
    p.set_defaults(run=run_bench)


def run_bench(settings: Settings, args: argparse.Namespace) -> int:
    from bench.cli import run

    return run(args)
