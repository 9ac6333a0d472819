"""Celery's ``auth`` serializer, registered so that a bad signature says so.

Celery 5 reports a signature that fails to verify as ``SecurityError("Unable to deserialize:
TypeError('catching classes that do not inherit from BaseException is not allowed')")``
(celery/celery#5692: its ``reraise_errors`` catches a module, not an exception class). The
message is refused all the same; this only makes the dead letter say why. Imported only when
signing is on: it needs ``cryptography``.
"""

from __future__ import annotations

from typing import Any

from celery.exceptions import SecurityError
from celery.security.certificate import Certificate, FSCertStore
from celery.security.key import PrivateKey
from celery.security.serialization import SecureSerializer
from kombu.serialization import register

CELERY_5692 = "do not inherit from BaseException"


class ReadableSecureSerializer(SecureSerializer):  # type: ignore[misc]
    """``SecureSerializer`` with a readable error for a signature that does not verify."""

    def deserialize(self, data: Any) -> Any:
        try:
            return super().deserialize(data)
        except SecurityError as exc:
            if CELERY_5692 not in str(exc):
                raise
            raise SecurityError(
                "Bad signature: the body was not signed with the key of the certificate it "
                "names, or was changed after signing"
            ) from exc


def register_readable_auth(conf: Any, digest: str) -> None:
    """Register ``auth`` as ``setup_security`` does, with the readable serializer."""
    with open(conf.security_key) as key, open(conf.security_certificate) as cert:
        serializer = ReadableSecureSerializer(
            PrivateKey(key.read(), password=conf.security_key_password),
            Certificate(cert.read()),
            FSCertStore(conf.security_cert_store),
            digest,
            serializer="json",
        )
    register(  # type: ignore[no-untyped-call]
        "auth",
        serializer.serialize,
        serializer.deserialize,
        content_type="application/data",
        content_encoding="utf-8",
    )
