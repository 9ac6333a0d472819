"""The ``strategies.*`` commands, routed to the ``strategies`` queue."""

from __future__ import annotations

from domain.services import strategies as service
from domain.services import strategy_lifecycle as lifecycle
from tasks import messages as m
from tasks.base import command

create = command("strategies.create", m.StrategyCreate, service.create_strategy)
get = command("strategies.get", m.StrategyKey, service.get_strategy, writes=False)
list_ = command("strategies.list", m.StrategyList, service.list_strategies, writes=False)
versions = command("strategies.versions", m.StrategyKey, service.strategy_versions, writes=False)
update = command("strategies.update", m.StrategyUpdate, service.update_strategy)
publish = command(
    "strategies.publish",
    m.StrategyKey,
    lifecycle.publish_strategy,
    on_reject=lifecycle.audit_failure("publish"),
)
archive = command(
    "strategies.archive",
    m.StrategyArchive,
    lifecycle.archive_strategy,
    on_reject=lifecycle.audit_failure("archive"),
)
rollback = command(
    "strategies.rollback",
    m.StrategyRollback,
    lifecycle.rollback_strategy,
    on_reject=lifecycle.audit_failure("rollback"),
)
usage = command("strategies.usage", m.StrategyUsage, service.strategy_usage, writes=False)
audit = command("strategies.audit", m.StrategyAudit, service.audit_log, writes=False)
