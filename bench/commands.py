"""Scenarios 1, 2 and 5: commands through real workers, timed by the producer process.

1. Throughput: N ``games.create`` (and N of the mixed workload) until every result and event
   has arrived, against the ceiling: N ``bench.noop`` on the same app, broker, pool and
   concurrency.
2. Latency: ``games.create`` paced at half the rate scenario 1 saturated at; p50/p95/p99 from
   send to result and from send to event.
5. Memory: the RSS of every worker pool process after each 1,000 of 10,000 mixed commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from bench.stack import Stack

ACCOUNT = "bench"


def run_producer(
    stack: Stack,
    phases: list[dict[str, Any]],
    on_phase: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the phases in a producer process of their own: ``{phase name: its figures}``."""
    plan = {
        "broker": stack.broker_url,
        "results": stack.results_url,
        "events": stack.broker_url,
        "account": ACCOUNT,
        "phases": phases,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.producer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(plan))
    proc.stdin.close()
    out: dict[str, dict[str, Any]] = {}
    for line in proc.stdout:
        figures = json.loads(line)
        out[figures["phase"]] = figures
        _check(figures, stack)
        if on_phase is not None:
            on_phase(figures)
    if proc.wait() != 0:
        raise RuntimeError(f"the bench producer exited with {proc.returncode}")
    return out


def _check(figures: dict[str, Any], stack: Stack) -> None:
    if figures["complete"] and not figures["failed"]:
        return
    tails = "\n".join(w.tail() for w in stack.workers)
    print(
        f"bench: phase {figures['phase']} incomplete or failed: {figures}\n{tails}", file=sys.stderr
    )


def throughput(stack: Stack, n: int, warmup: int) -> dict[str, Any]:
    """Scenario 1: games.create and the mixed workload, each as a ratio to the no-op."""
    phases = [
        {"name": "warmup-noop", "workload": "noop", "n": warmup},
        {"name": "noop", "workload": "noop", "n": n},
        {"name": "warmup-create", "workload": "create", "n": warmup},
        {"name": "create", "workload": "create", "n": n},
        {"name": "mixed", "workload": "mixed", "n": n},
        {"name": "noop-again", "workload": "noop", "n": n},
    ]
    figures = run_producer(stack, phases)
    # The ceiling is the better of two no-op runs, one before and one after the commands.
    ceiling = max(figures["noop"]["throughput"] or 0, figures["noop-again"]["throughput"] or 0)
    out: dict[str, Any] = {"ceiling": ceiling, "phases": figures, "ratios": {}}
    for name in ("create", "mixed"):
        rate = figures[name]["throughput"] or 0
        out["ratios"][name] = round(rate / ceiling, 3) if ceiling else None
    return out


def latency(stack: Stack, saturated: float, n: int, warmup: int) -> dict[str, Any]:
    """Scenario 2: games.create at half the saturating rate."""
    rate = max(1.0, saturated / 2)
    phases = [
        {"name": "warmup-latency", "workload": "create", "n": warmup, "rate": rate},
        {"name": "latency", "workload": "create", "n": n, "rate": rate},
    ]
    figures = run_producer(stack, phases)["latency"]
    out: dict[str, Any] = {"rate": round(rate, 2), "figures": figures, "ratios": {}}
    for kind in ("result_ms", "event_ms"):
        p50, p99 = figures[kind]["p50"], figures[kind]["p99"]
        out["ratios"][kind] = round(p99 / p50, 3) if p50 and p99 else None
    return out


def memory(stack: Stack, n: int, step: int, warmup: int) -> dict[str, Any]:
    """Scenario 5: RSS (MB) of each pool process after every ``step`` mixed commands."""
    samples: list[dict[str, Any]] = []
    done = 0

    def sample(figures: dict[str, Any]) -> None:
        nonlocal done
        if not figures["phase"].startswith("memory-"):
            return
        done += figures["n"]
        rss = {}
        for worker in stack.workers:
            for child in worker.children():
                try:
                    rss[str(child.pid)] = round(child.memory_info().rss / 2**20, 1)
                except Exception:  # recycled since it was listed
                    continue
        samples.append({"commands": done, "rss_mb": rss})

    phases = [{"name": "warmup-memory", "workload": "create", "n": warmup}]
    phases += [
        {"name": f"memory-{i}", "workload": "mixed", "n": step} for i in range(max(1, n // step))
    ]
    run_producer(stack, phases, on_phase=sample)
    last = samples[-1]["rss_mb"] if samples else {}
    first = samples[0]["rss_mb"] if samples else {}
    growth = {
        pid: round(mb - first[pid], 1) for pid, mb in last.items() if pid in first
    }  # a pid missing from the first sample was recycled (worker_max_tasks_per_child)
    return {
        "commands": done,
        "samples": samples,
        "max_rss_mb": max(last.values(), default=None),
        "growth_mb": growth,
        "max_growth_mb": max(growth.values(), default=None),
    }
