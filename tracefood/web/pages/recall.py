"""The recall officer's pages (French and English): search by lot, SSCC, GTIN or farm; the
trace drawn as an SVG graph (sources on the left, the searched lot in the middle, lots made from
it to the right, holders on the far right; the searched lot and affected lots marked); holders
and shipments in transit; the exports; the recall form; a recall's page with its
acknowledgements and the form to close it."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from tracefood.chain import access, recalls, records, trace
from tracefood.chain.export import export_document
from tracefood.chain.registry import Actor
from tracefood.chain.tables import locations, lots, parties
from tracefood.errors import TraceFoodError
from tracefood.ledger import db
from tracefood.web.ledger_ext import get_ledger
from tracefood.web.pages.site import pages, signed_in, t

COLUMN, ROW, LEFT, TOP, BOX_W, BOX_H = 220, 64, 10, 30, 190, 44
MAX_DRAWN = 60  # nodes per column drawn; the tables list everything


def _officer() -> Actor:
    actor: Actor = g.page_actor
    if not access.reads_every_lot(actor):
        abort(403)
    return actor


@pages.get("/recall")
@signed_in
def recall_home() -> Any:
    """Search, and the list of recalls."""
    _officer()
    query = (request.args.get("q") or "").strip()
    found: list[dict[str, Any]] = []
    if query:
        direct = _direct(query)
        if direct:
            return redirect(url_for("pages.recall_trace", id=direct), 303)
        found = _search(query)
        if len(found) == 1:  # one lot by that code, GTIN or farm: straight to its trace
            return redirect(url_for("pages.recall_trace", id=found[0]["id"]), 303)
    listed = recalls.list_recalls(get_ledger().engine)
    return render_template("recall_home.html", q=query, found=found, recalls=listed)


def _direct(query: str) -> str | None:
    """The lot key if the query names one lot or logistic unit exactly."""
    try:
        with db.read_snapshot(get_ledger().engine) as conn:
            return str(access.resolve_lot(conn, query).key)
    except TraceFoodError:
        return None


def _search(query: str) -> list[dict[str, Any]]:
    """Lots by GTIN, lot code, or farm (party or location id or name)."""
    like = f"%{query.lower()}%"
    with db.read_snapshot(get_ledger().engine) as conn:
        farm_stmt = select(parties.c.id).where(or_(parties.c.id == query, parties.c.name.ilike(like)))
        farms = [r[0] for r in conn.execute(farm_stmt)]
        place_stmt = select(locations.c.uri).where(or_(locations.c.id == query, locations.c.name.ilike(like)))
        places = [r[0] for r in conn.execute(place_stmt)]
        stmt = (
            select(lots)
            .where(or_(lots.c.gtin == query, lots.c.lot_code == query, lots.c.party_id.in_(farms),
                       lots.c.tlc_source.in_(places)))
            .order_by(lots.c.first_time.desc())
            .limit(200)
        )  # fmt: skip
        return [
            {"id": r.key, "kind": r.kind, "lot": r.lot_code, "gtin": r.gtin, "product": r.product_id,
             "party": r.party_id, "first": r.first_time[:10], "status": r.status}
            for r in conn.execute(stmt)
        ]  # fmt: skip


@pages.get("/recall/trace")
@signed_in
def recall_trace() -> Any:
    _officer()
    identifier = request.args.get("id", "")
    engine = get_ledger().engine
    try:
        back = trace.trace(engine, identifier, "back", limit=trace.MAX_LIMIT)
        forward = trace.trace(engine, identifier, "forward", limit=trace.MAX_LIMIT)
    except TraceFoodError as exc:
        html = render_template("error.html", title=t("dash.not_found"), message=exc.detail)
        return Response(html, status=exc.status)
    names = {p["id"]: p["name"] or p["id"] for p in forward["parties"]}
    graph = _layout(back, forward, names)
    return render_template("recall_trace.html", back=back, forward=forward, graph=graph, id=back["id"], names=names)


def _layout(back: dict[str, Any], forward: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Columns by depth: sources left (negative), the start at 0, descendants right, holders last."""
    columns: dict[int, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for node in back["graph"]["nodes"]:
        if node["type"] == "lot" and node["id"] not in seen:
            seen.add(node["id"])
            columns.setdefault(-(node["depth"] or 0), []).append(
                node | {"role": "start" if node["start"] else "source"}
            )
    for node in forward["graph"]["nodes"]:
        if node["type"] == "lot" and node["id"] not in seen:
            seen.add(node["id"])
            columns.setdefault(node["depth"] or 0, []).append(node | {"role": "affected"})
    last = max(columns, default=0) + 1
    holders = sorted({h["party"] for h in forward["holders"]} | {s["to_party"] for s in forward["in_transit"]
                                                                  if s["to_party"]})  # fmt: skip
    columns[last] = [{"id": f"party:{p}", "party": names.get(p, p), "role": "holder", "lot": None} for p in holders]
    first = min(columns)
    placed: dict[str, tuple[int, int]] = {}
    boxes = []
    for depth in sorted(columns):
        for i, node in enumerate(columns[depth][:MAX_DRAWN]):
            x, y = LEFT + (depth - first) * COLUMN, TOP + i * ROW
            placed[node["id"]] = (x, y)
            label = node.get("lot") or node.get("party") or node["id"].rsplit("/", 1)[-1]
            boxes.append({"x": x, "y": y, "role": node["role"], "label": label[:26], "title": node["id"],
                          "status": node.get("status"), "product": (node.get("product") or "")[:26]})  # fmt: skip
    lines = []
    for edge in back["graph"]["edges"] + forward["graph"]["edges"]:
        if edge["type"] == "transform" and edge["from"] in placed and edge["to"] in placed:
            lines.append(_line(placed[edge["from"]], placed[edge["to"]]))
    for h in forward["holders"]:
        if h["lot"] in placed and f"party:{h['party']}" in placed:
            lines.append(_line(placed[h["lot"]], placed[f"party:{h['party']}"]) | {"holder": True})
    for s in forward["in_transit"]:
        if s["lot"] in placed and f"party:{s['to_party']}" in placed:
            lines.append(_line(placed[s["lot"]], placed[f"party:{s['to_party']}"]) | {"transit": True})
    height = TOP + max((len(c[:MAX_DRAWN]) for c in columns.values()), default=1) * ROW + 10
    width = LEFT + (last - first + 1) * COLUMN
    unique = {(ln["x1"], ln["y1"], ln["x2"], ln["y2"], ln.get("holder"), ln.get("transit")): ln for ln in lines}
    headers = [{"x": LEFT + (d - first) * COLUMN, "label": _column_label(d, last)} for d in sorted(columns)]
    return {"boxes": boxes, "lines": list(unique.values()), "width": width, "height": height, "headers": headers,
            "box_w": BOX_W, "box_h": BOX_H}  # fmt: skip


def _column_label(depth: int, last: int) -> str:
    if depth == last:
        return t("dash.col.holders")
    if depth < 0:
        return t("dash.col.sources")
    return t("dash.col.start") if depth == 0 else t("dash.col.made")


def _line(a: tuple[int, int], b: tuple[int, int]) -> dict[str, Any]:
    return {"x1": a[0] + BOX_W, "y1": a[1] + BOX_H // 2, "x2": b[0], "y2": b[1] + BOX_H // 2}


@pages.get("/recall/export/<any(fsma204, fsma204x, cfia, epcis):what>")
@signed_in
def recall_export(what: str) -> Response:
    """The exports for a lot's trace (``id``) or a recall (``recall``), for the page's buttons."""
    _officer()
    engine = get_ledger().engine
    recall_id = request.args.get("recall") or None
    ids = [request.args["id"]] if request.args.get("id") else []
    lot_ids = records.lots_for(engine, recall_id=recall_id, ids=ids, with_trace=None if recall_id else "forward")
    rows = records.rows(engine, lot_ids)
    name = recall_id or "trace"
    if what == "fsma204x":
        data, mimetype, filename = records.fsma204_xlsx(rows), XLSX, f"fsma204-{name}.xlsx"
    elif what == "fsma204":
        data, mimetype, filename = records.fsma204_csv(rows), "text/csv", f"fsma204-{name}.csv"
    elif what == "cfia":
        data, mimetype, filename = records.cfia_csv(rows), "text/csv", f"cfia-{name}.csv"
    else:
        import json

        document = export_document(engine, records.event_seqs(rows, engine))
        data, mimetype, filename = (
            json.dumps(document, ensure_ascii=False).encode(),
            "application/ld+json",
            f"epcis-{name}.jsonld",
        )
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pages.post("/recall/issue")
@signed_in
def recall_issue() -> Any:
    actor = _officer()
    form = request.form
    body = {
        "seeds": {"lots": [form.get("id", "")]},
        "class": form.get("class", ""),
        "reason": form.get("reason", ""),
        "hazard": form.get("hazard") or None,
        "instructions": form.get("instructions") or None,
    }
    try:
        made = recalls.issue(get_ledger(), body, actor)
    except TraceFoodError as exc:
        html = render_template("error.html", title=t("dash.recall_refused"), message=exc.detail)
        return Response(html, status=exc.status)
    flash(t("dash.recall_opened", id=made["id"], lots=len(made["lots"])), "success")
    return redirect(url_for("pages.recall_page", recall_id=made["id"]), 303)


@pages.route("/recall/<recall_id>", methods=["GET", "POST"])
@signed_in
def recall_page(recall_id: str) -> Any:
    actor: Actor = g.page_actor
    engine = get_ledger().engine
    try:
        if request.method == "POST":
            if request.form.get("action") == "close":
                _officer()
                recalls.close(engine, recall_id, actor, request.form.get("reason", ""))
            else:
                recalls.acknowledge(engine, recall_id, actor, request.form.get("note") or None)
            return redirect(url_for("pages.recall_page", recall_id=recall_id), 303)
        detail = recalls.detail(engine, recall_id, actor)
    except TraceFoodError as exc:
        html = render_template("error.html", title=t("dash.recall_refused"), message=exc.detail)
        return Response(html, status=exc.status)
    return render_template("recall_page.html", r=detail, officer=access.reads_every_lot(actor))
