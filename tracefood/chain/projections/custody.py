"""Who may act on what the ledger knows: the custody rule, checked for every event of every route.

Every write (the readable API and the HTML forms, EPCIS capture in any syntax, file imports,
recalls) reaches the projections through :func:`~.rules.apply_event`, which asks :func:`check`
before any rule changes a row; no route has its own check. The roles' part of the rule (which
kinds of event each role records at all) is :mod:`tracefood.chain.access`; this module is the
part that depends on the ledger's state. Per object an event names:

=========================================  ====================================================
the event                                  who may record it
=========================================  ====================================================
creates the object (first sighting)        anyone who records events (it is then theirs)
ObjectEvent ADD of a known lot, or a       its producer only (the party that first recorded
transformation whose output is known       it): a lot code names one party's lot
receiving                                  the party a shipment in transit is addressed to (by its
                                           registered location; a shipment to an unregistered
                                           place or none: its sender only), or its holder (for
                                           counted lots the receipt needs the shipment anyway)
departing, arriving, transporting          a party to a shipment of it in transit (sender,
                                           addressee, carrier), or its holder; with a holding
                                           disposition (damaged...), its holder only
any other event (shipping, transforming,   its holder: a party with some of it on hand (where
destroying, packing, unpacking, any        the event takes stock, at that place); for objects
observation)                               whose stock is not counted (logistic units,
                                           serialised items), its last receiver, else its
                                           producer, and nobody while it is in transit
a holding disposition (damaged, expired,   an inspector, or the party that holds all of it
non conformant) on any event               (none of it with others or on its way to them)
=========================================  ====================================================

Inspectors record inspections of any object and carriers report the objects they carry
(:func:`~.rules.transport` checks that): their roles allow nothing else, and neither creates
objects. Recalls are issued by recall officers through the recall process only; an error
declaration only by the party that recorded the event. Refusals never name the holder.
"""

from __future__ import annotations

from tracefood.chain.projections.model import HOLDING, IN_TRANSIT, EventContext, LotState, Touched
from tracefood.chain.projections.unit import UnitOfWork
from tracefood.epcis.events import Facts, Obj
from tracefood.errors import EventError

PORT_STEPS = ("departing", "arriving", "transporting")


def check(unit: UnitOfWork, facts: Facts, ctx: EventContext, touched: Touched) -> None:
    """Refuse the event (EventError naming the object) if its recorder may not act on one of
    the objects it names (the table in the module docstring)."""
    party = ctx.party_id
    if party is None or not ctx.check_access or ctx.inspector or ctx.carrier_role or ctx.recall:
        return
    for obj, lot in touched:
        if _first_seen_here(lot, ctx):
            continue  # created by this very event: the recorder's
        if _names_identity(facts, obj):
            if lot.party_id != party:
                raise EventError(
                    obj.pointer, f"{lot.key} is another party's lot: a lot code names one lot; use a new one"
                )
        elif facts.disposition in HOLDING and not sole_holder(unit, lot, party):
            raise EventError(obj.pointer, f"{lot.key} is not all in your custody: only an inspector may hold it")
        elif not _may_act(unit, facts, lot, party):
            if facts.biz_step == "receiving":
                raise EventError(obj.pointer, f"{lot.key} was not shipped to {facts.where} and is not in your custody")
            raise EventError(obj.pointer, f"{lot.key} is not in your custody{_where(facts)}")


def _first_seen_here(lot: LotState, ctx: EventContext) -> bool:
    """The event being applied created the lot (its first sighting): it is the recorder's."""
    return lot.new and lot.first_seq == ctx.seq


def _names_identity(facts: Facts, obj: Obj) -> bool:
    """The event gives the object its identity: a harvest or commissioning, a new output."""
    if facts.event_type == "TransformationEvent":
        return obj.role == "output"
    return facts.event_type == "ObjectEvent" and facts.action == "ADD"


def _may_act(unit: UnitOfWork, facts: Facts, lot: LotState, party: str) -> bool:
    if facts.biz_step == "receiving" and _addressed(unit, facts, lot, party):
        return True
    if facts.biz_step in PORT_STEPS and facts.disposition not in HOLDING:  # a hold is a holder's
        moving = [s for s in unit.ships.get(lot.id, []) if s.status == IN_TRANSIT]
        if any(party in (s.from_party, s.to_party, s.carrier) for s in moving):
            return True
    return holds(unit, lot, party)


def holds(unit: UnitOfWork, lot: LotState, party: str) -> bool:
    """``party`` holds the lot now: some of it on hand, or, for an object whose stock is not
    counted, it is the object's holder (:meth:`~.unit.UnitOfWork.holder`)."""
    if unit.quantified(lot):
        return unit.holds_stock(lot, party)
    return unit.holder(lot) == party


def sole_holder(unit: UnitOfWork, lot: LotState, party: str) -> bool:
    """``party`` holds all of the lot: every quantity on hand is its own and none of it is on
    its way to another party (a hold is lot-wide: a partial holder does not hold the rest)."""
    if not holds(unit, lot, party):
        return False
    others = any(e.quantity > 0 and e.party_id != party for e in unit.stock_of.get(lot.id, {}).values())
    away = any(s.status == IN_TRANSIT and s.to_party != party for s in unit.ships.get(lot.id, []))
    return not others and not away


def _addressed(unit: UnitOfWork, facts: Facts, lot: LotState, party: str) -> bool:
    """A shipment of the lot in transit is addressed to where it is received (or to nowhere in
    particular) and to the recorder: its location's operator, or, for a shipment to a place
    nobody registered or to no place, only its own sender (the ledger cannot tell who else
    may claim it: the place must be registered first)."""
    return any(
        s.status == IN_TRANSIT
        and s.to_location in (facts.where, None)
        and (s.to_party == party or (s.to_party is None and s.from_party == party))
        for s in unit.ships.get(lot.id, [])
    )


def _where(facts: Facts) -> str:
    return f" at {facts.where}" if facts.where else ""


def may_take(unit: UnitOfWork, lot: LotState, location: str, obj: Obj, ctx: EventContext) -> bool:
    """Whether an event may take ``obj`` from a place where the ledger has no stock of the lot
    (a first sighting there: capture from another system): only where the lot's stock is not
    counted anywhere and the recorder holds it, or in a lenient import by a party holding some."""
    party = ctx.party_id
    if ctx.strict:
        return False
    if party is None or not ctx.check_access:
        return True
    if _first_seen_here(lot, ctx):
        return True
    if not unit.quantified(lot):
        return unit.holder(lot) == party
    return ctx.lenient and unit.holds_stock(lot, party)


def counted(unit: UnitOfWork, lot: LotState, ctx: EventContext) -> bool:
    """The ledger counts the lot's stock, and the event is checked (not a replay, not the lot's
    first event): what it takes must come from a place."""
    if ctx.party_id is None or not ctx.check_access or (_first_seen_here(lot, ctx)):
        return False
    return unit.quantified(lot)
