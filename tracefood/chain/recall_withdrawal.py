"""Withdrawing a recall issued in error: the way a wrongly set recall is lifted, as a ledger event.

A recall's lots stay recalled after the recall is closed (a closed recall is one that was carried
out). A recall issued in error is different: the party that issued it withdraws it with an EPCIS
error declaration of its recall event (CBV reason ``incorrect_data``), recorded in the ledger
through the recall process like the recall itself. The projections then undo it (see
:mod:`~tracefood.chain.projections.undo`): each lot gets back the status its other events give
it. The recall is closed with the reason given; the reason stays in the recall's row, not in the
ledger entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.capture import EventStore
from tracefood.chain.export import export_document
from tracefood.chain.recalls import detail
from tracefood.chain.registry import Actor
from tracefood.chain.tables import recalls
from tracefood.errors import Conflict, Forbidden, InvalidEntry, NotFound
from tracefood.ledger import db
from tracefood.ledger.append import Write
from tracefood.ledger.ledger import Ledger

WITHDRAWN = "withdrawn (issued in error): "
"""The start of a withdrawn recall's close reason."""


def withdraw(
    ledger: Ledger, recall_id: str, actor: Actor, reason: Any, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Withdraw recall ``recall_id`` (issued by ``actor``'s party, still open) because it was
    issued in error; returns its detail."""
    access.may_issue_recall(actor)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 400:
        raise InvalidEntry(
            "invalid withdrawal", errors=[{"field": "/reason", "reason": "required: why (1 to 400 characters)"}]
        )
    with db.read_snapshot(ledger.engine) as conn:
        row = conn.execute(select(recalls).where(recalls.c.id == recall_id)).first()
    if row is None:
        raise NotFound(f"no recall {recall_id}", errors=[{"field": "id", "reason": "unknown recall"}])
    if row.party_id != actor.party_id:
        raise Forbidden(f"only {row.party_id}, which issued recall {recall_id}, may withdraw it")
    (event,) = export_document(ledger.engine, seqs=[row.seq])["epcisBody"]["eventList"]
    event.pop("recordTime", None)
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    event["errorDeclaration"] = {"declarationTime": utc.text(moment, "ms"), "reason": "incorrect_data"}
    store = EventStore(ledger)
    batch = store.recall_batch(event, actor)

    def work(w: Write) -> None:
        current = w.conn.execute(select(recalls.c.closed_at).where(recalls.c.id == recall_id)).scalar_one()
        if current is not None:
            raise Conflict(f"recall {recall_id} was closed at {utc.text(current)}: it can no longer be withdrawn")
        store.commit_in(w, batch)
        w.conn.execute(
            update(recalls)
            .where(recalls.c.id == recall_id)
            .values(closed_at=moment, closed_by=actor.name, close_reason=WITHDRAWN + reason.strip())
        )

    ledger.write(work)
    return detail(ledger.engine, recall_id, actor)
