"""EPCIS 2.0 export: the ledger's events as a JSON-LD ``EPCISDocument``, in ledger order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select

from tracefood import utc
from tracefood.chain.stored import stored_event
from tracefood.chain.tables import events
from tracefood.epcis.prehash import namespaces_from_context
from tracefood.epcis.readable import CONTEXT
from tracefood.ledger import db
from tracefood.ledger.models import entries

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"


def iter_events(engine: Engine, seqs: list[int] | None = None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(envelope, EPCIS event) for every event entry (or the given sequence numbers)."""
    with db.read_snapshot(engine) as conn:
        stmt = select(entries.c.body).join(events, events.c.seq == entries.c.seq).order_by(entries.c.seq)
        if seqs is not None:
            stmt = stmt.where(entries.c.seq.in_(seqs))
        for row in conn.execute(stmt.execution_options(yield_per=1000)):
            yield stored_event(bytes(row.body))


def export_document(engine: Engine, seqs: list[int] | None = None) -> dict[str, Any]:
    """One EPCISDocument with every event; the @context declares every prefix they use."""
    namespaces: dict[str, str] = {"tf": str(CONTEXT[1]["tf"])}
    event_list = []
    for envelope, event in iter_events(engine, seqs):
        context = envelope["payload"].get("context")
        if context is not None:
            for prefix, iri in namespaces_from_context(context).items():
                namespaces.setdefault(prefix, iri)
        event_list.append(event)
    standard = namespaces_from_context(None)
    extra = {p: iri for p, iri in sorted(namespaces.items()) if standard.get(p) != iri}
    return {
        "@context": [EPCIS_CONTEXT, extra] if extra else [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": utc.text(utc.now(), "us"),
        "epcisBody": {"eventList": event_list},
    }
