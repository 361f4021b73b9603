"""JSON API for producers and the registry: events in TraceFood's readable form, lots, parties,
locations, products, tokens and the registry audit trail (``/api/v1``)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tracefood import utc
from tracefood.chain import access
from tracefood.chain import lots as lots_view
from tracefood.chain.capture import EventStore
from tracefood.chain.registry import public_view
from tracefood.epcis.events import parse_json_number
from tracefood.errors import InvalidEntry, InvalidParameter
from tracefood.web.auth import api_actor, registry, require
from tracefood.web.ledger_ext import get_ledger

events_api = Blueprint("events_api", __name__, url_prefix="/api/v1")

MAX_BODY = 8 * 1024 * 1024
NUL_ESCAPE = re.compile(rb"\\u0000|\x00", re.IGNORECASE)
ENTITIES = {"parties": "party", "locations": "location", "products": "product"}


def json_body() -> Any:
    """The request body as JSON, with non-integer numbers as Decimal (never floats)."""
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise InvalidParameter("Content-Type", f"must be application/json, got {mimetype or 'nothing'!r}")
    raw = request.get_data(cache=False)
    if NUL_ESCAPE.search(raw):
        # PostgreSQL text cannot hold NUL, and no identifier or name needs one.
        raise InvalidEntry("NUL characters are not allowed", errors=[{"field": "/", "reason": "NUL character"}])
    try:
        return json.loads(raw, parse_float=parse_json_number, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEntry(
            f"the body is not valid JSON: {exc}", errors=[{"field": "/", "reason": "invalid JSON"}]
        ) from None
    except RecursionError:
        raise InvalidEntry("the body is nested too deeply", errors=[{"field": "/", "reason": "too deep"}]) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def store() -> EventStore:
    return EventStore(get_ledger())


@events_api.post("/events")
def post_events() -> Any:
    """Record one readable event or a list of them (atomic)."""
    actor = require()
    body = json_body()
    receipts = store().record(body, actor)
    out = [r.to_json() for r in receipts]
    status = 201 if any(r.created for r in receipts) else 200
    return jsonify(out if isinstance(body, list) else out[0]), status


@events_api.get("/lots")
def list_lots() -> Any:
    actor = require()
    party = access.may_list_party(actor, request.args.get("party"))
    with_empty = request.args.get("all") in ("1", "true")
    return jsonify(lots_view.list_lots(get_ledger().engine, party_id=party, include_empty=with_empty))


@events_api.get("/lot")
def get_lot() -> Any:
    actor = require()
    key = request.args.get("id")
    if not key:
        raise InvalidParameter("id", "is required: the lot's URI (Digital Link, EPC URN or private URN)")
    return jsonify(lots_view.lot_detail(get_ledger().engine, key, actor))


# -- registry ---------------------------------------------------------------------------------


@events_api.get("/<any(parties, locations, products):kind>")
def list_registry(kind: str) -> Any:
    actor = require()
    entity = ENTITIES[kind]
    rows = registry().list(entity, party_id=request.args.get("party"))
    return jsonify([public_view(entity, r, actor) for r in rows])


@events_api.post("/<any(parties, locations, products):kind>")
def create_registry(kind: str) -> Any:
    actor = require(*access.MANAGES_REGISTRY)
    entity = ENTITIES[kind]
    row = registry().create(entity, json_body(), actor)
    response = jsonify(public_view(entity, row, actor))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/{kind}/{row['id']}"
    return response


@events_api.get("/<any(parties, locations, products):kind>/<item_id>")
def get_registry(kind: str, item_id: str) -> Any:
    actor = require()
    entity = ENTITIES[kind]
    return jsonify(public_view(entity, registry().get(entity, item_id), actor))


@events_api.patch("/<any(parties, locations, products):kind>/<item_id>")
def update_registry(kind: str, item_id: str) -> Any:
    actor = require(*access.MANAGES_REGISTRY)
    entity = ENTITIES[kind]
    return jsonify(public_view(entity, registry().update(entity, item_id, json_body(), actor), actor))


@events_api.get("/audit")
def audit() -> Any:
    require(*access.MANAGES_REGISTRY)
    return jsonify(registry().audit(request.args.get("entity"), request.args.get("id")))


@events_api.post("/tokens")
def create_token() -> Any:
    actor = require(*access.MANAGES_REGISTRY)
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidEntry("the body must be an object", errors=[{"field": "/", "reason": "not an object"}])
    token, record = registry().create_token(
        str(body.get("party", "")), str(body.get("role", "")), actor, str(body.get("label", ""))
    )
    shown = {("party" if k == "party_id" else k): v for k, v in record.items()}
    response = jsonify(shown | {"token": token, "created_at": utc.text(record["created_at"], "us")})
    response.status_code = 201
    return response


@events_api.get("/me")
def me() -> Response:
    actor = api_actor()
    assert actor is not None
    return jsonify({"role": actor.role, "party": actor.party_id, "label": actor.label})
