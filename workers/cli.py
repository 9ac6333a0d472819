"""``gameworker``: run, migrate and talk to the service from a shell."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from persistence.engine import make_engine
from persistence.migrate import upgrade
from workers.settings import Settings


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    engine = make_engine(settings.database)
    url = engine.url.render_as_string(hide_password=True)
    try:
        revision = upgrade(engine)
    except OperationalError as exc:
        print(
            f"gameworker: cannot reach the database {url}: {exc.orig}\n"
            "Check GAMEWORKER_DATABASE_URL and that the server is running.",
            file=sys.stderr,
        )
        return 2
    finally:
        engine.dispose()
    print(f"database {url} is at revision {revision}")
    return 0


def _celery(args: list[str]) -> int:
    from workers.app import app

    app.start(["celery", *args])
    return 0


def _worker(_settings: Settings, args: argparse.Namespace) -> int:
    queues = ",".join(args.queues) if args.queues else "games,strategies,maintenance"
    extra = ["-c", str(args.concurrency)] if args.concurrency else []
    return _celery(["worker", "-Q", queues, "-l", args.loglevel, "-E", *extra])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gameworker", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the database schema to the newest revision")
    w = sub.add_parser("worker", help="run a worker on the contract's queues")
    w.add_argument("-Q", "--queues", nargs="*", help="queues (default: all three)")
    w.add_argument("-c", "--concurrency", type=int)
    w.add_argument("-l", "--loglevel", default="INFO")
    sub.add_parser("demo", help="run the end-to-end demo on the embedded default")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        return _migrate(settings, args)
    if args.command == "worker":
        return _worker(settings, args)
    if args.command == "demo":
        from workers.demo import run_demo

        return run_demo(settings)
    return 1


if __name__ == "__main__":
    sys.exit(main())
