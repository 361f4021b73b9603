"""Who may see what: the role sets, written once, and the one rule for who may see a lot.

Every route, page and command that decides visibility or role rights asks this module; none
writes its own check. Who may act on a lot is the custody rule of :mod:`.projections.custody`,
which every event of every route passes; what each role may record at all is at the end here.

A token is a party and a role. Inspectors, recall officers and admins read every lot (their work
is the whole chain); producers and carriers read the lots their party has a part in:

===============  ================================================================================
role             sees
===============  ================================================================================
inspector        every lot, with its events, trace and the full history on its label page
recall_officer   every lot, as an inspector; also runs recalls and sees every party's contact
admin            every lot, as a recall officer; also manages the registry and tokens
producer         the lots its party produced (first recorded), holds or held (a stock row, kept
                 at zero once the stock leaves), shipped, received or is receiving (a shipment in
                 transit to it), or carried (named carrier of a shipment); their events, their
                 trace, the full history on their label page; and every event it recorded
carrier          the same rule as a producer: in practice the lots it carried
(no token)       the public label page (product, origin, places and dates, recall status) only
===============  ================================================================================

Naming a lot in an event is not a part in it: an inspector's inspection or a recall gives no
part (the event itself stays visible to the party that recorded it). Others cannot name a lot they
do not hold at all: every write passes the custody rule (:mod:`.projections.custody`), and the
roles' part of that rule is at the end of this module. A shipment counts
once received or while in transit; a shipment declared erroneous never happened and gives its
addressee and carrier no part in the lot (its sender keeps its own part through its stock).

Every party that may see a lot sees all of it (its whole history and where it is now, and its
trace, which names the lots linked to it); the list of "my lots" is narrower (what the party has
now or produced). Recalls are notices to the whole chain: every signed-in party reads them;
holders' contact details are shown only to those who run recalls.

Labelling a lot is narrower than seeing it: a label is a party's signature that it had the lot
in hand, so only its custodians (produced, held, shipped or received it; not a party it is still
travelling to, nor its carrier) may sign one, and verifiers refuse a label signed by anyone else.

Answers: a malformed id is 400 (422 inside a JSON body). For a caller that reads every lot (and
for the recall seeds, which only they give) an unknown lot is 404. For any other caller a lot it
may not see is answered exactly as a lot the ledger does not have: 404, the same detail and the
same ``errors`` entry (``reason: "unknown"``), so that no answer tells whether a GTIN and lot code
exist (an existence oracle). A 403 about a lot is given only where the caller may see the lot
but not act on it (labelling a lot it is only receiving, for instance). (Events are not public
either: an EPCIS event the caller may not see is answered as unknown, 404, as the query binding
says.) The public label page at a lot's GS1 Digital Link path is a deliberate public surface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, false, or_, select, union

from tracefood.chain.projections.model import CORRECTED
from tracefood.chain.tables import lots, shipments, stock
from tracefood.epcis import cbv
from tracefood.epcis.identifiers import opaque_ident, parse_lookup_id
from tracefood.errors import Forbidden, IdentifierError, InvalidParameter, NotFound

if TYPE_CHECKING:
    from tracefood.chain.registry import Actor

ROLES: Final = ("producer", "carrier", "inspector", "recall_officer", "admin")
"""Every role a token may have. The sets below are tuples, in a fixed order, so that a refusal
names the roles the same way every time."""
READS_EVERY_LOT: Final = ("recall_officer", "inspector", "admin")
"""Read every lot, event, trace, label issuance, label key and record export; use the recall and
trace pages."""
RUNS_RECALLS: Final = ("recall_officer", "admin")
"""Open and close recalls."""
SEES_EVERY_CONTACT: Final = RUNS_RECALLS
"""See every party's contact details (others see their own party's only): a recall needs them."""
MANAGES_REGISTRY: Final = ("admin",)
"""Create and change parties, locations, products and tokens; read the audit trail; sign a
label or manage label keys for any party."""
ISSUES_LABELS: Final = ("producer", "carrier", "admin")
"""Issue labels and manage their own party's label keys (custody of the lot decides the rest)."""
RECORDS_EVENTS: Final = ("producer", "carrier", "inspector")
"""Record events (:data:`ROLE_KINDS` and :data:`ROLE_STEPS` narrow what carriers and inspectors
record; the custody rule, what anyone may record about a given lot); the forms are for producers."""
RECORDS_ON_FORMS: Final = ("producer",)
"""Record events with the HTML forms."""
ROLE_KINDS: Final = {"carrier": frozenset({"border_crossing"}), "inspector": frozenset({"inspect"})}
"""Readable event kinds each restricted role may record (producers: all)."""
ROLE_STEPS: Final = {
    "carrier": frozenset({"departing", "arriving", "transporting"}),
    "inspector": frozenset({"inspecting"}),
}
"""CBV bizSteps each restricted role may capture (ObjectEvent OBSERVE only)."""
ROLE_DISPOSITIONS: Final = {
    "carrier": frozenset({"in_transit"}),
    "inspector": frozenset({"conformant", "non_conformant"}),
}
"""CBV dispositions each restricted role may capture."""
RECALLS_ONLY: Final = (
    "a recall is issued by a recall officer through the recall process (POST /api/v1/recalls), "
    "never recorded as an event"
)
"""Why an event with the disposition ``recalled`` is refused from every route but the recalls'."""


def reads_every_lot(actor: Actor | None) -> bool:
    return actor is not None and actor.role in READS_EVERY_LOT


def lots_seen_by(party_id: str) -> Select[Any]:
    """The ids of the lots ``party_id`` has a part in (the table above), as one SELECT."""
    return select(
        union(
            select(lots.c.id).where(lots.c.party_id == party_id),
            select(stock.c.lot_id).where(stock.c.party_id == party_id),
            select(shipments.c.lot_id).where(_moved_by(party_id)),
        )
        .subquery()
        .c[0]
    )


def _moved_by(party_id: str) -> ColumnElement[bool]:
    """Shipments that give ``party_id`` a part in their lot: it sent, receives or carries them. A
    shipment declared erroneous gives none (it never happened; its sender keeps its stock row)."""
    return and_(
        shipments.c.status != CORRECTED,
        or_(shipments.c.from_party == party_id, shipments.c.to_party == party_id, shipments.c.carrier == party_id),
    )


def visible_lots(actor: Actor) -> ColumnElement[bool] | None:
    """A condition on ``lots.c.id`` for the lots ``actor`` may see (None: every lot)."""
    if actor.role in READS_EVERY_LOT:
        return None
    if actor.party_id is None:
        return false()
    return lots.c.id.in_(lots_seen_by(actor.party_id))


def may_see_lot(conn: Connection, actor: Actor | None, lot: Any) -> bool:
    """Whether ``actor`` may see the lot (a ``lots`` row): the rule in the module docstring."""
    if actor is None:
        return False
    if actor.role in READS_EVERY_LOT:
        return True
    party = actor.party_id
    if party is None:
        return False
    if lot.party_id == party:
        return True
    held = exists().where(stock.c.lot_id == lot.id, stock.c.party_id == party)
    moved = exists().where(shipments.c.lot_id == lot.id, _moved_by(party))
    return bool(conn.execute(select(or_(held, moved))).scalar())


def custodians(conn: Connection, lot_id: int, producer: str | None) -> frozenset[str]:
    """The parties that may sign a label for the lot: those that produced or held it. Its first
    recorder, every party that has or had stock of it (stock rows stay at zero after the stock
    leaves), and both ends of its shipments (a received shipment's receiver; the sender). Merely
    naming a lot in an event (an observation, a border crossing) is not custody; nor is carrying
    it or having it on the way."""
    found = {producer} if producer else set()
    found |= {r[0] for r in conn.execute(select(stock.c.party_id).where(stock.c.lot_id == lot_id).distinct())}
    for sender, receiver, received in conn.execute(
        select(shipments.c.from_party, shipments.c.to_party, shipments.c.received_seq).where(
            shipments.c.lot_id == lot_id
        )
    ):
        found.add(sender)
        if received is not None:
            found.add(receiver)
    return frozenset(p for p in found if p)


# -- one lot resolution ---------------------------------------------------------------------------


def lot_key(identifier: str, field: str = "id") -> str:
    """The ledger key of a lot, item or logistic unit id in any accepted form: an EPC URN, a
    Digital Link on any domain, a Digital Link path (``/01/{gtin}/10/{lot}``, ``/00/{sscc}``), a
    bare 18-digit SSCC, a private URN, or an EPC URN with digits missing as a lenient import keeps
    it. Malformed: :class:`InvalidParameter` (400) naming ``field``."""
    text = identifier.strip()
    try:
        return parse_lookup_id(text).key
    except IdentifierError as exc:
        kept = opaque_ident(text)
        if kept is None:
            raise InvalidParameter(field, exc.reason) from None
        return kept.key


def resolve_lot(conn: Connection, identifier: str, actor: Actor | None = None, *, field: str = "id") -> Any:
    """The ``lots`` row an id names: 400 if malformed, 404 if the ledger has no such lot, and,
    when ``actor`` is given, the same 404 if the actor may not see it (the module docstring)."""
    key = lot_key(identifier, field)
    row = conn.execute(select(lots).where(lots.c.key == key)).first()
    if row is None:
        if actor is not None and not reads_every_lot(actor):
            raise forbidden_lot(key, field)  # the same answer as a lot it may not see
        raise NotFound(
            f"the ledger has no lot, item or logistic unit {key}", errors=[{"field": field, "reason": "unknown"}]
        )
    if actor is not None and not may_see_lot(conn, actor, row):
        raise forbidden_lot(key, field)
    return row


def forbidden_lot(key: str, field: str = "id") -> NotFound:
    """The answer to a party asking for a lot it may not see, word for word the answer to one
    asking for a lot the ledger does not have: no existence oracle (the module docstring)."""
    return NotFound(
        f"no lot, item or logistic unit {key} that your party may see: the ledger has none, or your party"
        " did not produce, hold, ship, receive or carry it",
        errors=[{"field": field, "reason": "unknown"}],
    )


def may_list_party(actor: Actor, party_id: str | None, what: str = "lots") -> str | None:
    """Whose ``what`` (lots, labels, label keys) ``actor`` may list when it asks for
    ``party_id``'s (None: every party's): those who read every lot list anyone's; others only
    their own party's."""
    if actor.role in READS_EVERY_LOT:
        return party_id
    if actor.party_id is None or party_id not in (None, actor.party_id):
        raise Forbidden(f"you can list your own party's {what} only")
    return actor.party_id


def may_manage_party(actor: Actor, party_id: str, what: str) -> None:
    """Refuse unless ``actor`` may manage ``party_id``'s ``what`` (its label keys): the party
    itself, or an admin."""
    if actor.role not in MANAGES_REGISTRY and actor.party_id != party_id:
        raise Forbidden(f"only {party_id} or an admin can manage {party_id}'s {what}")


# -- who may act ----------------------------------------------------------------------------------
# The roles' part of the rule for writes; the part that depends on what the ledger holds (custody
# of each lot an event names) is tracefood.chain.projections.custody, which every event of every
# route passes through.


def may_record(actor: Actor, kinds: Iterable[Any]) -> None:
    """Refuse unless ``actor`` records events, and (readable kinds named) only kinds its role
    may record."""
    if actor.role not in RECORDS_EVENTS or actor.party_id is None:
        raise Forbidden(f"a {actor.role} cannot record events")
    allowed = ROLE_KINDS.get(actor.role)
    if allowed is not None and any(not isinstance(k, str) or k not in allowed for k in kinds):
        raise Forbidden(f"a {actor.role} records only {', '.join(sorted(allowed))} events")


def may_capture(actor: Actor, events: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a capture with events outside what ``actor``'s role may capture: carriers and
    inspectors capture only ObjectEvent OBSERVE events of their bizSteps and dispositions."""
    steps = ROLE_STEPS.get(actor.role)
    if steps is None:
        return
    dispositions = ROLE_DISPOSITIONS[actor.role]
    for event in events:
        disposition = event.get("disposition")
        if (
            event.get("type") != "ObjectEvent"
            or event.get("action") != "OBSERVE"
            or cbv.normalise("bizStep", event.get("bizStep")) not in steps
            or (disposition is not None and cbv.normalise("disposition", disposition) not in dispositions)
        ):
            raise Forbidden(
                f"a {actor.role} captures only ObjectEvent OBSERVE events with bizStep "
                f"{' or '.join(sorted(steps))} and disposition {' or '.join(sorted(dispositions))}"
            )


def may_issue_recall(actor: Actor) -> None:
    if actor.role not in RUNS_RECALLS or actor.party_id is None:
        raise Forbidden(f"a {actor.role} cannot issue recalls: only recall officers and admins (with a party)")
