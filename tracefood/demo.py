"""The demo ledger: a Montérégie lettuce lot followed from the field to New York.

Appended through the public ledger API with fixed entry ids, so loading it twice appends
nothing the second time. The entries are EPCIS 2.0-shaped events; until the event model and
its validation exist (issue "Producers log the supply chain"), they are recorded as given.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tracefood.ledger import Ledger, NewEntry

DEMO_NAMESPACE = uuid.UUID("6f1c2b1e-3a53-4d5e-9a53-7c1f0d2f5a10")

FARM = "urn:epc:id:sgln:0614141.07346.0"  # Ferme Beauregard, Sherrington (Montérégie)
PACKER = "urn:epc:id:sgln:0614141.07347.0"  # Emballages Jardins-de-Napierville
LACOLLE = "urn:epc:id:sgln:0614141.07348.0"  # Lacolle, QC port of entry
CHAMPLAIN = "urn:epc:id:sgln:0614141.07349.0"  # Champlain, NY port of entry
DISTRIBUTOR = "urn:epc:id:sgln:0614141.07350.0"  # Hunts Point distributor, Bronx NY

HARVEST_LOT = "urn:epc:class:lgtin:0614141.107346.RL-2026-0612-A"
PACKED_LOT = "urn:epc:class:lgtin:0614141.107346.PK-2026-0613-07"
PALLET = "urn:epc:id:sscc:0614141.1234567890"
BILL_OF_LADING = [{"type": "bol", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:BOL-88213"}]


def _event(time: str, step: str, disposition: str, where: str, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "-04:00",
        "action": "OBSERVE",
        "bizStep": step,
        "disposition": disposition,
        "readPoint": {"id": where},
        "bizLocation": {"id": where},
    }
    event.update(extra)
    return event


def demo_events() -> list[dict[str, Any]]:
    qty = [{"epcClass": PACKED_LOT, "quantity": 480, "uom": "CS"}]
    return [
        _event(
            "2026-06-12T07:30:00-04:00",
            "commissioning",
            "active",
            FARM,
            action="ADD",
            quantityList=[{"epcClass": HARVEST_LOT, "quantity": 1200, "uom": "KGM"}],
        ),
        _event(
            "2026-06-12T11:00:00-04:00",
            "storing",
            "active",
            FARM,
            quantityList=[{"epcClass": HARVEST_LOT, "quantity": 1200, "uom": "KGM"}],
        ),
        {
            "type": "TransformationEvent",
            "eventTime": "2026-06-13T08:15:00-04:00",
            "eventTimeZoneOffset": "-04:00",
            "bizStep": "commissioning",
            "disposition": "active",
            "readPoint": {"id": PACKER},
            "inputQuantityList": [{"epcClass": HARVEST_LOT, "quantity": 1200, "uom": "KGM"}],
            "outputQuantityList": qty,
        },
        {
            "type": "AggregationEvent",
            "eventTime": "2026-06-13T14:00:00-04:00",
            "eventTimeZoneOffset": "-04:00",
            "action": "ADD",
            "bizStep": "loading",
            "disposition": "in_progress",
            "parentID": PALLET,
            "childQuantityList": qty,
            "readPoint": {"id": PACKER},
        },
        _event(
            "2026-06-13T16:00:00-04:00",
            "shipping",
            "in_transit",
            PACKER,
            epcList=[PALLET],
            bizTransactionList=BILL_OF_LADING,
        ),
        _event("2026-06-13T18:10:00-04:00", "departing", "in_transit", LACOLLE, epcList=[PALLET]),
        _event("2026-06-13T18:40:00-04:00", "arriving", "in_transit", CHAMPLAIN, epcList=[PALLET]),
        _event(
            "2026-06-14T04:20:00-04:00",
            "receiving",
            "in_progress",
            DISTRIBUTOR,
            epcList=[PALLET],
            bizTransactionList=BILL_OF_LADING,
        ),
    ]


@dataclass(frozen=True)
class DemoResult:
    appended: int
    existing: int


def load_demo(ledger: Ledger) -> DemoResult:
    items = [
        NewEntry(event, entry_id=f"urn:uuid:{uuid.uuid5(DEMO_NAMESPACE, str(i))}", party="demo")
        for i, event in enumerate(demo_events())
    ]
    receipts = ledger.append_batch(items)
    created = sum(r.created for r in receipts)
    return DemoResult(created, len(receipts) - created)
