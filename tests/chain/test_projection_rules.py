"""The projection rules give the same rows when recording as when replaying the ledger alone.

A varied chain (``tools/synth.py``: every readable event kind, pallets and containers loaded,
unloaded and loaded again, partial receipts, lots split across customers), then an error
declaration of the first and the last event of each kind, a recall, and a lenient document
with a clamped shipment and an event declared before it arrives. Every projection table
(``stock_moves`` and ``recall_lots`` included) must hold the same rows after a rebuild.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from tests.factories import epcis_document
from tracefood.chain import recalls
from tracefood.chain.capture import EventStore
from tracefood.chain.export import export_document
from tracefood.chain.rebuild import rebuild
from tracefood.chain.registry import Actor
from tracefood.chain.tables import PROJECTION_TABLES, events, locations, lots, products, recall_lots, shipments
from tracefood.epcis.readable import KINDS
from tracefood.ledger import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import synth  # a developer tool, imported from its folder

SIZE = 1_500
SEED = 1
DECLARED = "2025-03-01T12:00:00Z"


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every projection table, sorted."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(r) for r in conn.execute(select(table))),
                key=lambda row: tuple("" if v is None else str(v) for v in row),
            )
            for table in (*PROJECTION_TABLES, recall_lots)
        }


def declare(store: EventStore, actor: Actor, seq: int) -> None:
    """Capture the event at ``seq`` again with an ``errorDeclaration``, as its recorder."""
    document = export_document(store.ledger.engine, seqs=[seq])
    (event,) = document["epcisBody"]["eventList"]
    event.pop("recordTime", None)
    event["errorDeclaration"] = {"declarationTime": DECLARED, "reason": "incorrect_data"}
    store.capture(document, actor)


def lenient_corner_cases(store: EventStore, party: str) -> None:
    """A shipment of more than is on hand (a lenient import takes what there is) declared
    erroneous, and a commissioning declared in the same document before it arrives."""
    engine = store.ledger.engine
    with engine.connect() as conn:
        where = conn.execute(select(locations.c.uri).where(locations.c.party_id == party)).scalars().first()
        gtin = conn.execute(select(products.c.gtin).where(products.c.gtin.is_not(None))).scalars().first()
    assert where is not None and gtin is not None

    def event(day: int, lot: str, **fields: Any) -> dict[str, Any]:
        quantity = [{"epcClass": f"https://id.gs1.org/01/{gtin}/10/{lot}", "quantity": 100, "uom": "KGM"}]
        time = f"2025-02-{day:02d}T08:00:00Z"
        return {"eventTime": time, "eventTimeZoneOffset": "+00:00", "bizLocation": {"id": where},
                "quantityList": quantity, **fields}  # fmt: skip

    made = event(1, "LENIENT1", type="ObjectEvent", action="ADD", bizStep="commissioning")
    made["quantityList"][0]["quantity"] = 10
    shipped = event(2, "LENIENT1", type="ObjectEvent", action="OBSERVE", bizStep="shipping")
    early = event(3, "LENIENT2", type="ObjectEvent", action="ADD", bizStep="commissioning")
    declared = {**early, "errorDeclaration": {"declarationTime": DECLARED, "reason": "incorrect_data"}}
    actor = Actor("producer", party, "test")
    store.import_document(epcis_document(made, shipped, declared, early), actor, lenient=True)
    declare_shipped = {**shipped, "errorDeclaration": {"declarationTime": DECLARED, "reason": "incorrect_data"}}
    store.import_document(epcis_document(declare_shipped), actor, lenient=True)


def build_chain(ledger: Ledger) -> None:
    """The synthetic chain, then a declaration of the first and last event of each kind, a
    recall and the lenient corner cases."""
    synth.load(ledger, SIZE, SEED)
    roles = {party: role for party, role, _ in synth.generate(SIZE, SEED)}
    store = EventStore(ledger)
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(events.c.kind, events.c.seq, events.c.party_id).order_by(events.c.seq)).all()
        seed = conn.execute(select(lots.c.key).where(lots.c.kind == "lot").order_by(lots.c.id)).scalars().first()
    chosen: dict[int, str] = {}
    for kind in KINDS:
        of_kind = [(seq, party) for k, seq, party in rows if k == kind]
        assert of_kind, kind
        chosen.update([of_kind[0], of_kind[-1]])
    party_of = {seq: party for _, seq, party in rows}
    done: set[int] = set()
    for seq, party in sorted(chosen.items()):
        with ledger.engine.connect() as conn:  # a receipt by another party is declared first (issue 12)
            receipts = conn.execute(
                select(shipments.c.received_seq).where(
                    shipments.c.ship_seq == seq, shipments.c.received_seq.is_not(None)
                )
            ).scalars()
            first = sorted({r for r in receipts if party_of[r] != party} - done)
        for receipt in [*first, seq]:
            if receipt not in done:
                declare(store, Actor(roles[party_of[receipt]], party_of[receipt], "test"), receipt)
                done.add(receipt)
    officer = Actor("recall_officer", next(p for p, r in roles.items() if r == "inspector"), "test")
    recall = {"seeds": {"lots": [seed]}, "class": "I", "reason": "Listeria monocytogenes"}
    recalls.issue(ledger, recall, officer, now=dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    lenient_corner_cases(store, next(p for p, r in roles.items() if r == "producer"))


def test_projection_rules__every_table_rebuilds_identically(ledger: Ledger) -> None:
    build_chain(ledger)
    recorded = snapshot(ledger.engine)
    with ledger.engine.connect() as conn:
        fixes = select(events.c.hash_id).where(events.c.correction.is_(True))
        kinds = set(conn.execute(select(events.c.kind).where(events.c.hash_id.in_(fixes))).scalars())
    assert kinds >= set(KINDS)  # a correction of every kind
    assert all(recorded[t.name] for t in (*PROJECTION_TABLES, recall_lots))
    report = rebuild(ledger.engine, commit=True)
    assert report.ok, report.differences
    assert snapshot(ledger.engine) == recorded
