"""The worker's command log: one JSON line per command on stderr.

``tasks.base`` logs one record per command to ``gameworker.commands`` (task, task id,
idempotency key, actor subject, outcome, retries, duration; never the payload). When Celery
has set up the worker's logging, ``json_command_lines`` gives that logger a handler of its own
that writes each record as a bare JSON object (with time, level and logger added) where
Celery's log goes (stderr, or the ``--logfile``), and keeps those records out of Celery's
prefixed handlers so each command is logged once. Other handlers (an operator's, pytest's)
still receive them.

Celery's own "Task ... succeeded" line would print each answer (the command's data) at INFO;
``json_command_lines`` drops the return value from it, so no payload is logged at INFO.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import WatchedFileHandler
from typing import IO, Any

from celery.app import trace
from celery.utils.log import ColorFormatter

COMMAND_LOGGER = "gameworker.commands"
SUCCESS_WITHOUT_RESULT = "Task %(name)s[%(id)s] succeeded in %(runtime)ss"


class JsonLineFormatter(logging.Formatter):
    """A record as one JSON object; a message that is a JSON object is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            fields = json.loads(message)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            fields = {"message": message}
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            **fields,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


class _OtherThanCommands(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(COMMAND_LOGGER)


OTHER_THAN_COMMANDS = _OtherThanCommands()


def celery_handlers() -> list[logging.Handler]:
    """The root handlers Celery set up (they format with its ``ColorFormatter``)."""
    return [h for h in logging.getLogger().handlers if isinstance(h.formatter, ColorFormatter)]


def _handler_beside(celery: list[logging.Handler]) -> logging.Handler:
    for h in celery:
        if isinstance(h, logging.FileHandler):
            return WatchedFileHandler(h.baseFilename, encoding="utf-8")
        if isinstance(h, logging.StreamHandler):
            return logging.StreamHandler(h.stream)
    return logging.StreamHandler(sys.stderr)


def install(level: int | str = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Give ``gameworker.commands`` its JSON-lines handler (once) at ``level``."""
    logger = logging.getLogger(COMMAND_LOGGER)
    celery = celery_handlers()
    for existing in logger.handlers:
        if getattr(existing, "gameworker_json", False):
            existing.setLevel(level)
            return existing
    handler = logging.StreamHandler(stream) if stream is not None else _handler_beside(celery)
    handler.setFormatter(JsonLineFormatter())
    handler.setLevel(level)
    handler.gameworker_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    for other in celery:
        other.addFilter(OTHER_THAN_COMMANDS)
    return handler


def json_command_lines(loglevel: int | str | None = None, **_: Any) -> None:
    """Receiver of Celery's ``after_setup_logger`` signal."""
    install(loglevel or logging.INFO)
    trace.LOG_SUCCESS = SUCCESS_WITHOUT_RESULT
