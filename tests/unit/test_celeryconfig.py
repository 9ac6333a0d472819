"""The Celery settings: at-least-once delivery, and every time limit below redelivery."""

from __future__ import annotations

from pathlib import Path

import pytest

import celeryconfig
from workers.settings import Settings


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(home=tmp_path, **values)  # type: ignore[arg-type]


def test_delivery_settings_are_at_least_once(tmp_path: Path) -> None:
    conf = celeryconfig.build(_settings(tmp_path))
    assert conf["task_serializer"] == "json" and conf["accept_content"] == ["json"]
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_time_limit"] < conf["broker_transport_options"]["visibility_timeout"]


def test_cascades_get_their_own_limits_below_the_visibility_timeout(tmp_path: Path) -> None:
    conf = celeryconfig.build(_settings(tmp_path))
    visibility = conf["broker_transport_options"]["visibility_timeout"]
    for name in ("strategies.rollback", "strategies.publish", "strategies.archive"):
        limits = conf["task_annotations"][name]
        assert conf["task_time_limit"] < limits["time_limit"] < visibility
        assert limits["soft_time_limit"] < limits["time_limit"]
    assert "games.create" not in conf["task_annotations"]


@pytest.mark.parametrize(
    "values",
    [
        {"cascade_time_limit": 4000},
        {"cascade_soft_time_limit": 1800, "cascade_time_limit": 1800},
        {"task_time_limit": 3600},
    ],
)
def test_a_limit_at_or_past_redelivery_is_refused(tmp_path: Path, values: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="visibility_timeout"):
        celeryconfig.build(_settings(tmp_path, **values))
