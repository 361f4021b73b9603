"""Records on demand for regulators: the FDA FSMA 204 electronic sortable spreadsheet (CSV and
XLSX), the CFIA one-step-back / one-step-forward file, and an EPCIS 2.0 document.

The records cover a set of lots (a recall's scope, or lots named by the caller) and optionally a
date range. FSMA 204 asks for one row per critical tracking event and lot with its key data
elements; this module writes one row per event naming a lot in the set (every event, CTEs and
the others, each named), with the traceability lot code and its source, the product, quantity
and unit, the event's location, ship-from and ship-to, and the reference documents. The CFIA
file (Safe Food for Canadians Regulations, part 5) lists, per lot, from whom it was received and
to whom it was sent, with dates and quantities.

Events declared erroneous by an EPCIS error declaration are left out, as in traces.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from tracefood.chain import access, trace
from tracefood.chain.stored import stored_event
from tracefood.chain.tables import events, locations, lot_events, lots, parties, products, recall_lots, shipments
from tracefood.epcis.events import format_micro
from tracefood.errors import InvalidParameter
from tracefood.ledger import db
from tracefood.ledger.models import entries

CTE = {
    "harvest": "Harvesting",
    "commissioning": "Harvesting",
    "cool": "Cooling",
    "storing": "Cooling",
    "initial_pack": "Initial packing",
    "transform": "Transformation",
    "transforming": "Transformation",
    "ship": "Shipping",
    "shipping": "Shipping",
    "receive": "Receiving",
    "receiving": "Receiving",
}
FSMA_COLUMNS = (
    "Critical tracking event",
    "Event date",
    "Event time (UTC)",
    "Traceability lot code",
    "Traceability lot code source",
    "TLC source reference",
    "GTIN",
    "Product description",
    "Commodity",
    "Variety",
    "Quantity",
    "Unit of measure",
    "Location",
    "Location identifier",
    "Ship-from location",
    "Ship-to location",
    "Reference document type",
    "Reference document number",
    "Firm",
    "Role of the lot",
    "Event ID",
)
CFIA_COLUMNS = (
    "Lot code",
    "GTIN",
    "Common name",
    "Step",
    "Date",
    "Quantity",
    "Unit",
    "Other party",
    "Other party address",
    "Our location",
    "Reference document",
)


def lots_for(
    engine: Engine, *, recall_id: str | None = None, ids: Sequence[str] = (), with_trace: str | None = None
) -> list[int]:
    """Lot ids: a recall's scope, or the given lots (and, with ``with_trace``, their trace)."""
    with db.read_snapshot(engine) as conn:
        if recall_id:
            found = [
                r[0] for r in conn.execute(select(recall_lots.c.lot_id).where(recall_lots.c.recall_id == recall_id))
            ]
            if not found:
                raise InvalidParameter("recall", f"no recall {recall_id}")
            return found
        if not ids:
            raise InvalidParameter("id", "name a recall or at least one lot")
        out = [access.resolve_lot(conn, i).id for i in ids]
    if with_trace:
        keys: set[int] = set(out)
        for i in ids:
            result = trace.trace(engine, i, with_trace, limit=trace.MAX_LIMIT)
            with db.read_snapshot(engine) as conn:
                keys |= {r[0] for r in conn.execute(select(lots.c.id).where(lots.c.key.in_(result["lots"])))}
        out = sorted(keys)
    return out


def _date(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidParameter(name, f"not a date YYYY-MM-DD: {value[:40]!r}") from None


def rows(
    engine: Engine, lot_ids: Sequence[int], since: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """One dict per (event, lot) in time order: the key data elements, keyed by FSMA_COLUMNS."""
    start, end = _date(since, "from"), _date(until, "to")
    upper = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat() if end else None
    with db.read_snapshot(engine) as conn:
        corrected = trace.corrected_seqs(conn)
    with db.read_snapshot(engine) as conn:
        found = _lot_events(conn, lot_ids, start, upper, corrected)
        seqs = sorted({r.seq for r in found})
        facts = _Facts(docs=_documents(conn, seqs), moves=_moves(conn, seqs))
        facts.places = _places(conn, {r.location for r in found} | {r.tlc_source for r in found} | _ends(facts.moves))
        facts.goods = _products(conn, {r.product_id for r in found})
        facts.firms = _firms(conn, {r.party_id for r in found} | {p["party"] for p in facts.places.values()})
    return [_row(r, facts) for r in found]


@dataclass
class _Facts:
    """What the rows name besides the lot events, each read once for all of them."""

    docs: dict[int, list[tuple[str, str]]]
    moves: dict[tuple[int, int], dict[str, str | None]]
    places: dict[str, dict[str, Any]] = field(default_factory=dict)
    goods: dict[str, dict[str, Any]] = field(default_factory=dict)
    firms: dict[str, str] = field(default_factory=dict)


def _lot_events(
    conn: Connection, lot_ids: Sequence[int], start: str | None, upper: str | None, corrected: frozenset[int]
) -> list[Any]:
    """The lot events of ``lot_ids`` in ``[start, upper)``, declared events left out, in time order."""
    found: list[Any] = []
    for chunk in db.chunks(lot_ids):
        stmt = (
            select(lot_events, events.c.event_id, events.c.kind, events.c.biz_step, events.c.event_type,
                   lots.c.lot_code, lots.c.gtin, lots.c.key, lots.c.uom, lots.c.tlc_source, lots.c.product_id)
            .join(events, events.c.seq == lot_events.c.seq)
            .join(lots, lots.c.id == lot_events.c.lot_id)
            .where(lot_events.c.lot_id.in_(chunk))
        )  # fmt: skip
        if start:
            stmt = stmt.where(lot_events.c.event_time >= start)
        if upper:
            stmt = stmt.where(lot_events.c.event_time < upper)
        found.extend(r for r in conn.execute(stmt) if r.seq not in corrected)
    found.sort(key=lambda r: (r.event_time, r.seq, r.key))
    return found


def _row(r: Any, facts: _Facts) -> dict[str, Any]:
    """The FSMA 204 row of one lot event (and the CFIA file's two ends of a shipment)."""
    places, firms = facts.places, facts.firms
    product = facts.goods.get(r.product_id) or {}
    move = facts.moves.get((r.seq, r.lot_id)) or {}
    origin, destination = places.get(move.get("from") or ""), places.get(move.get("to") or "")
    doc_type, doc_number = (facts.docs.get(r.seq) or [("", "")])[0]
    step = r.kind or (r.biz_step or r.event_type)
    return {
        "Critical tracking event": CTE.get(r.kind or "", CTE.get(r.biz_step or "", f"Other: {step}")),
        "Event date": r.event_time[:10],
        "Event time (UTC)": r.event_time[11:19],
        "Traceability lot code": r.lot_code or _private_lot(r.key),
        "Traceability lot code source": _place_text(places.get(r.tlc_source or "")),
        "TLC source reference": r.tlc_source or "",
        "GTIN": r.gtin or "",
        "Product description": product.get("description", ""),
        "Commodity": product.get("commodity", ""),
        "Variety": product.get("variety") or "",
        "Quantity": format_micro(r.quantity) or "",
        "Unit of measure": r.uom or "",
        "Location": _place_text(places.get(r.location or "")),
        "Location identifier": r.location or "",
        "Ship-from location": _place_text(origin),
        "Ship-to location": _place_text(destination),
        "Reference document type": doc_type,
        "Reference document number": doc_number,
        "Firm": firms.get(r.party_id, r.party_id or ""),
        "Role of the lot": r.role,
        "Event ID": r.event_id,
        # for the CFIA file: the firms at either end of a shipment, by name and address
        "_from": _party_place(origin, firms),
        "_to": _party_place(destination, firms),
    }


def _private_lot(key: str) -> str:
    """The lot code of a private lot id ``urn:tracefood:lot:{product}:{lot}``."""
    from urllib.parse import unquote

    return unquote(key.rsplit(":", 1)[-1]) if key.startswith("urn:tracefood:lot:") else key


def _party_place(place: dict[str, Any] | None, firms: dict[str, str]) -> tuple[str, str]:
    if not place:
        return ("", "")
    address = ", ".join(b for b in (place["name"], place.get("address") or place.get("region"), place["country"]) if b)
    return (firms.get(place["party"], place["party"]), address)


def _ends(moves: dict[tuple[int, int], dict[str, str | None]]) -> set[str | None]:
    return {m.get("from") for m in moves.values()} | {m.get("to") for m in moves.values()}


def _documents(conn: Connection, seqs: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for chunk in db.chunks(seqs):
        for row in conn.execute(select(entries.c.seq, entries.c.body).where(entries.c.seq.in_(chunk))):
            _, event = stored_event(bytes(row.body))
            out[row.seq] = [
                (str(b.get("type") or "").rsplit("-", 1)[-1], str(b.get("bizTransaction") or "").rsplit(":", 1)[-1])
                for b in event.get("bizTransactionList", [])
            ]
    return out


def _moves(conn: Connection, seqs: Sequence[int]) -> dict[tuple[int, int], dict[str, str | None]]:
    """(seq, lot) -> ship-from and ship-to, for shipping and receiving events."""
    out: dict[tuple[int, int], dict[str, str | None]] = {}
    for chunk in db.chunks(seqs):
        for s in conn.execute(
            select(shipments).where(shipments.c.ship_seq.in_(chunk) | shipments.c.received_seq.in_(chunk))
        ):
            value = {"from": s.from_location, "to": s.to_location}
            out.setdefault((s.ship_seq, s.lot_id), value)
            if s.received_seq is not None:
                out.setdefault((s.received_seq, s.lot_id), value)
    return out


def _places(conn: Connection, uris: Iterable[str | None]) -> dict[str, dict[str, Any]]:
    wanted = sorted(u for u in uris if u)
    out = {}
    for chunk in db.chunks(wanted):
        for p in conn.execute(select(locations).where(locations.c.uri.in_(chunk))):
            out[p.uri] = {"name": p.name, "address": p.address, "region": p.region, "country": p.country,
                          "gln": p.gln, "premises": p.premises, "party": p.party_id}  # fmt: skip
    return out


def _place_text(place: dict[str, Any] | None) -> str:
    if not place:
        return ""
    bits = [place["name"], place.get("address") or place.get("region"), place["country"]]
    return ", ".join(b for b in bits if b)


def _products(conn: Connection, ids: set[str | None]) -> dict[str, dict[str, Any]]:
    wanted = sorted(i for i in ids if i)
    return {
        p.id: {"description": p.description, "commodity": p.commodity, "variety": p.variety}
        for p in conn.execute(select(products).where(products.c.id.in_(wanted)))
    }


def _firms(conn: Connection, ids: set[str | None]) -> dict[str, str]:
    wanted = sorted(i for i in ids if i)
    return {p.id: p.name for p in conn.execute(select(parties.c.id, parties.c.name).where(parties.c.id.in_(wanted)))}


# -- files ----------------------------------------------------------------------------------------


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def cell(value: Any) -> Any:
    """A CSV cell a spreadsheet program shows as text, never runs: a value that starts like a
    formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a leading apostrophe, as
    OWASP's CSV injection advice says. Lot codes, names and document numbers come from the
    parties; a plain signed number is left as it is (it cannot run)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: cell(v) for k, v in row.items()} for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: spreadsheet programs read UTF-8 then


def fsma204_csv(records: Sequence[dict[str, Any]]) -> bytes:
    return _csv(FSMA_COLUMNS, records)


def fsma204_xlsx(records: Sequence[dict[str, Any]], title: str = "FSMA 204") -> bytes:
    import xlsxwriter  # the writer only, in constant memory

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False})
    sheet = book.add_worksheet(title[:31])
    bold = book.add_format({"bold": True, "bg_color": "#E6F2E9", "border": 1})
    for col, name in enumerate(FSMA_COLUMNS):
        sheet.write_string(0, col, name, bold)
    for row, record in enumerate(records, start=1):
        for col, name in enumerate(FSMA_COLUMNS):
            sheet.write_string(row, col, str(record.get(name, "")))
    sheet.autofilter(0, 0, max(len(records), 1), len(FSMA_COLUMNS) - 1)  # sortable and filterable
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(FSMA_COLUMNS) - 1, 22)
    book.close()
    return buffer.getvalue()


def cfia_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """One step back (received from) and one step forward (sent to), plus where each lot was
    made (harvest, packing, transformation), per lot."""
    out = []
    for r in records:
        cte = r["Critical tracking event"]
        if cte == "Receiving":
            step, (name, address) = "Received from (one step back)", r["_from"]
        elif cte == "Shipping":
            step, (name, address) = "Sent to (one step forward)", r["_to"]
        elif cte in ("Harvesting", "Initial packing", "Transformation"):
            step, name, address = f"{cte} (lot created or used)", "", ""
        else:
            continue
        reference = " ".join(x for x in (r["Reference document type"], r["Reference document number"]) if x)
        out.append(
            {"Lot code": r["Traceability lot code"], "GTIN": r["GTIN"], "Common name": r["Product description"],
             "Step": step, "Date": r["Event date"], "Quantity": r["Quantity"], "Unit": r["Unit of measure"],
             "Other party": name, "Other party address": address, "Our location": r["Location"],
             "Reference document": reference}
        )  # fmt: skip
    return out


def cfia_csv(records: Sequence[dict[str, Any]]) -> bytes:
    return _csv(CFIA_COLUMNS, cfia_rows(records))


def event_seqs(records: Sequence[dict[str, Any]], engine: Engine) -> list[int]:
    """The ledger entries of the records' events (for the EPCIS document)."""
    ids = sorted({r["Event ID"] for r in records})
    with db.read_snapshot(engine) as conn:
        out: list[int] = []
        for chunk in db.chunks(ids):
            out += [r[0] for r in conn.execute(select(events.c.seq).where(events.c.event_id.in_(chunk)))]
    return sorted(out)
