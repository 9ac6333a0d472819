"""Field types of the messages: the contract's field rules bound to pydantic types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from domain import rules
from domain.errors import FieldRuleError
from domain.paging import MAX_LIMIT
from tasks import field_docs as docs


def _iso_timestamp(value: Any) -> Any:
    """An ISO 8601 string (a number is not a timestamp here; a bare date is midnight)."""
    if not isinstance(value, str):
        raise FieldRuleError("must be an ISO 8601 timestamp string")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise FieldRuleError(f"not an ISO 8601 timestamp: {value[:40]!r}") from None


def _aware(value: datetime) -> datetime:
    """A timestamp without a zone is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_object_64k(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > 64 * 1024:
        raise FieldRuleError(f"must be at most 64 KiB as JSON (got {size} bytes)")
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise FieldRuleError("must not be null")
    return value


Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AccountId = Annotated[str, AfterValidator(rules.account_id), docs.ACCOUNT_ID]
Subject = Annotated[str, AfterValidator(rules.subject), docs.SUBJECT]
Role = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, AfterValidator(rules.name), docs.NAME]
Slug = Annotated[str, AfterValidator(rules.slug), docs.SLUG]
ExternalId = Annotated[str, AfterValidator(rules.external_id), docs.EXTERNAL_ID]
Platform = Annotated[str, AfterValidator(rules.platform), docs.PLATFORM]
Description = Annotated[str, AfterValidator(rules.description), docs.DESCRIPTION]
Tags = Annotated[list[str], AfterValidator(rules.tags), docs.TAGS]
PageUrl = Annotated[str, AfterValidator(rules.page_url), docs.PAGE_URL]
SteamAppId = Annotated[str, AfterValidator(rules.steam_app_id), docs.STEAM_APP_ID]
OpaqueId = Annotated[str, AfterValidator(rules.opaque_id), docs.OPAQUE_ID]
StrategyRef = Annotated[str, AfterValidator(rules.strategy_id), docs.STRATEGY_REF]
Status = Annotated[str, AfterValidator(rules.status), docs.STATUS]
Params = Annotated[dict[str, Any], AfterValidator(rules.params), docs.PARAMS]
ParamKey = Annotated[str, AfterValidator(rules.param_key), docs.PARAM_KEY]
Timestamp = Annotated[datetime, BeforeValidator(_iso_timestamp), AfterValidator(_aware)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
SortSpec = Annotated[str, StringConstraints(min_length=1, max_length=300)]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Definition = Annotated[dict[str, Any], AfterValidator(_json_object_64k), docs.DEFINITION]
NotNull = BeforeValidator(_not_null)
