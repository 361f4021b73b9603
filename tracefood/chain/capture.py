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

The steps' parts live beside this module: :mod:`~tracefood.chain.pending` (the batch on its
way, receipts, errors), :mod:`~tracefood.chain.capture_registry` (the registry reads),
:mod:`~tracefood.chain.capture_identity` (new, resubmitted or conflicting) and
:mod:`~tracefood.chain.stored` (the entry as the ledger keeps it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.capture_identity import check_event_ids, existing_receipts, may_declare
from tracefood.chain.capture_registry import RegistryLookup, registry_maps
from tracefood.chain.pending import MAX_ERRORS, Batch, EventReceipt, Pending, error_list, raise_invalid
from tracefood.chain.projections import EventContext, UnitOfWork, apply_event
from tracefood.chain.registry import Actor
from tracefood.chain.stored import ledger_entry
from tracefood.epcis import lenient as lenient_import
from tracefood.epcis import readable
from tracefood.epcis.checks import MAX_DEPTH, too_deep
from tracefood.epcis.event_hash import event_hash_id
from tracefood.epcis.events import facts
from tracefood.epcis.validate import check_document, document_events
from tracefood.errors import Conflict, EventError, InvalidEntry
from tracefood.ledger import tree
from tracefood.ledger.append import Write
from tracefood.ledger.ledger import Ledger

FUTURE_TOLERANCE = dt.timedelta(minutes=5)


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
        access.may_record(actor, [i.get("kind") if isinstance(i, Mapping) else None for i in items])
        lookup = RegistryLookup(self.ledger.engine)
        pending: list[Pending] = []
        errors: list[dict[str, str]] = []
        try:
            for i, item in enumerate(items):
                pointer = f"/{i}" if prefix else ""
                try:
                    event = readable.to_epcis(item, lookup, actor.party_id or "", now)
                except ExceptionGroup as group:
                    errors.extend(error_list(group.exceptions, pointer))
                    continue
                pending.append(Pending(pointer, event, readable.CONTEXT, item.get("kind"), "api"))
        finally:
            lookup.close()
        raise_invalid(errors, "invalid events")
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
        access.may_record(actor, [])
        repairs: list[dict[str, Any]] = []
        deep = too_deep(document)  # before the lenient repairs walk it
        if deep is not None:
            raise_invalid(
                [{"field": deep, "reason": f"nested deeper than {MAX_DEPTH} levels"}], "invalid EPCIS document"
            )
        if lenient:
            document, fixed, event_repairs = lenient_import.prepare(document)
            repairs.extend(r.to_json() for r in fixed)
        findings = check_document(document)
        raise_invalid([{"field": f.field, "reason": f.reason} for f in findings], "invalid EPCIS document")
        assert isinstance(document, Mapping)
        base = "/epcisBody/eventList"
        if document.get("type") == "EPCISQueryDocument":
            base = "/epcisBody/queryResults/resultsBody/eventList"
        context = document.get("@context")
        found = document_events(document)
        access.may_capture(actor, found)
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
        access.may_issue_recall(actor)
        pending = [Pending("", event, readable.CONTEXT, "recall", "recall")]
        return self._identify(pending, actor, strict=False, now=None)

    # -- the common path ----------------------------------------------------------------------

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
            if p.facts.disposition == "recalled" and not p.facts.correction and p.source != "recall":
                errors.append({"field": p.field("/disposition"), "reason": access.RECALLS_ONLY})
            if p.facts.time > limit_text:
                errors.append({"field": p.field("/eventTime"), "reason": "more than 5 minutes in the future"})
            p.hash_id = event_hash_id(p.event, p.context)
            p.event.setdefault("eventID", p.hash_id)
            p.event.pop("recordTime", None)  # the ledger records the time it received the event
        raise_invalid(errors, "invalid events")
        # The registry is read before taking the write lock (it changes rarely, and every
        # statement inside the lock delays every other writer).
        registry = registry_maps(self.ledger.engine, [p.facts for p in pending if p.facts is not None])
        return Batch(pending, actor, strict, registry)

    def commit_in(self, w: Write, batch: Batch) -> list[EventReceipt]:
        """Record identified events inside a ledger write (step 3): one receipt per event."""
        pending, actor, strict, registry = batch.pending, batch.actor, batch.strict, batch.registry
        known = existing_receipts(w.conn, pending)
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
        check_event_ids(fresh, known)
        may_declare(fresh, known, actor)
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
        items = [ledger_entry(p, actor.party_id) for p in fresh]
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
            recall=p.source == "recall",
        )
        try:
            apply_event(unit, p.facts, ctx)
            p.repairs.extend(lenient_import.Repair(*note) for note in ctx.notes)
        except EventError as exc:
            errors.append({"field": p.field(exc.field), "reason": exc.reason})
            if len(errors) >= MAX_ERRORS:
                break
        seq += 1
    raise_invalid(errors, "events contradict the ledger")
