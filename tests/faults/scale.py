"""How big the fault suite runs: ``GAMEWORKER_FAULTS_SCALE`` times the issue's full counts.

CI runs a slice (the default, 0.05) so the whole test run stays well inside its time limit;
``gameworker faults report`` runs the full counts (scale 1). Every scenario is bounded in
count and time at any scale.
"""

from __future__ import annotations

import os

DEFAULT_SCALE = 0.05


# Read once, at import: the tests' own fixtures clear GAMEWORKER_* while a test runs.
_RAW = os.environ.get("GAMEWORKER_FAULTS_SCALE", "")


def scale() -> float:
    raw = _RAW
    try:
        value = float(raw) if raw else DEFAULT_SCALE
    except ValueError:
        raise ValueError(f"GAMEWORKER_FAULTS_SCALE must be a number, got {raw!r}") from None
    if not 0 < value <= 10:
        raise ValueError(f"GAMEWORKER_FAULTS_SCALE must be in (0, 10], got {value}")
    return value


def scaled(full: int, minimum: int = 1) -> int:
    """The count of a scenario whose full size (scale 1) is ``full``."""
    return max(minimum, round(full * scale()))
