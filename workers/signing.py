"""Signed commands: Celery's ``auth`` serializer, on when a signing key is configured.

With ``GAMEWORKER_SIGNING_KEY``, ``_CERT`` and ``_CERT_STORE`` set, every task message this
process sends is signed with its private key, and every one it receives must carry a signature
that verifies against a certificate in the store (one certificate per trusted producer, the
worker's own included: it sends retries, relay kicks and, as beat, the schedule). An unsigned
message is refused unread (``ContentDisallowed``), a forged or tampered one fails verification
(``SecurityError``); either way the worker's consumer dead-letters it and runs nothing.

What is signed is the message body (the task's arguments: actor, data, idempotency key), not
its headers (task name, id): see docs/security.md for what that means and what it does not.
Results and the ``gameworker.events`` CloudEvents stay plain JSON.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from workers.settings import Settings

DIGEST = "sha256"


def signing_conf(settings: Settings) -> dict[str, Any]:
    """The Celery settings that sign and verify every task message (empty when off)."""
    if not settings.signing:
        return {}
    return {
        "task_serializer": "auth",
        "accept_content": ["auth"],
        # results travel from the worker to the caller and stay JSON (so do Flower's events)
        "result_serializer": "json",
        "result_accept_content": ["json"],
        "event_serializer": "json",
        "security_key": str(settings.signing_key),
        "security_key_password": (
            settings.signing_key_password.get_secret_value().encode()
            if settings.signing_key_password
            else None
        ),
        "security_certificate": str(settings.signing_cert),
        "security_cert_store": str(settings.signing_cert_store),
        "security_digest": DIGEST,
    }


def enable_signing(app: Celery) -> None:
    """Register the ``auth`` serializer with this process's key (kombu's registry is global).

    JSON stays allowed for what is not signed (results, task events); task messages are
    accepted only as ``auth`` (``accept_content``). Needs ``cryptography`` (the ``signing``
    extra): Celery says so when it is missing.
    """
    app.setup_security(allowed_serializers=["json"], digest=DIGEST, serializer="json")
    from workers.signed_serializer import register_readable_auth

    register_readable_auth(app.conf, DIGEST)
