"""The contract's field rules as JSON Schema keywords, for the published schemas only.

The rules themselves are enforced by ``domain.rules`` (validators in ``tasks.fields``), whose
sentences are the ones a sender reads in a ``validation_error``. ``Rule(...)`` adds the same
rule to the field's JSON Schema (``gameworker schema``, the AsyncAPI document) so a sender can
check a message before sending it; it never validates anything itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from domain import rules


class Rule:
    """JSON Schema keywords merged into a type's schema."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema


def _length(low: int, high: int, note: str | None = None) -> Rule:
    extra = {"description": note} if note else {}
    return Rule(minLength=low, maxLength=high, **extra)


BUILT_INS = sorted(rules.BUILT_IN_STRATEGIES)
PARAM_VALUE = {
    "anyOf": [{"type": "string", "maxLength": 1000}, {"type": "number"}, {"type": "boolean"}]
}

ACCOUNT_ID = Rule(pattern=rules.ACCOUNT_ID_RE.pattern)
SUBJECT = _length(1, 200, "who acts: an API key id, an OAuth user id")
NAME = _length(1, 200, "trimmed; not blank")
SLUG = Rule(minLength=2, maxLength=50, pattern=rules.SLUG_RE.pattern)
EXTERNAL_ID = Rule(pattern=rules.EXTERNAL_ID_RE.pattern)
PLATFORM = _length(1, 64)
DESCRIPTION = Rule(maxLength=2000)
TAGS = Rule(
    maxItems=20,
    items={"type": "string", "minLength": 1, "maxLength": 32},
    description="trimmed; duplicates dropped, order kept",
)
PAGE_URL = Rule(maxLength=2048, format="uri", description="absolute http or https URL")
STEAM_APP_ID = Rule(pattern=rules.STEAM_APP_ID_RE.pattern)
OPAQUE_ID = _length(1, 64)
STRATEGY_REF = Rule(
    pattern="^(?:" + "|".join(BUILT_INS) + "|custom:stg_[0-9a-z]{1,60})$",
    description="a built-in strategy (" + ", ".join(BUILT_INS) + ") or custom:<strategy id> "
    "of a PUBLISHED strategy of the account",
)
STATUS = _length(1, 32)
PARAMS = Rule(
    maxProperties=100,
    propertyNames={"pattern": rules.PARAM_KEY_RE.pattern},
    additionalProperties=PARAM_VALUE,
)
PARAM_KEY = Rule(pattern=rules.PARAM_KEY_RE.pattern)
DEFINITION = Rule(description="a JSON object of at most 64 KiB")
