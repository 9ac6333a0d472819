"""The messages of the contract as pydantic models: every command's data, and its envelope.

Unknown fields are refused everywhere (``extra="forbid"``), types are strict (no "5" for 5,
no 1 for true), and the field rules come from ``domain.rules``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.errors import FieldRuleError
from tasks.fields import (
    AccountId,
    Cursor,
    Definition,
    Description,
    ExternalId,
    Id,
    IdempotencyKey,
    Limit,
    Name,
    NotNull,
    OpaqueId,
    PageUrl,
    ParamKey,
    Params,
    Platform,
    Role,
    Slug,
    SortSpec,
    Status,
    SteamAppId,
    StrategyRef,
    Subject,
    Tags,
    Timestamp,
)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _immutable(value: Any) -> Any:
    raise FieldRuleError("cannot be changed by a patch")


Immutable = Annotated[Any, BeforeValidator(_immutable)]


def _one_or_list(value: Any) -> Any:
    """A filter that takes one value or a list of them: one value is a list of one."""
    return [value] if isinstance(value, str) else value


def exactly_one(model: BaseModel, *groups: tuple[str, ...]) -> None:
    """Exactly one group of keys must be given, all of its keys, and nothing of the others."""
    given = model.model_fields_set
    matching = [g for g in groups if set(g) <= given]
    named = {k for g in groups for k in g} & given
    if len(matching) != 1 or named != set(matching[0]):
        options = " or ".join("{" + ", ".join(g) + "}" for g in groups)
        raise FieldRuleError(f"give exactly one of {options}")


# --- the envelope ----------------------------------------------------------------------


class ActorModel(Message):
    account_id: AccountId | None = None
    subject: Subject
    is_admin: bool = False
    roles: Annotated[list[Role], Field(max_length=50)] = []


class Envelope(Message):
    """The keyword arguments of every command."""

    actor: ActorModel
    data: dict[str, Any]
    idempotency_key: IdempotencyKey | None = None


class SystemEnvelope(Message):
    """The keyword arguments of beat-driven tasks: they act as the system."""

    data: dict[str, Any] = {}


# --- games -----------------------------------------------------------------------------


class GameCreate(Message):
    account_id: AccountId | None = None
    name: Name
    slug: Slug | None = None
    external_game_id: ExternalId | None = None
    platform: Platform | None = None
    description: Description | None = None
    tags: Tags = []
    page_url: PageUrl | None = None
    steam_app_id: SteamAppId | None = None
    anti_cheat_enabled: bool = True
    default_board_id: OpaqueId | None = None
    strategy_id: StrategyRef = "default"
    params: Params = {}


class GamePatch(Message):
    """Keys present are applied; ``null`` clears an optional field (resets one with a default)."""

    game_id: Id
    name: Annotated[Name, NotNull] = "unset"
    external_game_id: ExternalId | None = None
    platform: Platform | None = None
    description: Description | None = None
    tags: Tags | None = None
    page_url: PageUrl | None = None
    steam_app_id: SteamAppId | None = None
    anti_cheat_enabled: bool | None = None
    default_board_id: OpaqueId | None = None
    strategy_id: StrategyRef | None = None
    params: Params | None = None
    deleted: bool | None = None

    # Present at all (even null): a validation_error naming the field.
    slug: Immutable = None
    account_id: Immutable = None


class GameGet(Message):
    game_id: Annotated[Id | None, NotNull] = None
    slug: Annotated[Annotated[str, Field(min_length=1, max_length=64)] | None, NotNull] = None
    external_game_id: Annotated[ExternalId | None, NotNull] = None
    include_deleted: bool = False

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        exactly_one(self, ("game_id",), ("slug",), ("external_game_id",))
        return self


class GameFiltersModel(Message):
    name_contains: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    platform: Platform | None = None
    external_game_id: (
        Annotated[
            list[ExternalId], BeforeValidator(_one_or_list), Field(min_length=1, max_length=100)
        ]
        | None
    ) = None
    slug: Slug | None = None
    strategy_id: StrategyRef | None = None
    tag: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    anti_cheat_enabled: bool | None = None
    created_after: Timestamp | None = None
    created_before: Timestamp | None = None
    updated_after: Timestamp | None = None
    updated_before: Timestamp | None = None


class Paging(Message):
    limit: Limit = 20
    cursor: Cursor | None = None


class SortedPaging(Paging):
    sort: SortSpec | None = None
    with_total: bool = False


class GameList(SortedPaging):
    account_id: AccountId | None = None
    filters: GameFiltersModel | None = None
    include_deleted: bool = False


class GameRef(Message):
    game_id: Id


class GameParamsSet(Message):
    game_id: Id
    params: Params


class GameParamsDelete(Message):
    game_id: Id
    keys: Annotated[list[ParamKey], Field(min_length=1, max_length=100)]


class GameExternalIds(Message):
    game_ids: Annotated[list[Id], Field(max_length=1000)]


class GamesByStrategy(Paging):
    strategy_id: StrategyRef


# --- game tasks ------------------------------------------------------------------------


class GameTaskCreate(Message):
    game_id: Id
    external_task_id: ExternalId
    strategy_id: StrategyRef = "default"
    status: Status = "open"
    params: Params = {}


class GameTaskGet(Message):
    task_id: Annotated[Id | None, NotNull] = None
    game_id: Annotated[Id | None, NotNull] = None
    external_task_id: Annotated[ExternalId | None, NotNull] = None

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        exactly_one(self, ("task_id",), ("game_id", "external_task_id"))
        return self


class GameTaskFiltersModel(Message):
    status: Status | None = None
    strategy_id: StrategyRef | None = None


class GameTaskList(SortedPaging):
    game_id: Id
    filters: GameTaskFiltersModel | None = None


class GameTaskPatch(Message):
    task_id: Id
    strategy_id: StrategyRef | None = None
    status: Status | None = None
    params: Params | None = None


class GameTaskRef(Message):
    task_id: Id


# --- strategies ------------------------------------------------------------------------

StrategyType = Literal["BUILT_IN", "DSL_EXTEND", "DSL_FULL"]
StrategyStatus = Literal["DRAFT", "PUBLISHED", "ARCHIVED"]


class StrategyCreate(Message):
    account_id: AccountId | None = None
    name: Name
    description: Description | None = None
    type: StrategyType = "DSL_FULL"
    parent_strategy_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    definition: Definition


class StrategyKey(Message):
    strategy_id: Id


class StrategyFiltersModel(Message):
    name: Name | None = None
    status: StrategyStatus | None = None


class StrategyList(Paging):
    filters: StrategyFiltersModel | None = None


class StrategyUpdate(Message):
    strategy_id: Id
    name: Annotated[Name, NotNull] = "unset"
    description: Description | None = None
    definition: Annotated[Definition, NotNull] = {}


class StrategyArchive(Message):
    strategy_id: Id
    reassign_to: StrategyRef | None = None


class StrategyRollback(Message):
    strategy_id: Id
    target_version: Annotated[int, Field(ge=1, le=2_147_483_647)]


class StrategyUsage(Paging):
    strategy_id: Id


class StrategyAudit(Paging):
    strategy_id: Id | None = None


class StrategySchedule(Message):
    strategy_id: Id
    action: Literal["publish", "rollback"]
    target_version: Annotated[int | None, Field(ge=1, validate_default=True)] = None
    run_at: Timestamp

    @field_validator("target_version")
    @classmethod
    def _target_for_rollback(cls, value: int | None, info: ValidationInfo) -> int | None:
        """A rollback names its target version; a publish takes none (errors name the field)."""
        action = info.data.get("action")
        if action == "rollback" and value is None:
            raise FieldRuleError("required for a rollback")
        if action == "publish" and value is not None:
            raise FieldRuleError("only a rollback takes a target_version")
        return value


class ScheduleRef(Message):
    schedule_id: Id


class ScheduleList(Paging):
    strategy_id: Id | None = None
