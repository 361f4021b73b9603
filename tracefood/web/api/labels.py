"""Label routes of the JSON API: issue labels, verify a scanned label, label keys, the published
keys (``/.well-known/jwks.json``) and the signed trust list for offline verifiers."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from tracefood.chain import access
from tracefood.chain.registry import Actor
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.errors import IdentifierError, InvalidEntry, InvalidParameter
from tracefood.labels import db_trust, issuance, printed, qr
from tracefood.labels import keys as label_keys_codec
from tracefood.labels import render as label_render
from tracefood.labels import signing as labels
from tracefood.ledger import db
from tracefood.web.api.events import json_body
from tracefood.web.auth import require
from tracefood.web.ledger_ext import get_instance, get_label_keys, get_ledger, get_settings

labels_api = Blueprint("labels_api", __name__)

MIMETYPES = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "zpl": "application/vnd.zebra-zpl",
}
TRUST_LIST_CACHE_SECONDS = 60
_trust_cache: dict[tuple[int, tuple[int, ...]], tuple[float, str]] = {}
_trust_lock = threading.Lock()


def _field(body: Any, name: str, *, required: bool = False, default: str | None = None, limit: int = 300) -> str | None:
    if not isinstance(body, dict):
        raise InvalidEntry("the body must be a JSON object", errors=[{"field": "/", "reason": "not an object"}])
    value = body.get(name, default)
    if value is None:
        if required:
            raise InvalidEntry(f"{name} is required", errors=[{"field": f"/{name}", "reason": "required"}])
        return None
    if not isinstance(value, str) or len(value) > limit:
        reason = f"must be a string of at most {limit} characters"
        raise InvalidEntry(f"{name} {reason}", errors=[{"field": f"/{name}", "reason": reason}])
    return value


def lot_uri_or_error(gtin: str, lot: str) -> str:
    try:
        return lot_uri(gtin, lot)
    except IdentifierError as exc:
        raise InvalidEntry(
            exc.reason, errors=[{"field": "/gtin" if "GTIN" in exc.reason else "/lot", "reason": exc.reason}]
        ) from None


def base_url() -> str:
    """TRACEFOOD_PUBLIC_URL as a browser writes it (the form labels are signed in)."""
    return labels.canonical_base(get_settings().public_url)


def label_file(issued: issuance.IssuedLabel, fmt: str, layout: str) -> Response:
    """The rendered label as a download, its URL in the ``Label-URL`` header."""
    if fmt == "pdf" and layout in ("letter", "a4"):
        data = printed.render_sheet([(issued.url, issuance.label_text(issued))], layout=layout, ec=issued.ec)
    else:
        data = label_render.render(issued.url, fmt, issuance.label_text(issued), ec=issued.ec, layout=layout)
    name = (issued.subject.lot or issued.subject.sscc or "label").replace('"', "")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="label-{safe}.{fmt}"'
    response.headers["Label-URL"] = issued.url
    return response


def issue_from(body: Any, actor: Actor) -> tuple[issuance.IssuedLabel, str, str]:
    identifier = _field(body, "id")
    if identifier is None:  # the GS1 pieces instead of an id: {"gtin", "lot"} or {"sscc"}
        gtin, lot, sscc = _field(body, "gtin", limit=14), _field(body, "lot", limit=20), _field(body, "sscc", limit=18)
        if sscc and not (gtin or lot):
            identifier = f"/00/{sscc}"
        elif gtin and lot and not sscc:
            identifier = lot_uri_or_error(gtin, lot)
        else:
            reason = "required: id (a lot or SSCC in any form), or gtin and lot, or sscc"
            raise InvalidEntry(reason, errors=[{"field": "/id", "reason": reason}])
    fmt = (_field(body, "format", default="json") or "json").lower()
    if fmt not in ("json", *MIMETYPES):
        reason = "must be json, png, svg, pdf or zpl"
        raise InvalidEntry(f"format {reason}", errors=[{"field": "/format", "reason": reason}])
    layout = (_field(body, "layout", default="4x6") or "4x6").lower()
    if layout not in label_render.LAYOUTS:
        reason = "must be 4x6, letter or a4"
        raise InvalidEntry(f"layout {reason}", errors=[{"field": "/layout", "reason": reason}])
    assert identifier is not None
    if not access.reads_every_lot(actor):  # a lot it may not see is unknown to it: 404, no oracle
        with db.read_snapshot(get_ledger().engine) as conn:
            access.resolve_lot(conn, issuance.resolve_subject(identifier).key, actor)
    issued = issuance.issue(
        get_ledger(),
        get_label_keys(),
        identifier,
        actor,
        base_url(),
        party_id=_field(body, "party", limit=64),
        ec=_field(body, "ec", default="M", limit=1) or "M",
        attributes=_field(body, "attributes", default="", limit=200) or "",
    )
    return issued, fmt, layout


@labels_api.post("/api/v1/labels")
def post_label() -> Any:
    """Sign a label for a lot or logistic unit (producers and holders of the lot)."""
    actor = require(*access.ISSUES_LABELS)
    issued, fmt, layout = issue_from(json_body(), actor)
    if fmt != "json":
        response = label_file(issued, fmt, layout)
        response.status_code = 201
        return response
    version, ec = qr.qr_info(issued.url, issued.ec)
    return jsonify(issued.to_json() | {"qr": {"version": version, "ec": ec, "characters": len(issued.url)}}), 201


@labels_api.get("/api/v1/labels")
def list_labels() -> Any:
    """The issuance log: every label issued for a lot (producers see their own party's)."""
    actor = require()
    identifier = request.args.get("id")
    subject = issuance.resolve_subject(identifier).key if identifier else None
    party = access.may_list_party(actor, None, "labels")
    return jsonify({"labels": issuance.issuances(get_ledger().engine, subject=subject, party_id=party)})


@labels_api.post("/api/v1/labels/verify")
def verify_label() -> Any:
    """The server's verdict on a scanned label URL (no token needed: labels are public)."""
    url = _field(json_body(), "url", required=True, limit=2000)
    assert url is not None
    verdict = labels.verify(url, db_trust.DbTrust(get_ledger().engine))
    response = jsonify(verdict.to_json())
    response.headers["Cache-Control"] = "no-store"
    return response


@labels_api.get("/api/v1/label-keys")
def list_keys() -> Any:
    actor = require()
    party = access.may_list_party(actor, request.args.get("party") or None, "label keys")
    return jsonify({"keys": get_label_keys().list(party)})


@labels_api.post("/api/v1/label-keys")
def create_key() -> Any:
    """A new label key for a party; ``"rotate": true`` retires its current keys."""
    actor = require(*access.ISSUES_LABELS)
    body = json_body()
    party = _field(body, "party", limit=64) or actor.party_id
    rotate = body.get("rotate", False) if isinstance(body, dict) else False
    if not isinstance(rotate, bool):
        raise InvalidEntry("rotate must be true or false", errors=[{"field": "/rotate", "reason": "not a boolean"}])
    if party is None:
        raise InvalidEntry("party is required", errors=[{"field": "/party", "reason": "required"}])
    keys = get_label_keys()
    created = keys.rotate(party, actor) if rotate else keys.create(party, actor)
    return jsonify(created), 201


@labels_api.post("/api/v1/label-keys/<kid>/revoke")
def revoke_key(kid: str) -> Any:
    """Revoke a label key: labels it signed stop verifying, with the reason given."""
    actor = require(*access.ISSUES_LABELS)
    if len(kid) != label_keys_codec.KID_LENGTH:
        raise InvalidParameter("kid", f"must be {label_keys_codec.KID_LENGTH} base64url characters")
    reason = _field(json_body(), "reason", required=True, limit=200)
    assert reason is not None
    return jsonify(get_label_keys().revoke(kid, reason, actor))


@labels_api.get("/.well-known/jwks.json")
def jwks() -> Any:
    """The label keys that verify (active and rotated-out ones) as a JSON Web Key Set."""
    response = jsonify(db_trust.jwks(get_ledger().engine))
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@labels_api.get("/api/v1/trust-list")
def trust_list() -> Response:
    """The signed trust list (a C2SP signed note over one line of JSON) for offline verifiers."""
    ledger = get_ledger()
    hours = get_settings().trust_list_hours
    # Re-signed when anything it lists may have changed (its fingerprint) or a minute has passed.
    fingerprint = db_trust.trust_fingerprint(ledger.engine)
    now = time.monotonic()
    key = (id(current_app), fingerprint)
    with _trust_lock:
        cached = _trust_cache.get(key)
        if cached is None or now - cached[0] > TRUST_LIST_CACHE_SECONDS:
            note = db_trust.trust_list(ledger.engine, get_instance().ledger_signer(), base_url=base_url(), hours=hours)
            cached = (now, note)
            _trust_cache.clear()
            _trust_cache[key] = cached
    response = Response(cached[1], mimetype="text/plain")
    response.headers["Cache-Control"] = f"public, max-age={TRUST_LIST_CACHE_SECONDS}"
    return response
