"""``gameworker flower``: Flower on the gameworker app, with basic auth required by default.

The credentials come from ``GAMEWORKER_FLOWER_USER`` / ``GAMEWORKER_FLOWER_PASSWORD``; without
a password Flower refuses to start unless ``--no-auth`` (or ``GAMEWORKER_FLOWER_NO_AUTH=1``)
says so explicitly. Flower runs in this process and is handed the credentials directly, so
they never show in the process list. ``--read-only`` disables every operation (revoke,
terminate, pool resize, shutdown) while keeping the dashboards and the API's reads.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workers.settings import Settings

MIN_PASSWORD = 8


def register(sub: Any) -> None:
    p = sub.add_parser("flower", help="run the Flower dashboard (basic auth required)")
    p.add_argument("--port", type=int, help="port (default: GAMEWORKER_FLOWER_PORT, 5555)")
    p.add_argument("--address", default="", help="address to bind (default: all)")
    p.add_argument("--url-prefix", help="serve under this path, e.g. flower")
    p.add_argument(
        "--read-only", action="store_true", help="disable operations: dashboards and reads only"
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="run WITHOUT authentication (only behind a proxy that authenticates)",
    )
    p.set_defaults(run=run)


class AuthMissing(Exception):
    pass


def credentials(settings: Settings, no_auth: bool) -> str | None:
    """``user:password`` for Flower's basic auth, or None when auth is explicitly off."""
    if no_auth or settings.flower_no_auth:
        return None
    password = settings.flower_password.get_secret_value() if settings.flower_password else ""
    if not password:
        raise AuthMissing(
            "Flower needs a password: set GAMEWORKER_FLOWER_PASSWORD (and optionally "
            "GAMEWORKER_FLOWER_USER, default 'gameworker'), or pass --no-auth to run it "
            "without authentication behind a proxy that authenticates."
        )
    if len(password) < MIN_PASSWORD:
        raise AuthMissing(f"GAMEWORKER_FLOWER_PASSWORD must have at least {MIN_PASSWORD} chars")
    if ":" in settings.flower_user or not settings.flower_user:
        raise AuthMissing("GAMEWORKER_FLOWER_USER must be non-empty and must not contain ':'")
    return f"{settings.flower_user}:{password}"


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        auth = credentials(settings, args.no_auth)
    except AuthMissing as exc:
        print(f"gameworker flower: {exc}", file=sys.stderr)
        return 2
    import flower.options  # noqa: F401  (defines Flower's options)
    from tornado.options import options

    from workers.reach import check_settings_broker

    check_settings_broker(settings)
    port = settings.flower_port if args.port is None else args.port
    options.port = port
    options.address = args.address
    options.read_only = bool(args.read_only)
    options.basic_auth = [auth] if auth else []
    if args.url_prefix:
        options.url_prefix = args.url_prefix
    if auth is None:
        print(
            "gameworker flower: WARNING: running without authentication (--no-auth)",
            file=sys.stderr,
        )
    if auth is not None:
        from workers.flower_metrics import require_auth_for_metrics

        require_auth_for_metrics()
    from workers.cli_run import celery

    return celery(["flower"])
