"""Recording readable events: EPCIS form, projections, validation, atomicity, idempotency.

Each scenario runs on a SQLite file and on PostgreSQL through the public EventStore.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from tests.epcis.test_validate import SCHEMA
from tests.factories import LOCATIONS, PALLET, PRODUCTS, World, harvest, receive, ship, t
from tracefood.chain import lots as lots_view
from tracefood.chain.export import export_document
from tracefood.chain.rebuild import rebuild
from tracefood.chain.stored import stored_event
from tracefood.chain.tables import lot_links, stock
from tracefood.epcis.event_hash import event_hash_id
from tracefood.epcis.gs1_keys import gln_uri, lot_uri
from tracefood.epcis.readable import CONTEXT
from tracefood.epcis.validate import check_document
from tracefood.errors import Conflict, Forbidden, InvalidEntry

ROMAINE = lot_uri(PRODUCTS[0]["gtin"], "A1")
BAD_CHECK_DIGIT = f"https://id.gs1.org/01/{PRODUCTS[0]['gtin'][:-1]}{(int(PRODUCTS[0]['gtin'][-1]) + 1) % 10}/10/A1"
MIX = lot_uri(PRODUCTS[2]["gtin"], "M1")
FIELD_A = gln_uri(LOCATIONS[0]["gln"])
PACKHOUSE = gln_uri(LOCATIONS[2]["gln"])


def errors_of(exc: pytest.ExceptionInfo[Any]) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in exc.value.errors}


def on_hand(world: World, lot: str = ROMAINE) -> dict[str, str | None]:
    detail = lots_view.lot_detail(world.ledger.engine, lot)
    return {s["location"]: s["quantity"] for s in detail["on_hand"]}


def test_events__harvest_is_an_epcis_commissioning_event(world: World) -> None:
    (receipt,) = world.record("farm-a", harvest(qty="120.5"))
    assert receipt.created and receipt.seq == 0
    assert receipt.event_id == receipt.hash_id and receipt.hash_id.startswith("ni:///sha-256;")
    envelope, event = stored_event(world.ledger.entry(0).body)
    assert envelope["party"] == "farm-a"
    assert event["type"] == "ObjectEvent" and event["action"] == "ADD"
    assert event["bizStep"] == "commissioning" and event["disposition"] == "active"
    assert event["quantityList"] == [{"epcClass": ROMAINE, "quantity": 120.5, "uom": "KGM"}]
    assert event["bizLocation"] == {"id": FIELD_A}
    assert event["ilmd"]["tf:harvestDate"] == "2026-08-01"
    # the hash ID is recomputable from the exported event
    assert event_hash_id(event, CONTEXT) == receipt.hash_id
    assert on_hand(world) == {FIELD_A: "120.5"}


def test_events__ship_and_receive_move_stock(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="60"))
    detail = lots_view.lot_detail(world.ledger.engine, ROMAINE)
    assert detail["shipments"][0]["status"] == "in_transit"
    world.record("packer", receive(qty="60"))
    assert on_hand(world) == {
        FIELD_A: "40",
        PACKHOUSE: "60",
    }
    detail = lots_view.lot_detail(world.ledger.engine, ROMAINE)
    assert [s["status"] for s in detail["shipments"]] == ["received"]
    assert [h["kind"] for h in detail["history"]] == ["harvest", "ship", "receive"]


def test_events__resubmission_returns_the_existing_receipt(world: World) -> None:
    (first,) = world.record("farm-a", harvest())
    (again,) = world.record("farm-a", harvest())
    assert again.created is False
    assert (again.seq, again.hash_id, again.leaf_hash) == (first.seq, first.hash_id, first.leaf_hash)
    assert world.ledger.size() == 1


def test_events__same_event_by_epcis_capture_is_recognised(world: World) -> None:
    (first,) = world.record("farm-a", harvest())
    _, event = stored_event(world.ledger.entry(0).body)
    event.pop("recordTime")
    event["eventID"] = "urn:uuid:6f3b1c2a-0000-4000-8000-000000000001"  # another id: same content
    doc = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-08-02T00:00:00Z",
        "epcisBody": {"eventList": [event]},
    }
    (again,) = world.store.capture(doc, world.actor("farm-a"))
    assert again.created is False and again.seq == first.seq and again.hash_id == first.hash_id
    assert world.ledger.size() == 1


@pytest.mark.parametrize(
    ("event", "field", "reason"),
    [
        (harvest(product="kale"), "/items/0/product", "unknown product"),
        (harvest(location="nowhere"), "/location", "unknown location"),
        ({**harvest(), "time": "2026-08-01 08:00"}, "/time", "RFC 3339"),
        ({**harvest(), "time": "2099-01-01T00:00:00Z"}, "/time", "future"),
        ({**harvest(), "colour": "green"}, "/colour", "unknown field"),
        ({**harvest(), "kind": "teleport"}, "/kind", "must be one of"),
        (harvest(qty="-3"), "/items/0/quantity", ">= 0"),
        (harvest(qty="1.1234567"), "/items/0/quantity", "6 decimal places"),
        (
            {**harvest(), "items": [{"id": BAD_CHECK_DIGIT, "quantity": "1"}]},
            "/items/0/id",
            "check digit",
        ),
        ({**ship(), "reference": {"type": "napkin", "number": "1"}}, "/reference/type", "business transaction type"),
        ({**ship(), "reference": None}, "/reference", "required"),
        ({**ship(), "to": "atlantis"}, "/to", "unknown location"),
    ],
)
def test_events__invalid_field_is_named(world: World, event: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-a", event)
    found = errors_of(exc)
    assert field in found, found
    assert reason in found[field]
    assert world.ledger.size() == 0


def test_events__shipping_more_than_on_hand_is_refused(world: World) -> None:
    world.record("farm-a", harvest(qty="100"))
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-a", ship(qty="100.5"))
    assert "only 100" in errors_of(exc)["/items/0/quantity"]
    assert world.ledger.size() == 1


def test_events__receiving_what_was_not_shipped_to_you_is_refused(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(to="dc-ny"))
    with pytest.raises(InvalidEntry) as exc:
        world.record("packer", receive())
    assert "not shipped to" in errors_of(exc)["/items/0"]


def test_events__receiving_more_than_shipped_is_refused(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="40"))
    with pytest.raises(InvalidEntry) as exc:
        world.record("packer", receive(qty="50"))
    assert "only 40 was shipped" in errors_of(exc)["/items/0/quantity"]


def test_events__event_before_the_lot_existed_is_refused(world: World) -> None:
    world.record("farm-a", harvest(day=5))
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-a", ship(day=4))
    assert "before" in errors_of(exc)["/time"]


def test_events__a_location_you_do_not_operate_is_refused(world: World) -> None:
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-b", harvest(location="field-a"))
    assert "operated by farm-a" in " ".join(errors_of(exc).values())


def test_events__a_lot_held_by_another_party_cannot_be_shipped(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship())
    world.record("packer", receive())
    with pytest.raises(InvalidEntry):
        world.record("farm-a", ship(frm="packhouse"))


def test_events__unknown_lot_cannot_be_shipped(world: World) -> None:
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-a", ship(lot="NEVER"))
    assert "unknown lot" in errors_of(exc)["/items/0"]


def test_events__a_list_is_atomic_and_names_every_index(world: World) -> None:
    batch = [harvest(lot="B1"), ship(lot="B1", qty="500"), {**harvest(), "time": "yesterday"}]
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-a", batch)
    assert "/2/time" in errors_of(exc)
    assert world.ledger.size() == 0
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-a", batch[:2])
    assert "/1/items/0/quantity" in errors_of(exc)
    assert world.ledger.size() == 0
    with world.ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lots")).scalar_one() == 0
    receipts = world.record("farm-a", [harvest(lot="B1"), ship(lot="B1", qty="50")])
    assert [r.seq for r in receipts] == [0, 1]


def test_events__transform_links_inputs_to_outputs(world: World) -> None:
    world.record("farm-a", harvest(lot="A1"))
    world.record("farm-b", harvest(lot="S1", product="spinach", location="field-b"))
    world.record("farm-a", ship(lot="A1", qty="100"))
    world.record("farm-b", ship(lot="S1", qty="50", product="spinach", frm="field-b", number="B-2"))
    world.record("packer", receive(lot="A1"))
    world.record("packer", receive(lot="S1", qty="50", product="spinach", frm="field-b", number="B-2"))
    mix = {
        "kind": "transform",
        "time": t(4),
        "location": "packhouse",
        "inputs": [
            {"product": "romaine", "lot": "A1", "quantity": "80"},
            {"product": "spinach", "lot": "S1", "quantity": "50"},
        ],
        "outputs": [{"product": "mix", "lot": "M1", "quantity": "200"}],
    }
    world.record("packer", mix)
    detail = lots_view.lot_detail(world.ledger.engine, MIX)
    assert sorted(i["id"] for i in detail["inputs"]) == [ROMAINE, "urn:tracefood:lot:spinach:S1"]
    assert detail["tlc_source"] == PACKHOUSE
    assert on_hand(world)[PACKHOUSE] == "20"
    with world.ledger.engine.connect() as conn:
        assert conn.execute(select(lot_links.c.quantity).order_by(lot_links.c.id)).scalars().all() == [
            80_000_000,
            50_000_000,
        ]
    # exported, the whole chain is a valid EPCIS 2.0 document (CBV terms only: a transformation's
    # bizStep is commissioning) that a strict capture takes back as the same events
    document = export_document(world.ledger.engine)
    assert check_document(document) == [] and not list(SCHEMA.iter_errors(document))
    (again,) = world.store.capture(export_document(world.ledger.engine, seqs=[6]), world.actor("packer"))
    assert not again.created and again.seq == 6 and world.ledger.size() == 7


def test_events__pallet_contents_travel_with_it(world: World) -> None:
    world.record("farm-a", harvest())
    world.record(
        "farm-a",
        {
            "kind": "aggregate",
            "time": t(2),
            "location": "field-a",
            "parent": PALLET,
            "items": [{"product": "romaine", "lot": "A1", "quantity": "100"}],
        },
    )
    world.record(
        "farm-a",
        {
            "kind": "ship",
            "time": t(3),
            "location": "field-a",
            "to": "dc-ny",
            "carrier": "carrier",
            "containers": [PALLET],
            "reference": {"type": "bol", "number": "P-1"},
        },
    )
    world.record(
        "carrier",
        {
            "kind": "border_crossing",
            "time": t(3, "12:00"),
            "location": "lacolle",
            "direction": "departing",
            "containers": [PALLET],
        },
    )
    world.record(
        "dist",
        {
            "kind": "receive",
            "time": t(4),
            "location": "dc-ny",
            "containers": [PALLET],
            "reference": {"type": "bol", "number": "P-1"},
        },
    )
    assert on_hand(world) == {"urn:tracefood:loc:dc-ny": "100"}
    kinds = [(h["kind"], h["role"]) for h in lots_view.lot_detail(world.ledger.engine, ROMAINE)["history"]]
    assert kinds == [
        ("harvest", "epc"),
        ("aggregate", "child"),
        ("ship", "content"),
        ("border_crossing", "content"),
        ("receive", "content"),
    ]


def test_events__a_carrier_crosses_only_with_lots_in_transit(world: World) -> None:
    world.record("farm-a", harvest())
    crossing = {
        "kind": "border_crossing",
        "time": t(3),
        "location": "lacolle",
        "direction": "departing",
        "items": [{"product": "romaine", "lot": "A1"}],
    }
    with pytest.raises(InvalidEntry) as exc:
        world.record("carrier", crossing)
    assert "not in transit" in errors_of(exc)["/items/0"]


@pytest.mark.parametrize("role", ["recall_officer", "admin"])
def test_events__readers_cannot_record(world: World, role: str) -> None:
    with pytest.raises(Forbidden):
        world.store.record(harvest(), world.actor("farm-a", role))


def test_events__an_inspector_records_inspections_only(world: World) -> None:
    world.record("farm-a", harvest())
    with pytest.raises(Forbidden):
        world.store.record(harvest(lot="X"), world.actor("agency"))
    world.record(
        "agency",
        {
            "kind": "inspect",
            "time": t(2),
            "location": "field-a",
            "result": "non_conformant",
            "items": [{"product": "romaine", "lot": "A1"}],
            "temperature": "4.5",
        },
    )
    assert lots_view.lot_detail(world.ledger.engine, ROMAINE)["status"] == "on_hold"


def test_events__destroy_removes_stock(world: World) -> None:
    world.record("farm-a", harvest(qty="10"))
    world.record(
        "farm-a",
        {
            "kind": "destroy",
            "time": t(2),
            "location": "field-a",
            "items": [{"product": "romaine", "lot": "A1", "quantity": "10"}],
        },
    )
    detail = lots_view.lot_detail(world.ledger.engine, ROMAINE)
    assert detail["status"] == "destroyed" and detail["on_hand"] == []
    with pytest.raises(InvalidEntry):
        world.record("farm-a", ship(qty="1"))


def test_events__reused_event_id_is_a_conflict(world: World) -> None:
    world.record("farm-a", {**harvest(lot="E1"), "event_id": "urn:uuid:11111111-2222-4333-8444-555555555555"})
    with pytest.raises(Conflict) as exc:
        world.record("farm-a", {**harvest(lot="E2"), "event_id": "urn:uuid:11111111-2222-4333-8444-555555555555"})
    assert exc.value.errors[0]["field"] == "/event_id"
    assert world.ledger.size() == 1


def test_events__projections_rebuild_identically(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="60"))
    world.record("packer", receive(qty="60"))
    report = rebuild(world.ledger.engine)
    assert report.ok and report.events == 3


def test_events__a_tampered_projection_is_reported(world: World) -> None:
    world.record("farm-a", harvest())
    with world.ledger.engine.begin() as conn:
        conn.execute(stock.update().values(quantity=1))
    report = rebuild(world.ledger.engine)
    assert not report.ok
    assert {d["table"] for d in report.differences} == {"stock"}
    assert {d["code"] for d in report.differences} == {"projection-missing", "projection-unexpected"}


def test_events__a_partial_receipt_leaves_the_rest_in_transit(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="100"))
    world.record("packer", receive(qty="60"))
    detail = lots_view.lot_detail(world.ledger.engine, ROMAINE)
    assert sorted((s["status"], s["quantity"]) for s in detail["shipments"]) == [
        ("in_transit", "40"),
        ("received", "60"),
    ]
    world.record("packer", receive(qty="40", day=4))
    assert on_hand(world) == {PACKHOUSE: "100"}
    assert rebuild(world.ledger.engine).ok


def test_events__a_receipt_closes_the_shipment_of_its_reference(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="30", number="BOL-1"))
    world.record("farm-a", ship(qty="50", number="BOL-2", day=2))
    world.record("packer", receive(qty="50", number="BOL-2"))
    shipments = lots_view.lot_detail(world.ledger.engine, ROMAINE)["shipments"]
    status = {s["reference"].rsplit(":", 1)[-1]: s["status"] for s in shipments}
    assert status == {"BOL-1": "in_transit", "BOL-2": "received"}


@pytest.mark.parametrize("time", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_events__a_time_that_cannot_be_placed_in_utc_is_refused(world: World, time: str) -> None:
    with pytest.raises(InvalidEntry) as exc:
        world.record("farm-a", {**harvest(), "time": time})
    assert "/time" in errors_of(exc)


def test_events__a_producer_sees_where_its_lots_are_now(world: World) -> None:
    world.record("farm-a", harvest())
    world.record("farm-a", ship(qty="100"))
    world.record("packer", receive(qty="100"))
    mine = lots_view.list_lots(world.ledger.engine, party_id="farm-a")
    assert [(lot["id"], [p["location"] for p in lot["on_hand"]]) for lot in mine] == [(ROMAINE, [PACKHOUSE])]
    held = lots_view.list_lots(world.ledger.engine, party_id="packer")
    assert [lot["id"] for lot in held] == [ROMAINE]
    assert lots_view.list_lots(world.ledger.engine, party_id="farm-b") == []
