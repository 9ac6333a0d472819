"""Whether a game or game task may point at a strategy id."""

from __future__ import annotations

from domain.errors import ValidationError
from domain.ports import UnitOfWork
from domain.rules import custom_target, is_custom
from domain.strategies import PUBLISHED


def check_strategy_ref(uow: UnitOfWork, account_id: str, strategy_id: str) -> None:
    """A ``custom:`` id must name a PUBLISHED strategy of the same account.

    The strategy row is read FOR SHARE, so a publish, archive or rollback of it waits for this
    transaction, and this one sees its outcome: a reference never lands on an ARCHIVED version.
    """
    if not is_custom(strategy_id):
        return
    strategy = uow.strategies.get(custom_target(strategy_id), lock="share")
    if strategy is None or strategy.account_id != account_id or strategy.status != PUBLISHED:
        raise ValidationError.field(
            "strategy_id", f"{strategy_id} is not a PUBLISHED strategy of account {account_id}"
        )
