"""Friendly errors: an unreachable broker, backend or database is one sentence, exit code 2.

Each case points a setting at a closed port and checks the message names the URL (password
hidden) and the setting to fix, with no traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from workers.cli import main

ACTOR = '{"account_id": "acme", "subject": "me"}'


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAMEWORKER_HOME", str(tmp_path))
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_send_to_an_unreachable_redis_broker(
    home: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GAMEWORKER_BROKER_URL", f"redis://127.0.0.1:{closed_port}/0")
    code, err = run(["send", "games.list", "--actor", ACTOR, "--wait"], capsys)
    assert code == 2
    assert f"cannot reach the broker at redis://127.0.0.1:{closed_port}/0: " in err
    assert "Connection refused" in err  # the reason, not a driver's inner bookkeeping error
    assert "GAMEWORKER_BROKER_URL" in err


def test_the_broker_password_is_never_shown(
    home: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GAMEWORKER_BROKER_URL", f"amqp://guest:s3cret@127.0.0.1:{closed_port}//")
    code, err = run(["send", "games.list", "--actor", ACTOR], capsys)
    assert code == 2
    assert "s3cret" not in err and f"127.0.0.1:{closed_port}" in err


def test_wait_on_an_unreachable_result_backend(
    home: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GAMEWORKER_RESULT_BACKEND", f"redis://127.0.0.1:{closed_port}/1")
    code, err = run(["send", "games.list", "--actor", ACTOR, "--wait"], capsys)
    assert code == 2
    assert "cannot reach the result backend" in err and "GAMEWORKER_RESULT_BACKEND" in err


def test_events_tail_on_an_unreachable_events_broker(
    home: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GAMEWORKER_EVENTS_URL", f"redis://127.0.0.1:{closed_port}/0")
    code, err = run(["events", "tail", "--timeout", "1"], capsys)
    assert code == 2
    assert "cannot reach the events broker" in err and "GAMEWORKER_EVENTS_URL" in err


@pytest.mark.parametrize("command", [["migrate"], ["worker"], ["beat"]])
def test_an_unreachable_database(
    home: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    url = f"postgresql://gw:hunter22@127.0.0.1:{closed_port}/gameworker"
    monkeypatch.setenv("GAMEWORKER_DATABASE_URL", url)
    code, err = run(command, capsys)
    assert code == 2
    assert f"cannot reach the database at postgresql+psycopg://gw:**@127.0.0.1:{closed_port}" in err
    assert "hunter22" not in err and "GAMEWORKER_DATABASE_URL" in err


def test_worker_on_an_unreachable_broker(
    home: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["migrate"]) == 0  # the embedded SQLite database is there and migrated
    monkeypatch.setenv("GAMEWORKER_BROKER_URL", f"redis://127.0.0.1:{closed_port}/0")
    code, err = run(["worker"], capsys)
    assert code == 2 and "cannot reach the broker" in err


def test_a_worker_refuses_an_unmigrated_database(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["worker"])
    assert "run `gameworker migrate` first" in str(stopped.value)


def test_invalid_settings_are_named(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAMEWORKER_TASK_TIME_LIMIT", "soon")
    code, err = run(["migrate"], capsys)
    assert code == 2 and "invalid settings" in err and "task_time_limit" in err


def test_the_real_entry_point_prints_no_traceback(tmp_path: Path, closed_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEWORKER_")}
    env |= {
        "GAMEWORKER_HOME": str(tmp_path),
        "GAMEWORKER_BROKER_URL": f"redis://127.0.0.1:{closed_port}/0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "workers.cli", "send", "games.list", "--actor", ACTOR, "--wait"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"redis://127.0.0.1:{closed_port}/0" in done.stderr


def test_a_subcommand_that_cannot_import_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image carries no benchmarks: `gameworker` must still work without `bench/`."""
    import workers.cli as cli

    def broken(_sub: object) -> None:
        raise ImportError("No module named 'bench'")

    class Missing:
        register = staticmethod(broken)

    monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, Missing))
    names = cli.parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"send", "worker", "demo"} <= set(names)
