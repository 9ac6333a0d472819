"""``gameworker dead-letters list|show|resend`` against a running worker (Redis + PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from persistence.tables import games
from tests.conftest import ACTOR
from tests.events.conftest import BrokerApp, FailBeforeCommit, wait_until
from workers.cli import main

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def b(make_broker_app: Any, monkeypatch: pytest.MonkeyPatch) -> BrokerApp:
    target: BrokerApp = make_broker_app("redis")
    s = target.app.settings
    prefix = target.app.conf.broker_transport_options["global_keyprefix"]
    assert prefix  # the CLI's sends must reach this test's worker: same key prefix
    for name, value in {
        "GAMEWORKER_HOME": str(s.home),
        "GAMEWORKER_DATABASE_URL": target.db.url,
        "GAMEWORKER_BROKER_URL": target.app.conf.broker_url,
        "GAMEWORKER_RESULT_BACKEND": target.app.conf.result_backend,
    }.items():
        monkeypatch.setenv(name, value)
    return target


def test_list_show_and_resend_a_failed_command(
    b: BrokerApp, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FailBeforeCommit(b.db, "Flaky", lambda: RuntimeError("disk on fire")):
        sent = b.app.send_task(
            "games.create", kwargs={"actor": ACTOR, "data": {"name": "Flaky"}}, queue="games"
        )
        with pytest.raises(RuntimeError):
            sent.get(timeout=30, interval=0.02)
        row = wait_until(b.dead_letters)[0]

    assert main(["dead-letters", "list"]) == 0
    out = capsys.readouterr().out
    assert "games.create" in out and "RuntimeError: disk on fire" in out and " no " in out

    assert main(["dead-letters", "show", str(row.id)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["task_id"] == sent.id and shown["arguments"]["kwargs"]["data"] == {"name": "Flaky"}

    # Re-sent through the CLI's own app: it needs this test's Redis key prefix.
    import workers.app as app_module

    real = app_module.create_app

    def create_app(settings: Any) -> Any:
        app = real(settings)
        app.conf.broker_transport_options = b.app.conf.broker_transport_options
        return app

    monkeypatch.setattr(app_module, "create_app", create_app)
    assert main(["dead-letters", "resend", str(row.id)]) == 0
    resent = json.loads(capsys.readouterr().out)
    answer = b.app.AsyncResult(resent["task_id"]).get(timeout=30, interval=0.02)
    assert answer["ok"] and answer["data"]["name"] == "Flaky"
    with b.db.engine.connect() as conn:
        assert conn.execute(select(games.c.name)).scalars().all() == ["Flaky"]
    assert b.dead_letters()[0].resent_at is not None

    # Again: refused without --force; with it, the same key answers from its record.
    assert main(["dead-letters", "resend", str(row.id)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["dead-letters", "resend", str(row.id), "--force"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert b.app.AsyncResult(again["task_id"]).get(timeout=30, interval=0.02) == answer
    with b.db.engine.connect() as conn:
        assert len(conn.execute(select(games.c.id)).all()) == 1


def test_undecodable_dead_letters_are_not_resent_and_unknown_ids_say_so(
    b: BrokerApp, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.events.test_dead_letters import publish_raw

    task_id = publish_raw(b, b"garbage{")
    row = wait_until(lambda: [r for r in b.dead_letters() if r.task_id == task_id])[0]
    assert main(["dead-letters", "resend", str(row.id)]) == 2
    assert "holds no command" in capsys.readouterr().err
    assert main(["dead-letters", "show", "999999"]) == 1
    assert "no dead letter 999999" in capsys.readouterr().err
