"""The Alembic head is the schema of ``persistence/tables.py``, on both stores."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from persistence.database import Database
from persistence.engine import make_engine
from persistence.migrate import NotMigrated, current_revision, ensure_migrated, head_revision
from persistence.tables import metadata


def test_autogenerate_finds_no_difference_at_head(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; Alembic says so and skips them there.
        warnings.simplefilter("ignore")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_an_unmigrated_database_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(NotMigrated, match="gameworker migrate"):
            ensure_migrated(engine)
    finally:
        engine.dispose()
