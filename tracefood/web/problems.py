"""One error handler for the whole app: RFC 9457 problem+json under /api and /epcis, HTML
elsewhere. Every error path goes through :func:`render`, so every error has the same shape.

Database errors are mapped here once: a full disk (SQLite's SQLITE_FULL "database or disk is
full", PostgreSQL's SQLSTATE 53100 disk_full, or ENOSPC/EDQUOT from a file the server writes) is
a 507 Insufficient Storage that says so, found anywhere in the exception's chain (SQLite rolls
the whole transaction back on SQLITE_FULL, so what reaches the handler is often the failed
rollback of a savepoint, raised while handling the real cause). Whatever was being written was
rolled back with it: nothing is half-written.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from tracefood.errors import PROBLEM_BASE, TraceFoodError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
API_PREFIXES = ("/api/", "/epcis")
DISK_FULL_SQLSTATE = "53100"  # PostgreSQL disk_full
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
STORAGE_FULL = {
    "type": PROBLEM_BASE + "storage-full",
    "title": "Insufficient storage",
    "status": 507,
    "detail": "the server's storage is full: nothing was written; try again once an operator has freed space",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or while handling (each once)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def _full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
    if getattr(exc, "sqlstate", None) == DISK_FULL_SQLSTATE:  # psycopg's DiskFull and kin
        return True
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a full disk (database or file), anywhere in its chain."""
    return any(_full(e) for e in _chain(exc))


def _storage_full_response() -> Response:
    log.error("storage full: %s %s answered 507", request.method, request.path)
    return render(STORAGE_FULL | {"instance": request.path})


def prefers_json() -> bool:
    """Whether the client asks for JSON (or a problem) rather than HTML (label URLs, which
    phones open as pages and programs ask for as JSON)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_JSON])
    return (
        best in ("application/json", PROBLEM_JSON)
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def wants_problem() -> bool:
    """API routes, and any route whose client prefers JSON to HTML."""
    return request.path.startswith(API_PREFIXES) or prefers_json()


def render(problem: dict[str, Any]) -> Response:
    from flask import json

    status = int(problem["status"])
    if wants_problem():
        return Response(json.dumps(problem), status=status, mimetype=PROBLEM_JSON)
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{escape(problem['title'])}</title>"
        f"<h1>{escape(problem['title'])}</h1><p>{escape(problem.get('detail', ''))}</p>"
    )
    return Response(body, status=status, mimetype="text/html")


def init_app(app: Flask) -> None:
    @app.errorhandler(TraceFoodError)
    def _tracefood(exc: TraceFoodError) -> Response:
        if exc.status >= 500 and storage_full(exc):
            return _storage_full_response()
        if exc.status >= 500:
            log.error("%s: %s", exc.slug, exc.detail)
        return render(exc.to_problem(instance=request.path))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        problem = {
            "type": PROBLEM_BASE + (exc.name or "error").lower().replace(" ", "-"),
            "title": exc.name,
            "status": code,
            "detail": exc.description or exc.name,
            "instance": request.path,
        }
        response = render(problem)
        if code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(SQLAlchemyError)
    def _database(exc: SQLAlchemyError) -> Response:
        if storage_full(exc):
            log.warning("database error", exc_info=exc)
            return _storage_full_response()
        log.exception("database error")
        text = str(getattr(exc, "orig", exc))
        if "no such table" in text or "does not exist" in text:
            detail = "the database has no ledger yet: run `tracefood init`"
        else:
            detail = "the database could not complete the request"
        return render(
            {
                "type": PROBLEM_BASE + "database",
                "title": "Database unavailable",
                "status": 503,
                "detail": detail,
                "instance": request.path,
            }
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if storage_full(exc):
            log.warning("storage error", exc_info=exc)
            return _storage_full_response()
        log.exception("unhandled error")
        return render(
            {
                "type": PROBLEM_BASE + "internal-error",
                "title": "Internal error",
                "status": 500,
                "detail": "an unexpected error occurred; it has been logged",
                "instance": request.path,
            }
        )
