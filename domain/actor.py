"""Who sends a command, and what that actor may see and touch."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import NotFound, ValidationError

STRATEGY_ADMIN_ROLE = "strategy_admin"


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller: an account's service or user, or an admin acting on any account."""

    subject: str
    account_id: str | None = None
    is_admin: bool = False
    roles: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.is_admin and self.account_id is None:
            raise ValidationError.field("actor.account_id", "required for a non-admin actor")

    @classmethod
    def system(cls) -> Actor:
        """The actor of scheduled and maintenance work."""
        return cls(subject="system:gameworker", is_admin=True)

    @property
    def may_manage_strategies(self) -> bool:
        return self.is_admin or STRATEGY_ADMIN_ROLE in self.roles

    def sees(self, account_id: str) -> bool:
        """An actor sees its own account; an admin sees them all."""
        return self.is_admin or self.account_id == account_id

    def scope(self) -> str | None:
        """The account a read is limited to (None: every account)."""
        return None if self.is_admin else self.account_id

    def check_visible(self, account_id: str, what: str, ident: str) -> None:
        """Raise not_found for another account's object, exactly as for a missing one."""
        if not self.sees(account_id):
            raise NotFound(f"{what} {ident} not found")

    def account_for_create(self, requested: str | None) -> str:
        """The account a new object belongs to (admins must name it; others may not)."""
        if self.is_admin:
            if requested is None:
                raise ValidationError.field("account_id", "an admin must name the account")
            return requested
        if requested is not None:
            raise ValidationError.field("account_id", "only an admin may name the account")
        assert self.account_id is not None
        return self.account_id
