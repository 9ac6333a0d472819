"""An index for game tasks sorted by status descending (the id tie-breaker is ascending).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_game_tasks_sort_status_desc",
        "game_tasks",
        ["game_id", sa.literal_column("status DESC"), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_game_tasks_sort_status_desc", table_name="game_tasks")
