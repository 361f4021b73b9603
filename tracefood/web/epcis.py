"""EPCIS 2.0 capture interface (GS1 REST binding subset): ``POST /epcis/capture``.

Capture is synchronous and atomic (GS1's default ``rollback`` behaviour): the answer is either
``202 Accepted`` with the capture job already finished (``Location: /epcis/capture/{id}``), or a
problem naming every offending field, with nothing appended. ``GET /epcis/capture/{id}``
reports a finished job; its id is the range of ledger sequence numbers it covers.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from tracefood.errors import InvalidParameter, NotFound
from tracefood.ledger import db
from tracefood.ledger.tables import events
from tracefood.web.auth import require
from tracefood.web.events_api import MAX_BODY, json_body, store
from tracefood.web.ledger_ext import get_ledger

epcis = Blueprint("epcis", __name__, url_prefix="/epcis")

CAPTURE_LIMIT = 10_000
GS1_HEADERS = {
    "GS1-EPCIS-Version": "2.0.0",
    "GS1-CBV-Version": "2.0.0",
    "GS1-EPCIS-Capture-Error-Behaviour": "rollback",
    "GS1-EPCIS-Capture-Limit": str(CAPTURE_LIMIT),
    "GS1-EPCIS-Capture-File-Size-Limit": str(MAX_BODY),
}


@epcis.after_request
def _gs1_headers(response: Response) -> Response:
    response.headers.setdefault("GS1-EPCIS-Version", GS1_HEADERS["GS1-EPCIS-Version"])
    response.headers.setdefault("GS1-CBV-Version", GS1_HEADERS["GS1-CBV-Version"])
    return response


@epcis.route("/capture", methods=["OPTIONS"])
def capture_options() -> Response:
    response = Response(status=204)
    response.headers.update(GS1_HEADERS)
    response.headers["Allow"] = "OPTIONS, POST"
    return response


@epcis.post("/capture")
def capture() -> Any:
    actor = require()
    behaviour = request.headers.get("GS1-EPCIS-Capture-Error-Behaviour", "rollback")
    if behaviour != "rollback":
        raise InvalidParameter(
            "GS1-EPCIS-Capture-Error-Behaviour",
            f"only 'rollback' is supported (a batch lands whole or not at all), got {behaviour!r}",
        )
    document = json_body()
    body = document.get("epcisBody") if isinstance(document, dict) else None
    count = (
        len(body.get("eventList") or []) if isinstance(body, dict) and isinstance(body.get("eventList"), list) else 0
    )
    if count > CAPTURE_LIMIT:
        raise InvalidParameter("epcisBody.eventList", f"at most {CAPTURE_LIMIT} events per capture, got {count}")
    receipts = store().capture(document, actor)
    seqs = [r.seq for r in receipts]
    capture_id = f"{min(seqs)}-{max(seqs)}" if seqs else "0-0"
    response = jsonify(
        {
            "captureID": capture_id,
            "running": False,
            "success": True,
            "captureErrorBehaviour": "rollback",
            "errors": [],
            "receipts": [r.to_json() for r in receipts],
        }
    )
    response.status_code = 202
    response.headers["Location"] = f"/epcis/capture/{capture_id}"
    response.headers.update(GS1_HEADERS)
    return response


@epcis.get("/capture/<capture_id>")
def capture_job(capture_id: str) -> Any:
    require()
    match = re.fullmatch(r"(\d{1,18})-(\d{1,18})", capture_id)
    if match is None:
        raise InvalidParameter("captureID", "must be FIRST-LAST sequence numbers, as returned by POST /epcis/capture")
    first, last = int(match.group(1)), int(match.group(2))
    if last < first or last - first > CAPTURE_LIMIT:
        raise NotFound(f"no capture job {capture_id}", errors=[{"field": "captureID", "reason": "unknown"}])
    with db.read_snapshot(get_ledger().engine, single_statement=True) as conn:
        ids = (
            conn.execute(
                select(events.c.event_id).where(events.c.seq >= first, events.c.seq <= last).order_by(events.c.seq)
            )
            .scalars()
            .all()
        )
    if not ids:
        raise NotFound(f"no capture job {capture_id}", errors=[{"field": "captureID", "reason": "unknown"}])
    return jsonify(
        {
            "captureID": capture_id,
            "running": False,
            "success": True,
            "captureErrorBehaviour": "rollback",
            "errors": [],
            "eventIDs": list(ids),
        }
    )
