"""The bench entry point still runs: every scenario but the strategies' cascade, tiny sizes.

Not a timed test: it checks that ``python -m bench`` starts its workers, drives them, writes
its JSON and chart and removes what it made, not how fast anything is.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from bench.cli import ROW
from bench.stack import CLAIM_KEY, REDIS_DBS
from tests.conftest import need
from tests.services import POSTGRES, REDIS

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {
    "throughput.create",
    "throughput.mixed",
    "latency.result",
    "latency.event",
    "pagination",
    "memory",
}


def bench_databases() -> set[str]:
    with psycopg.connect(POSTGRES.url, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'gwbench_%'")
        return {r[0] for r in rows}


def claimed_redis_dbs() -> set[int]:
    base = REDIS.url.rsplit("/", 1)[0]
    return {n for n in REDIS_DBS if redis.Redis.from_url(f"{base}/{n}").exists(CLAIM_KEY)}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_tiny_bench_runs_and_cleans_up(tmp_path: Path) -> None:
    need(POSTGRES)
    need(REDIS)
    databases, claimed = bench_databases(), claimed_redis_dbs()
    only = ["throughput", "latency", "memory", "pagination"]
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--only", *only, "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((tmp_path / "latest.json").read_text())
    verdicts = {v["key"]: v for v in figures["verdicts"]}
    assert set(verdicts) == TARGETS
    assert all(isinstance(v["value"], float | int) for v in verdicts.values()), verdicts
    throughput = figures["throughput"]["phases"]
    for phase in ("noop", "create", "mixed"):
        assert throughput[phase]["complete"] and not throughput[phase]["failed"], throughput
    assert throughput["create"]["events"] == throughput["create"]["n"]  # one game.created each
    assert figures["latency"]["figures"]["event_ms"]["p50"] is not None
    assert figures["memory"]["samples"] and figures["memory"]["max_rss_mb"] > 0
    sorts = {p["sort"] for p in figures["pagination"]["pages"]}
    assert len(sorts) == 14  # every sort field, both directions
    if importlib.util.find_spec("matplotlib") is not None:  # the `bench` extra
        assert list(tmp_path.glob("bench-*.png"))
    assert "games.create / no-op" in done.stdout
    # Its database and Redis DB are gone again.
    assert bench_databases() <= databases
    assert claimed_redis_dbs() <= claimed


def test_rollback_rows_are_read_from_the_strategies_bench_table() -> None:
    assert ROW.match("   100,000        12.345           10.000    1.23").groups() == (
        "100,000",
        "12.345",
        "10.000",
        "1.23",
    )
    assert ROW.match("         N  rollback (s)  bare UPDATE (s)   ratio") is None
