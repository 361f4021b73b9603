"""What a label names, read from the projections: a lot or logistic unit with its status (a
pallet is as recalled as the worst of what it holds), the event that put it on hold or recalled
it, who may sign its labels, and what its label prints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from tracefood.chain.access import custodians
from tracefood.chain.stored import stored_event
from tracefood.chain.tables import events, locations, lot_events, lot_links, lots, parties, products
from tracefood.labels.trust import SubjectRecord
from tracefood.ledger.models import entries

HOLD_STATUSES = ("recalled", "on_hold")
_RANK = {"on_hold": 1, "recalled": 2}
_FLAGGED = ("recalled", "non_conformant", "damaged", "expired")  # as the projections set lots.status


def lot_row(conn: Connection, key: str) -> Any:
    """The ``lots`` row of the object keyed ``key`` (None: the ledger never named it)."""
    return conn.execute(select(lots).where(lots.c.key == key)).first()


def subject_record(conn: Connection, key: str) -> SubjectRecord | None:
    row = lot_row(conn, key)
    if row is None:
        return None
    status = row.status
    recall = _flag_event(conn, row.id, status) if status in HOLD_STATUSES else None
    if row.kind == "sscc":
        # a pallet or container is as recalled as the worst of what it holds now
        for content in conn.execute(
            select(lots.c.id, lots.c.key, lots.c.status)
            .join(lot_links, lot_links.c.child_id == lots.c.id)
            .where(lot_links.c.parent_id == row.id, lot_links.c.kind == "contains", lot_links.c.removed_seq.is_(None))
        ):
            if _RANK.get(content.status, 0) > _RANK.get(status, 0):
                status = content.status
                recall = (_flag_event(conn, content.id, content.status) or {}) | {"lot": content.key}
    return SubjectRecord(key, status, custodians(conn, row.id, row.party_id), recall, label_info(conn, row))


def _flag_event(conn: Connection, lot_id: int, status: str) -> dict[str, Any] | None:
    """The latest event that put the lot on hold or recalled it, with its class and reason."""
    wanted = ("recalled",) if status == "recalled" else _FLAGGED
    row = conn.execute(
        select(events.c.seq, events.c.event_id, events.c.event_time, events.c.disposition, events.c.party_id)
        .join(lot_events, lot_events.c.seq == events.c.seq)
        .where(lot_events.c.lot_id == lot_id, events.c.disposition.in_(wanted))
        .order_by(events.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return {"status": status}
    body = conn.execute(select(entries.c.body).where(entries.c.seq == row.seq)).scalar_one()
    _, event = stored_event(bytes(body))
    return {
        "status": status,
        "event_id": row.event_id,
        "seq": row.seq,
        "time": row.event_time,
        "by": row.party_id,
        "disposition": row.disposition,
        "recall_id": event.get("tf:recallId"),
        "class": event.get("tf:recallClass"),
        "reason": event.get("tf:reason") or event.get("tf:recallReason"),
        "action": event.get("tf:action"),
    }


def label_info(conn: Connection, row: Any) -> dict[str, Any]:
    """What a label prints and a scan shows: product, producer, pack date, origin."""
    product = None
    if row.product_id:
        product = conn.execute(select(products).where(products.c.id == row.product_id)).first()
    producer = None
    if row.party_id:
        producer = conn.execute(select(parties.c.name).where(parties.c.id == row.party_id)).scalar()
    first = conn.execute(
        select(lot_events.c.location, lot_events.c.event_time)
        .where(lot_events.c.lot_id == row.id)
        .order_by(lot_events.c.seq)
        .limit(1)
    ).first()
    origin_uri = row.tlc_source or (first.location if first else None)
    origin = None
    if origin_uri:
        place = conn.execute(select(locations).where(locations.c.uri == origin_uri)).first()
        if place is not None:
            origin = {"name": place.name, "region": place.region, "country": place.country}
    return {
        "product": product.description if product else None,
        "commodity": product.commodity if product else None,
        "variety": product.variety if product else None,
        "producer": producer,
        "producer_id": row.party_id,
        "pack_date": row.first_time[:10],
        "origin": origin,
        "unit": row.uom,
    }
