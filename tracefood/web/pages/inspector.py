"""The page a phone opens when it scans a label: ``/01/{gtin}/10/{lot}`` and ``/00/{sscc}``.

The fragment (the signature) never reaches the server, so the page verifies it twice in the
browser: itself, with WebCrypto Ed25519 against ``/.well-known/jwks.json``, and by asking the
server (``POST /api/v1/labels/verify`` with the full URL). What does not depend on the
signature is rendered here: the lot, its recall status, its history and the events' places in
the ledger, whose inclusion proofs the page checks against the signed checkpoint.

The page also remembers, on the device (localStorage, per ledger origin and key), the largest
checkpoint it verified, and asks for a consistency proof (``/api/v1/ledger/proofs/consistency``)
whenever the checkpoint presented differs in size; a history that does not extend what the
device saw (a rewritten, re-signed ledger) is refused in red, never "genuine" (issue 12;
``static/label.js`` and ``static/merkle.js``). That memory is the device's own: the server only
serves the checkpoint and the proofs, and a first scan trusts what it is shown.

``Accept: application/json`` gets the same as JSON; a client that sends the label's fragment in
the ``Label-Signature`` header also gets the server's verdict.

Producers also issue labels from their lot page (``POST /labels/issue``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request
from sqlalchemy import select

from tracefood.chain import access
from tracefood.chain.registry import Actor
from tracefood.chain.stored import stored_event
from tracefood.chain.tables import events, locations, lot_events, lot_links, lots, parties
from tracefood.epcis.events import format_micro
from tracefood.epcis.gs1_keys import check_gtin, check_sscc, lot_uri, sscc_uri
from tracefood.errors import IdentifierError, InvalidParameter, LabelError, NotFound, TraceFoodError
from tracefood.labels import db_trust, subjects
from tracefood.labels import signing as labels
from tracefood.ledger import db
from tracefood.ledger.models import entries
from tracefood.web.api import labels as labels_api
from tracefood.web.ledger_ext import get_ledger
from tracefood.web.pages.site import pages, signed_in, t
from tracefood.web.problems import prefers_json

SCAN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
MAX_HISTORY = 200


@pages.get("/01/<gtin>/10/<path:lot>")
def scan_lot(gtin: str, lot: str) -> Any:
    try:
        key = lot_uri(check_gtin(gtin), lot)
    except IdentifierError as exc:
        return _bad_label(exc.reason, "gtin" if "GTIN" in exc.reason or "digit" in exc.reason else "lot")
    try:
        subject = labels.subject_of(key)
    except LabelError as exc:
        return _bad_label(exc.errors[0]["reason"] if exc.errors else exc.detail, "lot")
    return _scan(subject)


@pages.get("/00/<sscc>")
def scan_sscc(sscc: str) -> Any:
    try:
        key = sscc_uri(check_sscc(sscc))
    except IdentifierError as exc:
        return _bad_label(exc.reason, "sscc")
    return _scan(labels.subject_of(key))


def _bad_label(reason: str, field: str) -> Any:
    if prefers_json():
        raise InvalidParameter(field, reason)
    response = Response(
        render_template("label_error.html", title=t("scan.bad.title"), message=t("scan.bad.body"), reason=reason),
        status=400,
    )
    return _secure(response)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = SCAN_CSP
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response


def _scan(subject: labels.Subject) -> Any:
    ledger = get_ledger()
    actor: Actor | None = g.page_actor
    with db.read_snapshot(ledger.engine) as conn:
        record = subjects.subject_record(conn, subject.key)
        if record is None:
            return _unknown(subject)
        row = conn.execute(select(lots).where(lots.c.key == subject.key)).one()
        # the full history (parties, documents) to whoever may see the lot; the public view else
        full = access.may_see_lot(conn, actor, row)
        history = _history(conn, row.id, full)
        contents = _contents(conn, row.id) if subject.kind == "sscc" else []
    # Only read (a public GET never writes): every write that grows the tree signs its
    # checkpoint before it commits, so the stored one covers every event shown. Entries a
    # writer without the key appended are not covered: their proofs say "unavailable".
    checkpoint = ledger.latest_checkpoint()
    data = {
        "subject": subject.to_json(),
        "status": record.status,
        "recall": record.recall,
        "info": record.info,
        "contents": contents,
        "history": history,
        "full_history": full,
        "checkpoint": {"size": checkpoint.size, "note": checkpoint.note} if checkpoint else None,
    }
    if prefers_json():
        return _secure(jsonify(data | {"verdict": _header_verdict(subject)}))
    html = render_template("label.html", d=data, subject=subject, reasons=_reason_texts(), actor=actor)
    return _secure(Response(html))


def _header_verdict(subject: labels.Subject) -> dict[str, Any] | None:
    """The verdict on this URL with the fragment a JSON client sent in ``Label-Signature``.

    The URL is rebuilt as printed: the subject's path in its percent-encoded form (the server
    hands views a decoded path) and the query string exactly as received."""
    signature = request.headers.get("Label-Signature")
    if not signature:
        return None
    query = request.query_string.decode("ascii", errors="replace")
    url = labels_api.base_url() + subject.path + (f"?{query}" if query else "") + "#" + signature.lstrip("#")
    return labels.verify(url, db_trust.DbTrust(get_ledger().engine)).to_json()


def _unknown(subject: labels.Subject) -> Any:
    """A label naming a lot the ledger never saw: 404, with the verdict on its signature (a
    changed GTIN or lot code usually lands here, and the verdict says which)."""
    what = subject.lot or subject.sscc
    if prefers_json():
        raise NotFound(f"the ledger has no {subject.kind} {what}", errors=[{"field": "id", "reason": "unknown"}],
                       verdict=_header_verdict(subject))  # fmt: skip
    data = {"unknown": True, "subject": subject.to_json(), "status": None, "info": {}, "history": []}
    html = render_template("label.html", d=data | {"checkpoint": None}, subject=subject, reasons=_reason_texts())
    return _secure(Response(html, status=404))


def _reason_texts() -> dict[str, str]:
    return {code: t(f"verdict.{code}") for code in labels.REASONS}


def _history(conn: Any, lot_id: int, full: bool) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(lot_events, events.c.event_id, events.c.kind, events.c.biz_step, events.c.disposition,
               events.c.event_type, events.c.correction)
        .join(events, events.c.seq == lot_events.c.seq)
        .where(lot_events.c.lot_id == lot_id)
        .order_by(lot_events.c.event_time, lot_events.c.seq)
        .limit(MAX_HISTORY)
    ).all()  # fmt: skip
    uris = {r.location for r in rows if r.location}
    places = {
        p.uri: p
        for p in conn.execute(
            select(locations.c.uri, locations.c.name, locations.c.region, locations.c.country, locations.c.kind).where(
                locations.c.uri.in_(uris)
            )
        )
    }
    names = {}
    if full:
        names = dict(
            conn.execute(select(parties.c.id, parties.c.name).where(parties.c.id.in_({r.party_id for r in rows}))).all()
        )
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for r in rows:
        if r.seq in seen:  # one line per event, even if the lot has two roles in it
            continue
        seen.add(r.seq)
        place = places.get(r.location)
        step = (r.biz_step or "").rsplit("-", 1)[-1] or None
        kind = r.kind or step or r.event_type
        label = t(f"kind.{kind}")
        item: dict[str, Any] = {
            "seq": r.seq,
            "entry_id": r.event_id,
            "kind_label": kind if label == f"kind.{kind}" else label,
            "time": r.event_time,
            "kind": kind,
            "step": step,
            "disposition": (r.disposition or "").rsplit("-", 1)[-1] or None,
            "place": {"name": place.name, "region": place.region, "country": place.country} if place else None,
            "correction": bool(r.correction),
        }
        if full:
            item |= _full_detail(conn, r, names)
        out.append(item)
    return out


def _full_detail(conn: Any, r: Any, names: dict[str, str]) -> dict[str, Any]:
    """What only an inspector's full view shows of a history line: who, in which role, how
    much, where, and the business documents the stored event names."""
    body = conn.execute(select(entries.c.body).where(entries.c.seq == r.seq)).scalar_one()
    _, event = stored_event(bytes(body))
    return {
        "event_id": r.event_id,
        "party": r.party_id,
        "party_name": names.get(r.party_id),
        "role": r.role,
        "quantity": format_micro(r.quantity),
        "location": r.location,
        "documents": [
            {"type": (b.get("type") or "").rsplit("-", 1)[-1], "id": b.get("bizTransaction")}
            for b in event.get("bizTransactionList", [])
        ],
    }


def _contents(conn: Any, container_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(lots.c.key, lots.c.lot_code, lots.c.gtin, lots.c.status, lot_links.c.quantity)
        .join(lot_links, lot_links.c.child_id == lots.c.id)
        .where(lot_links.c.parent_id == container_id, lot_links.c.kind == "contains", lot_links.c.removed_seq.is_(None))
        .order_by(lots.c.key)
    )
    return [
        {"id": r.key, "lot": r.lot_code, "gtin": r.gtin, "status": r.status, "quantity": format_micro(r.quantity)}
        for r in rows
    ]


# -- issuing from the producer's lot page -----------------------------------------------------


@pages.post("/labels/issue")
@signed_in
def issue_label() -> Any:
    """The lot page's "Print label" button: issue and download the label."""
    actor: Actor = g.page_actor
    form = request.form
    fmt, _, layout = form.get("format", "pdf:4x6").partition(":")
    body = {"id": form.get("id", ""), "format": fmt, "layout": layout or "4x6", "ec": form.get("ec", "M")}
    try:
        issued, fmt, layout = labels_api.issue_from(body, actor)
    except TraceFoodError as exc:
        current_app.logger.info("label refused: %s", exc.detail)
        html = render_template("error.html", title=t("label.refused"), message=exc.detail)
        return Response(html, status=exc.status)
    if fmt == "json":
        fmt = "pdf"
    return labels_api.label_file(issued, fmt, layout)
