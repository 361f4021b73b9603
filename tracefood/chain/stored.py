"""An event as the ledger stores it: the entry capture appends (the EPCIS event with numbers
frozen, and what the ledger keeps beside it), and the event read back from an entry's body as
exports, traces, records and labels show it."""

from __future__ import annotations

import copy
from typing import Any

from tracefood.chain.pending import Pending
from tracefood.epcis import readable
from tracefood.epcis.events import ENTRY_KIND, freeze, thaw
from tracefood.ledger.append import NewEntry
from tracefood.ledger.canonical import loads


def ledger_entry(p: Pending, party: str | None) -> NewEntry:
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


def stored_event(body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(envelope, EPCIS event as exported: numbers restored, recordTime set)."""
    envelope = loads(body)
    payload = envelope["payload"]
    event = thaw(copy.deepcopy(payload["epcis"]), list(payload.get("decimals", [])))
    event["recordTime"] = envelope["recorded"]
    return envelope, event
