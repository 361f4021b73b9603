"""The undo of an event declared erroneous (an EPCIS ``errorDeclaration``).

What the declared event did is read back from the projections rather than recomputed: its
``stock_moves`` rows say exactly what it did to stock (clamps and first sightings included),
its shipments and container links carry its seq. Undoing never fails: stock that has moved on
since is taken back as far as it is still there, never below zero.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from tracefood.chain.projections.model import (
    CORRECTED,
    HOLDING,
    IN_TRANSIT,
    RECEIVED,
    EventContext,
    LinkState,
    LotState,
    ShipState,
)
from tracefood.chain.projections.unit import UnitOfWork
from tracefood.chain.tables import events, lot_events, lot_links, shipments, stock_moves
from tracefood.epcis.events import Facts
from tracefood.errors import EventError


def undo(unit: UnitOfWork, facts: Facts, ctx: EventContext) -> None:
    """Undo what the declared event did. Its stock moves are reversed, its shipments marked
    corrected (a shipment) or back in transit (a receipt), its loadings and unloadings
    reversed, a destroyed, held or recalled lot given back the status its other events give it
    (the way a wrongly set hold or recall is lifted, by those who set it). Lineage
    needs no undoing: every reader leaves declared events out. What later events did with the
    goods is theirs to declare."""
    original = _original(unit, ctx.hash_id)
    if original is None:
        if ctx.hash_id is not None:
            unit.declared.add(ctx.hash_id)  # the event, if it comes later, changes nothing
        return
    for lot, location, delta in _moves_of(unit, original):
        if delta > 0:
            unit.take_back(lot, location, delta)
        elif delta < 0:
            unit.add_stock(lot, location, -delta, None)
    if facts.event_type == "AggregationEvent":
        _undo_aggregation(unit, facts, ctx, original)
    elif facts.event_type == "ObjectEvent" and facts.action == "DELETE":
        for obj in facts.objects:
            gone = unit.lots.get(obj.ident.key)
            if gone is not None and gone.status == "destroyed":
                gone.status, gone.dirty = _status_without(unit, gone, original), True
    elif facts.biz_step in ("shipping", "receiving"):
        _undo_shipments(unit, original, facts.biz_step, ctx)
    if facts.disposition in HOLDING and facts.action != "DELETE":
        _lift(unit, facts, original)


def _lift(unit: UnitOfWork, facts: Facts, original: int) -> None:
    """A hold or recall declared erroneous is lifted: each lot it named gets back the status
    its other events give it (a destroyed lot stays destroyed)."""
    for obj in facts.objects:
        held = unit.lots.get(obj.ident.key)
        if held is not None and held.status in ("on_hold", "recalled"):
            unit.holds.get(held.id, set()).discard(facts.disposition or "")
            status = _status_without(unit, held, original)
            if status != held.status:
                held.status, held.dirty = status, True


def _undo_aggregation(unit: UnitOfWork, facts: Facts, ctx: EventContext, original: int) -> None:
    """A loading's links are closed; an unloading's links are open again."""
    for obj in facts.objects:
        parent = unit.lots.get(obj.ident.key) if obj.role == "parent" else None
        if parent is not None and facts.action == "ADD":
            for link in unit.active_contents(parent):
                if link.seq == original:
                    link.removed_seq, link.dirty = ctx.seq, True
        elif parent is not None and facts.action == "DELETE":
            _reopen(unit, parent, original)


def _undo_shipments(unit: UnitOfWork, original: int, step: str, ctx: EventContext) -> None:
    """A shipment is corrected (what was received of it taken back); a receipt puts its
    shipments back in transit. What another party received is its own to correct: it declares
    its receipt erroneous first (a replay applies what was recorded)."""
    found = _shipments_of(unit, original, step)
    if step == "shipping" and ctx.check_access and ctx.party_id is not None:
        for shipment in found:
            if shipment.status == RECEIVED and shipment.to_party not in (None, ctx.party_id):
                raise EventError(
                    "/errorDeclaration",
                    f"{unit.by_id[shipment.lot_id].key} was received by another party: "
                    "it declares its receipt erroneous first",
                )
    for shipment in found:
        if step == "shipping":
            if shipment.status == RECEIVED and shipment.to_location and shipment.quantity is not None:
                unit.take_back(unit.by_id[shipment.lot_id], shipment.to_location, shipment.quantity)
            shipment.status, shipment.dirty = CORRECTED, True
        else:
            shipment.status, shipment.received_seq, shipment.dirty = IN_TRANSIT, None, True


def _original(unit: UnitOfWork, hash_id: str | None) -> int | None:
    """The seq of the declared event (applied in this batch or stored), if it came yet."""
    if hash_id is None:
        return None
    if hash_id in unit.applied:
        return unit.applied[hash_id]
    found = unit.conn.execute(
        select(events.c.seq).where(events.c.hash_id == hash_id, events.c.correction.is_(False))
    ).first()
    return None if found is None else int(found[0])


def _moves_of(unit: UnitOfWork, seq: int) -> list[tuple[LotState, str, int]]:
    """The stock moves of one event (this batch's or stored), with their lots loaded."""
    found = {(lid, loc): d for (s, lid, loc), d in unit.moves.items() if s == seq}
    for r in unit.conn.execute(select(stock_moves).where(stock_moves.c.seq == seq)):
        found.setdefault((r.lot_id, r.location), r.delta)
    unit.load_ids(sorted({lid for lid, _ in found}))
    return [(unit.by_id[lid], loc, d) for (lid, loc), d in sorted(found.items())]


def _status_without(unit: UnitOfWork, lot: LotState, destroyed: int) -> str:
    """A destroyed lot's status once its destruction is undone: recalled or on hold if an
    event (not declared erroneous, not the destruction) said so, else active."""
    fix = events.alias("fix")
    rows = unit.conn.execute(
        select(events.c.disposition)
        .join(lot_events, lot_events.c.seq == events.c.seq)
        .outerjoin(fix, and_(fix.c.hash_id == events.c.hash_id, fix.c.correction.is_(True)))
        .where(
            lot_events.c.lot_id == lot.id,
            events.c.seq != destroyed,
            events.c.correction.is_(False),
            fix.c.seq.is_(None),
            or_(events.c.action.is_(None), events.c.action != "DELETE"),
            events.c.disposition.in_(HOLDING),
        )
    )
    found = {r[0] for r in rows} | unit.holds.get(lot.id, set())
    return "recalled" if "recalled" in found else "on_hold" if found else "active"


def _shipments_of(unit: UnitOfWork, seq: int, step: str) -> list[ShipState]:
    """The shipments a shipping (by ship_seq) or receiving (by received_seq) event made or
    closed (a pallet's contents included, whatever it holds now), from memory or the database
    (then kept for the flush), with their lots loaded."""
    column = shipments.c.ship_seq if step == "shipping" else shipments.c.received_seq
    out = {
        s.id: s
        for ships in unit.ships.values()
        for s in ships
        if (s.ship_seq if step == "shipping" else s.received_seq) == seq
    }
    rows = [r for r in unit.conn.execute(select(shipments).where(column == seq)) if r.id not in out]
    unit.load_ids(sorted({r.lot_id for r in rows}))
    wanted = {r.id for r in rows}  # loading reads the in-transit ones
    out.update((s.id, s) for ships in unit.ships.values() for s in ships if s.id in wanted)
    for r in rows:
        if r.id not in out:
            shipment = ShipState(**r._mapping)
            unit.ships.setdefault(shipment.lot_id, []).append(shipment)
            out[shipment.id] = shipment
    return [s for s in out.values() if s.status != CORRECTED]


def _reopen(unit: UnitOfWork, parent: LotState, seq: int) -> None:
    """Links an undone unpacking closed are open again."""
    for link in unit.contents.get(parent.id, []):
        if link.removed_seq == seq:
            link.removed_seq, link.dirty = None, True
    known = {link.id for link in unit.contents.get(parent.id, [])}
    for r in unit.conn.execute(
        select(lot_links).where(lot_links.c.parent_id == parent.id, lot_links.c.removed_seq == seq)
    ):
        if r.id not in known:
            link = LinkState(**{**r._mapping, "removed_seq": None})
            link.dirty = True
            unit.contents.setdefault(parent.id, []).append(link)
