"""Dead letters in the worker: poison messages, and the RabbitMQ copy in ``<queue>.dead``.

Two ways a message is given up on:

1. **It cannot be read** (the worker's consumer, main process): a body over
   ``max_message_bytes``, a body that does not decode (invalid JSON, a disallowed content type
   such as pickle), a message that is not a Celery task message, a task name no worker knows, or
   a task message of the wrong shape. Celery's consumer logs these and drops them (or loops on
   some); ``DeadLetteringConsumer`` (``worker_consumer``) records each as a dead letter first,
   answers the sender's result with a failure where it knows the task id, and lets the message
   go, so the queue keeps moving.
2. **It failed for good** (retries spent, or a non-transient fault): ``CommandTask.on_failure``
   records the dead letter; the ``task_failure`` handler here makes the RabbitMQ copy, and
   records those failures no task code sees (a hard time limit).

A dead letter is a ``dead_letters`` row plus a ``command.failed`` event on every broker. On
RabbitMQ the message is also copied, with the error in its ``x-gameworker-error`` header, to
the durable queue ``<queue>.dead`` through the direct exchange ``gameworker.dead``, and the
original is acknowledged. The worker copies it itself rather than relying on a queue's
``x-dead-letter-exchange`` argument: RabbitMQ refuses to declare one queue with two different
argument sets, so a worker declaring ``games`` with that argument would make every plain
``send_task(..., queue="games")`` of an upstream service fail with PRECONDITION_FAILED (and the
other way round). Operators who prefer the broker's own dead-lettering can set a DLX policy;
it does not interfere, since every message the worker gives up on is acknowledged.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from celery.exceptions import InvalidTaskError, TimeLimitExceeded, WorkerLostError
from celery.signals import task_failure
from celery.utils.objects import Bunch
from celery.worker.consumer.consumer import Consumer
from kombu import Exchange, Queue  # type: ignore[attr-defined]
from vine import promise  # type: ignore[import-untyped]

from tasks.base import Ident
from tasks.dead_letters import ARGUMENTS_LIMIT, DeadLetter, jsonable_kwargs, record_dead_letter
from workers.broker_loss import SurvivesBrokerLoss
from workers.task_headers import count, header_problem

log = logging.getLogger("gameworker.dead_letters")

DEAD_EXCHANGE = Exchange("gameworker.dead", type="direct", durable=True)  # type: ignore[no-untyped-call]
ERROR_HEADER = "x-gameworker-error"
UNKNOWN_TASK = "(unknown)"


def dead_queue(queue: str) -> Queue:
    """``<queue>.dead``, bound to ``gameworker.dead`` by its own name."""
    name = f"{queue}.dead"
    return Queue(name, DEAD_EXCHANGE, routing_key=name, durable=True)  # type: ignore[no-untyped-call]


def _is_amqp(app: Any) -> bool:
    cached = getattr(app, "_gw_is_amqp", None)
    if cached is None:
        with app.connection_for_write() as conn:
            cached = conn.transport.driver_type == "amqp"
        app._gw_is_amqp = cached
    return bool(cached)


def _readable_body(body: Any) -> dict[str, str]:
    """The start of a body as text, or as base64 when it is binary (JSON holds no NUL)."""
    raw = body if isinstance(body, bytes | bytearray | memoryview) else str(body).encode()
    head = bytes(raw[:ARGUMENTS_LIMIT])
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"  # not text: fall through to base64
    if "\x00" not in text:
        return {"body": text}
    return {"body_base64": base64.b64encode(head).decode("ascii")}


def _shape_problem(message: Any) -> str | None:
    """Why a decodable protocol-2 body is no ``[args, kwargs, embed]`` (Celery would crash)."""
    headers = message.headers if isinstance(message.headers, dict) else {}
    if "task" not in headers:
        return None  # protocol 1, or no task message at all: Celery's handlers decide
    wrong_header = header_problem(headers)  # checked before Celery trusts them
    if wrong_header:
        return wrong_header
    try:
        payload = message.payload  # decoded once; Celery reuses it
    except Exception:
        return None  # undecodable: Celery calls on_decode_error / on_invalid_task
    if not isinstance(payload, list | tuple) or len(payload) != 3:
        return "the body must be [args, kwargs, embed]"
    args, kwargs, embed = payload
    if not isinstance(args, list | tuple):
        return "args must be a list"
    if not isinstance(kwargs, dict):
        return "kwargs must be an object"
    if not isinstance(embed, dict):
        return "the third element (embed) must be an object"
    return None


def _size(body: Any) -> int:
    return len(body) if body is not None else 0


class DeadLetteringConsumer(SurvivesBrokerLoss, Consumer):  # type: ignore[misc]
    """Celery's consumer, recording every message it cannot run as a dead letter."""

    def create_task_handler(self, promise: Any = promise) -> Any:
        handle = super().create_task_handler(promise)
        settings = getattr(self.app, "settings", None)
        limit = getattr(settings, "max_message_bytes", None)
        connection_errors = tuple(self.connection_errors or ())

        def on_task_received(message: Any) -> Any:
            size = _size(message.body)
            if limit and size > limit:
                self._give_up(
                    message,
                    f"message body of {size:,} bytes exceeds the limit of {limit:,} bytes "
                    "(GAMEWORKER_MAX_MESSAGE_BYTES); it was not read",
                    decode=False,
                )
                return self._let_go(message)
            problem = _shape_problem(message)
            if problem:
                self._give_up(message, f"malformed task message: {problem}")
                return self._let_go(message)
            try:
                return handle(message)
            except connection_errors:
                raise
            except Exception as exc:  # a malformed task message Celery does not catch
                self._give_up(message, f"malformed task message: {type(exc).__name__}: {exc}")
                return self._let_go(message)

        return on_task_received

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        self._give_up(
            message,
            f"cannot decode the message body (content type {message.content_type!r}): {exc}",
            decode=False,
        )
        super().on_decode_error(message, exc)

    def on_unknown_message(self, body: Any, message: Any) -> None:
        self._give_up(message, "not a Celery task message: it names no task")
        super().on_unknown_message(body, message)

    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        name = (message.headers or {}).get("task")
        self._give_up(message, f"unknown task {name!r}: no worker runs it", answer=False)
        super().on_unknown_task(body, message, exc)

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        self._give_up(message, f"invalid task message: {type(exc).__name__}: {exc}")
        super().on_invalid_task(body, message, exc)

    # --- giving up on one message ----------------------------------------------------------

    def _let_go(self, message: Any) -> None:
        if not message.acknowledged:
            message.ack_log_error(log, self.connection_errors)

    def _give_up(self, message: Any, error: str, decode: bool = True, answer: bool = True) -> None:
        """Record the dead letter, copy it to ``<queue>.dead`` on RabbitMQ, fail its result."""
        headers = message.headers if isinstance(message.headers, dict) else {}
        raw_id, raw_task = headers.get("id"), headers.get("task")
        task_id = raw_id if isinstance(raw_id, str) else None
        task = raw_task if isinstance(raw_task, str) else UNKNOWN_TASK
        queue = self._queue_of(message)
        kwargs = _kwargs_of(message) if decode else None
        arguments = (
            jsonable_kwargs(kwargs)
            if kwargs is not None
            else {
                **_readable_body(message.body),
                "content_type": message.content_type,
                "content_encoding": message.content_encoding,
            }
        )
        ident = Ident.guess(kwargs or {}, task_id or _message_id(message) or "unknown")
        retries = headers.get("retries")
        letter = DeadLetter(
            task_id=task_id,
            task=task[:200],
            queue=queue,
            arguments=arguments,
            error=error,
            attempts=(retries if count(retries) else 0) + 1,  # a header may be garbage
            idempotency_key=ident.key,
            subject=ident.subject,
            account_id=ident.account_id,
        )
        log.error("dead letter: %s %s on %s: %s", task, task_id, queue, error)
        try:
            record_dead_letter(self.app.runtime, letter)
        except Exception:  # the database is away: the log above and the broker copy remain
            log.critical("could not record the dead letter of %s %s", task, task_id, exc_info=True)
        if queue and _is_amqp(self.app):
            self._copy(message, queue, error)
        if answer and task_id:
            self._fail_result(message, task_id, task, error)

    def _queue_of(self, message: Any) -> str | None:
        info = message.delivery_info or {}
        key = info.get("routing_key")
        names = set(self.app.amqp.queues)
        if key in names:
            return str(key)
        tag = info.get("consumer_tag")
        tags = getattr(self.task_consumer, "_active_tags", {}) if self.task_consumer else {}
        for name, active in tags.items():
            if active == tag:
                return str(name)
        return str(key) if key else None

    def _copy(self, message: Any, queue: str, error: str) -> None:
        headers = dict(message.headers or {})
        headers[ERROR_HEADER] = error
        try:
            with self.app.producer_pool.acquire(block=True, timeout=10) as producer:
                producer.publish(
                    message.body,
                    exchange=DEAD_EXCHANGE,
                    routing_key=f"{queue}.dead",
                    declare=[dead_queue(queue)],
                    headers=headers,
                    content_type=message.content_type or "application/octet-stream",
                    content_encoding=message.content_encoding or "binary",
                    delivery_mode=2,
                    retry=True,
                    retry_policy={"max_retries": 2},
                )
        except Exception:
            log.critical("could not copy a dead letter to %s.dead", queue, exc_info=True)

    def _fail_result(self, message: Any, task_id: str, task: str, error: str) -> None:
        """Answer the sender who waits on the result: FAILURE, with the readable error."""
        properties = message.properties or {}
        request = Bunch(
            id=task_id,
            name=task,
            task=task,
            chord=None,
            root_id=None,
            parent_id=None,
            group=None,
            correlation_id=properties.get("correlation_id") or task_id,
            reply_to=properties.get("reply_to"),
            errbacks=None,
            args=None,
            kwargs=None,
            retries=0,
            delivery_info=message.delivery_info or {},
            ignore_result=False,
            hostname=None,
        )
        try:
            self.app.backend.mark_as_failure(task_id, InvalidTaskError(error), request=request)
        except Exception:
            log.warning("could not store the failure of %s", task_id, exc_info=True)


def _message_id(message: Any) -> str | None:
    value = (message.properties or {}).get("message_id")
    return value if isinstance(value, str) else None


def _kwargs_of(message: Any) -> dict[str, Any] | None:
    """The keyword arguments of a protocol-2 JSON body, when it has that shape."""
    if message.content_type != "application/json":
        return None
    try:
        body = message.body
        payload = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    if isinstance(payload, list) and len(payload) == 3 and isinstance(payload[1], dict):
        return payload[1]
    return None


# --- failures of running tasks -------------------------------------------------------------


def _on_task_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    **_: Any,
) -> None:
    """Copy a failed command to ``<queue>.dead`` on RabbitMQ; record what no task code saw."""
    app = getattr(sender, "app", None)
    if sender is None or app is None or getattr(app, "holder", None) is None:
        return  # not a gameworker app
    request = getattr(sender, "request", None)
    queue = (getattr(request, "delivery_info", None) or {}).get("routing_key")
    error = f"{type(exception).__name__}: {exception}"
    if isinstance(exception, TimeLimitExceeded | WorkerLostError):
        # The pool process is gone: no on_failure ran; record it from the main process.
        ident = Ident.guess(kwargs if isinstance(kwargs, dict) else {}, task_id or "unknown")
        retries = getattr(request, "retries", 0) or 0
        letter = DeadLetter(
            task_id=task_id,
            task=sender.name,
            queue=queue,
            arguments=jsonable_kwargs(kwargs),
            error=error,
            attempts=retries + 1,
            idempotency_key=ident.key,
            subject=ident.subject,
            account_id=ident.account_id,
        )
        try:
            record_dead_letter(app.runtime, letter)
        except Exception:
            log.critical("could not record the dead letter of %s", task_id, exc_info=True)
    if not queue or not _is_amqp(app):
        return
    try:
        app.send_task(
            sender.name,
            args=args if isinstance(args, list | tuple) else (),
            kwargs=kwargs if isinstance(kwargs, dict) else {},
            task_id=task_id,
            exchange=DEAD_EXCHANGE,
            routing_key=f"{queue}.dead",
            declare=[dead_queue(queue)],
            headers={ERROR_HEADER: error[:4000]},
        )
    except Exception:
        log.critical("could not copy %s %s to %s.dead", sender.name, task_id, queue, exc_info=True)


task_failure.connect(_on_task_failure)
