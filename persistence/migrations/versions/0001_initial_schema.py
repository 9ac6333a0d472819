"""Initial schema: games, game tasks, strategies, audit, outbox, idempotency, dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from persistence.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("strategy_id", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        "ix_audit_log_account",
        "audit_log",
        ["account_id", sa.literal_column("at DESC"), "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_log_strategy",
        "audit_log",
        ["strategy_id", sa.literal_column("at DESC"), "id"],
        unique=False,
    )
    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("task_id", sa.String(length=200), nullable=True),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column(
            "arguments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("resent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index("ix_dead_letters_task_id", "dead_letters", ["task_id"], unique=True)
    op.create_table(
        "games",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column(
            "name",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "slug",
            sa.String(length=50).with_variant(sa.String(length=50, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "external_game_id",
            sa.String(length=128).with_variant(sa.String(length=128, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "platform",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("page_url", sa.Text(), nullable=True),
        sa.Column("steam_app_id", sa.String(length=20), nullable=True),
        sa.Column("anti_cheat_enabled", sa.Boolean(), nullable=False),
        sa.Column("default_board_id", sa.String(length=64), nullable=True),
        sa.Column("strategy_id", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_games")),
        sa.UniqueConstraint("account_id", "external_game_id", name="uq_games_external_id"),
        sa.UniqueConstraint("slug", name="uq_games_slug"),
    )
    op.create_index(
        "ix_games_all_created", "games", [sa.literal_column("created_at DESC"), "id"], unique=False
    )
    op.create_index(
        "ix_games_deleted",
        "games",
        ["deleted_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_index(
        "ix_games_sort_created",
        "games",
        ["account_id", sa.literal_column("created_at DESC"), "id"],
        unique=False,
    )
    op.create_index(
        "ix_games_sort_external_id",
        "games",
        ["account_id", sa.literal_column("coalesce(external_game_id, '')"), "id"],
        unique=False,
    )
    op.create_index("ix_games_sort_id", "games", ["account_id", "id"], unique=False)
    op.create_index("ix_games_sort_name", "games", ["account_id", "name", "id"], unique=False)
    op.create_index(
        "ix_games_sort_platform",
        "games",
        ["account_id", sa.literal_column("coalesce(platform, '')"), "id"],
        unique=False,
    )
    op.create_index("ix_games_sort_slug", "games", ["account_id", "slug", "id"], unique=False)
    op.create_index(
        "ix_games_sort_updated", "games", ["account_id", "updated_at", "id"], unique=False
    )
    op.create_index("ix_games_strategy", "games", ["strategy_id", "id"], unique=False)
    op.create_index(
        "uq_games_live_name",
        "games",
        ["account_id", "name"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
        sqlite_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("correlation_id", sa.String(length=200), nullable=True),
        sa.Column("causation_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "processed_commands",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_processed_commands"),
    )
    op.create_index(
        "ix_processed_commands_created", "processed_commands", ["created_at"], unique=False
    )
    op.create_table(
        "run_locks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_run_locks")),
    )
    op.create_table(
        "scheduled_operations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("strategy_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "roles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_operations")),
    )
    op.create_index(
        "ix_scheduled_operations_due", "scheduled_operations", ["status", "run_at"], unique=False
    )
    op.create_table(
        "strategies",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column(
            "name",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("parent_strategy_id", sa.String(length=64), nullable=True),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
        sa.UniqueConstraint("account_id", "name", "version", name="uq_strategies_version"),
    )
    op.create_index(
        "ix_strategies_sort_created",
        "strategies",
        ["account_id", sa.literal_column("created_at DESC"), "id"],
        unique=False,
    )
    op.create_index(
        "uq_strategies_published",
        "strategies",
        ["account_id", "name"],
        unique=True,
        postgresql_where=sa.text("status = 'PUBLISHED'"),
        sqlite_where=sa.text("status = 'PUBLISHED'"),
    )
    op.create_table(
        "game_params",
        sa.Column("game_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_game_params_game_id_games"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("game_id", "key", name="pk_game_params"),
    )
    op.create_table(
        "game_tasks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("game_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column(
            "external_task_id",
            sa.String(length=128).with_variant(sa.String(length=128, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("strategy_id", sa.String(length=80), nullable=False),
        sa.Column(
            "status",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_game_tasks_game_id_games"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_tasks")),
        sa.UniqueConstraint("game_id", "external_task_id", name="uq_game_tasks_external_id"),
    )
    op.create_index(
        "ix_game_tasks_sort_created",
        "game_tasks",
        ["game_id", sa.literal_column("created_at DESC"), "id"],
        unique=False,
    )
    op.create_index("ix_game_tasks_sort_id", "game_tasks", ["game_id", "id"], unique=False)
    op.create_index(
        "ix_game_tasks_sort_status", "game_tasks", ["game_id", "status", "id"], unique=False
    )
    op.create_index(
        "ix_game_tasks_sort_updated", "game_tasks", ["game_id", "updated_at", "id"], unique=False
    )
    op.create_index("ix_game_tasks_strategy", "game_tasks", ["strategy_id", "id"], unique=False)
    op.create_table(
        "game_task_params",
        sa.Column("task_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["game_tasks.id"],
            name=op.f("fk_game_task_params_task_id_game_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "key", name="pk_game_task_params"),
    )


def downgrade() -> None:
    op.drop_table("game_task_params")
    op.drop_index("ix_game_tasks_strategy", table_name="game_tasks")
    op.drop_index("ix_game_tasks_sort_updated", table_name="game_tasks")
    op.drop_index("ix_game_tasks_sort_status", table_name="game_tasks")
    op.drop_index("ix_game_tasks_sort_id", table_name="game_tasks")
    op.drop_index("ix_game_tasks_sort_created", table_name="game_tasks")
    op.drop_table("game_tasks")
    op.drop_table("game_params")
    op.drop_index(
        "uq_strategies_published",
        table_name="strategies",
        postgresql_where=sa.text("status = 'PUBLISHED'"),
        sqlite_where=sa.text("status = 'PUBLISHED'"),
    )
    op.drop_index("ix_strategies_sort_created", table_name="strategies")
    op.drop_table("strategies")
    op.drop_index("ix_scheduled_operations_due", table_name="scheduled_operations")
    op.drop_table("scheduled_operations")
    op.drop_table("run_locks")
    op.drop_index("ix_processed_commands_created", table_name="processed_commands")
    op.drop_table("processed_commands")
    op.drop_index(
        "ix_outbox_pending",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox")
    op.drop_index(
        "uq_games_live_name",
        table_name="games",
        postgresql_where=sa.text("deleted_at IS NULL"),
        sqlite_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_games_strategy", table_name="games")
    op.drop_index("ix_games_sort_updated", table_name="games")
    op.drop_index("ix_games_sort_slug", table_name="games")
    op.drop_index("ix_games_sort_platform", table_name="games")
    op.drop_index("ix_games_sort_name", table_name="games")
    op.drop_index("ix_games_sort_id", table_name="games")
    op.drop_index("ix_games_sort_external_id", table_name="games")
    op.drop_index("ix_games_sort_created", table_name="games")
    op.drop_index(
        "ix_games_deleted",
        table_name="games",
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.drop_index("ix_games_all_created", table_name="games")
    op.drop_table("games")
    op.drop_index("ix_dead_letters_task_id", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_index("ix_audit_log_strategy", table_name="audit_log")
    op.drop_index("ix_audit_log_account", table_name="audit_log")
    op.drop_table("audit_log")
