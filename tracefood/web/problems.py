"""One error handler for the whole app: RFC 9457 problem+json under /api and /epcis, HTML
elsewhere. Every error path goes through :func:`render`, so every error has the same shape."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from tracefood.errors import PROBLEM_BASE, TraceFoodError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
API_PREFIXES = ("/api/", "/epcis")


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
