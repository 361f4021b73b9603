"""Recalls: seeds -> scope (trace forward) -> one ledger event -> holders, acknowledgements, close.

A recall starts from seeds: lots (any id form), or a source location with a product and a date
range (every lot that location produced in that range). Its scope is the union of the seeds'
trace forward: every lot made from them and every pallet or container they travelled in. The
recall is itself a ledger event, recorded by the recall officer's party: an ObjectEvent OBSERVE,
bizStep ``holding``, disposition ``recalled``, naming every affected lot, with the recall id,
class, reason and hazard as ``tf:`` extension fields. The projections mark those lots recalled
at once, so their label pages and the trust list show the recall. The recall's own rows (scope,
later acknowledgements) are written in the same transaction as its ledger entry.

Holders are computed when asked: every party with stock of an affected lot now, every party a
shipment of one is travelling to, and every party that received any of it. Each acknowledges
(effectiveness check); the officer sees who has not; the recall can be closed with a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from tracefood import utc
from tracefood.chain import access, trace
from tracefood.chain.capture import EventStore
from tracefood.chain.pending import EventReceipt
from tracefood.chain.registry import Actor, public_view
from tracefood.chain.tables import (
    locations,
    lot_events,
    lots,
    parties,
    recall_acks,
    recall_lots,
    recalls,
    shipments,
    stock,
)
from tracefood.epcis.events import format_micro
from tracefood.errors import Conflict, Forbidden, InvalidEntry, InvalidParameter, NotFound
from tracefood.ledger import db
from tracefood.ledger.append import Write
from tracefood.ledger.ledger import Ledger

CLASSES = ("I", "II", "III")
MAX_SEEDS = 100
MAX_SCOPE = 20_000  # lots named in one recall event


def _bad(field: str, reason: str) -> InvalidEntry:
    return InvalidEntry(f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise _bad(f"/{name}", "required")
        return None
    if not isinstance(value, str) or len(value) > limit or not value.strip():
        raise _bad(f"/{name}", f"a text of 1 to {limit} characters")
    return value.strip()


def _date(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise _bad(f"/seeds/{name}", "required: a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise _bad(f"/seeds/{name}", f"not a date YYYY-MM-DD: {value[:40]!r}") from None


def _seed_lots(conn: Connection, seeds: Any) -> tuple[list[int], dict[str, Any]]:
    """The lot ids the seeds name, and the seeds as stored."""
    if not isinstance(seeds, Mapping):
        raise _bad("/seeds", "an object: {lots: [...]} or {location, product, from, to}")
    if "lots" in seeds:
        ids = seeds["lots"]
        if not isinstance(ids, list) or not ids or len(ids) > MAX_SEEDS:
            raise _bad("/seeds/lots", f"a list of 1 to {MAX_SEEDS} lot ids")
        found = []
        for i, value in enumerate(ids):
            if not isinstance(value, str):
                raise _bad(f"/seeds/lots/{i}", "a lot id")
            try:
                found.append(access.resolve_lot(conn, value).id)
            except (NotFound, InvalidParameter) as exc:
                raise _bad(f"/seeds/lots/{i}", exc.errors[0]["reason"] if exc.errors else exc.detail) from None
        return sorted(set(found)), {"lots": ids}
    place = seeds.get("location")
    product = seeds.get("product")
    if not isinstance(place, str) or not isinstance(product, str):
        raise _bad("/seeds", "give lots, or a location, a product and a date range (from, to)")
    start, end = _date(seeds, "from"), _date(seeds, "to")
    if end < start:
        raise _bad("/seeds/to", "before from")
    row = conn.execute(select(locations.c.uri).where((locations.c.id == place) | (locations.c.uri == place))).first()
    if row is None:
        raise _bad("/seeds/location", f"unknown location {place[:80]!r}")
    upper = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat()
    first_place = (
        select(lot_events.c.location)
        .where(lot_events.c.lot_id == lots.c.id)
        .order_by(lot_events.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    ids = [
        r.id
        for r in conn.execute(
            select(lots.c.id).where(
                lots.c.product_id == product,
                lots.c.first_time >= start,
                lots.c.first_time < upper,
                (lots.c.tlc_source == row.uri) | (first_place == row.uri),
            )
        )
    ]
    if not ids:
        raise _bad("/seeds", f"no lot of {product} was first recorded at {place} from {start} to {end}")
    return ids, {"location": row.uri, "product": product, "from": start, "to": end}


def _scope(engine: Engine, seed_keys: Sequence[str]) -> list[str]:
    reached: dict[str, None] = {}
    for key in seed_keys:
        result = trace.trace(engine, key, "forward", limit=trace.MAX_LIMIT)
        for lot in [result["id"], *result["lots"], *result["containers"]]:
            reached.setdefault(lot, None)
        token = result["next_page_token"]
        while token:
            page = trace.trace(engine, key, "forward", limit=trace.MAX_LIMIT, page_token=token)
            for lot in page["lots"]:
                reached.setdefault(lot, None)
            token = page["next_page_token"]
    if len(reached) > MAX_SCOPE:
        raise _bad("/seeds", f"the recall would name {len(reached):,} lots; split it (at most {MAX_SCOPE:,})")
    return list(reached)


def _next_id(conn: Connection, year: int) -> str:
    """The year's next recall id, R-YYYY-NNNN. Taken inside the ledger write (under its lock, and
    after the recalls written earlier in the same group commit), so no two recalls take one."""
    prefix = f"R-{year}-"
    count = conn.execute(select(func.count()).select_from(recalls).where(recalls.c.id.like(prefix + "%"))).scalar()
    number = int(count or 0) + 1
    while conn.execute(select(recalls.c.id).where(recalls.c.id == f"{prefix}{number:04d}")).first() is not None:
        number += 1  # never reuse an id, whatever the rows hold
    return f"{prefix}{number:04d}"


def issue(ledger: Ledger, body: Any, actor: Actor, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Open a recall from ``{"seeds", "class", "reason", "hazard"?, "instructions"?}``."""
    if actor.role not in access.RUNS_RECALLS or actor.party_id is None:
        raise Forbidden("only recall officers and admins (with a party) issue recalls")
    if not isinstance(body, Mapping):
        raise _bad("/", "a JSON object")
    klass = body.get("class")
    if klass not in CLASSES:
        raise _bad("/class", "I, II or III")
    reason = _text(body, "reason", 500, required=True)
    hazard = _text(body, "hazard", 200, required=False)
    instructions = _text(body, "instructions", 500, required=False)
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    with db.read_snapshot(ledger.engine) as conn:
        seed_ids, seeds = _seed_lots(conn, body.get("seeds"))
        seed_keys = [r.key for r in conn.execute(select(lots.c.key).where(lots.c.id.in_(seed_ids)))]
        guess = _next_id(conn, moment.year)
    scope = _scope(ledger.engine, seed_keys)
    with db.read_snapshot(ledger.engine) as conn:
        kinds = {r[0]: r[1] for r in conn.execute(select(lots.c.key, lots.c.kind).where(lots.c.key.in_(scope)))}

    def event_for(recall_id: str) -> dict[str, Any]:
        event = _recall_event(moment, scope, kinds, recall_id, klass, reason)
        if hazard:
            event["tf:hazard"] = hazard
        if instructions:
            event["tf:action"] = instructions
        return event

    def rows(conn: Connection, receipt: EventReceipt, recall_id: str) -> None:
        conn.execute(
            insert(recalls).values(
                id=recall_id, seq=receipt.seq, recall_class=klass, reason=reason, hazard=hazard,
                instructions=instructions, seeds=seeds, party_id=actor.party_id, opened_at=moment,
                opened_by=actor.name,
            )
        )  # fmt: skip
        ids = {r[0]: r[1] for r in conn.execute(select(lots.c.key, lots.c.id).where(lots.c.key.in_(scope)))}
        seeded = set(seed_ids)
        conn.execute(
            insert(recall_lots),
            [{"recall_id": recall_id, "lot_id": ids[k], "seed": ids[k] in seeded} for k in scope if k in ids],
        )

    recall_id = _record(ledger, actor, moment.year, guess, event_for, rows)
    return detail(ledger.engine, recall_id, actor)


def _recall_event(
    moment: dt.datetime, scope: Sequence[str], kinds: Mapping[str, str], recall_id: str, klass: str, reason: str | None
) -> dict[str, Any]:
    """The recall's EPCIS event (ObjectEvent OBSERVE, bizStep holding, disposition recalled)
    naming every lot in ``scope``: logistic units and items by EPC, lots by class."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": utc.text(moment, "ms"),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "epcList": [k for k in scope if kinds.get(k) in ("sscc", "item")],
        "quantityList": [{"epcClass": k} for k in scope if kinds.get(k) not in ("sscc", "item")],
        "bizStep": "holding",
        "disposition": "recalled",
        "tf:recallId": recall_id,
        "tf:recallClass": klass,
        "tf:reason": reason,
    }
    if not event["epcList"]:
        del event["epcList"]
    if not event["quantityList"]:
        del event["quantityList"]
    return event


def _record(
    ledger: Ledger,
    actor: Actor,
    year: int,
    guess: str,
    event_for: Callable[[str], dict[str, Any]],
    rows: Callable[[Connection, EventReceipt, str], None],
) -> str:
    """The recall event and the recall's own rows, in one ledger write (both land or neither),
    under an id taken inside that write; returns the id. The event is checked before the lock
    with the id ``guess`` read outside it, and checked again inside only if another recall took
    that id meanwhile (the id is in the event, so the event changes with it)."""
    store = EventStore(ledger)
    prepared = store.recall_batch(event_for(guess), actor)

    def work(w: Write) -> str:
        recall_id = _next_id(w.conn, year)
        batch = prepared if recall_id == guess else store.recall_batch(event_for(recall_id), actor)
        (receipt,) = store.commit_in(w, batch)
        rows(w.conn, receipt, recall_id)
        return recall_id

    return ledger.write(work)


def _recall_row(conn: Connection, recall_id: str) -> Any:
    row = conn.execute(select(recalls).where(recalls.c.id == recall_id)).first()
    if row is None:
        raise NotFound(f"no recall {recall_id}", errors=[{"field": "id", "reason": "unknown recall"}])
    return row


def _holders(conn: Connection, lot_ids: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """(stock on hand, shipments in transit, every party that holds, is receiving or received)."""
    on_hand: list[dict[str, Any]] = []
    moving: list[dict[str, Any]] = []
    everyone: set[str] = set()
    for chunk in db.chunks(lot_ids):
        for r in conn.execute(
            select(stock, lots.c.key, lots.c.uom)
            .join(lots, lots.c.id == stock.c.lot_id)
            .where(stock.c.lot_id.in_(chunk), stock.c.quantity > 0)
        ):
            on_hand.append({"lot": r.key, "party": r.party_id, "location": r.location,
                            "quantity": format_micro(r.quantity), "unit": r.uom})  # fmt: skip
            everyone.add(r.party_id)
        for s in conn.execute(
            select(shipments, lots.c.key, lots.c.uom)
            .join(lots, lots.c.id == shipments.c.lot_id)
            .where(shipments.c.lot_id.in_(chunk))
        ):
            if s.status == "in_transit":
                moving.append({"lot": s.key, "from_party": s.from_party, "to_party": s.to_party, "to": s.to_location,
                               "quantity": format_micro(s.quantity), "unit": s.uom, "carrier": s.carrier,
                               "reference": s.reference})  # fmt: skip
            everyone.add(s.to_party)
    everyone.discard(None)
    return on_hand, moving, everyone


def detail(engine: Engine, recall_id: str, actor: Actor) -> dict[str, Any]:
    """A recall as ``actor`` may see it. Everyone signed in reads the notice: its class, reason,
    hazard, instructions, status and every lot in its scope (the public label pages show those
    lots recalled anyway). Those who read every lot (recall officers, inspectors, admins: they
    see every holder through the trace forward too) also get every holder with its stock on hand,
    what is coming to it and its acknowledgement, every shipment in transit and the effectiveness
    check (``"view": "every holder"``), contact details for those who run recalls only. Any other
    party gets its own part only (``"view": "own part"``): its own holding, incoming stock and
    acknowledgement if it is a holder, the shipments in transit it sends or receives, no other
    party's name, stock or acknowledgement, no effectiveness count and not who opened it."""
    shown = _detail(engine, recall_id, actor)
    if access.reads_every_lot(actor):
        return shown | {"view": "every holder"}
    party = actor.party_id
    return shown | {
        "view": "own part",
        "opened_by": None,
        "holders": [h for h in shown["holders"] if party is not None and h["party"] == party],
        "in_transit": [
            m for m in shown["in_transit"] if party is not None and party in (m["to_party"], m["from_party"])
        ],
        "effectiveness": None,
    }


def _detail(engine: Engine, recall_id: str, actor: Actor) -> dict[str, Any]:
    """A recall with its lots, holders (contact details for recall officers and admins only),
    quantities, shipments in transit and acknowledgements: every holder's (:func:`detail` cuts
    it down to what the actor may see)."""
    with db.read_snapshot(engine) as conn:
        row = _recall_row(conn, recall_id)
        scope = conn.execute(
            select(lots.c.id, lots.c.key, lots.c.kind, lots.c.lot_code, lots.c.gtin, lots.c.product_id, lots.c.status,
                   recall_lots.c.seed)
            .join(recall_lots, recall_lots.c.lot_id == lots.c.id)
            .where(recall_lots.c.recall_id == recall_id)
            .order_by(recall_lots.c.seed.desc(), lots.c.key)
        ).all()  # fmt: skip
        on_hand, moving, everyone = _holders(conn, [r.id for r in scope])
        acks = {
            r.party_id: {"at": utc.text(r.at), "by": r.by, "note": r.note}
            for r in conn.execute(select(recall_acks).where(recall_acks.c.recall_id == recall_id))
        }
        everyone.discard(row.party_id or "")
        found = conn.execute(select(parties).where(parties.c.id.in_(everyone)))
        known = {r.id: public_view("party", dict(r._mapping), actor) for r in found}
    contacts = actor.role in access.SEES_EVERY_CONTACT
    holders = [_holder(pid, known.get(pid) or {}, contacts, on_hand, moving, acks) for pid in sorted(everyone)]
    waiting = [h["party"] for h in holders if h["acknowledged"] is None]
    return {
        "id": row.id,
        "class": row.recall_class,
        "reason": row.reason,
        "hazard": row.hazard,
        "instructions": row.instructions,
        "seeds": row.seeds,
        "status": "closed" if row.closed_at else "open",
        "opened_at": utc.text(row.opened_at),
        "opened_by": row.opened_by,
        "party": row.party_id,
        "ledger_seq": row.seq,
        "closed_at": utc.text(row.closed_at),
        "close_reason": row.close_reason,
        "lots": [
            {
                "id": r.key,
                "kind": r.kind,
                "lot": r.lot_code,
                "gtin": r.gtin,
                "product": r.product_id,
                "status": r.status,
                "seed": bool(r.seed),
            }
            for r in scope
        ],
        "holders": holders,
        "in_transit": moving,
        "effectiveness": {
            "holders": len(holders),
            "acknowledged": len(holders) - len(waiting),
            "waiting": waiting,
        },
    }


def _holder(
    pid: str,
    party: Mapping[str, Any],
    contacts: bool,
    on_hand: list[dict[str, Any]],
    moving: list[dict[str, Any]],
    acks: Mapping[str, Any],
) -> dict[str, Any]:
    """One holder of a recalled lot: its stock, what is coming to it, its acknowledgement; its
    contact details only with ``contacts``."""
    return {
        "party": pid,
        "name": party.get("name"),
        "contact": party.get("contact") if contacts else None,
        "on_hand": [h for h in on_hand if h["party"] == pid],
        "incoming": [m for m in moving if m["to_party"] == pid],
        "acknowledged": acks.get(pid),
    }


def list_recalls(engine: Engine) -> list[dict[str, Any]]:
    with db.read_snapshot(engine) as conn:
        counts: dict[str, int] = dict(
            conn.execute(select(recall_lots.c.recall_id, func.count()).group_by(recall_lots.c.recall_id)).all()
        )
        return [
            {"id": r.id, "class": r.recall_class, "reason": r.reason, "status": "closed" if r.closed_at else "open",
             "opened_at": utc.text(r.opened_at), "lots": counts.get(r.id, 0)}
            for r in conn.execute(select(recalls).order_by(recalls.c.opened_at.desc(), recalls.c.id.desc()))
        ]  # fmt: skip


def acknowledge(engine: Engine, recall_id: str, actor: Actor, note: str | None = None) -> dict[str, Any]:
    """A holder says it has acted on the recall (once; again is a 409)."""
    if actor.party_id is None:
        raise Forbidden("acknowledge with your party's token")
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        raise _bad("/note", "a text of at most 500 characters")
    with db.write_transaction(engine) as conn:
        row = _recall_row(conn, recall_id)
        if row.closed_at is not None:
            raise Conflict(f"recall {recall_id} is closed")
        ids = [r[0] for r in conn.execute(select(recall_lots.c.lot_id).where(recall_lots.c.recall_id == recall_id))]
        _, _, everyone = _holders(conn, ids)
        if actor.party_id not in everyone:
            raise Forbidden(f"{actor.party_id} holds, receives or received none of recall {recall_id}'s lots")
        done = conn.execute(
            select(recall_acks.c.at).where(
                recall_acks.c.recall_id == recall_id, recall_acks.c.party_id == actor.party_id
            )
        ).first()
        if done is not None:
            raise Conflict(f"{actor.party_id} already acknowledged recall {recall_id} at {utc.text(done.at)}")
        conn.execute(
            insert(recall_acks).values(recall_id=recall_id, party_id=actor.party_id, at=dt.datetime.now(dt.UTC),
                                       by=actor.name, note=note)
        )  # fmt: skip
    return detail(engine, recall_id, actor)


def close(engine: Engine, recall_id: str, actor: Actor, reason: Any) -> dict[str, Any]:
    if actor.role not in access.RUNS_RECALLS:
        raise Forbidden("only recall officers and admins close recalls")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise _bad("/reason", "required: why the recall is closed (1 to 500 characters)")
    with db.write_transaction(engine) as conn:
        row = _recall_row(conn, recall_id)
        if row.party_id != actor.party_id:  # closing ends its issuer's right to withdraw it
            raise Forbidden(f"only {row.party_id}, which issued recall {recall_id}, may close it")
        if row.closed_at is not None:
            raise Conflict(f"recall {recall_id} was closed at {utc.text(row.closed_at)}")
        conn.execute(
            update(recalls)
            .where(recalls.c.id == recall_id)
            .values(closed_at=dt.datetime.now(dt.UTC), closed_by=actor.name, close_reason=reason.strip())
        )
    return detail(engine, recall_id, actor)
