"""Indexes for games sorted by platform or external_game_id descending.

The id tie-breaker is ascending whatever the sort's direction, so reading the ascending
indexes backward gives ties in the wrong order; for platform (few values) and
external_game_id (NULLs tie) that meant sorting a large tie group on every page.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_games_sort_platform_desc",
        "games",
        ["account_id", sa.literal_column("coalesce(platform, '') DESC"), "id"],
        unique=False,
    )
    op.create_index(
        "ix_games_sort_external_id_desc",
        "games",
        ["account_id", sa.literal_column("coalesce(external_game_id, '') DESC"), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_games_sort_external_id_desc", table_name="games")
    op.drop_index("ix_games_sort_platform_desc", table_name="games")
