"""An upstream producer that signs its commands, configured as docs/security.md says.

Run as a script (``python signed_producer.py SPEC``) so that Celery's process-wide ``auth``
serializer is registered with this producer's key only. It imports Celery alone, never this
project. SPEC is JSON: ``{broker, backend, key, cert, store, commands: [{name, kwargs, queue}]}``;
it prints one JSON line per command: ``{"result": ...}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import sys

from celery import Celery


def main(spec_text: str) -> None:
    spec = json.loads(spec_text)
    app = Celery("upstream", broker=spec["broker"], backend=spec["backend"])
    app.conf.update(
        task_serializer="auth",
        accept_content=["auth"],
        result_serializer="json",
        result_accept_content=["json"],
        security_key=spec["key"],
        security_certificate=spec["cert"],
        security_cert_store=spec["store"],
        security_digest="sha256",
        broker_transport_options=spec.get("transport_options", {}),
        result_backend_transport_options=spec.get("transport_options", {}),
    )
    app.setup_security(allowed_serializers=["json"], digest="sha256", serializer="json")
    for command in spec["commands"]:
        sent = app.send_task(command["name"], kwargs=command["kwargs"], queue=command["queue"])
        try:
            line = {"id": sent.id, "result": sent.get(timeout=spec.get("timeout", 30))}
        except Exception as exc:
            line = {"id": sent.id, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
