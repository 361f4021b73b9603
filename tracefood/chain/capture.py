"""Recording supply-chain events: validate, identify, append once, update the projections.

:class:`EventStore` is the one write path for events, whatever their source: TraceFood's
readable JSON (:meth:`EventStore.record`), an EPCIS 2.0 capture document
(:meth:`EventStore.capture`) or a file import. Each batch is atomic:

1. structural checks (readable schema, or EPCIS schema rules and CBV vocabularies), identifier
   check digits, event time not in the future: all errors collected, nothing locked yet;
2. the CBV 2.0 event hash ID of every event: a resubmission (same hash, either route) gets the
   existing receipt and is not appended again; a new event with an ``eventID`` that is already
   taken by another event is a conflict;
3. under the ledger's write lock: state checks against the projections (on hand, shipped to
   you, time travel, locations you operate), the ledger append, and the projection rows, in
   one transaction. Any error rolls the whole batch back.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, or_, select

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.projections import EventContext, UnitOfWork, apply_event
from tracefood.chain.registry import Actor
from tracefood.chain.tables import events, locations, parties, products
from tracefood.epcis import cbv, readable
from tracefood.epcis import lenient as lenient_import
from tracefood.epcis.event_hash import event_hash_id
from tracefood.epcis.events import ENTRY_KIND, Facts, facts, freeze, thaw
from tracefood.epcis.validate import check_document, document_events
from tracefood.errors import Conflict, EventError, Forbidden, InvalidEntry
from tracefood.ledger import tree
from tracefood.ledger.canonical import loads
from tracefood.ledger.ledger import Ledger, NewEntry, Write, b64
from tracefood.ledger.models import entries

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
ROLE_KINDS = {"carrier": {"border_crossing"}, "inspector": {"inspect"}}
"""Readable event kinds each restricted role may record (producers: all)."""
ROLE_STEPS = {"carrier": {"departing", "arriving", "transporting"}, "inspector": {"inspecting"}}
"""CBV bizSteps each restricted role may capture (ObjectEvent OBSERVE only)."""
ROLE_DISPOSITIONS = {"carrier": {"in_transit"}, "inspector": {"conformant", "non_conformant"}}
MAX_ERRORS = 200
REGISTRY_TTL = 30.0
_REGISTRY_CACHE: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}


@dataclass(frozen=True)
class EventReceipt:
    seq: int
    event_id: str
    hash_id: str
    leaf_hash: bytes
    recorded: str
    created: bool
    party: str | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "hash_id": self.hash_id,
            "leaf_hash": b64(self.leaf_hash),
            "recorded": self.recorded,
            "created": self.created,
        }


@dataclass
class Pending:
    pointer: str
    event: dict[str, Any]
    context: Any
    kind: str | None
    source: str
    hash_id: str = ""
    facts: Facts | None = None
    lenient: bool = False
    opaque: tuple[str, ...] = ()
    repairs: list[lenient_import.Repair] = field(default_factory=list)

    def field(self, pointer: str) -> str:
        """Where an error inside the EPCIS event is, in the caller's own document."""
        inner = readable.readable_field(pointer) if self.source == "api" else pointer
        return self.pointer + inner

    @property
    def entry_id(self) -> str:
        assert self.facts is not None
        return self.hash_id + ("#correction" if self.facts.correction else "")


def _raise(errors: list[dict[str, str]], what: str) -> None:
    if errors:
        shown = errors[:MAX_ERRORS]
        summary = "; ".join(f"{e['field']}: {e['reason']}" for e in shown[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidEntry(f"{what}: {summary}{more}", errors=shown)


@dataclass(frozen=True)
class Batch:
    """Events checked and identified, with their registry facts: ready for :meth:`EventStore.commit_in`."""

    pending: list[Pending]
    actor: Actor
    strict: bool
    registry: tuple[dict[str, str], dict[str, str]]


@dataclass
class EventStore:
    ledger: Ledger

    # -- entry points -------------------------------------------------------------------------

    def record(self, body: Any, actor: Actor, *, now: dt.datetime | None = None) -> list[EventReceipt]:
        """Record one readable event (an object) or a list of them, atomically."""
        items = body if isinstance(body, list) else [body]
        prefix = isinstance(body, list)
        if not items:
            raise InvalidEntry("no events given", errors=[{"field": "/", "reason": "empty list"}])
        self._may_write(actor, [i.get("kind") if isinstance(i, Mapping) else None for i in items])
        lookup = _RegistryLookup(self.ledger.engine)
        pending: list[Pending] = []
        errors: list[dict[str, str]] = []
        try:
            for i, item in enumerate(items):
                pointer = f"/{i}" if prefix else ""
                try:
                    event = readable.to_epcis(item, lookup, actor.party_id or "", now)
                except ExceptionGroup as group:
                    errors.extend(_errors(group.exceptions, pointer))
                    continue
                pending.append(Pending(pointer, event, readable.CONTEXT, item.get("kind"), "api"))
        finally:
            lookup.close()
        _raise(errors, "invalid events")
        return self._commit(pending, actor, strict=True, now=now)

    def capture(
        self, document: Any, actor: Actor, *, source: str = "capture", now: dt.datetime | None = None
    ) -> list[EventReceipt]:
        """Capture an EPCIS 2.0 document (EPCISDocument or EPCISQueryDocument), atomically."""
        return self._capture(document, actor, source, now, lenient=False)[0]

    def import_document(
        self, document: Any, actor: Actor, *, lenient: bool = False, now: dt.datetime | None = None
    ) -> tuple[list[EventReceipt], list[dict[str, Any]]]:
        """Capture a document from a file (source ``import``), atomically; with ``lenient``,
        the known defects of other systems' exports are repaired as
        :mod:`~tracefood.ledger.lenient` lists. Returns the receipts and the repairs made
        (``field`` a pointer in the document, ``was``, ``reason``)."""
        return self._capture(document, actor, "import", now, lenient=lenient)

    def _capture(
        self, document: Any, actor: Actor, source: str, now: dt.datetime | None, *, lenient: bool
    ) -> tuple[list[EventReceipt], list[dict[str, Any]]]:
        self._may_write(actor, [])
        repairs: list[dict[str, Any]] = []
        if lenient:
            document, fixed, event_repairs = lenient_import.prepare(document)
            repairs.extend(r.to_json() for r in fixed)
        findings = check_document(document)
        _raise([{"field": f.field, "reason": f.reason} for f in findings], "invalid EPCIS document")
        assert isinstance(document, Mapping)
        base = "/epcisBody/eventList"
        if document.get("type") == "EPCISQueryDocument":
            base = "/epcisBody/queryResults/resultsBody/eventList"
        context = document.get("@context")
        found = document_events(document)
        self._may_capture(actor, found)
        pending = [Pending(f"{base}/{i}", dict(event), context, None, source) for i, event in enumerate(found)]
        if lenient:
            for p, before in zip(pending, event_repairs, strict=True):
                kept, kept_repairs = lenient_import.opaque_ids(p.event)
                p.lenient, p.opaque, p.repairs = True, tuple(kept), [*before, *kept_repairs]
        if not pending:
            return [], repairs
        receipts = self._commit(pending, actor, strict=False, now=now)
        repairs.extend(r.to_json(p.pointer) for p in pending for r in p.repairs)
        return receipts, repairs

    def recall_batch(self, event: dict[str, Any], actor: Actor) -> Batch:
        """A recall event (ObjectEvent OBSERVE, bizStep holding, disposition recalled, built by
        ``recalls``) of a recall officer or an admin, checked: the caller records it with
        :meth:`commit_in` in its ``Ledger.write``, its own rows landing with the entry or not at all."""
        if actor.role not in access.RUNS_RECALLS or actor.party_id is None:
            raise Forbidden(f"a {actor.role} cannot issue recalls")
        pending = [Pending("", event, readable.CONTEXT, "recall", "recall")]
        return self._identify(pending, actor, strict=False, now=None)

    # -- the common path ----------------------------------------------------------------------

    @staticmethod
    def _may_write(actor: Actor, kinds: Iterable[Any]) -> None:
        if actor.role not in access.RECORDS_EVENTS or actor.party_id is None:
            raise Forbidden(f"a {actor.role} cannot record events")
        allowed = ROLE_KINDS.get(actor.role)
        if allowed is not None and any(not isinstance(k, str) or k not in allowed for k in kinds):
            raise Forbidden(f"a {actor.role} records only {', '.join(sorted(allowed))} events")

    @staticmethod
    def _may_capture(actor: Actor, events: Sequence[Mapping[str, Any]]) -> None:
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

    def _commit(
        self, pending: list[Pending], actor: Actor, *, strict: bool, now: dt.datetime | None
    ) -> list[EventReceipt]:
        batch = self._identify(pending, actor, strict=strict, now=now)
        # Concurrent requests of this process share one transaction (one commit), each in its
        # own savepoint: see Ledger.write.
        return self.ledger.write(lambda w: self.commit_in(w, batch))

    def _identify(self, pending: list[Pending], actor: Actor, *, strict: bool, now: dt.datetime | None) -> Batch:
        """Check and identify events before taking the write lock (steps 1 and 2)."""
        limit = (now or dt.datetime.now(dt.UTC)) + FUTURE_TOLERANCE
        limit_text = utc.text(limit.replace(microsecond=0), "ms")
        errors: list[dict[str, str]] = []
        for p in pending:
            try:
                p.facts = facts(p.event, p.opaque)
            except EventError as exc:
                errors.append({"field": p.field(exc.field), "reason": exc.reason})
                continue
            if p.facts.time > limit_text:
                errors.append({"field": p.field("/eventTime"), "reason": "more than 5 minutes in the future"})
            p.hash_id = event_hash_id(p.event, p.context)
            p.event.setdefault("eventID", p.hash_id)
            p.event.pop("recordTime", None)  # the ledger records the time it received the event
        _raise(errors, "invalid events")
        # The registry is read before taking the write lock (it changes rarely, and every
        # statement inside the lock delays every other writer).
        registry = _registry_maps(self.ledger.engine, [p.facts for p in pending if p.facts is not None])
        return Batch(pending, actor, strict, registry)

    def commit_in(self, w: Write, batch: Batch) -> list[EventReceipt]:
        """Record identified events inside a ledger write (step 3): one receipt per event."""
        pending, actor, strict, registry = batch.pending, batch.actor, batch.strict, batch.registry
        known = _existing(w.conn, pending)
        fresh: list[Pending] = []
        seen: dict[str, Pending] = {}
        for p in pending:
            if p.entry_id in known:
                if known[p.entry_id].party not in (None, actor.party_id):
                    raise Conflict(
                        "an identical event was recorded by another party",
                        errors=[{"field": p.pointer or "/", "reason": "recorded by another party"}],
                    )
                continue
            if p.entry_id in seen:
                continue
            seen[p.entry_id] = p
            fresh.append(p)
        if any(p.lenient for p in fresh):  # events out of order: applied in event-time order
            fresh.sort(key=lambda p: (p.facts.time, p.facts.correction) if p.facts is not None else ("", False))
        _check_event_ids(fresh, known)
        _may_declare(fresh, known, actor)
        declared = {k.removesuffix("#correction") for k in known if k.endswith("#correction")}
        receipts = self._apply(w, fresh, actor, strict, registry, declared) if fresh else {}
        known.update(receipts)
        return [known[p.entry_id] for p in pending]

    def _apply(
        self,
        w: Write,
        fresh: list[Pending],
        actor: Actor,
        strict: bool,
        registry: tuple[dict[str, str], dict[str, str]],
        declared: set[str],
    ) -> dict[str, EventReceipt]:
        all_facts = [p.facts for p in fresh if p.facts is not None]
        conn = w.conn
        unit = UnitOfWork(conn)
        unit.load(o.ident.key for f in all_facts for o in f.objects)
        size = tree.size(conn)
        _project(unit, fresh, actor, strict, registry, declared, size)
        items = [_entry(p, actor.party_id) for p in fresh]
        appended = w.append(items, fresh=True, size=size)
        out: dict[str, EventReceipt] = {}
        for p, receipt in zip(fresh, appended, strict=True):
            f = p.facts
            assert f is not None
            unit.add_event(receipt.seq, p.event["eventID"], p.hash_id, p.kind, f, actor.party_id, receipt.recorded)
            out[p.entry_id] = EventReceipt(
                receipt.seq, p.event["eventID"], p.hash_id, receipt.leaf_hash, receipt.recorded, True
            )
        unit.flush()
        return out


def _project(
    unit: UnitOfWork,
    fresh: list[Pending],
    actor: Actor,
    strict: bool,
    registry: tuple[dict[str, str], dict[str, str]],
    declared: set[str],
    seq: int,
) -> None:
    """Apply each event to the projections, as the entry at ``seq``, ``seq + 1``... it is about
    to become; every contradiction is collected (up to :data:`MAX_ERRORS`) and raised at once."""
    location_party, product_of_gtin = registry
    errors: list[dict[str, str]] = []
    for p in fresh:
        assert p.facts is not None
        ctx = EventContext(
            seq,
            actor.party_id,
            strict,
            location_party,
            product_of_gtin,
            carrier_role=actor.role == "carrier",
            inspector=actor.role == "inspector",
            lenient=p.lenient,
            hash_id=p.hash_id,
            declared=p.hash_id in declared,
        )
        try:
            apply_event(unit, p.facts, ctx)
            p.repairs.extend(lenient_import.Repair(*note) for note in ctx.notes)
        except EventError as exc:
            errors.append({"field": p.field(exc.field), "reason": exc.reason})
            if len(errors) >= MAX_ERRORS:
                break
        seq += 1
    _raise(errors, "events contradict the ledger")


def _entry(p: Pending, party: str | None) -> NewEntry:
    """The ledger entry of an event: the EPCIS event as stored and what the ledger must keep
    beside it (its hash ID, source, readable kind, context, repairs)."""
    if p.source == "api":  # built by readable.to_epcis: no float or Decimal inside
        stored, decimals = p.event, readable.decimal_paths(p.event)
    else:
        stored, decimals = freeze(p.event)
    payload: dict[str, Any] = {"epcis": stored, "hash_id": p.hash_id, "source": p.source}
    if decimals:
        payload["decimals"] = decimals
    if p.kind:
        payload["kind"] = p.kind
    if p.context is not None and p.context != readable.CONTEXT:
        payload["context"] = freeze(p.context)[0]
    if p.lenient:
        payload["lenient"] = True
    if p.opaque:
        payload["opaque_ids"] = sorted(p.opaque)
    if p.repairs:
        payload["repairs"] = [r.to_json() for r in p.repairs]
    return NewEntry(payload, p.entry_id, ENTRY_KIND, party)


class _RegistryLookup:
    """Registry rows for the readable form, read over one connection and remembered.

    Rows found are kept for :data:`REGISTRY_TTL` seconds across requests: what the readable
    form takes from them (a product's GTIN and unit, a location's URI) never changes once
    created. Who operates a location, which access control rests on, is read again for each
    batch (:func:`_registry_maps`). Misses are never remembered.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None
        self.now = time.monotonic()
        self.where = engine.url.render_as_string(hide_password=True)

    def __call__(self, entity: str, key: str) -> Mapping[str, Any] | None:
        cache_key = (self.where, entity, key)
        hit = _REGISTRY_CACHE.get(cache_key)
        if hit is not None and self.now - hit[0] < REGISTRY_TTL:
            return hit[1]
        table = {"party": parties, "location": locations, "product": products}[entity]
        cond = table.c.gtin == key[5:] if key.startswith("gtin:") else table.c.id == key
        if self.conn is None:
            self.conn = self.engine.connect()
        row = self.conn.execute(select(table).where(cond)).mappings().first()
        self.conn.rollback()
        if row is None:
            return None
        if len(_REGISTRY_CACHE) > 10_000:
            _REGISTRY_CACHE.clear()
        _REGISTRY_CACHE[cache_key] = (self.now, dict(row))
        return dict(row)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _errors(excs: Sequence[BaseException], pointer: str) -> list[dict[str, str]]:
    return [
        {"field": pointer + e.field, "reason": e.reason}
        if isinstance(e, EventError)
        else {"field": pointer, "reason": str(e)}
        for e in excs
    ]


def _map(conn: Connection, key_col: Any, value_col: Any, keys: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(keys))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(select(key_col, value_col).where(key_col.in_(wanted[start : start + 500])))
        out.update((r[0], r[1]) for r in rows)
    return out


def _existing(conn: Connection, pending: list[Pending]) -> dict[str, EventReceipt]:
    """Receipts of events already in the ledger, by hash ID (corrections separately) and by
    the eventIDs the new events carry (keyed ``eventID:<id>``, for :func:`_check_event_ids`);
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
    for start in range(0, max(len(hashes), len(given)), 500):
        wanted: ColumnElement[bool] = events.c.hash_id.in_(hashes[start : start + 500])
        if given[start : start + 500]:
            wanted = or_(wanted, events.c.event_id.in_(given[start : start + 500]))
        stmt = select(*cols).join(entries, entries.c.seq == events.c.seq).where(wanted)
        for r in conn.execute(stmt):
            receipt = EventReceipt(int(r.seq), r.event_id, r.hash_id, bytes(r.leaf_hash), r.recorded, False, r.party_id)
            out[r.hash_id + ("#correction" if r.correction else "")] = receipt
            out["eventID:" + r.event_id] = receipt
    return out


def _may_declare(fresh: list[Pending], known: dict[str, EventReceipt], actor: Actor) -> None:
    """Only the party that recorded an event may declare it erroneous."""
    for p in fresh:
        original = known.get(p.hash_id) if p.facts is not None and p.facts.correction else None
        if original is not None and original.party not in (None, actor.party_id):
            where = p.field("/errorDeclaration")
            raise Forbidden(f"{where}: only {original.party}, who recorded the event, may declare it erroneous")


def _check_event_ids(fresh: list[Pending], known: dict[str, EventReceipt]) -> None:
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


def _registry_maps(engine: Engine, all_facts: list[Facts]) -> tuple[dict[str, str], dict[str, str]]:
    """(location URI -> operating party, GTIN -> product id) for the places and GTINs named."""
    place_keys = {k for f in all_facts for k in (f.biz_location, f.read_point, f.dest_location, f.source_location) if k}
    gtins = {o.ident.gtin for f in all_facts for o in f.objects if o.ident.gtin}
    with engine.connect() as conn:
        found = (
            _map(conn, locations.c.uri, locations.c.party_id, place_keys),
            _map(conn, products.c.gtin, products.c.id, gtins),
        )
        conn.rollback()
    return found


def stored_event(body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(envelope, EPCIS event as exported: numbers restored, recordTime set)."""
    envelope = loads(body)
    payload = envelope["payload"]
    event = thaw(copy.deepcopy(payload["epcis"]), list(payload.get("decimals", [])))
    event["recordTime"] = envelope["recorded"]
    return envelope, event
