"""``GET /api/v1/trace``: trace a lot, item or logistic unit back to its sources or forward to
every lot made from it and everyone who holds it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from tracefood.errors import InvalidParameter
from tracefood.ledger import db, trace
from tracefood.ledger.label_store import custodians
from tracefood.ledger.registry import Forbidden
from tracefood.web.auth import require
from tracefood.web.ledger_ext import get_ledger

trace_api = Blueprint("trace_api", __name__, url_prefix="/api/v1")
READ_ALL = ("recall_officer", "inspector", "admin")
KNOWN = {"id", "direction", "limit", "page_token"}


@trace_api.get("/trace")
def get_trace() -> Any:
    """Recall officers, inspectors and admins trace anything; producers and carriers trace the
    lots their party produced or held."""
    actor = require()
    unknown = sorted(set(request.args) - KNOWN)
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; known: {', '.join(sorted(KNOWN))}")
    identifier = request.args.get("id", "")
    if not identifier:
        raise InvalidParameter("id", "is required: a lot, item or SSCC in any form (Digital Link, EPC URN, /00/...)")
    direction = request.args.get("direction", "")
    if direction not in trace.DIRECTIONS:
        raise InvalidParameter("direction", "must be back or forward")
    raw = request.args.get("limit", str(trace.DEFAULT_LIMIT))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise InvalidParameter("limit", f"must be an integer from 1 to {trace.MAX_LIMIT}")
    engine = get_ledger().engine
    if actor.role not in READ_ALL:
        with db.read_snapshot(engine) as conn:
            start = trace.resolve(conn, identifier)
            if actor.party_id not in custodians(conn, start.id, start.party_id):
                raise Forbidden("you can trace the lots your party produced or held")
    result = trace.trace(engine, identifier, direction, limit=int(raw), page_token=request.args.get("page_token"))
    response = jsonify(result)
    response.headers["Cache-Control"] = "no-store"
    return response
