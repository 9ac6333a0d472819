"""``gameworker migrate``: bring the database schema to the newest revision."""

from __future__ import annotations

import argparse
from typing import Any

from workers.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("migrate", help="bring the database schema to the newest revision")
    p.set_defaults(run=run)


def run(settings: Settings, _args: argparse.Namespace) -> int:
    from persistence.engine import make_engine
    from persistence.migrate import upgrade
    from workers.reach import check_database

    check_database(settings.database)
    engine = make_engine(settings.database)
    url = engine.url.render_as_string(hide_password=True)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    print(f"database {url} is at revision {revision}")
    return 0
