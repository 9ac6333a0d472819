"""Actors and tenancy: who may act, which account a change lands in, what is visible."""

from __future__ import annotations

import pytest

from domain.actor import Actor
from domain.errors import NotFound, ValidationError

MEMBER = Actor("api-key", "acme")
ADMIN = Actor("ops", None, is_admin=True)


def test_a_non_admin_must_carry_an_account() -> None:
    with pytest.raises(ValidationError) as caught:
        Actor("api-key", None)
    assert caught.value.names_field("actor.account_id")


def test_an_admin_needs_no_account() -> None:
    assert ADMIN.scope() is None
    assert Actor("ops", "acme", is_admin=True).scope() is None  # an admin's account is no scope


def test_a_member_sees_only_its_account() -> None:
    assert MEMBER.scope() == "acme"
    assert MEMBER.sees("acme") and not MEMBER.sees("globex")
    MEMBER.check_visible("acme", "game", "gam_1")
    with pytest.raises(NotFound) as caught:
        MEMBER.check_visible("globex", "game", "gam_1")
    assert caught.value.message == "game gam_1 not found"  # the words of a missing one


def test_an_admin_sees_every_account() -> None:
    assert ADMIN.sees("acme") and ADMIN.sees("globex")


def test_the_account_of_a_new_object() -> None:
    assert MEMBER.account_for_create(None) == "acme"
    assert ADMIN.account_for_create("globex") == "globex"
    with pytest.raises(ValidationError) as caught:
        ADMIN.account_for_create(None)
    assert caught.value.names_field("account_id")
    with pytest.raises(ValidationError) as caught:
        MEMBER.account_for_create("acme")  # even its own account: the field is not allowed
    assert caught.value.names_field("account_id")


def test_strategy_management_needs_admin_or_the_role() -> None:
    assert ADMIN.may_manage_strategies
    assert Actor("k", "acme", roles=("strategy_admin",)).may_manage_strategies
    assert not Actor("k", "acme", roles=("viewer",)).may_manage_strategies
    assert not MEMBER.may_manage_strategies


def test_the_system_actor_is_an_admin() -> None:
    system = Actor.system()
    assert system.is_admin and system.subject == "system:gameworker"
