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

from tests.factories import PALLET, World, harvest, receive, ship, t
from tests.ledger.test_events import FIELD_A, MIX, PACKHOUSE, ROMAINE, on_hand
from tracefood.errors import InvalidEntry
from tracefood.ledger import lots_view, trace
from tracefood.ledger.export import export_document
from tracefood.ledger.rebuild import rebuild
from tracefood.ledger.tables import shipments


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
    world.record("packer", receive(qty="60"))
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
