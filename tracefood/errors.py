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


class Unauthorised(TraceFoodError):
    status = 401
    title = "Unauthorised"
    slug = "unauthorised"


class Forbidden(TraceFoodError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class LabelError(TraceFoodError):
    """A label that cannot be issued or read (HTTP 422)."""

    status = 422
    title = "Invalid label"
    slug = "invalid-label"


class TrustListError(TraceFoodError):
    status = 422
    title = "Invalid trust list"
    slug = "invalid-trust-list"


class RenderError(TraceFoodError, ValueError):
    """A label that cannot be rendered as asked (bad format, layout, level, URL too long...)."""

    status = 422
    title = "Cannot render label"
    slug = "label-render"


class IdentifierError(InvalidEntry, ValueError):
    """An invalid identifier; ``reason`` says why in a few words. A 422 problem in the API."""

    title = "Invalid identifier"
    slug = "invalid-identifier"

    def __init__(self, reason: str, value: str | None = None, *, field: str = "id") -> None:
        self.reason = reason
        self.value = value
        super().__init__(
            reason if value is None else f"{value!r}: {reason}", errors=[{"field": field, "reason": reason}]
        )


class UnsupportedIdentifier(IdentifierError):
    """A well-formed GS1 key that TraceFood does not model as a lot, item, unit or place (GRAI,
    GIAI, GSRN...): refused by :func:`parse_id`, followed by identity only in EPCIS captures."""


class EPCISException(TraceFoodError):
    """An error the EPCIS 2.0 REST binding names: its problem type is ``epcisException:<name>``."""

    @property
    def type_uri(self) -> str:
        return "epcisException:" + type(self).__name__


class NotAcceptableException(EPCISException):
    """The client's GS1-EPCIS/CBV-Min/Max range excludes the 2.0.0 this server speaks."""

    status = 406
    title = "Not acceptable"
    slug = "epcis-not-acceptable"


class QueryParameterException(EPCISException, InvalidParameter):
    """A query parameter that is unknown, repeated or malformed (400, naming it)."""

    title = "EPCIS query parameter exception"
    slug = "epcis-query-parameter"


class NoSuchNameException(EPCISException, NotFound):
    """No event with this eventID (or none this caller may see)."""

    title = "Event not found"
    slug = "epcis-no-such-name"


# -- errors of the pure cores -----------------------------------------------------------------
# Plain ValueErrors raised by parsing and proof code that knows nothing of HTTP; the callers
# turn them into one of the errors above, naming the field that failed.


class EventError(ValueError):
    """A problem with one field of one event: ``field`` is a JSON pointer inside the event."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CanonicalError(ValueError):
    """A value that cannot be hashed canonically; ``path`` names where (JSON-pointer style)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or '/'}: {reason}")
        self.path = path or "/"
        self.reason = reason


class NoteError(ValueError):
    """A malformed note, key or checkpoint, or a signature that does not verify."""


class ProofError(ValueError):
    """A proof that does not verify, or a request for a proof that cannot exist."""
