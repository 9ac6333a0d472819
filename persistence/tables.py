"""The tables, in SQLAlchemy Core. Constraint names are part of the error mapping."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from persistence.types import UTCDateTime, big_id, json_type, sortable

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(40)

games = Table(
    "games",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("name", sortable(200), nullable=False),
    Column("slug", sortable(50), nullable=False),
    Column("external_game_id", sortable(128)),
    Column("platform", sortable(64)),
    Column("description", Text),
    Column("tags", json_type(), nullable=False),
    Column("page_url", Text),
    Column("steam_app_id", String(20)),
    Column("anti_cheat_enabled", Boolean, nullable=False),
    Column("default_board_id", String(64)),
    Column("strategy_id", String(80), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    UniqueConstraint("slug", name="uq_games_slug"),
    UniqueConstraint("account_id", "external_game_id", name="uq_games_external_id"),
)
Index(
    "uq_games_live_name",
    games.c.account_id,
    games.c.name,
    unique=True,
    postgresql_where=games.c.deleted_at.is_(None),
    sqlite_where=games.c.deleted_at.is_(None),
)
# One index per allowed sort, led by the account: every sort is an index scan.
Index("ix_games_sort_created", games.c.account_id, games.c.created_at.desc(), games.c.id)
Index("ix_games_sort_updated", games.c.account_id, games.c.updated_at, games.c.id)
Index("ix_games_sort_name", games.c.account_id, games.c.name, games.c.id)
Index("ix_games_sort_slug", games.c.account_id, games.c.slug, games.c.id)
Index("ix_games_sort_id", games.c.account_id, games.c.id)
Index(
    "ix_games_sort_external_id",
    games.c.account_id,
    func.coalesce(games.c.external_game_id, text("''")),
    games.c.id,
)
Index(
    "ix_games_sort_platform",
    games.c.account_id,
    func.coalesce(games.c.platform, text("''")),
    games.c.id,
)
# The tie-breaker is always id ascending, so "platform:desc" (and external_game_id, whose NULLs
# tie) cannot read the indexes above backward: these serve the descending sorts, whose tie
# groups are large. Unique-ish fields (name, slug, timestamps) read backward with an
# incremental sort of one-row groups.
Index(
    "ix_games_sort_platform_desc",
    games.c.account_id,
    func.coalesce(games.c.platform, text("''")).desc(),
    games.c.id,
)
Index(
    "ix_games_sort_external_id_desc",
    games.c.account_id,
    func.coalesce(games.c.external_game_id, text("''")).desc(),
    games.c.id,
)
Index("ix_games_all_created", games.c.created_at.desc(), games.c.id)
Index("ix_games_strategy", games.c.strategy_id, games.c.id)
Index(
    "ix_games_deleted",
    games.c.deleted_at,
    postgresql_where=games.c.deleted_at.isnot(None),
    sqlite_where=games.c.deleted_at.isnot(None),
)

game_params = Table(
    "game_params",
    metadata,
    Column("game_id", ID, ForeignKey("games.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("value", json_type(), nullable=False),
    PrimaryKeyConstraint("game_id", "key", name="pk_game_params"),
)

game_tasks = Table(
    "game_tasks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("game_id", ID, ForeignKey("games.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("external_task_id", sortable(128), nullable=False),
    Column("strategy_id", String(80), nullable=False),
    Column("status", sortable(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("game_id", "external_task_id", name="uq_game_tasks_external_id"),
)
Index(
    "ix_game_tasks_sort_created",
    game_tasks.c.game_id,
    game_tasks.c.created_at.desc(),
    game_tasks.c.id,
)
Index("ix_game_tasks_sort_updated", game_tasks.c.game_id, game_tasks.c.updated_at, game_tasks.c.id)
Index("ix_game_tasks_sort_status", game_tasks.c.game_id, game_tasks.c.status, game_tasks.c.id)
Index(  # "status:desc": a status is shared by many tasks (see ix_games_sort_platform_desc)
    "ix_game_tasks_sort_status_desc",
    game_tasks.c.game_id,
    game_tasks.c.status.desc(),
    game_tasks.c.id,
)
Index("ix_game_tasks_sort_id", game_tasks.c.game_id, game_tasks.c.id)
Index("ix_game_tasks_strategy", game_tasks.c.strategy_id, game_tasks.c.id)

game_task_params = Table(
    "game_task_params",
    metadata,
    Column("task_id", ID, ForeignKey("game_tasks.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("value", json_type(), nullable=False),
    PrimaryKeyConstraint("task_id", "key", name="pk_game_task_params"),
)

strategies = Table(
    "strategies",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("name", sortable(200), nullable=False),
    Column("description", Text),
    Column("type", String(16), nullable=False),
    Column("parent_strategy_id", String(64)),
    Column("definition", json_type(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("published_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "name", "version", name="uq_strategies_version"),
)
# The database itself refuses a second PUBLISHED version of a family.
Index(
    "uq_strategies_published",
    strategies.c.account_id,
    strategies.c.name,
    unique=True,
    postgresql_where=strategies.c.status == "PUBLISHED",
    sqlite_where=strategies.c.status == "PUBLISHED",
)
Index(
    "ix_strategies_sort_created",
    strategies.c.account_id,
    strategies.c.created_at.desc(),
    strategies.c.id,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", ID, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("account_id", String(64)),
    Column("subject", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    Column("strategy_id", String(40)),
    Column("outcome", String(16), nullable=False),
    Column("details", json_type(), nullable=False),
)
Index("ix_audit_log_strategy", audit_log.c.strategy_id, audit_log.c.at.desc(), audit_log.c.id)
Index("ix_audit_log_account", audit_log.c.account_id, audit_log.c.at.desc(), audit_log.c.id)

outbox = Table(
    "outbox",
    metadata,
    Column("id", big_id(), primary_key=True, autoincrement=True),  # the event's sequence
    Column("event_id", String(40), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("account_id", String(64)),
    Column("data", json_type(), nullable=False),
    Column("correlation_id", String(200)),
    Column("causation_id", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
)
Index(
    "ix_outbox_pending",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)

processed_commands = Table(
    "processed_commands",
    metadata,
    Column("scope", String(64), nullable=False),  # the actor's account ('' for an admin)
    Column("key", String(200), nullable=False),
    Column("task", String(64), nullable=False),
    Column("result", json_type(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "key", name="pk_processed_commands"),
)
Index("ix_processed_commands_created", processed_commands.c.created_at)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", big_id(), primary_key=True, autoincrement=True),
    Column("task_id", String(200)),
    Column("task", String(200), nullable=False),
    Column("queue", String(64)),
    Column("arguments", json_type(), nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("resent_at", UTCDateTime),
)
Index("ix_dead_letters_task_id", dead_letters.c.task_id, unique=True)

scheduled_operations = Table(
    "scheduled_operations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("strategy_id", String(40), nullable=False),
    Column("action", String(16), nullable=False),
    Column("target_version", Integer),
    Column("run_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("roles", json_type(), nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("result", json_type()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_scheduled_operations_due", scheduled_operations.c.status, scheduled_operations.c.run_at)

run_locks = Table(
    "run_locks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
