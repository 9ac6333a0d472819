"""Celery settings for gameworker, built from the settings object (``config_from_object``).

Chosen for at-least-once delivery with idempotent tasks: a message is acknowledged only after
its command finished, and a redelivered one is answered from its idempotency record.
"""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue  # type: ignore[attr-defined]

from workers import filesystem_transport, redis_transport
from workers.beat import beat_config
from workers.settings import Settings
from workers.signing import signing_conf

QUEUES = ("games", "strategies", "maintenance")
CASCADES = (
    "strategies.publish",
    "strategies.archive",
    "strategies.rollback",
    "maintenance.run_due_operations",
    "maintenance.reconcile_strategy_refs",
)


def build(settings: Settings) -> dict[str, Any]:
    settings.check()
    filesystem_transport.install()  # filesystem:// without half-written reads
    transport_options: dict[str, Any] = {
        # Redis/SQS: redeliver an unacked message only after every time limit has passed.
        "visibility_timeout": settings.visibility_timeout,
        # Redis: look for overdue unacknowledged messages every 10 s (kombu: every 100 s), so a
        # message taken as Redis stopped is back soon after its unread timeout (15 s).
        "unacked_restore_throttle": 1,
    }
    if settings.is_embedded_broker:
        folder = settings.broker_folder
        for sub in ("in", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        # The filesystem transport: one folder in and out, so every process on the machine
        # shares the queues. It removes a message when fetched: no redelivery there.
        transport_options |= {
            "data_folder_in": str(folder / "in"),
            "data_folder_out": str(folder / "in"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "control_folder": str(folder / "control"),
            "polling_interval": 0.05,
        }
        (settings.home_dir / "results").mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": settings.broker,
        # On Redis, a transport that pops a message and records it as unacknowledged in one
        # step: kombu's own loses a message popped as Redis stops (workers/redis_transport.py).
        "broker_transport": redis_transport.transport_for(settings.broker),
        "result_backend": settings.results,
        "broker_transport_options": transport_options,
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout},
        # A result that cannot be stored while the backend restarts is retried (with backoff)
        # rather than lost: the command committed, its sender must hear of it.
        "result_backend_always_retry": True,
        "result_backend_max_retries": 20,
        # JSON only: senders never import project code, and nothing is unpickled.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Ack after the command ran, so a crash mid-command redelivers it (idempotency makes
        # the second run answer the first result).
        "task_acks_late": True,
        # A worker process killed mid-command (SIGKILL, OOM) requeues its message.
        "task_reject_on_worker_lost": True,
        # ... but not forever: a command whose process is lost is sent again, with its retries
        # counted, after a second; one that has used up GAMEWORKER_MAX_RETRIES (transient
        # faults included) ends in FAILURE and is dead-lettered (workers/dead_lettering.py),
        # so a command that always takes its worker down runs a bounded number of times.
        "task_retry_on_worker_lost": True,
        # A command that failed for good, or timed out, is acknowledged once it is dead-lettered
        # (a row, a command.failed event, on RabbitMQ a copy in <queue>.dead): never requeued
        # in a loop. Poison messages are handled by the consumer below (docs/events.md).
        "task_acks_on_failure_or_timeout": True,
        "worker_consumer": "workers.dead_lettering:DeadLetteringConsumer",
        # One message in hand per process: a slow command never holds others hostage.
        "worker_prefetch_multiplier": 1,
        # Losing the broker connection cancels running late-ack tasks: they are redelivered.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # Keep retrying the broker at start instead of crashing the worker.
        "broker_connection_retry_on_startup": True,
        # Both limits below the broker's visibility timeout (checked in Settings.check).
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        # Cascades get longer limits of their own, still below the visibility timeout.
        "task_annotations": {
            # every task: the bound above, and the delay of a retry after a lost worker
            "*": {"max_retries": settings.max_retries, "default_retry_delay": 1},
            **{
                name: {
                    "soft_time_limit": settings.cascade_soft_time_limit,
                    "time_limit": settings.cascade_time_limit,
                }
                for name in CASCADES
            },
        },
        # STARTED lets a client tell a queued command from a running one.
        "task_track_started": True,
        # Results are kept a day: enough for any caller to collect them.
        "result_expires": settings.result_expires,
        # Results carry the task name, so Flower and `gameworker send` can show it.
        "result_extended": True,
        # The three queues of the contract, durable, each on its own direct exchange.
        "task_queues": [
            Queue(q, Exchange(q, type="direct"), routing_key=q)  # type: ignore[no-untyped-call]
            for q in QUEUES
        ],
        "task_default_queue": "games",
        "task_routes": {
            "games.*": {"queue": "games"},
            "game_tasks.*": {"queue": "games"},
            "strategies.*": {"queue": "strategies"},
            "maintenance.*": {"queue": "maintenance"},
            "events.*": {"queue": "maintenance"},
        },
        # Task events for Flower: on from the start, no `celery control enable_events` needed.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        # Recycle a worker process now and then: a slow leak never grows without bound.
        "worker_max_tasks_per_child": 10_000,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": False,
        # The beat schedule and its single-scheduler lock (workers/beat.py).
        **beat_config(settings),
        # Signed commands, when a signing key is set (workers/signing.py, docs/security.md).
        **signing_conf(settings),
    }


_conf = build(Settings())
globals().update(_conf)
