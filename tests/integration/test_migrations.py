"""The Alembic head is the schema of ``persistence/tables.py``, on both stores."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Index, text

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


def _where_of(index: Index, dialect: str) -> Any:
    return index.dialect_options[dialect].get("where")


def _normal(sql: str) -> str:
    """Index SQL without casts, parentheses, schema or table prefixes, in lower case."""
    sql = re.sub(r"::[a-z ]+?(?=[ )]|$)", "", sql.lower())
    sql = re.sub(r"\b(public|games|strategies|outbox)\.", "", sql)
    return " ".join(sql.replace("(", " ").replace(")", " ").split())


def test_partial_indexes_keep_their_condition(db: Database) -> None:
    """Autogenerate does not compare index conditions: check them here."""
    partial = [
        ix
        for t in metadata.tables.values()
        for ix in t.indexes
        if _where_of(ix, db.dialect) is not None
    ]
    assert {ix.name for ix in partial} >= {"uq_games_live_name", "ix_games_deleted"}
    query = (
        "SELECT indexdef FROM pg_indexes WHERE indexname = :n"
        if db.dialect == "postgresql"
        else "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"
    )
    with db.engine.connect() as conn:
        for index in partial:
            found = _normal(conn.execute(text(query), {"n": index.name}).scalar_one())
            condition = _where_of(index, db.dialect).compile(
                dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
            )
            assert " where " + _normal(str(condition)) in found, (index.name, found)


@pytest.mark.postgres
def test_sortable_text_columns_use_the_c_collation(db: Database) -> None:
    """Code-point order on PostgreSQL as on SQLite (autogenerate does not compare collations)."""
    expected = {
        (t.name, c.name)
        for t in metadata.tables.values()
        for c in t.columns
        if getattr(c.type.dialect_impl(db.engine.dialect), "collation", None) == "C"
    }
    assert ("games", "name") in expected and ("game_tasks", "status") in expected
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND collation_name = 'C'"
            )
        )
        assert {(r.table_name, r.column_name) for r in rows} == expected
