"""EPCIS 2.0 capture over HTTP against the GS1 and OpenEPCIS vectors, on both engines."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import VECTORS
from tests.factories import World, epcis_document
from tracefood.chain.export import export_document
from tracefood.epcis.event_hash import event_hash_id

GS1 = VECTORS / "epcis" / "gs1-examples"
INVALID = VECTORS / "epcis" / "invalid-capture"
GS1_DOCS = sorted(p for p in GS1.rglob("*") if p.suffix in (".json", ".jsonld"))
INVALID_DOCS = sorted(INVALID.glob("*.json"))


def auth(world: World, party: str = "packer") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[party]}", "Content-Type": "application/ld+json"}


def load(path: Path) -> Any:
    return json.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"), parse_float=Decimal)


def events_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    body = doc["epcisBody"]
    return body["eventList"] if "eventList" in body else body["queryResults"]["resultsBody"]["eventList"]


def test_capture__gs1_examples_are_all_found() -> None:
    assert len(GS1_DOCS) == 47 and len(INVALID_DOCS) == 15


@pytest.mark.parametrize("path", GS1_DOCS, ids=lambda p: p.stem)
def test_capture__every_gs1_example_is_accepted_and_exports_equivalent_events(
    served: tuple[FlaskClient, World], path: Path
) -> None:
    client, world = served
    raw = path.read_bytes()
    response = client.post("/epcis/capture", data=raw, headers=auth(world))
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"].startswith("/epcis/capture/")
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
    receipts = response.get_json()["receipts"]
    original = load(path)
    given = events_of(original)
    assert len(receipts) == len(given)
    # Equivalent on export: the same event hash IDs and, where given, the same eventIDs.
    exported = export_document(world.ledger.engine)
    out = {e["eventID"]: e for e in exported["epcisBody"]["eventList"]}
    for event, receipt in zip(given, receipts, strict=True):
        back = out[receipt["event_id"]]
        assert event_hash_id(back, exported["@context"]) == event_hash_id(event, original["@context"])
        if "eventID" in event and receipt["created"]:
            assert receipt["event_id"] == event["eventID"]
    job = client.get(response.headers["Location"], headers=auth(world))
    assert job.status_code == 200 and job.get_json()["success"] is True
    # Capturing the same document again appends nothing.
    size = world.ledger.size()
    again = client.post("/epcis/capture", data=raw, headers=auth(world))
    assert again.status_code == 202
    assert all(not r["created"] for r in again.get_json()["receipts"])
    assert world.ledger.size() == size


@pytest.mark.parametrize("path", INVALID_DOCS, ids=lambda p: p.stem)
def test_capture__every_invalid_document_is_rejected_naming_the_field(
    served: tuple[FlaskClient, World], path: Path
) -> None:
    client, world = served
    response = client.post("/epcis/capture", data=path.read_bytes(), headers=auth(world))
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["errors"] and all(e["field"].startswith("/") for e in problem["errors"])
    assert problem["errors"][0]["field"] in problem["detail"]
    assert world.ledger.size() == 0


def test_capture__needs_a_token(served: tuple[FlaskClient, World]) -> None:
    client, _ = served
    response = client.post("/epcis/capture", data=(GS1_DOCS[0]).read_bytes(), content_type="application/ld+json")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_capture__only_rollback_is_offered(served: tuple[FlaskClient, World]) -> None:
    client, world = served
    headers = auth(world) | {"GS1-EPCIS-Capture-Error-Behaviour": "proceed"}
    response = client.post("/epcis/capture", data=GS1_DOCS[0].read_bytes(), headers=headers)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "GS1-EPCIS-Capture-Error-Behaviour"


def test_capture__a_contradiction_rolls_the_whole_document_back(served: tuple[FlaskClient, World]) -> None:
    client, world = served
    lot = "https://id.gs1.org/01/09506000134352/10/LOT-9"
    doc = epcis_document(
        {
            "type": "ObjectEvent",
            "eventTime": "2026-08-01T08:00:00-04:00",
            "eventTimeZoneOffset": "-04:00",
            "action": "ADD",
            "bizStep": "commissioning",
            "bizLocation": {"id": "urn:epc:id:sgln:9506000.13435.0"},
            "quantityList": [{"epcClass": lot, "quantity": 10, "uom": "KGM"}],
        },
        {
            "type": "ObjectEvent",
            "eventTime": "2026-08-01T09:00:00-04:00",
            "eventTimeZoneOffset": "-04:00",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "readPoint": {"id": "urn:epc:id:sgln:9506000.13435.0"},
            "quantityList": [{"epcClass": lot, "quantity": 12.5, "uom": "KGM"}],
        },
    )
    response = client.post("/epcis/capture", json=doc, headers=auth(world))
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["field"] == "/epcisBody/eventList/1/quantityList/0/quantity"
    assert world.ledger.size() == 0


def test_capture__an_error_declaration_is_a_new_entry_for_the_same_event(served: tuple[FlaskClient, World]) -> None:
    client, world = served
    event = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:0b7e9c1a-5d2f-4a8e-9c3b-1f2e3d4c5b6a",
        "eventTime": "2026-08-01T08:00:00-04:00",
        "eventTimeZoneOffset": "-04:00",
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "epcList": ["https://id.gs1.org/01/09506000134352/21/ERR-1"],
    }
    doc = epcis_document(event)
    first = client.post("/epcis/capture", json=doc, headers=auth(world)).get_json()["receipts"][0]
    declared = event | {"errorDeclaration": {"declarationTime": "2026-08-02T00:00:00Z", "reason": "incorrect_data"}}
    doc["epcisBody"] = {"eventList": [declared]}
    response = client.post("/epcis/capture", json=doc, headers=auth(world))
    assert response.status_code == 202, response.get_json()
    second = response.get_json()["receipts"][0]
    assert second["created"] and second["seq"] == first["seq"] + 1
    assert second["hash_id"] == first["hash_id"]  # errorDeclaration is not part of the hash
    again = client.post("/epcis/capture", json=doc, headers=auth(world)).get_json()["receipts"][0]
    assert again["created"] is False and again["seq"] == second["seq"]


SHIP_FROM_FIELD_A = {
    "type": "ObjectEvent",
    "eventTime": "2026-08-02T08:00:00-04:00",
    "eventTimeZoneOffset": "-04:00",
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "sourceList": [{"type": "location", "source": "urn:tracefood:loc:field-a"}],
}


def _seed_field_a(world: World) -> tuple[str, str]:
    """Farm A harvests 100 of A1; returns (lot URI, field-a URI)."""
    world.record(
        "farm-a",
        {
            "kind": "harvest",
            "time": "2026-08-01T08:00:00-04:00",
            "location": "field-a",
            "items": [{"product": "romaine", "lot": "A1", "quantity": "100"}],
        },
    )
    lots = world.store.ledger.engine
    from tracefood.chain import lots as lots_view

    lot = lots_view.list_lots(lots, party_id="farm-a")[0]
    return lot["id"], lot["on_hand"][0]["location"]


def test_capture__a_producer_cannot_ship_from_a_location_it_does_not_operate(
    served: tuple[FlaskClient, World],
) -> None:
    client, world = served
    lot, field = _seed_field_a(world)
    event = SHIP_FROM_FIELD_A | {
        "sourceList": [{"type": "location", "source": field}],
        "quantityList": [{"epcClass": lot, "quantity": 60, "uom": "KGM"}],
    }
    size = world.ledger.size()
    response = client.post("/epcis/capture", json=epcis_document(event), headers=auth(world, "packer"))
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "/epcisBody/eventList/0/sourceList"
    assert world.ledger.size() == size


@pytest.mark.parametrize(
    ("party", "change"),
    [
        ("agency", {"action": "DELETE", "bizStep": "inspecting"}),
        ("agency", {"action": "ADD", "bizStep": "inspecting"}),
        ("agency", {"bizStep": "inspecting", "disposition": "recalled"}),
        ("carrier", {"bizStep": "departing", "disposition": "recalled"}),
        ("carrier", {"action": "ADD", "bizStep": "transporting"}),
    ],
)
def test_capture__carriers_and_inspectors_only_observe(
    served: tuple[FlaskClient, World], party: str, change: dict[str, str]
) -> None:
    client, world = served
    lot, field = _seed_field_a(world)
    event = {k: v for k, v in SHIP_FROM_FIELD_A.items() if k != "sourceList"} | {
        "bizLocation": {"id": field},
        "quantityList": [{"epcClass": lot, "quantity": 10, "uom": "KGM"}],
    }
    event = {k: v for k, v in (event | change).items() if not (k == "disposition" and "disposition" not in change)}
    size = world.ledger.size()
    response = client.post("/epcis/capture", json=epcis_document(event), headers=auth(world, party))
    assert response.status_code == 403, response.get_json()
    assert world.ledger.size() == size


def test_capture__a_carrier_crosses_only_with_what_it_carries(served: tuple[FlaskClient, World]) -> None:
    client, world = served
    lot, _ = _seed_field_a(world)
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-08-02T08:00:00-04:00",
        "eventTimeZoneOffset": "-04:00",
        "action": "OBSERVE",
        "bizStep": "departing",
        "disposition": "in_transit",
        "quantityList": [{"epcClass": lot}],
    }
    response = client.post("/epcis/capture", json=epcis_document(event), headers=auth(world, "carrier"))
    assert response.status_code == 422 and "not in transit" in response.get_json()["detail"]


@pytest.mark.parametrize("party", ["carrier", "agency"])
def test_capture__a_malformed_kind_from_a_restricted_role_is_a_problem(
    served: tuple[FlaskClient, World], party: str
) -> None:
    client, world = served
    response = client.post("/api/v1/events", json=[{"kind": ["x"]}], headers=auth(world, party))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def _commissioning(quantity: Any = 5) -> dict[str, Any]:
    return {
        "type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning",
        "eventTime": "2026-08-01T10:00:00Z", "eventTimeZoneOffset": "-04:00", "epcList": [],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:0754000.010001.ZZ", "quantity": quantity, "uom": "KGM"}],
        "readPoint": {"id": "urn:epc:id:sgln:0754000.00001.0"},
    }  # fmt: skip


def test_capture__hostile_shapes_are_422_naming_the_field(served: tuple[FlaskClient, World]) -> None:
    """An extension nested 900 deep (the event hash recursed until RecursionError) and a quantity
    written as a 4,300-digit integer (OverflowError in the number check) were 500s."""
    client, world = served
    nested: Any = "x"
    for _ in range(900):
        nested = {"example:n": nested}
    deep = _commissioning() | {"example:deep": nested}
    document = epcis_document(deep)
    document["@context"].append({"example": "https://example.org/"})
    huge = epcis_document(_commissioning(int("9" * 4300)))
    headers = auth(world, "farm-a") | {"Content-Type": "application/ld+json"}
    for doc, field in (
        (document, "/epcisBody/eventList/0/example:deep/"),
        (huge, "/epcisBody/eventList/0/quantityList/0"),
    ):
        response = client.post("/epcis/capture", data=json.dumps(doc), headers=headers)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", response.data[:300]
        assert response.get_json()["errors"][0]["field"].startswith(field)
    assert world.ledger.size() == 0  # nothing half-written
