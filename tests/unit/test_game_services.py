"""The games use cases on fake repositories: rules, tenancy, slugs, events, paging."""

from __future__ import annotations

from typing import Any

import pytest

from domain import events
from domain.actor import Actor
from domain.clock import utcnow
from domain.errors import Conflict, DomainError, InvalidCursor, NotFound, ValidationError
from domain.services import games as svc
from domain.strategies import ARCHIVED, DRAFT, PUBLISHED, Strategy
from tests.fakes import FakeUnitOfWork

ACME = Actor("alice", "acme")
GLOBEX = Actor("gus", "globex")
ADMIN = Actor("ops", None, is_admin=True)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def create(uow: FakeUnitOfWork, actor: Actor = ACME, **data: Any) -> dict[str, Any]:
    data.setdefault("name", "Space Chess")
    made = svc.create_game(uow, actor, data)
    uow.commit()
    return made


def fails(kind: type[DomainError], call: Any, *args: Any) -> DomainError:
    with pytest.raises(kind) as caught:
        call(*args)
    return caught.value


def strategy(uow: FakeUnitOfWork, account: str = "acme", status: str = PUBLISHED) -> str:
    now = utcnow()
    made = Strategy(
        f"stg_{len(uow.strategies.rows) + 1:04d}",
        account,
        f"s{len(uow.strategies.rows) + 1}",  # one family each (the fake enforces the keys)
        "DSL_FULL",
        {},
        1,
        status,
        "x",
        now,
        now,
    )
    uow.strategies.add(made)
    return made.ref


# --- create ----------------------------------------------------------------------------------


def test_create_returns_the_game_and_records_one_event(uow: FakeUnitOfWork) -> None:
    made = svc.create_game(uow, ACME, {"name": "Space Chess", "tags": ["a"], "platform": "pc"})
    assert made["account_id"] == "acme" and made["slug"] == "space-chess"
    assert made["created_by"] == made["updated_by"] == "alice"
    assert made["tags"] == ["a"] and made["platform"] == "pc" and made["strategy_id"] == "default"
    assert [(e.type, e.subject, e.account_id, e.data) for e in uow.pending] == [
        (events.GAME_CREATED, made["id"], "acme", made)
    ]
    assert uow.games.get(made["id"]) is not None


def test_admin_creates_in_the_account_it_names(uow: FakeUnitOfWork) -> None:
    assert create(uow, ADMIN, account_id="globex")["account_id"] == "globex"
    error = fails(ValidationError, svc.create_game, uow, ADMIN, {"name": "x"})
    assert error.names_field("account_id")
    error = fails(ValidationError, svc.create_game, uow, ACME, {"name": "x", "account_id": "acme"})
    assert error.names_field("account_id")
    assert uow.pending == [] and len(uow.games.rows) == 1


def test_a_given_slug_is_used_and_a_taken_one_is_a_conflict(uow: FakeUnitOfWork) -> None:
    assert create(uow, slug="my-slug")["slug"] == "my-slug"
    error = fails(Conflict, svc.create_game, uow, GLOBEX, {"name": "Other", "slug": "my-slug"})
    assert error.names_field("slug")  # unique across accounts


def member(account: str) -> Actor:
    return Actor(f"key-{account}", account)


def test_generated_slugs_step_through_suffixes(uow: FakeUnitOfWork) -> None:
    made = [create(uow, actor, name="Space Chess")["slug"] for actor in (ACME, GLOBEX, member("x"))]
    assert made == ["space-chess", "space-chess-2", "space-chess-3"]


def test_a_given_slug_skips_nothing_and_a_deleted_games_slug_stays_taken(
    uow: FakeUnitOfWork,
) -> None:
    first = create(uow, name="Chess")
    svc.delete_game(uow, ACME, {"game_id": first["id"]})
    assert create(uow, name="Chess")["slug"] == "chess-2"  # the name is free, the slug is not
    error = fails(Conflict, svc.create_game, uow, ACME, {"name": "Chess 3", "slug": "chess"})
    assert error.names_field("slug")


def test_after_eleven_taken_slugs_create_is_a_conflict(uow: FakeUnitOfWork) -> None:
    made = [create(uow, member(f"acct{i}"), name="Chess")["slug"] for i in range(11)]
    assert made == ["chess"] + [f"chess-{n}" for n in range(2, 12)]
    error = fails(Conflict, svc.create_game, uow, member("acct11"), {"name": "Chess"})
    assert error.names_field("slug") and "-11" in error.message


def test_a_long_name_is_shortened_on_collision(uow: FakeUnitOfWork) -> None:
    name = "The Extraordinarily Long Adventure Of The Space Chess Players"
    first = create(uow, member("a1"), name=name)["slug"]
    second = create(uow, member("a2"), name=name)["slug"]
    assert first == "the-extraordinarily-long-adventure-of-the-space-ch"
    assert len(first) == 50
    assert second == "the-extraordinarily-long-adventure-of-the-space-2"
    assert len(second) <= 50


def test_a_slug_taken_by_a_concurrent_create_moves_to_the_next_candidate(
    uow: FakeUnitOfWork,
) -> None:
    uow.games.raced_slugs = {"chess", "chess-2"}
    assert create(uow, name="Chess")["slug"] == "chess-3"


def test_a_given_slug_taken_concurrently_is_a_conflict(uow: FakeUnitOfWork) -> None:
    uow.games.raced_slugs = {"chess"}
    error = fails(Conflict, svc.create_game, uow, ACME, {"name": "Chess", "slug": "chess"})
    assert error.names_field("slug")


def test_names_that_slug_to_nothing_get_a_random_slug(uow: FakeUnitOfWork) -> None:
    slug = create(uow, name="漢字")["slug"]
    assert slug.startswith("game-") and len(slug) == 11


def test_the_live_name_is_unique_per_account(uow: FakeUnitOfWork) -> None:
    first = create(uow, name="Chess")
    error = fails(Conflict, svc.create_game, uow, ACME, {"name": "Chess"})
    assert error.names_field("name")
    assert create(uow, GLOBEX, name="Chess")["account_id"] == "globex"  # other account: fine
    svc.delete_game(uow, ACME, {"game_id": first["id"]})
    assert create(uow, name="Chess")["name"] == "Chess"  # a deleted game frees the name


def test_the_external_id_is_unique_per_account_deleted_games_included(
    uow: FakeUnitOfWork,
) -> None:
    first = create(uow, name="A", external_game_id="ext-1")
    svc.delete_game(uow, ACME, {"game_id": first["id"]})
    error = fails(Conflict, svc.create_game, uow, ACME, {"name": "B", "external_game_id": "ext-1"})
    assert error.names_field("external_game_id")
    assert create(uow, GLOBEX, name="B", external_game_id="ext-1")["external_game_id"] == "ext-1"


def test_custom_strategies_must_be_published_and_of_the_account(uow: FakeUnitOfWork) -> None:
    published = strategy(uow)
    assert create(uow, name="A", strategy_id=published)["strategy_id"] == published
    for ref in [
        strategy(uow, status=DRAFT),
        strategy(uow, status=ARCHIVED),
        strategy(uow, account="globex"),
        "custom:stg_missing",
    ]:
        error = fails(
            ValidationError, svc.create_game, uow, ACME, {"name": "B", "strategy_id": ref}
        )
        assert error.names_field("strategy_id")
    assert create(uow, name="C", strategy_id="socio_bee")["strategy_id"] == "socio_bee"


# --- get -------------------------------------------------------------------------------------


def test_get_by_each_key(uow: FakeUnitOfWork) -> None:
    made = create(uow, external_game_id="ext-1")
    assert svc.get_game(uow, ACME, {"game_id": made["id"]}) == made
    assert svc.get_game(uow, ACME, {"slug": made["slug"]}) == made
    assert svc.get_game(uow, ACME, {"external_game_id": "ext-1"}) == made
    assert svc.get_game(uow, ADMIN, {"external_game_id": "ext-1"}) == made
    assert uow.pending == []


def test_another_accounts_game_is_answered_like_a_missing_one(uow: FakeUnitOfWork) -> None:
    theirs = create(uow, GLOBEX, external_game_id="ext-1")
    mine = create(uow, name="Mine")
    svc.purge_game(uow, ACME, {"game_id": mine["id"]})
    uow.commit()
    for key, theirs_value, missing_value in [
        ("game_id", theirs["id"], mine["id"]),
        ("slug", theirs["slug"], mine["slug"]),
        ("external_game_id", "ext-1", "ext-2"),
    ]:
        other = fails(NotFound, svc.get_game, uow, ACME, {key: theirs_value}).to_dict()
        missing = fails(NotFound, svc.get_game, uow, ACME, {key: missing_value}).to_dict()
        assert other == {
            **missing,
            "message": missing["message"].replace(missing_value, theirs_value),
            "details": {key: theirs_value},
        }
    for call in (svc.patch_game, svc.delete_game, svc.restore_game, svc.purge_game):
        error = fails(NotFound, call, uow, ACME, {"game_id": theirs["id"]})
        assert error.to_dict() == {
            "code": "not_found",
            "message": f"game {theirs['id']} not found",
            "details": {"game_id": theirs["id"]},
        }
    for call, extra in (
        (svc.set_params, {"params": {"a": 1}}),
        (svc.delete_params, {"keys": ["a"]}),
    ):
        fails(NotFound, call, uow, ACME, {"game_id": theirs["id"], **extra})
    assert svc.get_game(uow, GLOBEX, {"game_id": theirs["id"]})["account_id"] == "globex"
    assert uow.pending == []


def test_deleted_games_are_found_only_with_include_deleted(uow: FakeUnitOfWork) -> None:
    made = create(uow)
    svc.delete_game(uow, ACME, {"game_id": made["id"]})
    for key in ("game_id", "slug"):
        value = made["id"] if key == "game_id" else made["slug"]
        fails(NotFound, svc.get_game, uow, ACME, {key: value})
        assert svc.get_game(uow, ACME, {key: value, "include_deleted": True})["deleted_at"]


def test_an_external_id_of_several_accounts_is_ambiguous_for_an_admin(uow: FakeUnitOfWork) -> None:
    create(uow, name="A", external_game_id="ext-1")
    create(uow, GLOBEX, name="B", external_game_id="ext-1")
    error = fails(ValidationError, svc.get_game, uow, ADMIN, {"external_game_id": "ext-1"})
    assert error.names_field("external_game_id")
    assert svc.get_game(uow, GLOBEX, {"external_game_id": "ext-1"})["name"] == "B"


# --- patch, delete, restore, purge -----------------------------------------------------------


def test_patch_applies_keys_records_one_event_and_null_resets(uow: FakeUnitOfWork) -> None:
    made = create(uow, platform="pc", tags=["a"], params={"p": 1}, anti_cheat_enabled=False)
    bob = Actor("bob", "acme")
    patched = svc.patch_game(
        uow,
        bob,
        {
            "game_id": made["id"],
            "name": "Chess 2",
            "platform": None,
            "tags": None,
            "params": None,
            "anti_cheat_enabled": None,
            "description": "new",
        },
    )
    assert (patched["name"], patched["platform"], patched["tags"], patched["params"]) == (
        "Chess 2",
        None,
        [],
        {},
    )
    assert patched["anti_cheat_enabled"] is True and patched["description"] == "new"
    assert patched["slug"] == made["slug"] and patched["updated_by"] == "bob"
    assert patched["created_by"] == "alice"
    assert [e.type for e in uow.pending] == [events.GAME_UPDATED]
    assert uow.games.get(made["id"]).to_dict() == patched  # type: ignore[union-attr]


def test_a_no_op_patch_returns_the_game_without_an_event(uow: FakeUnitOfWork) -> None:
    made = create(uow, platform="pc")
    same = svc.patch_game(
        uow, ACME, {"game_id": made["id"], "platform": "pc", "name": made["name"]}
    )
    assert same == made and uow.pending == []
    assert svc.patch_game(uow, ACME, {"game_id": made["id"]}) == made and uow.pending == []


def test_patch_conflicts_and_strategy_checks(uow: FakeUnitOfWork) -> None:
    create(uow, name="Taken", external_game_id="taken")
    made = create(uow, name="Mine")
    error = fails(Conflict, svc.patch_game, uow, ACME, {"game_id": made["id"], "name": "Taken"})
    assert error.names_field("name")
    error = fails(
        Conflict, svc.patch_game, uow, ACME, {"game_id": made["id"], "external_game_id": "taken"}
    )
    assert error.names_field("external_game_id")
    error = fails(
        ValidationError,
        svc.patch_game,
        uow,
        ACME,
        {"game_id": made["id"], "strategy_id": strategy(uow, status=DRAFT)},
    )
    assert error.names_field("strategy_id")
    ref = strategy(uow)
    assert (
        svc.patch_game(uow, ACME, {"game_id": made["id"], "strategy_id": ref})["strategy_id"] == ref
    )
    assert (
        svc.patch_game(uow, ACME, {"game_id": made["id"], "strategy_id": None})["strategy_id"]
        == "default"
    )


def test_patch_deleted_soft_deletes_and_restores(uow: FakeUnitOfWork) -> None:
    made = create(uow)
    gone = svc.patch_game(uow, ACME, {"game_id": made["id"], "deleted": True})
    assert gone["deleted_at"] is not None
    assert svc.patch_game(uow, ACME, {"game_id": made["id"], "deleted": True}) == gone
    back = svc.patch_game(uow, ACME, {"game_id": made["id"], "deleted": False, "platform": "pc"})
    assert back["deleted_at"] is None and back["platform"] == "pc"
    # one event per change: deleted, then the patch and the restore
    assert [e.type for e in uow.pending] == [
        events.GAME_DELETED,
        events.GAME_UPDATED,
        events.GAME_RESTORED,
    ]


def test_restoring_by_patch_conflicts_with_a_live_name(uow: FakeUnitOfWork) -> None:
    made = create(uow, name="Chess")
    svc.delete_game(uow, ACME, {"game_id": made["id"]})
    create(uow, name="Chess")
    error = fails(Conflict, svc.patch_game, uow, ACME, {"game_id": made["id"], "deleted": False})
    assert error.names_field("name")


def test_delete_is_soft_and_idempotent(uow: FakeUnitOfWork) -> None:
    made = create(uow)
    gone = svc.delete_game(uow, ACME, {"game_id": made["id"]})
    assert gone["deleted_at"] is not None and gone["updated_at"] == gone["deleted_at"]
    assert [e.type for e in uow.pending] == [events.GAME_DELETED]
    uow.commit()
    assert svc.delete_game(uow, ACME, {"game_id": made["id"]}) == gone
    assert uow.pending == []


def test_restore(uow: FakeUnitOfWork) -> None:
    made = create(uow, name="Chess")
    assert svc.restore_game(uow, ACME, {"game_id": made["id"]}) == made  # live: unchanged
    assert uow.pending == []
    svc.delete_game(uow, ACME, {"game_id": made["id"]})
    uow.commit()
    back = svc.restore_game(uow, ACME, {"game_id": made["id"]})
    assert back["deleted_at"] is None
    assert [e.type for e in uow.pending] == [events.GAME_RESTORED]


def test_restore_conflicts_when_a_live_game_has_the_name(uow: FakeUnitOfWork) -> None:
    made = create(uow, name="Chess")
    svc.delete_game(uow, ACME, {"game_id": made["id"]})
    create(uow, name="Chess")
    uow.commit()
    error = fails(Conflict, svc.restore_game, uow, ACME, {"game_id": made["id"]})
    assert error.names_field("name")


def test_purge_counts_the_tasks_and_both_kinds_of_params(uow: FakeUnitOfWork) -> None:
    from domain.services import game_tasks as tasks

    made = create(uow, params={"a": 1, "b": 2})
    kept = create(uow, name="Kept", params={"z": 1})
    tasks.create_task(
        uow, ACME, {"game_id": made["id"], "external_task_id": "t1", "params": {"x": 1}}
    )
    tasks.create_task(uow, ACME, {"game_id": made["id"], "external_task_id": "t2"})
    tasks.create_task(
        uow, ACME, {"game_id": kept["id"], "external_task_id": "t1", "params": {"y": 1}}
    )
    uow.commit()
    summary = svc.purge_game(uow, ACME, {"game_id": made["id"]})
    assert summary == {"game_id": made["id"], "tasks_deleted": 2, "params_deleted": 3}
    assert [(e.type, e.data) for e in uow.pending] == [(events.GAME_PURGED, summary)]
    assert uow.games.get(made["id"]) is None and len(uow.game_tasks.rows) == 1
    fails(NotFound, svc.purge_game, uow, ACME, {"game_id": made["id"]})


def test_a_deleted_game_can_be_purged(uow: FakeUnitOfWork) -> None:
    made = create(uow)
    svc.delete_game(uow, ACME, {"game_id": made["id"]})
    assert svc.purge_game(uow, ACME, {"game_id": made["id"]})["tasks_deleted"] == 0


# --- params ----------------------------------------------------------------------------------


def test_params_set_upserts_and_delete_removes(uow: FakeUnitOfWork) -> None:
    made = create(uow, params={"a": 1})
    got = svc.set_params(uow, ACME, {"game_id": made["id"], "params": {"a": 2, "b": "x"}})
    assert got["params"] == {"a": 2, "b": "x"}
    assert svc.set_params(uow, ACME, {"game_id": made["id"], "params": {"b": "x"}}) == got
    got = svc.delete_params(uow, ACME, {"game_id": made["id"], "keys": ["a", "nope"]})
    assert got["params"] == {"b": "x"}
    assert svc.delete_params(uow, ACME, {"game_id": made["id"], "keys": ["nope"]}) == got
    assert [e.type for e in uow.pending] == [events.GAME_UPDATED, events.GAME_UPDATED]


def test_a_game_holds_at_most_100_params(uow: FakeUnitOfWork) -> None:
    made = create(uow, params={f"k{i}": i for i in range(60)})
    svc.set_params(uow, ACME, {"game_id": made["id"], "params": {f"k{i}": 0 for i in range(50)}})
    error = fails(
        ValidationError,
        svc.set_params,
        uow,
        ACME,
        {"game_id": made["id"], "params": {f"n{i}": i for i in range(41)}},
    )
    assert error.names_field("params")
    assert len(uow.games.get(made["id"]).params) == 60  # type: ignore[union-attr]


# --- external ids, by strategy ---------------------------------------------------------------


def test_external_ids_leave_out_unknown_foreign_and_absent(uow: FakeUnitOfWork) -> None:
    a = create(uow, name="A", external_game_id="ext-a")
    b = create(uow, name="B")
    c = create(uow, GLOBEX, name="C", external_game_id="ext-c")
    ids = [a["id"], b["id"], c["id"], "gam_unknown", "x"]
    assert svc.external_ids(uow, ACME, {"game_ids": ids}) == {"mapping": {a["id"]: "ext-a"}}
    assert svc.external_ids(uow, ADMIN, {"game_ids": ids}) == {
        "mapping": {a["id"]: "ext-a", c["id"]: "ext-c"}
    }
    assert svc.external_ids(uow, ACME, {"game_ids": []}) == {"mapping": {}}


def test_by_strategy_pages_the_games_of_the_account(uow: FakeUnitOfWork) -> None:
    made = [
        create(uow, name=f"G{i}", strategy_id="socio_bee", platform="pc")["id"] for i in range(5)
    ]
    create(uow, name="Other", strategy_id="default")
    create(uow, GLOBEX, name="Foreign", strategy_id="socio_bee")
    first = svc.games_by_strategy(uow, ACME, {"strategy_id": "socio_bee", "limit": 3})
    assert first["items"] == [
        {"game_id": i, "external_game_id": None, "platform": "pc"} for i in sorted(made)[:3]
    ]
    cursor = first["pagination"]["next_cursor"]
    second = svc.games_by_strategy(
        uow, ACME, {"strategy_id": "socio_bee", "limit": 3, "cursor": cursor}
    )
    assert [r["game_id"] for r in second["items"]] == sorted(made)[3:]
    assert second["pagination"]["has_next"] is False and second["pagination"]["has_prev"] is True
    fails(
        InvalidCursor,
        svc.games_by_strategy,
        uow,
        ACME,
        {"strategy_id": "default", "cursor": cursor},
    )
    assert len(svc.games_by_strategy(uow, ADMIN, {"strategy_id": "socio_bee"})["items"]) == 6


# --- list ------------------------------------------------------------------------------------


def test_list_scope_by_actor(uow: FakeUnitOfWork) -> None:
    create(uow, name="A")
    create(uow, GLOBEX, name="B")
    names = lambda page: sorted(g["name"] for g in page["items"])  # noqa: E731
    assert names(svc.list_games(uow, ACME, {})) == ["A"]
    assert names(svc.list_games(uow, ADMIN, {})) == ["A", "B"]
    assert names(svc.list_games(uow, ADMIN, {"account_id": "globex"})) == ["B"]
    error = fails(ValidationError, svc.list_games, uow, ACME, {"account_id": "acme"})
    assert error.names_field("account_id")


def test_list_pages_newest_first_by_default(uow: FakeUnitOfWork) -> None:
    made = [create(uow, name=f"G{i}")["id"] for i in range(5)]
    page = svc.list_games(uow, ACME, {"limit": 2, "with_total": True})
    assert [g["id"] for g in page["items"]] == made[::-1][:2]
    assert page["pagination"]["total"] == 5 and page["pagination"]["count"] == 2
    assert svc.list_games(uow, ACME, {})["pagination"]["total"] is None


def test_list_cursors_are_bound_to_the_query(uow: FakeUnitOfWork) -> None:
    for i in range(3):
        create(uow, name=f"G{i}", tags=["t"])
    base = {"limit": 1, "sort": "name:asc", "filters": {"tag": "t"}}
    cursor = svc.list_games(uow, ACME, base)["pagination"]["next_cursor"]
    assert svc.list_games(uow, ACME, {**base, "cursor": cursor})["items"][0]["name"] == "G1"
    assert svc.list_games(uow, ACME, {**base, "sort": "name:ASC", "cursor": cursor})["items"]
    assert svc.list_games(uow, ACME, {**base, "limit": 5, "cursor": cursor})["items"]
    # the same order spelled out is the same query
    assert svc.list_games(uow, ACME, {**base, "sort": "name:asc,id:asc", "cursor": cursor})["items"]
    for changed in [
        {"sort": "name:desc"},
        {"filters": {"tag": "u"}},
        {"filters": {}},
        {"include_deleted": True},
    ]:
        fails(InvalidCursor, svc.list_games, uow, ACME, {**base, **changed, "cursor": cursor})
    fails(InvalidCursor, svc.list_games, uow, GLOBEX, {**base, "cursor": cursor})
    fails(InvalidCursor, svc.list_games, uow, ADMIN, {**base, "cursor": cursor})
    fails(InvalidCursor, svc.list_games, uow, ACME, {**base, "cursor": cursor[:-3]})


def test_list_filters(uow: FakeUnitOfWork) -> None:
    a = create(uow, name="Space Chess", platform="pc", tags=["x", "y"], external_game_id="e1")
    b = create(
        uow, name="Moon chess", platform="ps5", anti_cheat_enabled=False, external_game_id="e2"
    )
    c = create(uow, name="Go", strategy_id="socio_bee")
    svc.delete_game(uow, ACME, {"game_id": c["id"]})

    def ids(filters: dict[str, Any], **more: Any) -> set[str]:
        return {g["id"] for g in svc.list_games(uow, ACME, {"filters": filters, **more})["items"]}

    assert ids({"name_contains": "CHESS"}) == {a["id"], b["id"]}
    assert ids({"platform": "pc"}) == {a["id"]}
    assert ids({"external_game_id": ("e1", "e2")}) == {a["id"], b["id"]}
    assert ids({"slug": b["slug"]}) == {b["id"]}
    assert ids({"tag": "y"}) == {a["id"]}
    assert ids({"anti_cheat_enabled": False}) == {b["id"]}
    assert ids({"strategy_id": "socio_bee"}) == set()
    assert ids({"strategy_id": "socio_bee"}, include_deleted=True) == {c["id"]}
    assert ids({}, include_deleted=True) == {a["id"], b["id"], c["id"]}
    created_b = uow.games.get(b["id"]).created_at  # type: ignore[union-attr]
    assert ids({"created_after": created_b}) == {b["id"]}  # inclusive
    assert ids({"created_before": created_b}) == {a["id"]}  # exclusive
    assert ids({"updated_after": created_b, "name_contains": "chess"}) == {b["id"]}
