"""The bench's options, shared by `python -m bench` and `gameworker bench` (light imports)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DESCRIPTION = (
    "Benchmarks of gameworker, each a ratio to a ceiling measured in the same run on the same "
    "machine (docs/benchmarks.md). Makes its own database, Redis DB and workers, and removes them."
)
SCENARIOS = ("throughput", "latency", "memory", "pagination", "rollback")
OUT = Path(__file__).resolve().parent / "out"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", nargs="+", choices=SCENARIOS, help="run these scenarios only")
    p.add_argument("-n", type=int, default=5_000, help="commands per throughput phase")
    p.add_argument("--warmup", type=int, default=500, help="untimed commands before each phase")
    p.add_argument("--latency-n", type=int, default=3_000, help="commands of the latency run")
    p.add_argument("--memory-n", type=int, default=10_000, help="commands of the memory run")
    p.add_argument("--memory-step", type=int, default=1_000, help="RSS sampled every so many")
    p.add_argument("--page-games", type=int, default=1_000_000, help="games in the paged account")
    p.add_argument("--page-repeats", type=int, default=25, help="timed reads per page (median)")
    p.add_argument("--rollback-games", type=int, default=100_000, help="games of the cascade")
    p.add_argument("--full", action="store_true", help="the cascade with 1,000,000 games too")
    p.add_argument(
        "-c",
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker processes (prefork), the same for the ceiling (default: CPU count)",
    )
    p.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="the server to make the bench's database on",
    )
    p.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379",
        help="the server (no DB number: one is claimed)",
    )
    p.add_argument(
        "--rabbitmq",
        nargs="?",
        const="amqp://guest:guest@127.0.0.1:5672",
        metavar="URL",
        help="the broker and the events on RabbitMQ, in a vhost of the run's own",
    )
    p.add_argument("--out", type=Path, default=OUT, help="where the JSON and PNG go")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: checks the bench still runs")
