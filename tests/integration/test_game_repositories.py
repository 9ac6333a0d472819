"""The games and game tasks repositories on SQLite and PostgreSQL: round trips, constraints
mapped to conflicts by name, the partial live-name index, purges, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.errors import Conflict
from domain.game_tasks import GameTask
from domain.games import Game
from domain.paging import PageRequest, SortKey
from domain.queries import GameFilters, GameScope
from persistence.database import Database
from persistence.tables import game_params, game_task_params, game_tasks, games

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def new_game(
    account: str = "acme", name: str = "Chess", slug: str | None = None, **fields: Any
) -> Game:
    game = Game.new(
        account,
        slug or f"s-{name.lower().replace(' ', '-')}-{account}",
        "alice",
        {"name": name, **fields},
    )
    game.events.clear()
    return game


def new_task(game: Game, ext: str, **fields: Any) -> GameTask:
    task = GameTask.new(game.id, game.account_id, {"external_task_id": ext, **fields})
    task.events.clear()
    return task


def add(db: Database, *entities: Game | GameTask) -> None:
    with db.unit_of_work() as uow:
        for entity in entities:
            if isinstance(entity, Game):
                uow.games.add(entity)
            else:
                uow.game_tasks.add(entity)
        uow.commit()


def conflict(db: Database, *entities: Game | GameTask, update: Game | None = None) -> Conflict:
    with db.unit_of_work() as uow, pytest.raises(Conflict) as caught:
        if update is not None:
            uow.games.update(update)
        for entity in entities:
            if isinstance(entity, Game):
                uow.games.add(entity)
            else:
                uow.game_tasks.add(entity)
    return caught.value


def count(db: Database, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_game_round_trips_every_field(db: Database) -> None:
    game = new_game(
        external_game_id="ext:1.a_b-c",
        platform="pc",
        description="ü" * 2000,
        tags=["b", "a", "ünï"],
        page_url="https://example.com/x?y=1",
        steam_app_id="9" * 20,
        anti_cheat_enabled=False,
        default_board_id="board-1",
        strategy_id="socio_bee",
        params={"int": 7, "big": 2**53, "float": 1.25, "yes": True, "no": False, "s": "x" * 1000},
    )
    game.created_at = game.updated_at = T0
    game.deleted_at = T0 + timedelta(microseconds=1)
    add(db, game)
    with db.unit_of_work() as uow:
        loaded = uow.games.get(game.id)
        assert loaded is not None
        assert loaded.to_dict() == game.to_dict()
        assert loaded.created_at == T0 and loaded.created_at.tzinfo is not None
        assert isinstance(loaded.params["yes"], bool) and isinstance(loaded.params["int"], int)
        assert isinstance(loaded.params["float"], float)
        assert uow.games.get_by_slug(game.slug).id == game.id  # type: ignore[union-attr]
        assert uow.games.get("gam_missing") is None and uow.games.get_by_slug("nope") is None


def test_params_are_replaced_on_update_and_kept_when_unchanged(db: Database) -> None:
    game = new_game(params={"a": 1, "b": 2})
    add(db, game)
    with db.unit_of_work() as uow:
        game.params = {"b": 3, "c": "x"}
        uow.games.update(game)
        uow.commit()
    with db.unit_of_work() as uow:
        loaded = uow.games.get(game.id)
        assert loaded is not None and loaded.params == {"b": 3, "c": "x"}
        loaded.platform = "pc"
        loaded.params = {"ignored": 1}
        uow.games.update(loaded, params_changed=False)
        uow.commit()
    with db.unit_of_work() as uow:
        loaded = uow.games.get(game.id)
        assert (
            loaded is not None and loaded.platform == "pc" and loaded.params == {"b": 3, "c": "x"}
        )


@pytest.mark.parametrize(
    ("second", "field", "constraint"),
    [
        (lambda: new_game(name="Chess", slug="other"), "name", "uq_games_live_name"),
        (lambda: new_game(name="Other", slug="s-chess-acme"), "slug", "uq_games_slug"),
        (lambda: new_game("globex", name="Other", slug="s-chess-acme"), "slug", "uq_games_slug"),
        (
            lambda: new_game(name="Other", slug="other", external_game_id="ext-1"),
            "external_game_id",
            "uq_games_external_id",
        ),
    ],
)
def test_unique_violations_become_conflicts_named_by_constraint(
    db: Database, second: Any, field: str, constraint: str
) -> None:
    add(db, new_game(external_game_id="ext-1"))
    error = conflict(db, second())
    assert error.code == "conflict"
    assert error.names_field(field) and error.details["constraint"] == constraint
    assert count(db, games) == 1


def test_the_same_external_id_and_name_in_another_account_are_fine(db: Database) -> None:
    add(db, new_game(external_game_id="ext-1"), new_game("globex", external_game_id="ext-1"))
    assert count(db, games) == 2


def test_a_conflict_in_add_leaves_the_transaction_usable(db: Database) -> None:
    add(db, new_game())
    with db.unit_of_work() as uow:
        with pytest.raises(Conflict):
            uow.games.add(new_game(slug="other"))
        uow.games.add(new_game(name="Fine", slug="fine"))
        uow.commit()
    assert count(db, games) == 2


def test_a_game_task_external_id_is_unique_per_game(db: Database) -> None:
    first, second = new_game(), new_game(name="Two", slug="two")
    add(db, first, second, new_task(first, "t-1", params={"p": 1}))
    error = conflict(db, new_task(first, "t-1"))
    assert error.names_field("external_task_id")
    assert error.details["constraint"] == "uq_game_tasks_external_id"
    add(db, new_task(second, "t-1"))
    assert count(db, game_tasks) == 2 and count(db, game_task_params) == 1


def test_an_integrity_error_that_is_no_unique_rule_is_not_dressed_as_a_conflict(
    db: Database,
) -> None:
    orphan = new_task(new_game(), "t-1")  # its game was never stored
    with db.unit_of_work() as uow, pytest.raises(IntegrityError):
        uow.game_tasks.add(orphan)


def test_deleted_games_free_the_name_and_restoring_conflicts(db: Database) -> None:
    first = new_game(slug="first")
    first.deleted_at = T0
    second = new_game(slug="second")
    second.deleted_at = T0  # two deleted games may share a name
    add(db, first, second)
    live = new_game(slug="live")
    add(db, live)
    first.deleted_at = None
    error = conflict(db, update=first)
    assert error.names_field("name") and error.details["constraint"] == "uq_games_live_name"
    with db.unit_of_work() as uow:
        live.name = "Renamed"
        uow.games.update(live)
        uow.games.update(first)  # the name is free now
        uow.commit()


def test_the_slug_and_external_id_of_a_deleted_game_stay_taken(db: Database) -> None:
    gone = new_game(slug="kept", external_game_id="ext-1")
    gone.deleted_at = T0
    add(db, gone)
    assert conflict(db, new_game(name="New", slug="kept")).names_field("slug")
    assert conflict(db, new_game(name="New", slug="n", external_game_id="ext-1")).names_field(
        "external_game_id"
    )


def test_purge_removes_the_game_its_tasks_and_all_their_params(db: Database) -> None:
    doomed = new_game(params={"a": 1, "b": 2, "c": 3})
    kept = new_game(name="Kept", slug="kept", params={"k": 1})
    add(
        db,
        doomed,
        kept,
        new_task(doomed, "t-1", params={"x": 1, "y": 2}),
        new_task(doomed, "t-2", params={"z": 1}),
        new_task(doomed, "t-3"),
        new_task(kept, "t-1", params={"q": 1}),
    )
    with db.unit_of_work() as uow:
        assert uow.games.purge(doomed) == (3, 6)
        uow.commit()
    assert (count(db, games), count(db, game_params)) == (1, 1)
    assert (count(db, game_tasks), count(db, game_task_params)) == (1, 1)
    with db.unit_of_work() as uow:
        assert uow.games.purge(kept) == (1, 2)  # the game's one param and its task's one


def test_game_task_round_trip_update_and_delete(db: Database) -> None:
    game = new_game()
    task = new_task(game, "t-1", status="running", strategy_id="greengageStrategy", params={"p": 1})
    add(db, game, task)
    with db.unit_of_work() as uow:
        loaded = uow.game_tasks.get(task.id)
        assert loaded is not None and loaded.to_dict() == task.to_dict()
        assert loaded.account_id == "acme"
        assert uow.game_tasks.get_by_external_id(game.id, "t-1").id == task.id  # type: ignore[union-attr]
        assert uow.game_tasks.get_by_external_id(game.id, "t-2") is None
        loaded.status, loaded.params = "done", {"q": 2, "r": 3}
        uow.game_tasks.update(loaded)
        uow.commit()
    with db.unit_of_work() as uow:
        loaded = uow.game_tasks.get(task.id)
        assert loaded is not None and (loaded.status, loaded.params) == ("done", {"q": 2, "r": 3})
        assert uow.game_tasks.delete(loaded) == 2
        uow.commit()
    assert count(db, game_tasks) == 0 and count(db, game_task_params) == 0


def ids_of(db: Database, scope: GameScope, **filters: Any) -> set[str]:
    request = PageRequest(sort=(SortKey("id"),), limit=100)
    with db.unit_of_work() as uow:
        return {g.id for g in uow.games.page(scope, GameFilters.of(filters), request)}


def test_filters_on_the_real_stores(db: Database) -> None:
    a = new_game(
        name="50%_Off Chess", slug="a", tags=["x", "y"], platform="pc", external_game_id="e1"
    )
    b = new_game(
        name="Moon CHESS", slug="b", tags=["yy"], anti_cheat_enabled=False, external_game_id="e2"
    )
    c = new_game(name="Go", slug="c", tags=[], strategy_id="socio_bee")
    d = new_game("globex", name="Chess", slug="d", tags=["x"])
    b.created_at = b.updated_at = T0
    c.created_at = c.updated_at = T0 + timedelta(microseconds=1)
    add(db, a, b, c, d)
    acme = GameScope("acme")
    assert ids_of(db, acme) == {a.id, b.id, c.id}
    assert ids_of(db, GameScope(None)) == {a.id, b.id, c.id, d.id}
    assert ids_of(db, acme, name_contains="chess") == {a.id, b.id}
    assert ids_of(db, acme, name_contains="50%_") == {a.id}  # % and _ are literal
    assert ids_of(db, acme, name_contains="0%_O") == {a.id}
    assert ids_of(db, acme, name_contains="%") == {a.id}
    assert ids_of(db, acme, tag="x") == {a.id}
    assert ids_of(db, acme, tag="y") == {a.id}  # a whole tag, not a substring of "yy"
    assert ids_of(db, GameScope(None), tag="x") == {a.id, d.id}
    assert ids_of(db, acme, external_game_id=["e1", "e2", "e9"]) == {a.id, b.id}
    assert ids_of(db, acme, external_game_id="e2") == {b.id}
    assert ids_of(db, acme, platform="pc") == {a.id}
    assert ids_of(db, acme, slug="c") == {c.id}
    assert ids_of(db, acme, strategy_id="socio_bee") == {c.id}
    assert ids_of(db, acme, anti_cheat_enabled=False) == {b.id}
    assert ids_of(db, acme, anti_cheat_enabled=True) == {a.id, c.id}
    assert ids_of(db, acme, created_after=T0, created_before=T0 + timedelta(microseconds=1)) == {
        b.id
    }
    assert ids_of(db, acme, updated_after=T0 + timedelta(microseconds=1), tag="nope") == set()
    c.deleted_at = T0
    with db.unit_of_work() as uow:
        uow.games.update(c, params_changed=False)
        uow.commit()
    assert ids_of(db, acme) == {a.id, b.id}
    assert ids_of(db, GameScope("acme", include_deleted=True)) == {a.id, b.id, c.id}
    with db.unit_of_work() as uow:
        assert uow.games.count(acme, GameFilters()) == 2
        assert uow.games.count(GameScope(None, True), GameFilters(tag="x")) == 2


def test_lookups_by_external_id_slug_candidates_and_strategy(db: Database) -> None:
    a = new_game(slug="chess", external_game_id="e1", strategy_id="socio_bee", platform="pc")
    b = new_game("globex", slug="chess-2", external_game_id="e1", strategy_id="socio_bee")
    c = new_game(name="Other", slug="other")
    add(db, a, b, c)
    with db.unit_of_work() as uow:
        assert [g.id for g in uow.games.find_by_external_id("acme", "e1")] == [a.id]
        assert {g.id for g in uow.games.find_by_external_id(None, "e1")} == {a.id, b.id}
        assert uow.games.find_by_external_id("acme", "e9") == []
        assert uow.games.taken_slugs(["chess", "chess-2", "chess-3"]) == {"chess", "chess-2"}
        assert uow.games.external_ids("acme", [a.id, b.id, c.id, "gam_x"]) == {a.id: "e1"}
        assert uow.games.external_ids(None, [a.id, b.id, c.id]) == {a.id: "e1", b.id: "e1"}
        request = PageRequest(sort=(SortKey("id"),), limit=10)
        rows = uow.games.page_by_strategy("acme", "socio_bee", request)
        assert rows == [{"id": a.id, "game_id": a.id, "external_game_id": "e1", "platform": "pc"}]
        assert len(uow.games.page_by_strategy(None, "socio_bee", request)) == 2
        assert uow.games.count_by_strategy("socio_bee") == 2
