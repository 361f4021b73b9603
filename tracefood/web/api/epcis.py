"""EPCIS 2.0 capture and query interfaces (GS1 REST binding subset).

Capture is synchronous and atomic (GS1's default ``rollback`` behaviour): the answer is either
``202 Accepted`` with the capture job already finished (``Location: /epcis/capture/{id}``), or a
problem naming every offending field, with nothing appended. ``GET /epcis/capture/{id}``
reports a finished job; its id is the range of ledger sequence numbers it covers.

Query: ``GET /epcis/events`` (SimpleEventQuery parameters, paged with ``perPage`` and
``nextPageToken``, the next page in a ``Link: <...>; rel="next"`` header) and
``GET /epcis/events/{eventID}`` answer EPCISQueryDocuments; any valid token may query, and
what each role sees is decided in :mod:`tracefood.ledger.epcis_query`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from tracefood.chain import query as epcis_query
from tracefood.chain.query_params import parse_query
from tracefood.chain.tables import events
from tracefood.errors import (
    InvalidParameter,
    NoSuchNameException,
    NotAcceptableException,
    NotFound,
    QueryParameterException,
)
from tracefood.ledger import db
from tracefood.web.api.events import MAX_BODY, json_body, store
from tracefood.web.auth import require
from tracefood.web.ledger_ext import get_ledger, get_settings

epcis = Blueprint("epcis", __name__, url_prefix="/epcis")

CAPTURE_LIMIT = 10_000
GS1_HEADERS = {
    "GS1-EPCIS-Version": "2.0.0",
    "GS1-CBV-Version": "2.0.0",
    "GS1-EPCIS-Capture-Error-Behaviour": "rollback",
    "GS1-EPCIS-Capture-Limit": str(CAPTURE_LIMIT),
    "GS1-EPCIS-Capture-File-Size-Limit": str(MAX_BODY),
}
SERVED_VERSION = (2, 0, 0)
VERSION_HEADERS = ("GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Min", "GS1-CBV-Max")
QUERY_HEADERS = dict.fromkeys(VERSION_HEADERS, "2.0.0")
MAX_EVENT_ID = 2000
_VERSION = re.compile(r"(\d{1,4})(?:\.(\d{1,4}))?(?:\.(\d{1,4}))?", re.ASCII)


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


# -- query -----------------------------------------------------------------------------------


def check_versions(headers: Mapping[str, str | None]) -> None:
    """Refuse a GS1-EPCIS/CBV-Min/Max range that excludes 2.0.0 (406), or a malformed one (400)."""
    for name in VERSION_HEADERS:
        raw = headers.get(name)
        if raw is None:
            continue
        found = _VERSION.fullmatch(raw.strip())
        if found is None:
            raise InvalidParameter(name, f"must be a version such as 2.0.0, got {raw[:40]!r}")
        version = tuple(int(part or 0) for part in found.groups())
        if version > SERVED_VERSION if name.endswith("Min") else version < SERVED_VERSION:
            raise NotAcceptableException(
                f"{name}: {raw.strip()} excludes 2.0.0, the only EPCIS and CBV version served here",
                errors=[{"field": name, "reason": "this server speaks EPCIS 2.0.0 and CBV 2.0.0 only"}],
            )


def _query_answer(document: dict[str, Any]) -> Response:
    response = jsonify(document)
    response.headers.update(QUERY_HEADERS)
    return response


@epcis.get("/events")
def query_events() -> Response:
    actor = require()
    check_versions({name: request.headers.get(name) for name in VERSION_HEADERS})
    query = parse_query(request.args.items(multi=True), epcis_query.known_keys(get_ledger().engine, actor))
    page = epcis_query.run_query(get_ledger().engine, query, actor)
    response = _query_answer(page.document)
    if page.next_token is not None:
        params = [(k, v) for k, v in request.args.items(multi=True) if k != "nextPageToken"]
        params.append(("nextPageToken", page.next_token))
        # The configured public address, never the request's Host header (a client controls it).
        base = get_settings().public_url.rstrip("/") + request.path
        response.headers["Link"] = f'<{base}?{urlencode(params)}>; rel="next"'
    return response


# merge_slashes=False: an eventID such as ni:///sha-256;... keeps its three slashes
@epcis.get("/events/<path:eventID>", merge_slashes=False)
def get_event(eventID: str) -> Response:  # the binding's name for the path parameter
    actor = require()
    check_versions({name: request.headers.get(name) for name in VERSION_HEADERS})
    args = list(request.args.items(multi=True))
    if [name for name, _ in args] == ["ver"]:
        # ni:///sha-256;...?ver=CBV2.0 sent with its "?" unencoded: the query string is the id's
        eventID += "?ver=" + args[0][1]
    elif args:
        raise QueryParameterException(
            args[0][0], "this route takes no query parameters (URL-encode the eventID: '?' is %3F, '/' is %2F)"
        )
    if len(eventID) > MAX_EVENT_ID:
        raise NoSuchNameException(
            "no event has an eventID this long", errors=[{"field": "eventID", "reason": "unknown"}]
        )
    return _query_answer(epcis_query.event_document(get_ledger().engine, eventID, actor))
