"""Slugs made from names: ASCII folding, the pattern, collisions -2..-11 within 50 characters."""

from __future__ import annotations

import re

import pytest

from domain import rules, slugs

RANDOM = re.compile(r"^game-[a-z0-9]{6}$")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Space Chess", "space-chess"),
        ("  Space   Chess  ", "space-chess"),
        ("space_chess", "space-chess"),
        ("Space__ _Chess", "space-chess"),
        ("Pokémon Go!", "pokemon-go"),
        ("Ærø Über Straße", "r-uber-strae"),  # what has no ASCII form is dropped
        ("Crème brûlée", "creme-brulee"),
        ("A -- B", "a-b"),
        ("--Hello--World--", "hello-world"),
        ("C++ & C#", "c-c"),
        ("100% Fun", "100-fun"),
        ("\uff46\uff55\uff4c\uff4c \uff57\uff49\uff44\uff54\uff48", "full-width"),  # NFKD
        ("tab\tand\nnewline", "tab-and-newline"),
        ("a.b,c", "abc"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugs.slugify(name) == slug


def test_slugify_cuts_to_50_without_a_trailing_hyphen() -> None:
    assert slugs.slugify("x" * 80) == "x" * 50
    name = "a" * 49 + " b"  # the cut lands just after the hyphen
    assert slugs.slugify(name) == "a" * 49


@pytest.mark.parametrize("name", ["!", "é", "a", "ß", "漢字", "---", "_", "🙂🙂"])
def test_a_name_that_yields_under_2_characters_gets_a_random_slug(name: str) -> None:
    made = {slugs.base_slug(name) for _ in range(20)}
    assert all(RANDOM.match(s) for s in made), made
    assert len(made) > 1  # random, not one fixed fallback


def test_a_name_of_two_characters_keeps_its_slug() -> None:
    assert slugs.base_slug("Go") == "go"


def test_every_made_slug_matches_the_contract_pattern() -> None:
    for name in ["Space Chess", "Ærø", "x" * 300, "a " * 60, "é!", "1 2 3"]:
        for candidate in slugs.candidates(slugs.base_slug(name)):
            assert rules.slug(candidate) == candidate


def test_candidates_are_the_base_then_2_to_11() -> None:
    assert slugs.candidates("chess") == ["chess"] + [f"chess-{n}" for n in range(2, 12)]


def test_candidates_shorten_the_base_to_stay_within_50() -> None:
    base = "x" * 50
    out = slugs.candidates(base)
    assert len(out) == 11
    assert out[0] == base
    assert out[1] == "x" * 48 + "-2"
    assert out[8] == "x" * 48 + "-9"
    assert out[9] == "x" * 47 + "-10"
    assert out[10] == "x" * 47 + "-11"
    assert all(len(c) <= 50 for c in out)


def test_shortening_never_leaves_a_double_hyphen() -> None:
    base = "a" * 47 + "-bc"  # cut to 48 ends in '-'
    out = slugs.candidates(base)
    assert out[1] == "a" * 47 + "-2"
    assert out[10] == "a" * 47 + "-11"
    for candidate in out:
        assert rules.slug(candidate) == candidate
