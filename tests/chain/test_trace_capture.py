"""Trace over EPCIS captures from other systems: events that reach the ledger late, and
serialised items (an animal's ear tag, a case with a serial number) rather than lots.

Identifiers: romaine (GTIN ROMAINE) lots R1 and R2, pallet P (SSCC), the farm's GLN location.
"""

from __future__ import annotations

from typing import Any

from tests.factories import LOCATIONS, PALLET, PRODUCTS, World, epcis_document
from tracefood.chain import trace
from tracefood.chain.pending import EventReceipt
from tracefood.epcis.gs1_keys import gln_uri, lot_uri, sscc_uri

ROMAINE = PRODUCTS[0]["gtin"]
FIELD_A = gln_uri(LOCATIONS[0]["gln"])
R1, R2 = lot_uri(ROMAINE, "R1"), lot_uri(ROMAINE, "R2")
P = sscc_uri(PALLET)
# EPC URN forms: company prefix (7 digits here), then the indicator digit and item reference
CLASS = f"urn:epc:class:lgtin:{ROMAINE[1:8]}.{ROMAINE[0]}{ROMAINE[8:13]}."
PALLET_URN = f"urn:epc:id:sscc:{PALLET[1:8]}.{PALLET[0]}{PALLET[8:17]}"


def at(day: int, hour: int = 8) -> str:
    return f"2026-09-{day:02d}T{hour:02d}:00:00Z"


def base(time: str, **fields: Any) -> dict[str, Any]:
    return {"eventTime": time, "eventTimeZoneOffset": "+00:00", "bizLocation": {"id": FIELD_A}, **fields}


def commission(lot: str, qty: int, time: str) -> dict[str, Any]:
    quantities = [{"epcClass": CLASS + lot, "quantity": qty, "uom": "KGM"}]
    return base(time, type="ObjectEvent", action="ADD", bizStep="commissioning", quantityList=quantities)


def pack(lot: str | None, time: str, action: str = "ADD") -> dict[str, Any]:
    event = base(time, type="AggregationEvent", action=action, parentID=PALLET_URN)
    event["bizStep"] = "packing" if action == "ADD" else "unpacking"
    if lot is not None:
        event["childQuantityList"] = [{"epcClass": CLASS + lot, "quantity": 10, "uom": "KGM"}]
    return event


def ship_pallet(time: str) -> dict[str, Any]:
    return base(time, type="ObjectEvent", action="OBSERVE", bizStep="shipping", epcList=[PALLET_URN])


def capture(world: World, *events: dict[str, Any]) -> list[EventReceipt]:
    return world.store.capture(epcis_document(*events), world.actor("farm-a"))


def test_trace_capture__an_unloading_that_arrives_late_is_placed_when_it_happened(world: World) -> None:
    """R1 is loaded on P on the 2nd and shipped on the 3rd; R2 is loaded on P on the 6th and
    shipped on the 7th. The unloading of R1 (the 4th, no children named: "everything") reaches
    the ledger only after R2's loading: it must not unload R2, and R1 must not inherit the 7th."""
    first = capture(world, commission("R1", 10, at(1)), commission("R2", 10, at(1)), pack("R1", at(2)),
                    ship_pallet(at(3)), pack("R2", at(6)))  # fmt: skip
    (late,) = capture(world, pack(None, at(4), "DELETE"))
    (second_trip,) = capture(world, ship_pallet(at(7)))
    r1 = trace.trace(world.ledger.engine, R1, "forward")
    assert r1["containers"] == [P]
    assert set(r1["events"]) == {first[0].event_id, first[2].event_id, first[3].event_id, late.event_id}
    r2 = trace.trace(world.ledger.engine, R2, "forward")
    assert set(r2["events"]) == {first[1].event_id, first[4].event_id, second_trip.event_id}
    from_pallet = trace.trace(world.ledger.engine, P, "forward")
    assert set(from_pallet["lots"]) == {R1, R2}


def test_trace_capture__serialised_items_trace_like_lots(world: World) -> None:
    """Two tagged animals (SGTIN serials 1001, 1002) go into one carcass lot (a transformation
    with input EPCs); another animal (1003) does not."""
    animal = f"urn:epc:id:sgtin:{ROMAINE[1:8]}.{ROMAINE[0]}{ROMAINE[8:13]}."
    commissioned = capture(
        world,
        base(at(1), type="ObjectEvent", action="ADD", bizStep="commissioning",
             epcList=[animal + "1001", animal + "1002", animal + "1003"]),
    )  # fmt: skip
    (made,) = capture(
        world,
        base(at(5), type="TransformationEvent", bizStep="commissioning",
             inputEPCList=[animal + "1001", animal + "1002"],
             outputQuantityList=[{"epcClass": CLASS + "C1", "quantity": 300, "uom": "KGM"}]),
    )  # fmt: skip
    carcass = lot_uri(ROMAINE, "C1")
    back = trace.trace(world.ledger.engine, carcass, "back")
    tags = {f"https://id.gs1.org/01/{ROMAINE}/21/{n}" for n in ("1001", "1002")}
    assert set(back["lots"]) == {carcass} | tags
    assert set(back["events"]) == {commissioned[0].event_id, made.event_id}
    # from the item, in its URN or Digital Link form
    for form in (animal + "1001", f"https://id.gs1.org/01/{ROMAINE}/21/1001"):
        assert set(trace.trace(world.ledger.engine, form, "forward")["lots"]) == {
            f"https://id.gs1.org/01/{ROMAINE}/21/1001",
            carcass,
        }
    assert trace.trace(world.ledger.engine, animal + "1003", "forward")["lots"] == [
        f"https://id.gs1.org/01/{ROMAINE}/21/1003"
    ]
