"""Is each event of a batch new, a resubmission or a conflict? Capture's step 2, finished
under the write lock: the receipts of events already in the ledger (by CBV 2.0 hash ID, and by
the eventIDs the batch carries), eventIDs that would name two events, and error declarations
of another party's events."""

from __future__ import annotations

from itertools import zip_longest

from sqlalchemy import ColumnElement, Connection, or_, select

from tracefood.chain.pending import EventReceipt, Pending
from tracefood.chain.registry import Actor
from tracefood.chain.tables import events
from tracefood.epcis import lenient as lenient_import
from tracefood.errors import Conflict, Forbidden
from tracefood.ledger import db
from tracefood.ledger.models import entries


def existing_receipts(conn: Connection, pending: list[Pending]) -> dict[str, EventReceipt]:
    """Receipts of events already in the ledger, by hash ID (corrections separately) and by
    the eventIDs the new events carry (keyed ``eventID:<id>``, for :func:`check_event_ids`);
    one statement per 500 events."""
    hashes = sorted({p.hash_id for p in pending})
    given = sorted({p.event["eventID"] for p in pending if p.event["eventID"] != p.hash_id})
    out: dict[str, EventReceipt] = {}
    cols = (
        events.c.seq,
        events.c.event_id,
        events.c.hash_id,
        events.c.correction,
        events.c.recorded,
        events.c.party_id,
        entries.c.leaf_hash,
    )
    for hash_part, given_part in zip_longest(db.chunks(hashes), db.chunks(given), fillvalue=()):
        wanted: ColumnElement[bool] = events.c.hash_id.in_(hash_part)
        if given_part:
            wanted = or_(wanted, events.c.event_id.in_(given_part))
        stmt = select(*cols).join(entries, entries.c.seq == events.c.seq).where(wanted)
        for r in conn.execute(stmt):
            receipt = EventReceipt(int(r.seq), r.event_id, r.hash_id, bytes(r.leaf_hash), r.recorded, False, r.party_id)
            out[r.hash_id + ("#correction" if r.correction else "")] = receipt
            out["eventID:" + r.event_id] = receipt
    return out


def may_declare(fresh: list[Pending], known: dict[str, EventReceipt], actor: Actor) -> None:
    """Only the party that recorded an event may declare it erroneous."""
    for p in fresh:
        original = known.get(p.hash_id) if p.facts is not None and p.facts.correction else None
        if original is not None and original.party not in (None, actor.party_id):
            where = p.field("/errorDeclaration")
            raise Forbidden(f"{where}: only {original.party}, who recorded the event, may declare it erroneous")


def check_event_ids(fresh: list[Pending], known: dict[str, EventReceipt]) -> None:
    """A new event may not reuse an eventID that names another event (a lenient import gives
    it its hash ID instead)."""
    given: dict[str, Pending] = {}
    errors: list[dict[str, str]] = []
    for p in fresh:
        eid = p.event["eventID"]
        # another event with this eventID (an error declaration repeats its event's, and hash ID)
        twin = given.get(eid)
        in_batch = twin if twin is not None and twin.hash_id != p.hash_id else None
        taken = known.get("eventID:" + eid)
        declares = taken is not None and taken.hash_id == p.hash_id and p.facts is not None and p.facts.correction
        in_ledger = None if declares else taken
        if (in_batch or in_ledger) and p.lenient:
            other = in_batch.pointer if in_batch else f"seq {in_ledger.seq}" if in_ledger else ""
            reason = f"replaced by the event's hash ID: it also names a different event ({other})"
            p.repairs.append(lenient_import.Repair("/eventID", eid, reason))
            eid = p.event["eventID"] = p.hash_id
        else:
            if in_batch:
                other = in_batch.pointer or "another event"
                errors.append({"field": p.field("/eventID"), "reason": f"{eid!r} is also the eventID of {other}"})
            if in_ledger:
                reason = f"already names a different event (seq {in_ledger.seq})"
                errors.append({"field": p.field("/eventID"), "reason": reason})
        given[eid] = p
    if errors:
        raise Conflict("eventID already used by a different event: " + errors[0]["reason"], errors=errors)
