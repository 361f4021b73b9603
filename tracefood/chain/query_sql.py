"""The SQL of the EPCIS 2.0 query interface (:mod:`tracefood.chain.query`): a parsed
:class:`~tracefood.chain.query_params.Query` as conditions on the ``events``, ``lot_events`` and
``lots`` projections, and who may see which event.

Which role of an object in an event each ``MATCH_`` parameter looks at (EPCIS 2.0 section
8.2.7.1; ``lot_events.role`` says which list of the event named the object, but not whether an
``epc`` or ``child`` came from the EPC list or the quantity list, so the identifier's own level
decides: a GS1 class id, GTIN + lot or GTIN alone, can only be in a quantity list; an SGTIN or
SSCC only in an EPC list; other ids, private ones included, are matched on the role alone):

=======================  ==================================  ==============================
parameter                event fields (EPCIS 2.0)            ``lot_events.role``, id level
=======================  ==================================  ==============================
``MATCH_epc``            epcList, childEPCs                  epc, child; instance
``MATCH_parentID``       parentID                            parent; instance
``MATCH_inputEPC``       inputEPCList                        input; instance
``MATCH_outputEPC``      outputEPCList                       output; instance
``MATCH_anyEPC``         all five above                      epc, child, input, output,
                                                             parent; instance
``MATCH_epcClass``       quantityList, childQuantityList     epc, child; class
``MATCH_inputEPCClass``  inputQuantityList                   input; class
``MATCH_outputEPCClass`` outputQuantityList                  output; class
``MATCH_anyEPCClass``    all four quantity lists             epc, child, input, output;
                                                             class
=======================  ==================================  ==============================

The ``content`` role (a lot inside a pallet an event names) is never matched: the event does
not name it. A GTIN-level value
(``urn:epc:idpat:sgtin:CP.IR.*`` or ``https://id.gs1.org/01/{gtin}``) is a pattern: it matches
every serialised item of that GTIN (instance parameters) or every lot of it and the GTIN class
itself (class parameters). An error declaration matches what the event it declares erroneous
matches (it repeats that event, and has no ``lot_events`` rows of its own).

Who sees what: inspectors, recall officers and admins query every event. Producers and
carriers see the events they recorded, and the events that name (or carry inside a pallet or
container) a lot they may see by :mod:`tracefood.chain.access` (produced it, held it, shipped,
received or are receiving it, or carried it). An event outside that is answered as unknown
(404), not forbidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, union_all

from tracefood.chain import access
from tracefood.chain.query_params import Match, Query
from tracefood.chain.registry import Actor
from tracefood.chain.tables import events, lot_events, lots


def _named(roles: tuple[str, ...] | None, lot_ids: Select[Any]) -> Select[Any]:
    """Sequence numbers of the events naming one of ``lot_ids`` in one of ``roles`` (any role:
    None). Integers, so the database can hash or join them cheaply."""
    named = select(lot_events.c.seq).where(lot_events.c.lot_id.in_(lot_ids))
    return named if roles is None else named.where(lot_events.c.role.in_(roles))


def _corrections(seqs: Select[Any]) -> Select[Any]:
    """Sequence numbers of the error declarations of the events ``seqs`` (the same event hash;
    an error declaration has no lot rows of its own, so it is found through its event)."""
    original, correction = events.alias("original"), events.alias("correction")
    return (
        select(correction.c.seq)
        .select_from(original.join(correction, correction.c.hash_id == original.c.hash_id))
        .where(original.c.seq.in_(seqs), original.c.correction.is_(False), correction.c.correction.is_(True))
    )


def _match_condition(match: Match) -> ColumnElement[bool]:
    which: list[ColumnElement[bool]] = []
    if match.keys:
        which.append(lots.c.key.in_(match.keys))
    if match.gtins:
        which.append(and_(lots.c.gtin.in_(match.gtins), lots.c.kind.in_(match.pattern_kinds)))
    if not which:
        return false()  # only ids of the other level: they are never in these lists
    named = _named(match.roles, select(lots.c.id).where(or_(*which)))
    return events.c.seq.in_(select(union_all(named, _corrections(named)).subquery().c.seq))


def visibility(actor: Actor) -> ColumnElement[bool] | None:
    """What ``actor`` may see (None: everything): the events it recorded, and those naming a lot
    it may see (:func:`tracefood.chain.access.lots_seen_by`) and their error declarations."""
    if access.reads_every_lot(actor):
        return None
    party = actor.party_id
    if party is None:
        return false()
    named = _named(None, access.lots_seen_by(party))
    # an OR of hashed lookups: the correction arm's table is built only if a correction is met
    return or_(
        events.c.party_id == party,
        events.c.seq.in_(named),
        and_(events.c.correction.is_(True), events.c.seq.in_(_corrections(named))),
    )


def query_conditions(query: Query) -> list[ColumnElement[bool]]:
    c = events.c
    out: list[ColumnElement[bool]] = []
    for column, values in (
        (c.event_type, query.event_types),
        (c.action, query.actions),
        (c.biz_step, query.biz_steps),
        (c.disposition, query.dispositions),
        (c.biz_location, query.biz_locations),
        (c.read_point, query.read_points),
    ):
        if values:
            out.append(column.in_(values))
    for column, (low, high) in ((c.event_time, query.event_time), (c.recorded, query.record_time)):
        if low is not None:
            out.append(column >= low)
        if high is not None:
            out.append(column < high)
    if query.event_ids:
        out.append(event_id_condition(query.event_ids))
    out.extend(_match_condition(m) for m in query.matches)
    return out


def event_id_condition(ids: Iterable[str]) -> ColumnElement[bool]:
    """Events whose eventID is one of ``ids``. An error declaration repeats the eventID of the
    event it corrects; its row is keyed ``<eventID>#correction``."""
    wanted = sorted(set(ids))
    return or_(
        and_(events.c.event_id.in_(wanted), events.c.correction.is_(False)),
        events.c.event_id.in_([i + "#correction" for i in wanted]),
    )
