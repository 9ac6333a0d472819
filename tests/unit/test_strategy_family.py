"""The strategy family's lifecycle rules, as plain objects."""

from __future__ import annotations

from typing import Any

import pytest

from domain import events
from domain.errors import Conflict, NotFound, ValidationError
from domain.strategies import (
    ARCHIVED,
    BUILT_IN,
    DRAFT,
    DSL_EXTEND,
    DSL_FULL,
    PUBLISHED,
    Strategy,
    StrategyFamily,
)


def start(**fields: Any) -> tuple[StrategyFamily, Strategy]:
    fields.setdefault("type", DSL_FULL)
    fields.setdefault("definition", {"rule": 1})
    return StrategyFamily.start("acme", "Points", "alice", fields)


def family_of(*statuses: str) -> StrategyFamily:
    """A stored family whose version n (1-based) has ``statuses[n-1]``."""
    _, first = start()
    versions = [first]
    for n in range(2, len(statuses) + 1):
        versions.append(
            Strategy(
                f"stg_v{n}",
                "acme",
                "Points",
                DSL_FULL,
                {"rule": n},
                n,
                DRAFT,
                "alice",
                first.created_at,
                first.created_at,
            )
        )
    for v, status in zip(versions, statuses, strict=True):
        v.status = status
        v.events.clear()
    return StrategyFamily(list(reversed(versions)))


def statuses(family: StrategyFamily) -> list[tuple[int, str]]:
    return [(v.version, v.status) for v in family.versions]


def test_start_makes_version_one_draft_with_a_created_event() -> None:
    family, first = start(description="d")
    assert (first.version, first.status, first.created_by) == (1, DRAFT, "alice")
    assert first.id.startswith("stg_") and first.ref == "custom:" + first.id
    assert family.added == [first] and family.changed == []
    assert [e.type for e in first.events] == [events.STRATEGY_CREATED]
    assert first.events[0].data == first.to_dict()


@pytest.mark.parametrize(
    ("kind", "parent", "ok"),
    [
        (DSL_EXTEND, "greengageStrategy", True),
        (DSL_EXTEND, None, False),
        (DSL_EXTEND, "custom:stg_x", False),
        (DSL_EXTEND, "notABuiltIn", False),
        (DSL_FULL, None, True),
        (DSL_FULL, "default", False),
        (BUILT_IN, None, True),
        (BUILT_IN, "default", False),
    ],
)
def test_type_rules(kind: str, parent: str | None, ok: bool) -> None:
    if ok:
        assert start(type=kind, parent_strategy_id=parent)[1].parent_strategy_id == parent
    else:
        with pytest.raises(ValidationError) as caught:
            start(type=kind, parent_strategy_id=parent)
        assert caught.value.names_field("parent_strategy_id")


def test_update_changes_a_draft_in_place_once() -> None:
    family = family_of(DRAFT)
    draft = family.versions[0]
    assert family.update(draft, {"definition": {"rule": 9}}, "bob") is draft
    assert draft.definition == {"rule": 9} and family.changed == [draft]
    assert [e.type for e in draft.events] == [events.STRATEGY_UPDATED]
    draft.events.clear()
    family.update(draft, {"definition": {"rule": 9}}, "bob")  # same value: nothing happens
    assert draft.events == []


def test_update_of_the_published_version_forks_a_draft() -> None:
    family = family_of(ARCHIVED, PUBLISHED, DRAFT)
    published = family.versions[1]
    fork = family.update(published, {"description": "new"}, "bob")
    assert (fork.version, fork.status, fork.description, fork.created_by) == (
        4,
        DRAFT,
        "new",
        "bob",
    )
    assert fork.definition == published.definition and published.description is None
    assert family.added == [fork] and family.changed == []
    assert [e.type for e in fork.events] == [events.STRATEGY_CREATED]
    assert published.events == []


def test_update_of_an_archived_version_is_a_conflict() -> None:
    family = family_of(ARCHIVED, PUBLISHED)
    with pytest.raises(Conflict):
        family.update(family.versions[1], {"description": "x"}, "bob")
    with pytest.raises(Conflict):
        family.update(family.versions[1], {"name": "Renamed"}, "bob")
    assert family.changed == [] and {v.name for v in family.versions} == {"Points"}


def test_a_new_name_renames_the_whole_family() -> None:
    family = family_of(ARCHIVED, PUBLISHED, DRAFT)
    published = family.versions[1]
    assert family.update(published, {"name": "Score"}, "bob") is published  # no content: no fork
    assert {v.name for v in family.versions} == {"Score"}
    assert family.added == [] and set(family.changed) == set(family.versions)
    assert all([e.type for e in v.events] == [events.STRATEGY_UPDATED] for v in family.versions)


def test_rename_and_content_on_a_published_version_forks_under_the_new_name() -> None:
    family = family_of(PUBLISHED)
    fork = family.update(family.versions[0], {"name": "Score", "definition": {"r": 2}}, "bob")
    assert (fork.name, fork.version, fork.definition) == ("Score", 2, {"r": 2})
    assert family.versions[1].name == "Score" and family.versions[1].definition == {"rule": 1}


def test_publish_archives_the_displaced_version_first() -> None:
    family = family_of(ARCHIVED, PUBLISHED, DRAFT)
    draft, published = family.versions[0], family.versions[1]
    assert family.publish(draft) is published
    assert statuses(family) == [(3, PUBLISHED), (2, ARCHIVED), (1, ARCHIVED)]
    assert family.changed == [published, draft]  # the order the rows must be written in
    assert draft.published_at is not None and draft.published_at >= draft.created_at


def test_publish_without_a_published_version_displaces_nothing() -> None:
    family = family_of(DRAFT)
    assert family.publish(family.versions[0]) is None
    assert statuses(family) == [(1, PUBLISHED)]


def test_publish_of_an_archived_version_is_a_conflict() -> None:
    family = family_of(ARCHIVED, PUBLISHED)
    with pytest.raises(Conflict):
        family.publish(family.versions[1])
    assert statuses(family) == [(2, PUBLISHED), (1, ARCHIVED)]


def test_rollback_promotes_the_target_and_archives_the_published_one() -> None:
    family = family_of(ARCHIVED, ARCHIVED, PUBLISHED)
    promoted, displaced = family.rollback(1)
    assert (promoted.version, displaced and displaced.version) == (1, 3)
    assert statuses(family) == [(3, ARCHIVED), (2, ARCHIVED), (1, PUBLISHED)]
    assert family.changed == [displaced, promoted]


def test_rollback_to_a_draft_publishes_it() -> None:
    family = family_of(PUBLISHED, DRAFT)
    family.rollback(2)
    assert statuses(family) == [(2, PUBLISHED), (1, ARCHIVED)]


def test_rollback_errors() -> None:
    family = family_of(ARCHIVED, PUBLISHED)
    with pytest.raises(NotFound) as missing:
        family.rollback(3)
    assert missing.value.names_field("target_version")
    with pytest.raises(Conflict) as published:
        family.rollback(2)
    assert published.value.names_field("target_version")
    assert family.changed == []


def test_archive() -> None:
    family = family_of(PUBLISHED, DRAFT)
    family.archive(family.versions[1])
    family.archive(family.versions[0])
    assert statuses(family) == [(2, ARCHIVED), (1, ARCHIVED)]
