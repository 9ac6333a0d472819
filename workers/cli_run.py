"""``gameworker worker`` and ``gameworker beat``: the long-running Celery processes.

Both check the database and the broker first, so a wrong URL is one sentence and exit code 2
rather than a worker retrying forever or a traceback.
"""

from __future__ import annotations

import argparse
from typing import Any

from workers.settings import Settings

QUEUES = ("games", "strategies", "maintenance")


def register(sub: Any) -> None:
    w = sub.add_parser("worker", help="run a worker on the contract's queues")
    w.add_argument("-Q", "--queues", nargs="*", choices=QUEUES, help="queues (default: all three)")
    w.add_argument("-c", "--concurrency", type=int, help="processes (default: CPU count)")
    w.add_argument("-P", "--pool", help="prefork (default), threads or solo")
    w.add_argument("-n", "--hostname", help="node name, e.g. games@%%h")
    w.add_argument("-l", "--loglevel", help="log level (default: GAMEWORKER_LOG_LEVEL)")
    w.add_argument("celery_args", nargs="*", help="after --: more `celery worker` options")
    w.set_defaults(run=run_worker)
    b = sub.add_parser("beat", help="run the scheduler (exactly one per deployment)")
    b.add_argument("-l", "--loglevel", help="log level (default: GAMEWORKER_LOG_LEVEL)")
    b.add_argument("celery_args", nargs="*", help="after --: more `celery beat` options")
    b.set_defaults(run=run_beat)


def celery(argv: list[str]) -> int:
    """Run a Celery program of the gameworker app in this process."""
    from workers.app import app

    code = app.start(list(argv))  # argv without the program name
    return int(code or 0)


def preflight(settings: Settings, database: bool = True) -> None:
    """The database (migrated) and the broker answer, or ``Unreachable``/``SystemExit``."""
    from workers.reach import check_database, check_settings_broker

    if database:
        from persistence.engine import make_engine
        from persistence.migrate import NotMigrated, ensure_migrated

        check_database(settings.database)
        engine = make_engine(settings.database, pool_size=1)
        try:
            ensure_migrated(engine)
        except NotMigrated as exc:
            raise SystemExit(f"gameworker: {exc}") from None
        finally:
            engine.dispose()
    check_settings_broker(settings)


def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    preflight(settings)
    queues = ",".join(args.queues) if args.queues else ",".join(QUEUES)
    argv = ["worker", "-Q", queues, "-l", args.loglevel or settings.log_level, "-E"]
    if args.concurrency:
        argv += ["-c", str(args.concurrency)]
    if args.pool:
        argv += ["-P", args.pool]
    if args.hostname:
        argv += ["-n", args.hostname]
    return celery([*argv, *args.celery_args])


def run_beat(settings: Settings, args: argparse.Namespace) -> int:
    from workers.app import app

    preflight(settings)
    argv = ["beat", "-l", args.loglevel or settings.log_level]
    if app.conf.beat_schedule_filename == "celerybeat-schedule":
        # Keep beat's state file with the rest of the embedded state, not in the cwd.
        argv += ["-s", str(settings.home_dir / "celerybeat-schedule")]
    return celery([*argv, *args.celery_args])
