"""A first end-to-end walk: a command sent by name is answered, on both stores."""

from __future__ import annotations

from tests.conftest import Send


def test_create_then_get_by_slug(send: Send) -> None:
    created = send("games.create", {"name": "Space Chess"})
    assert created["ok"], created
    got = send("games.get", {"slug": created["data"]["slug"]})
    assert got == created


def test_redis_and_postgres(redis_send: Send) -> None:
    created = redis_send("games.create", {"name": "Space Chess"})
    assert created["ok"], created
    assert redis_send("games.get", {"game_id": created["data"]["id"]}) == created


def test_second_command_in_same_module_sees_empty_tables(send: Send) -> None:
    listed = send("games.list", {})
    assert listed["ok"] and listed["data"]["items"] == []
