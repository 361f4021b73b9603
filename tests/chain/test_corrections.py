"""EPCIS error declarations undo what the declared event did to stock, shipments and contents.

Each test records a small chain, declares one event erroneous (the event again, with an
``errorDeclaration``, captured by the party that recorded it) and checks where the goods are
then, that the correct event can be recorded in its place, and that a replay of the ledger
gives the same projections.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.chain.test_events import FIELD_A, MIX, PACKHOUSE, ROMAINE, on_hand
from tests.factories import PALLET, PRODUCTS, World, epcis_document, gln, harvest, receive, ship, t
from tracefood.chain import lots as lots_view
from tracefood.chain import recalls, trace
from tracefood.chain.export import export_document
from tracefood.chain.rebuild import rebuild
from tracefood.chain.tables import shipments
from tracefood.epcis.gs1_keys import gln_uri, lot_uri
from tracefood.errors import Forbidden, InvalidEntry, NotFound


def declare_erroneous(world: World, party: str, seq: int) -> None:
    document = export_document(world.ledger.engine, seqs=[seq])  # its @context names the tf: fields
    (event,) = document["epcisBody"]["eventList"]
    event.pop("recordTime", None)
    event["errorDeclaration"] = {"declarationTime": "2026-08-20T12:00:00Z", "reason": "incorrect_data"}
    world.store.capture(document, world.actor(party))


def statuses(world: World) -> list[str]:
    with world.ledger.engine.connect() as conn:
        return list(conn.execute(select(shipments.c.status).order_by(shipments.c.id)).scalars())


def same_after_replay(world: World) -> bool:
    return rebuild(world.ledger.engine).ok


def test_corrections__a_shipment_in_transit_goes_back_to_its_origin(world: World) -> None:
    world.record("farm-a", harvest())
    (shipped,) = world.record("farm-a", ship(qty="60"))
    assert on_hand(world) == {FIELD_A: "40"}
    declare_erroneous(world, "farm-a", shipped.seq)
    assert on_hand(world) == {FIELD_A: "100"} and statuses(world) == ["corrected"]
    # the packer cannot receive what was never (validly) shipped; the farm ships again
    with pytest.raises(InvalidEntry):
        world.record("packer", receive(qty="60"))
    world.record("farm-a", ship(qty="70", number="BOL-2"))
    world.record("packer", receive(qty="70", number="BOL-2"))
    assert on_hand(world) == {FIELD_A: "30", PACKHOUSE: "70"}
    assert same_after_replay(world)


def test_corrections__a_receipt_declared_erroneous_puts_the_goods_back_in_transit(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="60"))
    (received,) = world.record("packer", receive(qty="60"))
    declare_erroneous(world, "packer", received.seq)
    assert on_hand(world) == {FIELD_A: "40"} and statuses(world) == ["in_transit"]
    world.record("packer", receive(qty="60", day=4))
    assert on_hand(world) == {FIELD_A: "40", PACKHOUSE: "60"}
    assert same_after_replay(world)


def test_corrections__a_received_shipment_declared_erroneous_is_taken_back(world: World) -> None:
    world.record("farm-a", harvest())
    (shipped,) = world.record("farm-a", ship(qty="60"))
    (received,) = world.record("packer", receive(qty="60"))
    with pytest.raises(InvalidEntry, match="declares its receipt erroneous first"):  # issue 12
        declare_erroneous(world, "farm-a", shipped.seq)
    declare_erroneous(world, "packer", received.seq)  # the receiver's stock is the receiver's
    declare_erroneous(world, "farm-a", shipped.seq)
    assert on_hand(world) == {FIELD_A: "100"} and statuses(world) == ["corrected"]
    forward = trace.trace(world.ledger.engine, ROMAINE, "forward")
    assert {(h["location"], h["quantity"]) for h in forward["holders"]} == {(FIELD_A, "100")}
    assert same_after_replay(world)


def test_corrections__a_harvest_declared_erroneous_leaves_no_stock(world: World) -> None:
    (harvested,) = world.record("farm-a", harvest(qty="100"))
    world.record("farm-a", ship(qty="30"))
    declare_erroneous(world, "farm-a", harvested.seq)
    assert on_hand(world) == {}  # the 70 left are gone; the 30 in transit are the shipper's matter
    assert same_after_replay(world)


def test_corrections__a_transformation_declared_erroneous_gives_the_inputs_back(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="100"))
    world.record("packer", receive(qty="100"))
    mix = {
        "kind": "transform",
        "time": t(4),
        "location": "packhouse",
        "inputs": [{"product": "romaine", "lot": "A1", "quantity": "80"}],
        "outputs": [{"product": "mix", "lot": "M1", "quantity": "200"}],
    }
    (made,) = world.record("packer", mix)
    assert on_hand(world) == {PACKHOUSE: "20"} and on_hand(world, MIX) == {PACKHOUSE: "200"}
    declare_erroneous(world, "packer", made.seq)
    assert on_hand(world) == {PACKHOUSE: "100"} and on_hand(world, MIX) == {}
    assert trace.trace(world.ledger.engine, ROMAINE, "forward")["lots"] == [ROMAINE]
    assert same_after_replay(world)


def test_corrections__a_destruction_declared_erroneous_restores_the_lot(world: World) -> None:
    world.record("farm-a", harvest())
    destroy = {"kind": "destroy", "time": t(2), "location": "field-a", "reason": "flooded",
               "items": [{"product": "romaine", "lot": "A1", "quantity": "100"}]}  # fmt: skip
    (destroyed,) = world.record("farm-a", destroy)
    assert lots_view.lot_detail(world.ledger.engine, ROMAINE)["status"] == "destroyed"
    declare_erroneous(world, "farm-a", destroyed.seq)
    detail = lots_view.lot_detail(world.ledger.engine, ROMAINE)
    assert detail["status"] == "active" and on_hand(world) == {FIELD_A: "100"}
    world.record("farm-a", ship(qty="100"))  # the lot can move again
    assert same_after_replay(world)


def test_corrections__a_loading_declared_erroneous_empties_the_pallet(world: World) -> None:
    world.record("farm-a", harvest())
    load: dict[str, Any] = {"kind": "aggregate", "time": t(2), "location": "field-a", "parent": PALLET,
                            "items": [{"product": "romaine", "lot": "A1", "quantity": "40"}]}  # fmt: skip
    (loaded,) = world.record("farm-a", load)
    declare_erroneous(world, "farm-a", loaded.seq)
    pallet_ship = {"kind": "ship", "time": t(3), "location": "field-a", "to": "packhouse", "containers": [PALLET],
                   "reference": {"type": "bol", "number": "BOL-P"}}  # fmt: skip
    world.record("farm-a", pallet_ship)
    assert on_hand(world) == {FIELD_A: "100"}  # nothing of A1 travelled with the pallet
    assert trace.trace(world.ledger.engine, ROMAINE, "forward")["containers"] == []
    assert same_after_replay(world)


# --- declarations over EPCIS captures (first sightings, lenient clamps, order, who) ----------------

CLASS = f"urn:epc:class:lgtin:{PRODUCTS[0]['gtin'][1:8]}.{PRODUCTS[0]['gtin'][0]}{PRODUCTS[0]['gtin'][8:13]}."
R1 = lot_uri(PRODUCTS[0]["gtin"], "R1")
BARN = gln_uri(gln("754000000999"))  # a valid GLN no one registered
SHED = gln_uri(gln("754000000998"))  # another


def captured(time: str, where: str, **fields: Any) -> dict[str, Any]:
    return {"eventTime": time, "eventTimeZoneOffset": "+00:00", "bizLocation": {"id": where}, **fields}


def r1(qty: int) -> list[dict[str, Any]]:
    return [{"epcClass": CLASS + "R1", "quantity": qty, "uom": "KGM"}]


def commission(qty: int) -> dict[str, Any]:
    return captured(at(1), BARN, type="ObjectEvent", action="ADD", bizStep="commissioning", quantityList=r1(qty))


def destroy(qty: int, day: int = 3) -> dict[str, Any]:
    return captured(at(day), BARN, type="ObjectEvent", action="DELETE", bizStep="destroying", quantityList=r1(qty))


def at(day: int) -> str:
    return f"2026-09-{day:02d}T08:00:00Z"


def declared(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "errorDeclaration": {"declarationTime": "2026-09-20T12:00:00Z", "reason": "incorrect_data"}}


def capture(world: World, party: str, *events: dict[str, Any], lenient: bool = False) -> None:
    world.store.import_document(epcis_document(*events), world.actor(party), lenient=lenient)


def test_corrections__only_the_recording_party_may_declare(world: World) -> None:
    capture(world, "farm-a", commission(100))
    with pytest.raises(Forbidden, match="only farm-a"):
        capture(world, "packer", declared(commission(100)))
    assert on_hand(world, R1) == {BARN: "100"} and world.ledger.size() == 1


def test_corrections__what_is_undone_is_what_the_event_did(world: World) -> None:
    # a lenient over-shipment took the 10 there were, not the 100 it asked for
    shipping = captured(at(2), BARN, type="ObjectEvent", action="OBSERVE", bizStep="shipping", quantityList=r1(100))
    capture(world, "farm-a", commission(10), shipping, lenient=True)
    assert on_hand(world, R1) == {}
    capture(world, "farm-a", declared(shipping), lenient=True)
    assert on_hand(world, R1) == {BARN: "10"}
    capture(world, "farm-a", destroy(5, day=4))  # 5 of the 10: destroyed leaves 5
    # a party that never held R1 neither destroys nor receives it (issue 12: it used to be a
    # "first sighting" there), and nothing is written
    size = world.ledger.size()
    elsewhere = captured(at(4), PACKHOUSE, type="ObjectEvent", action="DELETE", bizStep="destroying",
                         quantityList=r1(50))  # fmt: skip
    with pytest.raises(InvalidEntry, match="not in your custody"):
        capture(world, "packer", elsewhere)
    stray = captured(at(5), PACKHOUSE, type="ObjectEvent", action="OBSERVE", bizStep="receiving",
                     quantityList=r1(40))  # fmt: skip
    with pytest.raises(InvalidEntry, match="not shipped to"):
        capture(world, "packer", stray)
    assert world.ledger.size() == size and on_hand(world, R1) == {BARN: "5"}
    # nor does its holder receive what nothing was shipped for, except in a lenient import of
    # another system's export (which often lacks the shipping): undoing that takes it back
    receipt = captured(at(5), SHED, type="ObjectEvent", action="OBSERVE", bizStep="receiving",
                       quantityList=r1(40))  # fmt: skip
    with pytest.raises(InvalidEntry, match="not shipped to"):
        capture(world, "farm-a", receipt)
    capture(world, "farm-a", receipt, lenient=True)
    assert on_hand(world, R1) == {BARN: "5", SHED: "40"}
    capture(world, "farm-a", declared(receipt), lenient=True)
    assert on_hand(world, R1) == {BARN: "5"}
    assert same_after_replay(world)


def test_corrections__an_event_declared_before_it_arrives_changes_nothing(world: World) -> None:
    capture(world, "farm-a", declared(commission(100)))
    capture(world, "farm-a", commission(100))
    assert world.ledger.size() == 2
    with pytest.raises(NotFound):  # its only events say it was never there
        trace.trace(world.ledger.engine, R1, "back")
    assert same_after_replay(world)


def test_corrections__an_event_and_its_declaration_in_one_lenient_document(world: World) -> None:
    receipts, repairs = world.store.import_document(
        epcis_document(declared(commission(100)), commission(100)), world.actor("farm-a"), lenient=True
    )
    assert repairs == [] and len({r.seq for r in receipts}) == 2  # one eventID: the event and its declaration
    assert on_hand(world, R1) == {}
    assert same_after_replay(world)


def test_corrections__undoing_a_destruction_keeps_a_hold(world: World) -> None:
    hold = captured(at(2), BARN, type="ObjectEvent", action="OBSERVE", bizStep="inspecting",
                    disposition="non_conformant", quantityList=r1(100))  # fmt: skip
    capture(world, "farm-a", commission(100), hold)
    capture(world, "farm-a", destroy(100))
    capture(world, "farm-a", declared(destroy(100)))
    assert lots_view.lot_detail(world.ledger.engine, R1)["status"] == "on_hold"
    assert same_after_replay(world)


def test_corrections__rebuild_keeps_recalls(world: World) -> None:
    world.record("farm-a", harvest())
    recall = {"seeds": {"lots": [ROMAINE]}, "class": "I", "reason": "E. coli O157:H7"}
    recalls.issue(world.ledger, recall, world.actor("agency", "recall_officer"))
    assert same_after_replay(world)
    assert rebuild(world.ledger.engine, commit=True).ok
    assert lots_view.lot_detail(world.ledger.engine, ROMAINE)["status"] == "recalled"
