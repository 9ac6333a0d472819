"""The game and the game task: patch semantics, soft deletion, params and the events recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from domain import events
from domain.clock import iso
from domain.game_tasks import GameTask
from domain.games import Game


def game(**fields: object) -> Game:
    made = Game.new("acme", "space-chess", "alice", {"name": "Space Chess", **fields})
    made.events.clear()
    return made


def test_a_new_game_has_the_create_defaults_and_records_created() -> None:
    made = Game.new("acme", "space-chess", "alice", {"name": "Space Chess"})
    assert made.id.startswith("gam_") and len(made.id) == 30
    assert made.created_at == made.updated_at and made.deleted_at is None
    assert made.created_by == made.updated_by == "alice"
    data = made.to_dict()
    assert list(data) == [
        "id",
        "account_id",
        "name",
        "slug",
        "external_game_id",
        "platform",
        "description",
        "tags",
        "page_url",
        "steam_app_id",
        "anti_cheat_enabled",
        "default_board_id",
        "strategy_id",
        "params",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "deleted_at",
    ]
    assert data["tags"] == [] and data["params"] == {} and data["strategy_id"] == "default"
    assert data["anti_cheat_enabled"] is True and data["deleted_at"] is None
    assert data["created_at"].endswith("Z")
    assert [(e.type, e.subject, e.account_id, e.data) for e in made.events] == [
        (events.GAME_CREATED, made.id, "acme", data)
    ]


def test_patch_applies_present_keys_and_null_resets_to_the_create_default() -> None:
    g = game(
        platform="pc",
        tags=["a"],
        anti_cheat_enabled=False,
        strategy_id="socio_bee",
        params={"x": 1},
        description="d",
    )
    changed = g.patch(
        {
            "platform": None,
            "tags": None,
            "anti_cheat_enabled": None,
            "strategy_id": None,
            "params": None,
            "name": "Chess 2",
        },
        "bob",
    )
    assert changed == {"platform", "tags", "anti_cheat_enabled", "strategy_id", "params", "name"}
    assert (g.platform, g.tags, g.anti_cheat_enabled, g.strategy_id, g.params, g.name) == (
        None,
        [],
        True,
        "default",
        {},
        "Chess 2",
    )
    assert g.description == "d"  # absent keys stay
    assert g.updated_by == "bob" and g.created_by == "alice"
    assert g.updated_at >= g.created_at
    assert [e.type for e in g.events] == [events.GAME_UPDATED]
    assert g.events[0].data == g.to_dict()


def test_a_patch_that_changes_nothing_records_nothing() -> None:
    g = game(platform="pc")
    before = g.to_dict()
    assert g.patch({"platform": "pc", "name": "Space Chess", "tags": None}, "bob") == set()
    assert g.to_dict() == before and g.events == []


def test_updated_at_never_goes_backward() -> None:
    g = game()
    future = g.updated_at + timedelta(days=1)
    g.updated_at = future
    g.patch({"platform": "pc"}, "bob")
    assert g.updated_at == future


def test_soft_delete_and_restore_are_idempotent() -> None:
    g = game()
    assert g.soft_delete("bob") is True and g.is_deleted
    deleted_at = g.deleted_at
    assert g.soft_delete("carol") is False and g.deleted_at == deleted_at
    assert g.updated_by == "bob"
    assert g.restore("carol") is True and not g.is_deleted and g.updated_by == "carol"
    assert g.restore("dave") is False
    assert [e.type for e in g.events] == [events.GAME_DELETED, events.GAME_RESTORED]
    assert g.events[0].data["deleted_at"] is not None
    assert g.events[1].data["deleted_at"] is None


def test_params_are_upserted_and_deleted() -> None:
    g = game(params={"a": 1, "b": "x"})
    g.set_params({"b": "y", "c": True}, "bob")
    assert g.params == {"a": 1, "b": "y", "c": True}
    g.set_params({"a": 1}, "bob")  # no change: no event
    g.delete_params(["a", "missing"], "bob")
    assert g.params == {"b": "y", "c": True}
    g.delete_params(["missing"], "bob")  # no change: no event
    assert [e.type for e in g.events] == [events.GAME_UPDATED, events.GAME_UPDATED]


def test_purged_records_the_summary() -> None:
    g = game()
    summary = g.purged(2, 5)
    assert summary == {"game_id": g.id, "tasks_deleted": 2, "params_deleted": 5}
    assert [(e.type, e.data) for e in g.events] == [(events.GAME_PURGED, summary)]


def test_a_game_task_patch_and_delete() -> None:
    task = GameTask.new("gam_1", "acme", {"external_task_id": "t-1"})
    assert task.id.startswith("tsk_")
    assert task.to_dict() == {
        "id": task.id,
        "game_id": "gam_1",
        "external_task_id": "t-1",
        "strategy_id": "default",
        "status": "open",
        "params": {},
        "created_at": task.to_dict()["created_at"],
        "updated_at": task.to_dict()["updated_at"],
    }
    assert task.patch({"status": "done", "params": {"p": 1}}) == {"status", "params"}
    assert task.patch({"status": "done"}) == set()
    assert task.patch({"status": None, "strategy_id": None, "params": None}) == {
        "status",
        "params",
    }
    assert (task.status, task.strategy_id, task.params) == ("open", "default", {})
    assert task.deleted() == {"task_id": task.id, "game_id": "gam_1"}
    assert [e.type for e in task.events] == [
        events.GAME_TASK_CREATED,
        events.GAME_TASK_UPDATED,
        events.GAME_TASK_UPDATED,
        events.GAME_TASK_DELETED,
    ]
    assert all(e.account_id == "acme" and e.subject == task.id for e in task.events)


def test_timestamps_are_fixed_width_utc_text() -> None:
    assert iso(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05.000000Z"
    assert iso(datetime(2024, 1, 2, 3, 4, 5, 7, tzinfo=UTC)) == "2024-01-02T03:04:05.000007Z"
    plus_two = timezone(timedelta(hours=2))
    assert iso(datetime(2024, 1, 2, 5, 4, 5, tzinfo=plus_two)) == "2024-01-02T03:04:05.000000Z"
    assert iso(None) is None
