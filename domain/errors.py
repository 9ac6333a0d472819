"""The errors a command can answer with, one class per contract code.

A domain error is an expected answer, never a fault: it is returned as
``{"ok": false, "error": {...}}`` and is never retried.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self


class DomainError(Exception):
    """An answer the contract names: carries its code, a sentence and details."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    @classmethod
    def field(cls, field: str, message: str) -> Self:
        """The error for one offending field, named in ``details.fields``."""
        return cls(f"{field}: {message}", {"fields": {field: message}})

    def names_field(self, field: str) -> bool:
        return field in self.details.get("fields", {})

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(DomainError):
    code = "validation_error"


class FieldRuleError(ValidationError, ValueError):
    """A field rule broken while a message is parsed (a ValueError, so pydantic keeps it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class InvalidCursor(DomainError):
    code = "invalid_cursor"

    def __init__(self, message: str = "the cursor is not valid for this query") -> None:
        super().__init__(message, {"fields": {"cursor": message}})
