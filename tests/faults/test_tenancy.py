"""Tenancy as a property: no actor reaches another account's objects, and cannot tell they exist.

Hypothesis builds a world of two or three accounts (games with the same names and external ids
across accounts, tasks, a PUBLISHED strategy each), then has actors of one account read, list,
change, purge and reference (``custom:`` ids) the objects of another. Every such probe must:

- leave the other account's rows exactly as they were;
- answer exactly what the same command answers for an id that names nothing (same code, same
  message, same details), once the foreign id is replaced by the missing one;
- list, map and page only the actor's own objects.

An admin and the owner reading the same ids are the control: the ids are real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.database import Database
from tests.conftest import empty
from tests.faults import figures
from tests.faults.conftest import Call
from tests.faults.scale import scaled
from tests.faults.world import (
    ADMIN,
    Account,
    build,
    missing_like,
    owner,
    replaced,
    snapshot,
)
from workers.app import GameworkerCelery

NAMES = ["Space Chess", "Moon Golf", "Tidy Town"]
EXTERNAL_IDS = ["ext-1", "ext-2", "ext-3"]
ACCOUNT_IDS = ["acme", "globex", "initech"]


@dataclass(frozen=True)
class Probe:
    """A command aimed at a foreign object; ``key`` picks the value that identifies it."""

    task: str
    target: str  # "game", "task", "strategy" or "ref" (a custom: reference from own objects)
    data: Callable[[dict[str, Any], Account], dict[str, Any]]
    key: Callable[[dict[str, Any]], str]


def _in_future() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def _game(data: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    return lambda target, _own: data(target)


GAME_ID = lambda t: t["id"]  # noqa: E731
PROBES = [
    Probe("games.get", "game", _game(lambda g: {"game_id": g["id"]}), GAME_ID),
    Probe(
        "games.get",
        "game",
        _game(lambda g: {"game_id": g["id"], "include_deleted": True}),
        GAME_ID,
    ),
    Probe("games.get", "game", _game(lambda g: {"slug": g["slug"]}), lambda g: g["slug"]),
    Probe("games.patch", "game", _game(lambda g: {"game_id": g["id"], "name": "Mine"}), GAME_ID),
    Probe("games.patch", "game", _game(lambda g: {"game_id": g["id"], "deleted": True}), GAME_ID),
    Probe("games.delete", "game", _game(lambda g: {"game_id": g["id"]}), GAME_ID),
    Probe("games.restore", "game", _game(lambda g: {"game_id": g["id"]}), GAME_ID),
    Probe("games.purge", "game", _game(lambda g: {"game_id": g["id"]}), GAME_ID),
    Probe(
        "games.params.set",
        "game",
        _game(lambda g: {"game_id": g["id"], "params": {"stolen": True}}),
        GAME_ID,
    ),
    Probe(
        "games.params.delete",
        "game",
        _game(lambda g: {"game_id": g["id"], "keys": ["level"]}),
        GAME_ID,
    ),
    Probe(
        "game_tasks.create",
        "game",
        _game(lambda g: {"game_id": g["id"], "external_task_id": "intruder"}),
        GAME_ID,
    ),
    Probe("game_tasks.list", "game", _game(lambda g: {"game_id": g["id"]}), GAME_ID),
    Probe(
        "game_tasks.get",
        "game",
        _game(lambda g: {"game_id": g["id"], "external_task_id": "task-0"}),
        GAME_ID,
    ),
    Probe("game_tasks.get", "task", _game(lambda t: {"task_id": t["id"]}), GAME_ID),
    Probe(
        "game_tasks.patch", "task", _game(lambda t: {"task_id": t["id"], "status": "x"}), GAME_ID
    ),
    Probe("game_tasks.delete", "task", _game(lambda t: {"task_id": t["id"]}), GAME_ID),
    # references: the actor's own objects pointed at another account's PUBLISHED strategy
    Probe(
        "games.create",
        "ref",
        lambda s, _own: {"name": "Borrowed", "strategy_id": "custom:" + s["id"]},
        GAME_ID,
    ),
    Probe(
        "games.patch",
        "ref",
        lambda s, own: {"game_id": own.games[0]["id"], "strategy_id": "custom:" + s["id"]},
        GAME_ID,
    ),
    Probe(
        "game_tasks.create",
        "ref",
        lambda s, own: {
            "game_id": own.games[0]["id"],
            "external_task_id": "borrowed",
            "strategy_id": "custom:" + s["id"],
        },
        GAME_ID,
    ),
    Probe(
        "game_tasks.patch",
        "ref",
        lambda s, own: {"task_id": own.tasks[0]["id"], "strategy_id": "custom:" + s["id"]},
        GAME_ID,
    ),
    Probe(
        "games.by_strategy", "ref", lambda s, _own: {"strategy_id": "custom:" + s["id"]}, GAME_ID
    ),
    # the strategy commands (run when their tasks are registered)
    *[
        Probe(name, "strategy", _game(lambda s: {"strategy_id": s["id"]}), GAME_ID)
        for name in (
            "strategies.get",
            "strategies.versions",
            "strategies.publish",
            "strategies.archive",
            "strategies.usage",
            "strategies.audit",
        )
    ],
    Probe(
        "strategies.update",
        "strategy",
        _game(lambda s: {"strategy_id": s["id"], "description": "mine"}),
        GAME_ID,
    ),
    Probe(
        "strategies.rollback",
        "strategy",
        _game(lambda s: {"strategy_id": s["id"], "target_version": 1}),
        GAME_ID,
    ),
    Probe(
        "strategies.schedule",
        "strategy",
        _game(lambda s: {"strategy_id": s["id"], "action": "publish", "run_at": _in_future()}),
        GAME_ID,
    ),
]


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, list[tuple[str, str, int]]]:
    accounts = draw(st.sampled_from([ACCOUNT_IDS[:2], ACCOUNT_IDS]))
    plan = {}
    for account in accounts:
        count = draw(st.integers(1, 3))
        names = draw(st.permutations(NAMES))[:count]
        externals = draw(st.permutations(EXTERNAL_IDS))[:count]
        tasks = draw(st.lists(st.integers(0, 2), min_size=count, max_size=count))
        tasks[0] = max(tasks[0], 1)  # every account has a task to reference from
        plan[account] = list(zip(names, externals, tasks, strict=True))
    return plan


probe_draws = st.lists(
    st.tuples(
        st.integers(0, 2),  # the actor's account
        st.integers(0, 2),  # the victim account (another one)
        st.integers(0, len(PROBES) - 1),
        st.integers(0, 5),  # which of the victim's objects
        st.booleans(),  # the actor holds strategy_admin
    ),
    min_size=4,
    max_size=12,
)


class Tally:
    probes = 0
    controls = 0
    lists = 0
    leaks = 0


def _targets(victim: Account, kind: str) -> list[dict[str, Any]]:
    if kind == "game":
        return victim.games
    if kind == "task":
        return victim.tasks
    return [{"id": s} for s in victim.strategies]


def _probe(
    call: Call, db: Database, probe: Probe, actor: Account, victim: Account, pick: int, roles: bool
) -> None:
    targets = _targets(victim, probe.target)
    target = targets[pick % len(targets)]
    who = owner(actor.id, *(["strategy_admin"] if roles else []))
    foreign = probe.key(target)
    before = snapshot(db, victim.id)
    answer = call(probe.task, probe.data(target, actor), who)
    missing = _missing.setdefault(foreign, missing_like(foreign))
    substitute = {**target, "id": missing} if probe.key is GAME_ID else {**target, "slug": missing}
    expected = call(probe.task, probe.data(substitute, actor), who)
    changed = snapshot(db, victim.id) != before
    differs = _comparable(replaced(answer, foreign, missing)) != _comparable(expected)
    Tally.leaks += changed or differs
    assert not changed, f"{probe.task} by {actor.id} changed {victim.id}"
    assert not differs, (
        f"{probe.task} on another account's {probe.target} answered differently from a missing "
        f"one:\n  foreign: {answer}\n  missing: {expected}"
    )
    if probe.task.endswith(".get") or probe.task.endswith(".list"):
        assert not answer["ok"] or not _mentions(answer, victim), answer
    Tally.probes += 1


_missing: dict[str, str] = {}
"""One missing id per foreign id in an example: the actor's own history with both is alike."""


def _comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what differs between any two calls (audit rows' own id and time).

    ``strategies.audit`` lists the actor's own entries about the id it names (its failed
    attempts on it, foreign or missing alike): the same entries, made at other moments.
    """
    items = answer.get("data", {}).get("items") if answer.get("ok") else None
    if not items or "at" not in items[0]:
        return answer
    rows = [{k: v for k, v in row.items() if k not in ("id", "at")} for row in items]
    return {**answer, "data": {**answer["data"], "items": rows, "pagination": None}}


def _mentions(answer: dict[str, Any], victim: Account) -> bool:
    text = repr(answer)
    return any(g["id"] in text for g in victim.games) or victim.id in text


def _own_lists(call: Call, actor: Account, world: list[Account]) -> None:
    """Lists, maps and pages hold the actor's objects only."""
    who = owner(actor.id)
    everyone = [g for a in world for g in a.games]
    listed = call("games.list", {"limit": 100, "with_total": True}, who)
    assert listed["ok"], listed
    assert {g["account_id"] for g in listed["data"]["items"]} <= {actor.id}
    assert listed["data"]["pagination"]["total"] == len(actor.games)
    for name in NAMES:
        found = call("games.list", {"filters": {"name_contains": name}}, who)
        assert {g["account_id"] for g in found["data"]["items"]} <= {actor.id}, found
    mapping = call("games.external_ids", {"game_ids": [g["id"] for g in everyone]}, who)
    assert mapping["data"]["mapping"] == {g["id"]: g["external_game_id"] for g in actor.games}
    for external_id in EXTERNAL_IDS:
        got = call("games.get", {"external_game_id": external_id}, who)
        mine = [g for g in actor.games if g["external_game_id"] == external_id]
        if mine:
            assert got["ok"] and got["data"]["id"] == mine[0]["id"], got
        else:
            expected = call("games.get", {"external_game_id": "nothing-here"}, who)
            assert replaced(got, external_id, "nothing-here") == expected, got
    for other in world:
        if other.id != actor.id:
            named = call("games.list", {"account_id": other.id}, who)
            assert named["error"]["code"] == "validation_error", named
    if "strategies.list" in _registered:
        strategies = call("strategies.list", {"limit": 100}, who)
        assert {s["account_id"] for s in strategies["data"]["items"]} <= {actor.id}, strategies
    Tally.lists += 1


def _controls(call: Call, world: list[Account]) -> None:
    """The owner and an admin do see the ids the probes aim at."""
    for account in world:
        for game in account.games:
            for who in (owner(account.id), ADMIN):
                got = call("games.get", {"game_id": game["id"]}, who)
                assert got["ok"] and got["data"]["id"] == game["id"], got
        for task in account.tasks:
            got = call("game_tasks.get", {"task_id": task["id"]}, owner(account.id))
            assert got["ok"], got
        Tally.controls += 1


_registered: set[str] = set()


@pytest.fixture(scope="module")
def registered(celery_app: GameworkerCelery) -> set[str]:
    _registered.update(n for n in celery_app.tasks if not n.startswith("celery."))
    return _registered


@settings(
    max_examples=scaled(400, minimum=12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=worlds(), draws=probe_draws)
def test_no_actor_reaches_another_account(
    database: Database, call: Call, registered: set[str], plan: Any, draws: Any
) -> None:
    empty(database)
    _missing.clear()
    try:
        world = build(call, database, plan)
        _controls(call, world)
        for actor_i, victim_i, probe_i, pick, roles in draws:
            actor = world[actor_i % len(world)]
            victim = world[victim_i % len(world)]
            if victim.id == actor.id:
                victim = world[(world.index(actor) + 1) % len(world)]
            probe = PROBES[probe_i]
            if probe.task not in registered:
                continue
            _probe(call, database, probe, actor, victim, pick, roles)
        for actor in world:
            _own_lists(call, actor, world)
    finally:
        figures.record(
            f"tenancy ({database.dialect})",
            {
                "worlds": 1,
                "cross-tenant probes": Tally.probes,
                "owner/admin controls": Tally.controls,
                "list/map checks": Tally.lists,
                "leaks": Tally.leaks,
            },
            {"leaks": 0},
        )
        Tally.probes = Tally.controls = Tally.lists = Tally.leaks = 0
