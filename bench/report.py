"""The bench's outputs: a table on stdout, the figures as JSON, a PNG chart (matplotlib)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "throughput.create": ("games.create / no-op", ">=", 0.7),
    "throughput.mixed": ("mixed 70/20/10 / no-op", ">=", 0.7),
    "latency.result": ("p99 / p50, send -> result", "<=", 3.0),
    "latency.event": ("p99 / p50, send -> event", "<=", 3.0),
    "rollback": ("rollback / raw UPDATEs", "<=", 1.2),
    "pagination": ("page / hand-written SELECT (worst)", "<=", 1.5),
    "memory": ("max RSS per worker process (MB)", "<=", 120.0),
}


def verdicts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: the measured value, its ceiling or reference, and whether it holds."""
    rows: list[dict[str, Any]] = []

    def add(key: str, value: float | None, reference: str) -> None:
        label, op, target = TARGETS[key]
        holds = None if value is None else (value >= target if op == ">=" else value <= target)
        rows.append(
            {
                "key": key,
                "what": label,
                "value": value,
                "target": f"{op} {target:g}",
                "reference": reference,
                "holds": holds,
            }
        )

    if t := figures.get("throughput"):
        phases = t["phases"]
        ceiling = f"no-op {t['ceiling']:.0f}/s"
        add(
            "throughput.create",
            t["ratios"]["create"],
            f"{phases['create']['throughput']:.0f}/s vs {ceiling}",
        )
        add(
            "throughput.mixed",
            t["ratios"]["mixed"],
            f"{phases['mixed']['throughput']:.0f}/s vs {ceiling}",
        )
    if lat := figures.get("latency"):
        for kind, key in (("result_ms", "latency.result"), ("event_ms", "latency.event")):
            f = lat["figures"][kind]
            add(
                key,
                lat["ratios"][kind],
                f"p50 {f['p50']} / p95 {f['p95']} / p99 {f['p99']} ms at {lat['rate']}/s",
            )
    if rb := figures.get("rollback"):
        for row in rb.get("sizes", []):
            add(
                "rollback",
                row["ratio"],
                f"N={row['n']:,}: {row['rollback_s']} s vs {row['bare_s']} s",
            )
        if rb.get("error"):
            add("rollback", None, rb["error"][:80])
    if pg := figures.get("pagination"):
        add("pagination", pg["max_ratio"], f"worst {pg['worst']} of {pg['games']:,} games")
    if mem := figures.get("memory"):
        add(
            "memory",
            mem["max_rss_mb"],
            f"after {mem['commands']:,} commands, growth {mem['max_growth_mb']} MB",
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'target':<38} {'value':>8} {'goal':>8}  {'ok':<4} reference", "-" * 100]
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.3g}"
        ok = {True: "yes", False: "NO", None: "?"}[r["holds"]]
        lines.append(f"{r['what']:<38} {value:>8} {r['target']:>8}  {ok:<4} {r['reference']}")
    return "\n".join(lines)


def pagination_table(pg: dict[str, Any]) -> str:
    lines = [
        f"{'sort':<22} {'depth':>6} {'ours ms':>8} {'hand ms':>8} {'ratio':>6} "
        f"{'stmts':>5} {'rows read':>9}  index",
    ]
    for r in pg["pages"]:
        plan = r["plan"]
        index = ",".join(plan["indexes"]) or "-"
        if plan["sort"]:
            index += " +" + "+".join(plan["sort"])
        if plan["seq_scan"]:
            index += " +SEQ SCAN"
        lines.append(
            f"{r['sort']:<22} {r['depth']:>6} {r['product_ms']:>8.3f} {r['hand_ms']:>8.3f} "
            f"{r['ratio']:>6.2f} {r['statements']:>5} {plan['rows_read']:>9}  {index}"
        )
    return "\n".join(lines)


def write(figures: dict[str, Any], out: Path, stamp: str) -> tuple[Path, Path | None]:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps(figures, indent=2, default=str))
    (out / "latest.json").write_text(path.read_text())
    return path, chart(figures, out / f"bench-{stamp}.png")


def chart(figures: dict[str, Any], path: Path) -> Path | None:
    """Throughput against its ceiling and the latency percentiles; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    t, lat = figures.get("throughput"), figures.get("latency")
    if not t and not lat:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    if t:
        names = ["no-op (ceiling)", "games.create", "mixed 70/20/10"]
        rates = [
            t["ceiling"],
            t["phases"]["create"]["throughput"],
            t["phases"]["mixed"]["throughput"],
        ]
        bars = left.bar(names, rates, color=["#999999", "#3b75af", "#519e3e"])
        left.bar_label(bars, labels=[f"{r:.0f}/s" for r in rates])
        left.axhline(0.7 * t["ceiling"], color="#c03d3e", linestyle="--", label="0.7 x ceiling")
        left.set_title("Throughput (commands/s, until every result and event)")
        left.legend(loc="lower right")
    if lat:
        qs = ["p50", "p95", "p99"]
        x = range(len(qs))
        for offset, (kind, label) in enumerate(
            (("result_ms", "send -> result"), ("event_ms", "send -> event"))
        ):
            values = [lat["figures"][kind][q] or 0 for q in qs]
            bars = right.bar([i + offset * 0.4 for i in x], values, width=0.4, label=label)
            right.bar_label(bars, labels=[f"{v:.0f}" for v in values])
        right.set_xticks([i + 0.2 for i in x], qs)
        right.set_title(f"Latency (ms) at {lat['rate']:.0f} games.create/s")
        right.legend()
    machine = figures.get("machine", {})
    fig.suptitle(
        f"gameworker bench on {figures.get('broker')}, {figures.get('concurrency')} processes; "
        f"{machine.get('cores')} cores, {machine.get('cpu', '')[:40]}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
