"""The field rules of contract sections 5 and 6, one value at a time."""

from __future__ import annotations

from typing import Any

import pytest

from domain import rules
from domain.errors import FieldRuleError, ValidationError


def refused(rule: Any, value: Any) -> str:
    with pytest.raises(FieldRuleError) as caught:
        rule(value)
    assert isinstance(caught.value, ValidationError)
    assert caught.value.code == "validation_error"
    return caught.value.message


def test_name_is_trimmed_and_1_to_200_characters() -> None:
    assert rules.name("  Space Chess \t") == "Space Chess"
    assert rules.name("x") == "x"
    assert rules.name("y" * 200) == "y" * 200
    assert rules.name("  " + "y" * 200 + "  ") == "y" * 200  # the limit applies after trimming
    assert "blank" in refused(rules.name, "")
    assert "blank" in refused(rules.name, " \t\n ")
    assert "1-200" in refused(rules.name, "y" * 201)


@pytest.mark.parametrize("good", ["ab", "a1", "space-chess", "a-b-c", "x" * 50, "2048"])
def test_slug_accepts_the_pattern(good: str) -> None:
    assert rules.slug(good) == good


@pytest.mark.parametrize(
    "bad", ["a", "x" * 51, "Space", "a--b", "-ab", "ab-", "a_b", "a b", "ab.", "ä1", ""]
)
def test_slug_refuses_the_rest(bad: str) -> None:
    refused(rules.slug, bad)


def test_external_id_is_1_to_128_of_its_alphabet() -> None:
    for good in ["a", "A.b_c:d-9", "x" * 128]:
        assert rules.external_id(good) == good
    for bad in ["", "x" * 129, "a b", "a/b", "ä", "a#b"]:
        refused(rules.external_id, bad)


def test_account_id_is_1_to_64_of_its_alphabet() -> None:
    assert rules.account_id("acme_1-x") == "acme_1-x"
    for bad in ["", "x" * 65, "a.b", "a:b", "a b"]:
        refused(rules.account_id, bad)


def test_short_text_fields_have_their_lengths() -> None:
    assert rules.platform("p" * 64) == "p" * 64
    refused(rules.platform, "")
    refused(rules.platform, "p" * 65)
    assert rules.description("") == ""
    assert rules.description("d" * 2000) == "d" * 2000
    refused(rules.description, "d" * 2001)
    assert rules.opaque_id("b" * 64) == "b" * 64
    refused(rules.opaque_id, "")
    refused(rules.opaque_id, "b" * 65)
    assert rules.status("s" * 32) == "s" * 32
    refused(rules.status, "")
    refused(rules.status, "s" * 33)
    assert rules.subject("s" * 200) == "s" * 200
    refused(rules.subject, "")
    refused(rules.subject, "s" * 201)


def test_tags_are_trimmed_deduplicated_in_order_and_limited() -> None:
    assert rules.tags([]) == []
    assert rules.tags([" b ", "a", "b", "a ", "c"]) == ["b", "a", "c"]
    assert rules.tags(["t"] * 20) == ["t"]
    assert rules.tags(["x" * 32]) == ["x" * 32]
    assert rules.tags([" " + "x" * 32 + " "]) == ["x" * 32]  # 32 after trimming
    assert "at most 20" in refused(rules.tags, [f"t{i}" for i in range(21)])
    refused(rules.tags, ["ok", "   "])
    refused(rules.tags, [""])
    refused(rules.tags, ["x" * 33])


def test_tags_limit_counts_what_was_sent() -> None:
    # 21 entries are refused even when duplicates would leave fewer: the message had 21.
    refused(rules.tags, ["same"] * 21)


@pytest.mark.parametrize(
    "good",
    [
        "http://example.com",
        "https://example.com/games/1?x=1#top",
        "https://localhost:8080/",
        "https://e.io/" + "p" * 2030,
    ],
)
def test_page_url_accepts_absolute_http_urls(good: str) -> None:
    assert rules.page_url(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://example.com",
        "example.com",
        "/relative/path",
        "https://",
        "https://exa mple.com",
        "javascript:alert(1)",
        "mailto:a@b.c",
        "https://e.io/" + "p" * 2036,  # 2049 characters
    ],
)
def test_page_url_refuses_the_rest(bad: str) -> None:
    refused(rules.page_url, bad)


def test_steam_app_id_is_1_to_20_digits() -> None:
    assert rules.steam_app_id("730") == "730"
    assert rules.steam_app_id("9" * 20) == "9" * 20
    for bad in ["", "9" * 21, "12a", "-1", " 1", "1.0", "٣"]:
        refused(rules.steam_app_id, bad)


def test_strategy_ids_are_built_in_or_custom() -> None:
    for built_in in [
        "default",
        "constantEffortStrategy",
        "greencrowdStrategy",
        "greengageStrategy",
        "socio_bee",
    ]:
        assert rules.strategy_id(built_in) == built_in
    assert rules.strategy_id("custom:stg_01hx5k") == "custom:stg_01hx5k"
    for bad in ["", "Default", "custom:", "custom:abc", "custom:stg_", "custom:stg_A!", "other"]:
        message = refused(rules.strategy_id, bad)
        assert "custom:<strategy id>" in message
    assert rules.is_custom("custom:stg_1") and not rules.is_custom("default")
    assert rules.custom_target("custom:stg_1") == "stg_1"


def test_params_keys_values_and_size() -> None:
    good = {"a": "x" * 1000, "B_2.c-d": 1, "f": 1.5, "t": True, "k" * 64: False}
    assert rules.params(good) == good
    assert rules.params({f"k{i}": i for i in range(100)}) == {f"k{i}": i for i in range(100)}
    assert "at most 100" in refused(rules.params, {f"k{i}": i for i in range(101)})
    for bad_key in ["", "k" * 65, "a b", "a/b", "ä"]:
        assert "param key" in refused(rules.params, {bad_key: 1})
    for bad_value in [None, [1], {"a": 1}, "x" * 1001, float("nan"), float("inf")]:
        assert "params.v" in refused(rules.params, {"v": bad_value})
