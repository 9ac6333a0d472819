"""One JSON line per command: what it holds, what it never holds, and that the worker emits it."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from celery.app import trace

from tests.conftest import Send
from workers.logs import COMMAND_LOGGER, JsonLineFormatter, install, json_command_lines

pytestmark = pytest.mark.sqlite_only
SECRET_NAME = "Top Secret Launch Title"


def command_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == COMMAND_LOGGER]


def test_each_command_logs_one_line_without_its_payload(
    send: Send, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=COMMAND_LOGGER)
    created = send(
        "games.create", {"name": SECRET_NAME, "params": {"api_token": "t0k3n"}}, key="k-1"
    )
    refused = send("games.get", {"game_id": "gam_missing"})
    assert created["ok"] and not refused["ok"]
    lines = command_lines(caplog)
    assert [line["task"] for line in lines] == ["games.create", "games.get"]
    first, second = lines
    assert first["idempotency_key"] == "k-1"
    assert first["subject"] == "api-key-acme"
    assert (first["outcome"], second["outcome"]) == ("ok", "not_found")
    assert first["duration_ms"] >= 0 and first["task_id"]
    for record in caplog.records:
        text = record.getMessage()
        assert SECRET_NAME not in text and "t0k3n" not in text


def test_a_validation_error_is_logged_with_its_outcome(
    send: Send, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=COMMAND_LOGGER)
    send("games.create", {"name": ""})
    assert [line["outcome"] for line in command_lines(caplog)] == ["validation_error"]


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    logger = logging.getLogger(COMMAND_LOGGER)
    before = list(logger.handlers)
    logger.handlers = [h for h in before if not getattr(h, "gameworker_json", False)]
    level = logger.level
    logger.setLevel(logging.INFO)  # as the root logger of a worker at -l INFO would allow
    out = io.StringIO()
    yield out
    logger.handlers = before
    logger.setLevel(level)


def test_the_worker_handler_writes_bare_json_lines_once(stream: io.StringIO) -> None:
    from celery.utils.log import ColorFormatter

    root_stream = io.StringIO()
    root_handler = logging.StreamHandler(root_stream)
    root_handler.setFormatter(ColorFormatter("%(message)s", use_color=False))
    root = logging.getLogger()
    root.addHandler(root_handler)
    try:
        handler = install(logging.INFO, stream)
        assert install(logging.INFO, stream) is handler  # idempotent
        logging.getLogger(COMMAND_LOGGER).info(
            json.dumps({"task": "games.create", "outcome": "ok"})
        )
        logging.getLogger("gameworker.other").warning("not a command")
    finally:
        root.removeHandler(root_handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["task"] == "games.create" and line["outcome"] == "ok"
    assert line["level"] == "INFO" and line["logger"] == COMMAND_LOGGER
    assert line["time"].endswith("Z")
    assert "games.create" not in root_stream.getvalue()  # not twice through Celery's handler
    assert "not a command" in root_stream.getvalue()  # other records untouched


def test_the_handler_follows_the_worker_log_level(stream: io.StringIO) -> None:
    install(logging.WARNING, stream)
    logging.getLogger(COMMAND_LOGGER).info(json.dumps({"task": "games.get"}))
    assert stream.getvalue() == ""


def test_the_celery_signal_receiver_installs_it(stream: io.StringIO) -> None:
    json_command_lines(loglevel=logging.INFO, logger=logging.getLogger())
    handlers = logging.getLogger(COMMAND_LOGGER).handlers
    assert any(getattr(h, "gameworker_json", False) for h in handlers)
    # and Celery's success line no longer prints the answer
    assert "return_value" not in trace.LOG_SUCCESS and "%(runtime)s" in trace.LOG_SUCCESS


def test_the_formatter_keeps_plain_messages_and_exceptions() -> None:
    formatter = JsonLineFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            COMMAND_LOGGER, logging.ERROR, __file__, 1, "plain %s", ("text",), sys.exc_info()
        )
    line = json.loads(formatter.format(record))
    assert line["message"] == "plain text" and "ValueError: boom" in line["exception"]
