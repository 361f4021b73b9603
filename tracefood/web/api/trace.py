"""``GET /api/v1/trace``: trace a lot, item or logistic unit back to its sources or forward to
every lot made from it and everyone who holds it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from tracefood.chain import access, recall_withdrawal, recalls, records, trace
from tracefood.chain.export import export_document
from tracefood.errors import InvalidParameter
from tracefood.web.api.events import json_body
from tracefood.web.auth import require
from tracefood.web.ledger_ext import get_ledger

trace_api = Blueprint("trace_api", __name__, url_prefix="/api/v1")
KNOWN = {"id", "direction", "limit", "page_token"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@trace_api.get("/trace")
def get_trace() -> Any:
    """Recall officers, inspectors and admins trace anything; producers and carriers trace the
    lots their party may see (:mod:`tracefood.chain.access`)."""
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
    result = trace.trace(
        engine, identifier, direction, limit=int(raw), page_token=request.args.get("page_token"), actor=actor
    )
    response = jsonify(result)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- recalls ------------------------------------------------------------------------------------


@trace_api.post("/recalls")
def post_recall() -> Any:
    """Open a recall (recall officers, admins): the scope is the seeds' trace forward."""
    actor = require(*access.RUNS_RECALLS)
    return jsonify(recalls.issue(get_ledger(), json_body(), actor)), 201


@trace_api.get("/recalls")
def list_recalls() -> Any:
    require()
    return jsonify({"recalls": recalls.list_recalls(get_ledger().engine)})


@trace_api.get("/recalls/<recall_id>")
def get_recall(recall_id: str) -> Any:
    actor = require()
    return jsonify(recalls.detail(get_ledger().engine, recall_id, actor))


@trace_api.post("/recalls/<recall_id>/acknowledge")
def acknowledge(recall_id: str) -> Any:
    """A holder acknowledges the recall (it has acted on it)."""
    actor = require()
    body = json_body() if request.content_length else {}
    note = body.get("note") if isinstance(body, dict) else None
    return jsonify(recalls.acknowledge(get_ledger().engine, recall_id, actor, note))


@trace_api.post("/recalls/<recall_id>/close")
def close(recall_id: str) -> Any:
    actor = require(*access.RUNS_RECALLS)
    body = json_body()
    return jsonify(
        recalls.close(get_ledger().engine, recall_id, actor, body.get("reason") if isinstance(body, dict) else None)
    )


@trace_api.post("/recalls/<recall_id>/withdraw")
def withdraw(recall_id: str) -> Any:
    """The party that issued a recall withdraws it as issued in error: its lots are no longer
    recalled (an error declaration of the recall event, in the ledger)."""
    actor = require(*access.RUNS_RECALLS)
    body = json_body()
    reason = body.get("reason") if isinstance(body, dict) else None
    return jsonify(recall_withdrawal.withdraw(get_ledger(), recall_id, actor, reason))


# -- records on demand ----------------------------------------------------------------------------

RECORD_PARAMS = {"recall", "id", "trace", "from", "to", "format"}


def _record_rows() -> list[dict[str, Any]]:
    require(*access.READS_EVERY_LOT)
    unknown = sorted(set(request.args) - RECORD_PARAMS)
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; known: {', '.join(sorted(RECORD_PARAMS))}")
    direction = request.args.get("trace") or None
    if direction not in (None, *trace.DIRECTIONS):
        raise InvalidParameter("trace", "back or forward")
    engine = get_ledger().engine
    ids = records.lots_for(engine, recall_id=request.args.get("recall"), ids=request.args.getlist("id"),
                           with_trace=direction)  # fmt: skip
    return records.rows(engine, ids, request.args.get("from"), request.args.get("to"))


def _file(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@trace_api.get("/records/fsma204")
def fsma204() -> Response:
    """The FSMA 204 sortable spreadsheet (CSV or XLSX) for a recall or lots (recall officers,
    inspectors, admins)."""
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise InvalidParameter("format", "csv or xlsx")
    rows = _record_rows()
    if fmt == "xlsx":
        return _file(records.fsma204_xlsx(rows), XLSX, "fsma204.xlsx")
    return _file(records.fsma204_csv(rows), "text/csv", "fsma204.csv")


@trace_api.get("/records/cfia")
def cfia() -> Response:
    if request.args.get("format", "csv") != "csv":
        raise InvalidParameter("format", "csv")
    return _file(records.cfia_csv(_record_rows()), "text/csv", "cfia-traceability.csv")


@trace_api.get("/records/epcis")
def epcis_records() -> Any:
    if request.args.get("format", "json") != "json":
        raise InvalidParameter("format", "json")
    rows = _record_rows()
    engine = get_ledger().engine
    response = jsonify(export_document(engine, records.event_seqs(rows, engine)))
    response.headers["Content-Disposition"] = 'attachment; filename="epcis.jsonld"'
    return response
