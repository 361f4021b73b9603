"""What each kind of event does to the projections: one small rule per movement.

:func:`apply_event` checks one event against the unit of work (locations the recorder
operates, lots that exist, time travel, destroyed lots), picks its rule from :data:`RULES`
(by event type and action) or :data:`STEP_RULES` (by CBV bizStep, for the events that move
goods without creating or ending them), and then does what every event does: a holding
disposition puts its lots on hold, and every lot it names, with whatever travels inside, gets
a ``lot_events`` row. An error declaration goes to :func:`~.undo.undo` instead.

An event that contradicts the state is an :class:`~tracefood.epcis.EventError` naming
the field; the batch then rolls back. ``strict`` is the readable API (the registry's own
participants: every lot must be known and on hand, every receipt must match a shipment to that
location). Without it (EPCIS capture from other systems), objects the ledger has never seen
are first sightings and are accepted; only events that contradict what the ledger knows are
refused.
"""

from __future__ import annotations

from collections.abc import Callable

from tracefood.chain.projections import custody
from tracefood.chain.projections.model import HOLDING, IN_TRANSIT, RECEIVED, EventContext, LotState, ShipState, Touched
from tracefood.chain.projections.undo import undo
from tracefood.chain.projections.unit import UnitOfWork
from tracefood.epcis.events import Facts, Obj, format_micro
from tracefood.errors import EventError

Rule = Callable[[UnitOfWork, Facts, EventContext, Touched], None]


def apply_event(unit: UnitOfWork, facts: Facts, ctx: EventContext) -> None:
    """Check one event against the state and apply it (raises EventError)."""
    check_locations(facts, ctx)
    unit.seq = ctx.seq
    if facts.correction:
        undo(unit, facts, ctx)
        return
    if ctx.declared or ctx.hash_id in unit.declared:
        return  # declared erroneous before it reached the ledger: recorded, changes nothing
    if ctx.hash_id is not None:
        unit.applied[ctx.hash_id] = ctx.seq
    unit.times[ctx.seq] = facts.time
    touched = _touched(unit, facts, ctx)
    custody.check(unit, facts, ctx, touched)
    unpacked = _unpacked(unit, facts, touched)  # read before the unpacking closes the links
    rule_for(facts)(unit, facts, ctx, touched)
    if facts.disposition in HOLDING and facts.action != "DELETE":
        hold(unit, facts, touched)
    _record_history(unit, facts, ctx, touched, unpacked)


def rule_for(facts: Facts) -> Rule:
    """The rule of an event: by type and action first, then (other events) by bizStep."""
    found = RULES.get((facts.event_type, facts.action)) or RULES.get((facts.event_type, ANY))
    return found or STEP_RULES.get(facts.biz_step or "", observe)


def check_locations(facts: Facts, ctx: EventContext) -> None:
    """The recorder operates the places the event happens at (carriers and inspectors act at
    places others operate; a port is shared)."""
    if ctx.party_id is None or ctx.carrier_role or ctx.inspector or not ctx.check_access:
        return
    places = (
        ("/bizLocation/id", facts.biz_location),
        ("/readPoint/id", facts.read_point),
        # a shipment takes its stock from its source location
        ("/sourceList", facts.source_location if facts.biz_step == "shipping" else None),
    )
    for name, key in places:
        operator = ctx.location_party.get(key or "")
        if key and operator is None and ctx.strict and name != "/sourceList":
            raise EventError(name, f"unknown location {key}")
        if operator is not None and operator != ctx.party_id:
            port = facts.biz_step in ("departing", "arriving")
            if not port:
                raise EventError(name, f"{key} is operated by {operator}, not by {ctx.party_id}")


def _touched(unit: UnitOfWork, facts: Facts, ctx: EventContext) -> Touched:
    """The lots the event names, created where it may create them, each checked for time
    travel and destruction."""
    creates = (facts.event_type == "ObjectEvent" and facts.action == "ADD") or facts.event_type == "TransformationEvent"
    unpacking = facts.event_type == "AggregationEvent" and facts.action == "DELETE"
    touched: Touched = []
    for obj in facts.objects:
        sighting = not ctx.strict and not (ctx.inspector or ctx.carrier_role)  # they never create
        create = (creates and obj.role in ("epc", "output")) or obj.role in ("parent", "child") or sighting
        if unpacking and ctx.strict:
            create = False
        lot = unit.lot(obj, facts, ctx, create=create)
        if lot is None:
            raise EventError(obj.pointer, f"unknown lot {obj.ident.key}: record its harvest or receipt first")
        if lot.uom is None and obj.uom:
            lot.uom, lot.dirty = obj.uom, True
        if not lot.new or lot.first_seq != ctx.seq:
            if facts.time < lot.first_time:
                raise EventError(
                    "/eventTime", f"{facts.time} is before {lot.key} existed (first recorded at {lot.first_time})"
                )
            if lot.status == "destroyed" and facts.action != "DELETE":
                raise EventError(obj.pointer, f"{lot.key} was destroyed")
        touched.append((obj, lot))
    return touched


def _unpacked(unit: UnitOfWork, facts: Facts, touched: Touched) -> list[tuple[LotState, int | None]]:
    """The units an AggregationEvent DELETE takes out of its parent (before it does)."""
    if facts.event_type != "AggregationEvent" or facts.action != "DELETE":
        return []
    parent = next((lot for o, lot in touched if o.role == "parent"), None)
    if parent is None:
        return []
    named = {lot.id for o, lot in touched if o.role == "child"}
    return [
        (unit.by_id[link.child_id], link.quantity)
        for link in unit.loaded_by(unit.active_contents(parent), facts.time)
        if (not named or link.child_id in named) and link.child_id in unit.by_id
    ]


# -- the rules --------------------------------------------------------------------------------


def take(unit: UnitOfWork, lot: LotState, location: str | None, obj: Obj, ctx: EventContext, what: str) -> None:
    """Take ``obj.quantity`` of ``lot`` from ``location``: from the recorder's stock there,
    never more than is on hand; where the ledger has none of it, only as the custody rule
    allows a first sighting (:func:`~.custody.may_take`), which takes nothing. A quantity of a
    lot whose stock the ledger counts is taken from a place: named nowhere, it would leave
    nothing anywhere (issue 12)."""
    if obj.quantity is None:
        return
    if location is None:
        if custody.counted(unit, lot, ctx):
            raise EventError(obj.pointer, f"cannot {what} {lot.key} from nowhere: name the place (bizLocation)")
        return
    if unit.on_hand(lot, location) is None and custody.may_take(unit, lot, location, obj, ctx):
        return
    unit.take_stock(lot, location, obj, ctx, what)


def commission(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """ObjectEvent ADD (a harvest, commissioning, a first sighting): stock where it happens;
    a commissioning assigns the traceability lot code there."""
    for obj, lot in touched:
        if facts.where and obj.quantity is not None:
            unit.add_stock(lot, facts.where, obj.quantity, ctx.party_id)
        if lot.new and lot.tlc_source is None and facts.biz_step == "commissioning":
            lot.tlc_source = facts.where


def destroy(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """ObjectEvent DELETE: the quantity leaves stock (no quantity: all the recorder has there,
    or anywhere if the event names no place); a lot with none left anywhere, and none on its
    way to anyone, is destroyed."""
    for obj, lot in touched:
        if obj.quantity is None:
            unit.take_all(lot, facts.where, ctx.party_id if ctx.check_access else None)
        else:
            take(unit, lot, facts.where, obj, ctx, "destroy")
        moving = any(s.status == IN_TRANSIT for s in unit.ships.get(lot.id, []))
        if not unit.has_stock(lot) and not moving:
            lot.status, lot.dirty = "destroyed", True


def transform(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """TransformationEvent: inputs leave stock, outputs (new lot codes) enter it, and every
    output is linked to every input."""
    inputs = [(o, lot) for o, lot in touched if o.role == "input"]
    outputs = [(o, lot) for o, lot in touched if o.role == "output"]
    for obj, lot in inputs:
        take(unit, lot, facts.where, obj, ctx, "transform")
    for obj, lot in outputs:
        if ctx.strict and not lot.new:
            raise EventError(obj.pointer, f"{lot.key} already exists: an output must be a new lot code")
        if facts.where and obj.quantity is not None:
            unit.add_stock(lot, facts.where, obj.quantity, ctx.party_id)
        if lot.new:
            lot.tlc_source = facts.where
        for in_obj, in_lot in inputs:
            unit.link("transform", in_lot, lot, ctx.seq, in_obj.quantity)


def aggregate(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """AggregationEvent ADD: the children are loaded into the parent (what is loaded must be
    on hand there, for the registry's own participants)."""
    parent = next((lot for o, lot in touched if o.role == "parent"), None)
    if parent is None:
        return
    for obj, child in touched:
        if obj.role != "child":
            continue
        if child.id == parent.id:
            raise EventError(obj.pointer, "a logistic unit cannot contain itself")
        if ctx.strict and obj.quantity is not None and facts.where:
            have = unit.on_hand(child, facts.where)
            if have is None or obj.quantity > have:
                raise EventError(
                    obj.pointer + "/quantity",
                    f"only {format_micro(have or 0)} of {child.key} on hand at {facts.where}",
                )
        unit.link("contains", parent, child, ctx.seq, obj.quantity)


def disaggregate(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """AggregationEvent DELETE: the named children (none named: all) are unloaded, from the
    loadings made by events at or before this one."""
    parent = next((lot for o, lot in touched if o.role == "parent"), None)
    if parent is None:
        return
    children = [(o, lot) for o, lot in touched if o.role == "child"]
    active = unit.loaded_by(unit.active_contents(parent), facts.time)
    named = {lot.id for _, lot in children}
    if ctx.strict:
        for obj, child in children:
            if not any(link.child_id == child.id for link in active):
                raise EventError(obj.pointer, f"{child.key} is not in {parent.key}")
    for link in active:
        if not named or link.child_id in named:
            link.removed_seq, link.dirty = ctx.seq, True


def ship(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """bizStep shipping: each lot (a unit with everything inside it) leaves its source
    location and is in transit to the destination, one shipment row per lot."""
    origin = facts.source_location or facts.where
    for obj, lot in touched:
        for moving, qty in unit.moving(lot, obj.quantity):
            if qty is None and custody.counted(unit, moving, ctx):  # it would take nothing
                inside = "" if moving is lot else f" (loaded on {lot.key} without one)"
                raise EventError(obj.pointer, f"{moving.key} is counted: give the quantity shipped{inside}")
            piece = Obj(obj.ident, obj.role, qty, obj.uom, obj.pointer)
            take(unit, moving, origin, piece, ctx, "ship")
            shipment = ShipState(
                id=unit.new_id("shipments"),
                ship_seq=ctx.seq,
                lot_id=moving.id,
                quantity=qty,
                from_location=origin,
                to_location=facts.dest_location,
                from_party=ctx.party_id,
                to_party=ctx.location_party.get(facts.dest_location or ""),
                carrier=facts.carrier,
                reference=facts.reference,
                status=IN_TRANSIT,
                new=True,
            )
            unit.ships.setdefault(moving.id, []).append(shipment)


def receive(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """bizStep receiving: what was shipped here (the shipment with the same reference
    document first, then the oldest) is received, and enters stock here. A lot whose stock is
    counted is received only from a shipment, and no more than was shipped (a lenient import
    excepted: other systems' exports often lack the shipping); an object first seen here is a
    first sighting."""
    here = facts.where
    for obj, lot in touched:
        for moving, qty in unit.moving(lot, obj.quantity):
            pending = [s for s in unit.ships.get(moving.id, []) if s.status == IN_TRANSIT]
            mine = [s for s in pending if s.to_location in (here, None)]
            if not mine and (ctx.strict or pending or (custody.counted(unit, moving, ctx) and not ctx.lenient)):
                elsewhere = sorted({str(s.to_location) for s in pending})
                raise EventError(
                    obj.pointer,
                    f"{moving.key} was not shipped to {here}"
                    + (f" (in transit to {', '.join(elsewhere)})" if elsewhere else ""),
                )
            mine.sort(key=lambda s: (s.reference != facts.reference, s.ship_seq))
            if qty is not None and mine and all(s.quantity is not None for s in mine):
                sent = sum(int(s.quantity or 0) for s in mine)
                if qty > sent and (ctx.strict or not ctx.lenient):
                    raise EventError(
                        obj.pointer + "/quantity",
                        f"receiving {format_micro(qty)} but only {format_micro(sent)} was shipped to {here}",
                    )
            _close_shipments(unit, mine, qty, ctx)
            unit.received_by(moving, ctx.party_id)
            if here and qty is not None:
                unit.add_stock(moving, here, qty, ctx.party_id)


def _close_shipments(unit: UnitOfWork, mine: list[ShipState], qty: int | None, ctx: EventContext) -> None:
    """Mark what arrived as received. A partial receipt splits a shipment: the received part
    becomes its own row, the rest stays in transit. A shipment to an unregistered place names
    its receiver once received."""
    remaining, seq = qty, ctx.seq
    for shipment in mine:
        if shipment.to_party is None and ctx.party_id is not None:
            shipment.to_party, shipment.dirty = ctx.party_id, True
        if remaining is not None and shipment.quantity is not None and shipment.quantity > remaining:
            if remaining > 0:
                part = ShipState(**{**vars(shipment), "id": unit.new_id("shipments")})
                part.quantity, part.status, part.received_seq = remaining, RECEIVED, seq
                part.new, part.dirty = True, False
                unit.ships.setdefault(shipment.lot_id, []).append(part)
                shipment.quantity, shipment.dirty = shipment.quantity - remaining, True
            return
        shipment.status, shipment.received_seq, shipment.dirty = RECEIVED, seq, True
        if remaining is None or shipment.quantity is None:
            return
        remaining -= shipment.quantity
        if remaining <= 0:
            return


def transport(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """bizStep departing, arriving, transporting (a border crossing): changes nothing, but a
    carrier (or the registry's own participants) may only report what is in transit, and a
    carrier only what it carries."""
    if not (ctx.strict or ctx.carrier_role):
        return
    for obj, lot in touched:
        moving = unit.ships.get(lot.id, [])
        if not any(s.status == IN_TRANSIT for s in moving):
            raise EventError(obj.pointer, f"{lot.key} is not in transit: record its shipment first")
        if ctx.carrier_role and not any(s.carrier == ctx.party_id for s in moving):
            raise EventError(obj.pointer, f"{lot.key} is not in your custody")


def observe(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """Any other event (an inspection, a recall, a storing...): no stock moves; the history
    and a holding disposition are what every event gets."""


ANY = "*"
"""Any action (a TransformationEvent has none)."""

RULES: dict[tuple[str, str | None], Rule] = {
    ("ObjectEvent", "ADD"): commission,
    ("ObjectEvent", "DELETE"): destroy,
    ("TransformationEvent", ANY): transform,
    ("AggregationEvent", "ADD"): aggregate,
    ("AggregationEvent", "DELETE"): disaggregate,
    ("AggregationEvent", ANY): observe,  # OBSERVE a unit: its contents stay as they are
}
"""The rules chosen by (event type, action): the events that create, end or (un)load goods."""

STEP_RULES: dict[str, Rule] = {
    "shipping": ship,
    "receiving": receive,
    "departing": transport,
    "arriving": transport,
    "transporting": transport,
}
"""The rules of the other events (ObjectEvent OBSERVE, TransactionEvent...), by bizStep."""


# -- what every event does --------------------------------------------------------------------


def hold(unit: UnitOfWork, facts: Facts, touched: Touched) -> None:
    """A holding disposition (recalled, non conformant, damaged, expired) puts the lots on
    hold, or recalls them; an undone destruction gives them back this status."""
    assert facts.disposition is not None
    for _, lot in touched:
        unit.holds.setdefault(lot.id, set()).add(facts.disposition)
        status = "recalled" if facts.disposition == "recalled" else "on_hold"
        if lot.status != status:
            lot.status, lot.dirty = status, True


def _record_history(
    unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched, unpacked: list[tuple[LotState, int | None]]
) -> None:
    """A ``lot_events`` row for every lot the event names, and for what travels inside."""
    for obj, lot in touched:
        unit.record(lot, obj.role, facts, ctx, obj.quantity)
        if facts.event_type == "ObjectEvent":
            # what travels inside a pallet or container shares its history while inside
            for inner, qty in unit.moving(lot, None)[1:]:
                unit.record(inner, "content", facts, ctx, qty)
    if facts.event_type == "AggregationEvent":
        # a unit loaded into or unloaded from another takes its contents along: they share the
        # event (a lot on a pallet put into a container); an unpacking that names no children
        # unloads every one of them
        named = {lot.id for _, lot in touched}
        for child, qty in unpacked:
            if child.id not in named:
                unit.record(child, "child", facts, ctx, qty)
        moved = [lot for o, lot in touched if o.role == "child"] + [c for c, _ in unpacked if c.id not in named]
        for child in moved:
            for inner, qty in unit.moving(child, None)[1:]:
                unit.record(inner, "content", facts, ctx, qty)
