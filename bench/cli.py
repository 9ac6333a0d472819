"""``python -m bench`` / ``gameworker bench``: every scenario, its ceiling, a table, JSON, a chart.

The run makes everything it needs (``bench.stack``): a database, a Redis database number (and
with ``--rabbitmq`` a vhost), real prefork workers; and removes it all at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import commands, report
from bench.options import DESCRIPTION, SCENARIOS, add_arguments
from bench.stack import Servers, Stack, describe_machine


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the scenarios the options name; the table on stdout, JSON and PNG in ``--out``."""
    if args.tiny:
        args.n, args.warmup, args.latency_n = 30, 6, 12
        args.memory_n, args.memory_step = 20, 10
        args.page_games, args.page_repeats, args.rollback_games = 1_000, 2, 200
    only = set(args.only or SCENARIOS)
    servers = Servers(args.postgres, args.redis, args.rabbitmq)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    figures: dict[str, Any] = {
        "started": stamp,
        "machine": describe_machine(),
        "concurrency": args.concurrency,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out",)},
    }
    try:
        scenarios(args, only, servers, figures)
    finally:  # what was measured is written even when a scenario fails
        rows = report.verdicts(figures)
        figures["verdicts"] = rows
        print()
        print(report.table(rows))
        data, png = report.write(figures, args.out, stamp)
        print(
            f"\nfigures: {data}"
            + (f"\nchart:   {png}" if png else "\nchart:   (pip install -e '.[bench]' for the PNG)")
        )
    return 0


def scenarios(
    args: argparse.Namespace, only: set[str], servers: Servers, figures: dict[str, Any]
) -> None:
    """Run the chosen scenarios in order, adding each one's figures as it ends."""
    with Stack(servers, args.concurrency) as stack:
        figures["broker"] = stack.broker_name
        if only & {"throughput", "latency", "memory"}:
            say(f"starting {args.concurrency} prefork worker processes on {stack.broker_name}")
            stack.start_workers()
            if "throughput" in only or "latency" in only:
                say(f"throughput: {args.n} no-op, games.create and mixed commands")
                figures["throughput"] = commands.throughput(stack, args.n, args.warmup)
                say(json.dumps(figures["throughput"]["ratios"]))
            if "latency" in only:
                saturated = figures["throughput"]["phases"]["create"]["throughput"] or 1.0
                say(f"latency: {args.latency_n} games.create at {saturated / 2:.0f}/s")
                figures["latency"] = commands.latency(stack, saturated, args.latency_n, args.warmup)
                say(json.dumps(figures["latency"]["ratios"]))
            if "memory" in only:
                say(f"memory: {args.memory_n} mixed commands")
                figures["memory"] = commands.memory(
                    stack, args.memory_n, args.memory_step, args.warmup
                )
            stack.stop_workers()
        if "pagination" in only:
            from bench.pagination import DEPTHS, pagination

            say(f"pagination: seeding {args.page_games:,} games, then every sort at 3 depths")
            depths = (1, 2, args.page_games // 20) if args.tiny else DEPTHS
            figures["pagination"] = pagination(
                stack.database_url, args.page_games, args.page_repeats, depths
            )
            print(report.pagination_table(figures["pagination"]))
    if "rollback" in only:
        say("rollback: the strategies bench (bench/rollback.py)")
        figures["rollback"] = rollback(args)


ROW = re.compile(r"^\s*([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")


def rollback(args: argparse.Namespace) -> dict[str, Any]:
    """Scenario 3, the strategies engineer's bench, in a process of its own."""
    sizes = [args.rollback_games] + ([1_000_000] if args.full else [])
    argv = [sys.executable, "-m", "bench.rollback", "--server", args.postgres, "--sizes"]
    done = subprocess.run(
        argv + [str(s) for s in sizes],
        capture_output=True,
        text=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    print(done.stdout, end="")
    rows = []
    for line in done.stdout.splitlines():
        if m := ROW.match(line):
            n, rb, bare, ratio = m.groups()
            rows.append(
                {
                    "n": int(n.replace(",", "")),
                    "rollback_s": float(rb),
                    "bare_s": float(bare),
                    "ratio": float(ratio),
                }
            )
    out: dict[str, Any] = {"sizes": rows}
    if done.returncode != 0 or not rows:
        out["error"] = (done.stderr.strip().splitlines() or ["no figures"])[-1]
    return out


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)
