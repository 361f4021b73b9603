"""One error tree for TraceFood: every error knows its HTTP status, title and problem type.

The web layer renders these as RFC 9457 ``application/problem+json`` (under ``/api`` and
``/epcis``) and the CLI as one line on stderr; the ledger core raises them without knowing
about either. Field-level problems carry ``errors``: a list of ``{"field", "reason"}``.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://tracefood.org/problems/"


class TraceFoodError(Exception):
    status = 500
    title = "Internal error"
    slug = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class InvalidParameter(TraceFoodError):
    """A request parameter (query string, path or option) is malformed or out of range."""

    status = 400
    title = "Invalid parameter"
    slug = "invalid-parameter"

    def __init__(self, field: str, reason: str, **extra: Any) -> None:
        super().__init__(f"{field}: {reason}", errors=[{"field": field, "reason": reason}], **extra)


class NotFound(TraceFoodError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(TraceFoodError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class InvalidEntry(TraceFoodError):
    """Content that cannot be recorded (not canonical JSON, too large, ...)."""

    status = 422
    title = "Invalid entry"
    slug = "invalid-entry"


class NotInitialised(TraceFoodError):
    status = 503
    title = "Ledger not initialised"
    slug = "not-initialised"


class LedgerKeyError(TraceFoodError):
    status = 503
    title = "Ledger key unavailable"
    slug = "ledger-key"


class IntegrityError(TraceFoodError):
    """The stored ledger disagrees with itself; nothing is signed or served from it."""

    status = 500
    title = "Ledger integrity failure"
    slug = "ledger-integrity"
