"""The end-to-end demo on the embedded default (filled in by the demo issue)."""

from __future__ import annotations

from workers.settings import Settings


def run_demo(settings: Settings) -> int:
    raise SystemExit("the demo is not written yet")
