"""``gameworker send`` against the embedded worker: answers, exit codes, progress, usage errors.

The CLI runs in this process (``main([...])``) with its settings pointed at ``memory://`` and
``cache+memory://``, which are process-wide: its messages reach the module's embedded worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks import catalog
from tests.conftest import ACTOR
from workers.app import GameworkerCelery
from workers.cli import main
from workers.cli_send import ProgressBar

pytestmark = pytest.mark.sqlite_only

PROGRESS_TASK = "maintenance.test_progress"
FAILING_TASK = "maintenance.test_failing"
SLOW_TASK = "maintenance.test_slow"


@pytest.fixture(scope="module")
def extra_tasks(celery_app: GameworkerCelery) -> None:
    """Tasks that report PROGRESS or fail, registered before the module's worker starts."""

    @celery_app.task(name=PROGRESS_TASK, bind=True)
    def progress(self: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
        for done in range(1, 4):
            self.update_state(state="PROGRESS", meta={"done": done, "total": 3})
            time.sleep(0.6)
        return {"ok": True, "data": {"steps": 3}}

    @celery_app.task(name=SLOW_TASK)
    def slow(data: dict[str, Any] | None = None) -> dict[str, Any]:
        time.sleep(1.5)
        return {"ok": True, "data": {}}

    @celery_app.task(name=FAILING_TASK)
    def failing(data: dict[str, Any] | None = None) -> dict[str, Any]:
        raise RuntimeError("the database is on fire")


@pytest.fixture
def cli(
    db: Any,
    celery_app: GameworkerCelery,
    extra_tasks: None,
    worker: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[None]:
    monkeypatch.setenv("GAMEWORKER_HOME", str(tmp_path))
    monkeypatch.setenv("GAMEWORKER_BROKER_URL", "memory://")
    monkeypatch.setenv("GAMEWORKER_RESULT_BACKEND", "cache+memory://")
    for name in (PROGRESS_TASK, FAILING_TASK, SLOW_TASK):
        monkeypatch.setitem(catalog.SYSTEM_TASKS, name, "a test task")
    yield


def send(*argv: str) -> int:
    return main(["send", *argv])


ACTOR_JSON = json.dumps(ACTOR)


def test_send_and_wait_prints_the_answer(cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = send(
        "games.create", "--actor", ACTOR_JSON, "--data", '{"name": "Space Chess"}', "--wait"
    )
    answer = json.loads(capsys.readouterr().out)
    assert code == 0
    assert answer["ok"] and answer["data"]["slug"] == "space-chess"


def test_ok_false_exits_1_and_prints_the_error(
    cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = send("games.get", "--actor", ACTOR_JSON, "--data", '{"game_id": "gam_x"}', "--wait")
    answer = json.loads(capsys.readouterr().out)
    assert code == 1
    assert answer == {"ok": False, "error": answer["error"]}
    assert answer["error"]["code"] == "not_found"


def test_without_wait_prints_the_task_id_and_queue(
    cli: None, celery_app: GameworkerCelery, capsys: pytest.CaptureFixture[str]
) -> None:
    code = send("strategies.list", "--actor", ACTOR_JSON)
    sent = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sent["queue"] == "strategies" and sent["task"] == "strategies.list"
    answer = celery_app.AsyncResult(sent["task_id"]).get(timeout=30)
    assert answer["ok"]


def test_the_key_makes_a_second_send_answer_the_first(
    cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["games.create", "--actor", ACTOR_JSON, "--data", '{"name": "A"}', "--key", "k-7"]
    assert send(*args, "--wait") == 0
    first = json.loads(capsys.readouterr().out)
    assert send(*args, "--wait") == 0
    assert json.loads(capsys.readouterr().out) == first


def test_data_and_actor_from_files_and_stdin(
    cli: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    actor = tmp_path / "actor.json"
    actor.write_text(ACTOR_JSON)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO('{"name": "From Stdin"}'))
    code = send("games.create", "--actor", f"@{actor}", "--data", "-", "--wait")
    assert code == 0
    assert json.loads(capsys.readouterr().out)["data"]["name"] == "From Stdin"


def test_progress_is_shown_while_the_task_reports_it(
    cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = send(PROGRESS_TASK, "--wait", "--timeout", "30")
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out) == {"ok": True, "data": {"steps": 3}}
    lines = [line for line in captured.err.splitlines() if line.startswith("progress ")]
    assert lines, captured.err
    assert lines[-1].endswith("3/3 100%")
    assert any("/3" in line and "#" in line for line in lines)


def test_a_maintenance_task_prints_its_summary(
    cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = send("maintenance.prune", "--wait", "--timeout", "30")
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"idempotency_records", "outbox_rows", "complete"} <= set(summary), summary


def test_a_maintenance_task_refusing_its_data_exits_1(
    cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = send("maintenance.prune", "--data", '{"unknown": 1}', "--wait", "--timeout", "30")
    answer = json.loads(capsys.readouterr().out)
    assert code == 1 and answer["error"]["code"] == "validation_error"


def test_a_failed_task_exits_3(cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = send(FAILING_TASK, "--wait", "--timeout", "30")
    printed = json.loads(capsys.readouterr().out)
    assert code == 3
    assert printed["state"] == "FAILURE" and "on fire" in printed["error"]


def test_no_answer_in_time_exits_4(cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = send(SLOW_TASK, "--wait", "--timeout", "0.5")
    assert code == 4
    assert "no answer within 0.5 s" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["games.creat", "--actor", ACTOR_JSON], "Did you mean games.create"),
        (["games.create", "--actor", ACTOR_JSON, "--data", "{name"], "--data is not valid JSON"),
        (["games.create", "--actor", ACTOR_JSON, "--data", "[1]"], "--data must be a JSON object"),
        (["games.create", "--actor", "[]"], "--actor must be a JSON object"),
        (["games.create"], "commands need --actor"),
        (["games.create", "--actor", "@/nonexistent/a.json"], "cannot read /nonexistent/a.json"),
    ],
)
def test_usage_errors_exit_2_with_a_sentence(
    cli: None, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert send(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


class Tty:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_the_bar_redraws_in_place_on_a_terminal() -> None:
    tty = Tty()
    bar = ProgressBar(tty, width=10)  # type: ignore[arg-type]
    bar(5, 10)
    bar(10, 10)
    bar.finish()
    assert tty.text == "\r[#####.....] 5/10  50%\r[##########] 10/10 100%\n"


def test_an_empty_total_does_not_divide_by_zero() -> None:
    tty = Tty()
    ProgressBar(tty, width=4)(0, 0)  # type: ignore[arg-type]
    assert tty.text == "\r[....] 0/0   0%"
