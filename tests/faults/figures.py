"""The figures the fault suite measures, printed at the end of the run and kept as JSON.

Each scenario records one row: its name and its figures (counts, with the target each must
meet). ``GAMEWORKER_FAULTS_FIGURES`` names a JSON file to write them to (the report command
reads it back).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workers.faults_report import render as render


@dataclass
class Scenario:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    """Figure name -> the value it must have (0 lost, 0 crashes...)."""

    def at_target(self) -> bool:
        return all(self.figures.get(k) == v for k, v in self.targets.items())


_SCENARIOS: dict[str, Scenario] = {}
# Read once, at import: the tests' own fixtures clear GAMEWORKER_* while a test runs.
FIGURES_FILE = os.environ.get("GAMEWORKER_FAULTS_FIGURES")


def record(name: str, figures: dict[str, Any], targets: dict[str, Any] | None = None) -> None:
    """Record the figures of one scenario; counts recorded again under one name add up."""
    found = _SCENARIOS.setdefault(name, Scenario(name))
    for key, value in figures.items():
        old = found.figures.get(key)
        counts = type(old) is int and type(value) is int
        found.figures[key] = old + value if counts else value
    found.targets.update(targets or {})
    if FIGURES_FILE:
        Path(FIGURES_FILE).write_text(json.dumps(all_rows(), indent=2, default=str))


def all_rows() -> list[dict[str, Any]]:
    return [asdict(s) | {"at_target": s.at_target()} for s in _SCENARIOS.values()]
