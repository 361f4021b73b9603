"""Read views over the projections: a party's lots and where they are, one lot's history.

Who may read which lot is :mod:`tracefood.chain.access`'s to say; these views take its answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, or_, select

from tracefood.chain import access
from tracefood.chain.tables import events, locations, lot_events, lot_links, lots, products, shipments, stock
from tracefood.epcis.events import format_micro
from tracefood.ledger import db

if TYPE_CHECKING:
    from tracefood.chain.registry import Actor


def _lot_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.key,
        "kind": row.kind,
        "gtin": row.gtin,
        "lot": row.lot_code,
        "product": row.product_id,
        "unit": row.uom,
        "status": row.status,
        "first_seen": row.first_time,
        "tlc_source": row.tlc_source,
        "party": row.party_id,
    }


def list_lots(engine: Engine, *, party_id: str | None = None, include_empty: bool = False) -> list[dict[str, Any]]:
    """Lots with their quantity on hand per location (and in transit), newest first.

    With ``party_id``: the lots that party holds now, has in transit, or first recorded; for
    the lots it first recorded, every place they are now, for the others only its own
    holdings.
    """
    with db.read_snapshot(engine) as conn:
        stmt = select(lots).order_by(lots.c.first_seq.desc()).limit(1000)
        if party_id is not None:
            held = select(stock.c.lot_id).where(stock.c.party_id == party_id)
            sent = select(shipments.c.lot_id).where(
                shipments.c.from_party == party_id, shipments.c.status == "in_transit"
            )
            stmt = stmt.where(or_(lots.c.party_id == party_id, lots.c.id.in_(held), lots.c.id.in_(sent)))
        rows = list(conn.execute(stmt))
        ids = [r.id for r in rows]
        own = {r.id for r in rows if r.party_id == party_id}
        places: dict[int, list[dict[str, Any]]] = {}
        transit: dict[int, list[dict[str, Any]]] = {}
        names = dict(conn.execute(select(locations.c.uri, locations.c.name)).all())
        for chunk in db.chunks(ids):
            for s in conn.execute(select(stock).where(stock.c.lot_id.in_(chunk), stock.c.quantity > 0)):
                # a party sees where its own lots are now, and its own holdings of others' lots
                if party_id is None or s.party_id == party_id or s.lot_id in own:
                    places.setdefault(s.lot_id, []).append(
                        {
                            "location": s.location,
                            "name": names.get(s.location),
                            "party": s.party_id,
                            "quantity": format_micro(s.quantity),
                        }
                    )
            for t in conn.execute(
                select(shipments).where(shipments.c.lot_id.in_(chunk), shipments.c.status == "in_transit")
            ):
                transit.setdefault(t.lot_id, []).append(
                    {
                        "to": t.to_location,
                        "to_name": names.get(t.to_location),
                        "quantity": format_micro(t.quantity),
                        "carrier": t.carrier,
                    }
                )
    out = []
    for r in rows:
        item = _lot_json(r) | {"on_hand": places.get(r.id, []), "in_transit": transit.get(r.id, [])}
        if include_empty or item["on_hand"] or item["in_transit"] or party_id is None or r.id in own:
            out.append(item)
    return out


def lot_detail(engine: Engine, key: str, actor: Actor | None = None) -> dict[str, Any]:
    """One lot: where it is, its history (events in order), links to other lots, shipments.
    With ``actor``, only a lot that actor may see (:func:`tracefood.chain.access.resolve_lot`)."""
    with db.read_snapshot(engine) as conn:
        row = access.resolve_lot(conn, key, actor)
        history = conn.execute(
            select(lot_events, events.c.event_id, events.c.kind, events.c.biz_step, events.c.disposition)
            .join(events, events.c.seq == lot_events.c.seq)
            .where(lot_events.c.lot_id == row.id)
            .order_by(lot_events.c.event_time, lot_events.c.seq)
        ).all()
        on_hand = conn.execute(select(stock).where(stock.c.lot_id == row.id, stock.c.quantity > 0)).all()
        ships = conn.execute(select(shipments).where(shipments.c.lot_id == row.id).order_by(shipments.c.ship_seq)).all()
        up, down = _links(conn, row.id)
        product = _product_detail(conn, row.product_id)
    parties = {row.party_id} | {h.party_id for h in history} | {s.party_id for s in on_hand}
    parties |= {s.from_party for s in ships} | {s.to_party for s in ships} | {s.carrier for s in ships}
    return _lot_json(row) | {
        "product_detail": product,
        "on_hand": [
            {"location": s.location, "party": s.party_id, "quantity": format_micro(s.quantity)} for s in on_hand
        ],
        "history": [_history_json(h) for h in history],
        "shipments": [_shipment_json(s) for s in ships],
        "inputs": [{"kind": k.kind, "id": k.key, "seq": k.seq, "removed_seq": k.removed_seq} for k in up],
        "outputs": [{"kind": k.kind, "id": k.key, "seq": k.seq, "removed_seq": k.removed_seq} for k in down],
        "parties": sorted(p for p in parties if p),
    }


def _links(conn: Connection, lot_id: int) -> tuple[Sequence[Any], Sequence[Any]]:
    """The lot's links up (to its inputs and containers) and down (to its outputs and contents)."""
    up = conn.execute(
        select(lot_links.c.kind, lots.c.key, lot_links.c.seq, lot_links.c.removed_seq)
        .join(lots, lots.c.id == lot_links.c.parent_id)
        .where(lot_links.c.child_id == lot_id)
    ).all()
    down = conn.execute(
        select(lot_links.c.kind, lots.c.key, lot_links.c.seq, lot_links.c.removed_seq)
        .join(lots, lots.c.id == lot_links.c.child_id)
        .where(lot_links.c.parent_id == lot_id)
    ).all()
    return up, down


def _product_detail(conn: Connection, product_id: str | None) -> dict[str, Any] | None:
    if not product_id:
        return None
    p = conn.execute(select(products).where(products.c.id == product_id)).mappings().first()
    return {k: p[k] for k in ("id", "gtin", "description", "commodity", "variety", "unit", "ftl")} if p else None


def _history_json(h: Any) -> dict[str, Any]:
    return {
        "seq": h.seq,
        "event_id": h.event_id,
        "kind": h.kind,
        "biz_step": h.biz_step,
        "disposition": h.disposition,
        "role": h.role,
        "time": h.event_time,
        "location": h.location,
        "party": h.party_id,
        "quantity": format_micro(h.quantity),
    }


def _shipment_json(s: Any) -> dict[str, Any]:
    return {
        "seq": s.ship_seq,
        "from": s.from_location,
        "to": s.to_location,
        "quantity": format_micro(s.quantity),
        "carrier": s.carrier,
        "reference": s.reference,
        "status": s.status,
        "received_seq": s.received_seq,
    }
