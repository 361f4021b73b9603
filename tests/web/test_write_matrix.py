"""Nobody writes another party's history (issue 12): every role x every write route x objects its
party does not hold, over HTTP with real tokens, on both engines.

The world: farm-a harvested V1 (100 KGM at field-a), shipped 40 to the packer (received, carried
by the carrier) and 20 to the distributor (still in transit), and packed 10 on the pallet P
(an SSCC it holds). farm-b holds its own lot B1. Every attempt below acts on V1 or P without
custody (or outside its role) and must be refused with a 4xx problem naming the reason, leaving
the ledger and every projection exactly as they were. Controls show the same requests succeed
for the party that holds the goods, so the matrix can fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import PALLET, World, epcis_document, gln, gtin, harvest, receive, ship, sscc, t
from tests.web.test_pages import csrf_of, sign_in
from tracefood.chain.projections import rows_of
from tracefood.chain.tables import locations
from tracefood.epcis.gs1_keys import gln_uri, lot_uri, sscc_uri

ROMAINE = gtin("0754000100011")
V1, B1, NEW = (lot_uri(ROMAINE, code) for code in ("V1", "B1", "NEW-1"))
P = sscc_uri(PALLET)
OTHER = sscc("07540000000000998")  # a pallet nobody used yet
OTHER_SSCC = sscc_uri(OTHER)
NOWHERE = gln_uri(gln("754000000999"))  # a valid GLN no one registered


def _attacker_world(world: World) -> None:
    world.record("farm-a", harvest("V1", "100"))
    world.record("farm-a", ship("V1", "40") | {"carrier": "carrier"})
    world.record("packer", receive("V1", "40"))
    world.record("farm-a", ship("V1", "20", to="dc-ny", day=4, number="BOL-2"))
    world.record("farm-a", {"kind": "aggregate", "time": t(4, "10:00"), "location": "field-a", "parent": PALLET,
                            "items": [{"product": "romaine", "lot": "V1", "quantity": "10"}]})  # fmt: skip
    world.record("farm-b", harvest("B1", "50", location="field-b"))


def _items(lot: str = "V1", qty: str | None = "5") -> list[dict[str, str]]:
    return [{"product": "romaine", "lot": lot} | ({"quantity": qty} if qty else {})]


def _readable(kind: str, location: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "time": t(6), "location": location} | fields


def _epc(**fields: Any) -> dict[str, Any]:
    event = {"type": "ObjectEvent", "eventTime": "2026-08-06T08:00:00-04:00", "eventTimeZoneOffset": "-04:00"}
    return event | fields


def _qty(lot: str = V1, qty: int | None = 5) -> list[dict[str, Any]]:
    return [{"epcClass": lot} | ({"quantity": qty, "uom": "KGM"} if qty is not None else {})]


HERE = {"readPoint": {"id": NOWHERE}, "bizLocation": {"id": NOWHERE}}
READABLE: dict[str, dict[str, Any]] = {
    "harvest V1 (another party's lot code)": _readable("harvest", "field-b", items=_items()),
    "cool V1": _readable("cool", "field-b", items=_items()),
    "inspect V1 as non conformant": _readable("inspect", "field-b", items=_items(), result="non_conformant"),
    "initial_pack V1 into a new lot": _readable("initial_pack", "field-b", inputs=_items(), outputs=_items("NEW-1")),
    "transform B1 into V1": _readable("transform", "field-b", inputs=_items("B1"), outputs=_items()),
    "pack V1 on a pallet": _readable("aggregate", "field-b", parent=OTHER, items=_items()),
    "unpack farm-a's pallet": _readable("disaggregate", "field-b", parent=PALLET),
    "ship V1 from its own field": _readable("ship", "field-b", to="packhouse", items=_items()),
    "receive V1 nobody shipped it": _readable("receive", "field-b", items=_items(), **{"from": "field-a"}),
    "destroy V1": _readable("destroy", "field-b", items=_items()),
    "ship farm-a's pallet": _readable("ship", "field-b", to="packhouse", containers=[PALLET]),
}
CAPTURED: dict[str, dict[str, Any]] = {
    "ADD V1 somewhere unregistered": _epc(action="ADD", bizStep="commissioning", quantityList=_qty(), **HERE),
    "ship V1 out of an unregistered place": _epc(
        action="OBSERVE", bizStep="shipping", quantityList=_qty(V1, 50), **HERE,
        sourceList=[{"type": "location", "source": NOWHERE}],
        destinationList=[{"type": "location", "destination": NOWHERE}],
    ),
    "receive V1 with no shipment to you": _epc(action="OBSERVE", bizStep="receiving", quantityList=_qty(), **HERE),
    "DELETE V1 where it is not": _epc(action="DELETE", bizStep="destroying", quantityList=_qty(), **HERE),
    "DELETE V1 whole, nowhere": _epc(action="DELETE", bizStep="destroying", quantityList=_qty(V1, None)),
    "transformation whose output is V1": {
        "type": "TransformationEvent", "eventTime": "2026-08-06T08:00:00-04:00", "eventTimeZoneOffset": "-04:00",
        "inputQuantityList": _qty(B1), "outputQuantityList": _qty(), "bizStep": "commissioning", **HERE,
    },
    "transformation consuming V1": {
        "type": "TransformationEvent", "eventTime": "2026-08-06T08:00:00-04:00", "eventTimeZoneOffset": "-04:00",
        "inputQuantityList": _qty(), "outputQuantityList": _qty(NEW), "bizStep": "commissioning", **HERE,
    },
    "load V1 into a new unit": {
        "type": "AggregationEvent", "eventTime": "2026-08-06T08:00:00-04:00", "eventTimeZoneOffset": "-04:00",
        "action": "ADD", "parentID": OTHER_SSCC, "childQuantityList": _qty(), "bizStep": "packing", **HERE,
    },
    "unload farm-a's pallet": {
        "type": "AggregationEvent", "eventTime": "2026-08-06T08:00:00-04:00", "eventTimeZoneOffset": "-04:00",
        "action": "DELETE", "parentID": P, "bizStep": "unpacking", **HERE,
    },
    "hold V1 (failed inspection)": _epc(
        action="OBSERVE", bizStep="inspecting", disposition="non_conformant", quantityList=_qty(V1, None), **HERE
    ),
    "recall V1": _epc(action="OBSERVE", bizStep="holding", disposition="recalled", quantityList=_qty(V1, None),
                      **HERE, **{"tf:recallId": "R-FAKE", "tf:reason": "forged"}),
    "observe V1 in storage": _epc(action="OBSERVE", bizStep="storing", quantityList=_qty(V1, None), **HERE),
    "depart with V1 (in transit to dist)": _epc(
        action="OBSERVE", bizStep="departing", disposition="in_transit", quantityList=_qty(V1, None), **HERE
    ),
    "inspect a lot nobody recorded": _epc(
        action="OBSERVE", bizStep="inspecting", disposition="conformant",
        quantityList=_qty(lot_uri(ROMAINE, "GHOST"), None), **HERE,
    ),
}  # fmt: skip
ENTITLED = {
    "capture: inspect a lot nobody recorded": {"farm-b", "dist"},  # a producer's own first sighting
    "capture: depart with V1 (in transit to dist)": {"dist"},  # the addressee of the shipment
    "readable: inspect V1 as non conformant": {"agency"},  # inspectors hold any lot
    "capture: hold V1 (failed inspection)": {"agency"},
}
"""The attempts that are not attacks for some parties: they run as controls in
:func:`test_write_matrix__the_holder_may`, the others' attempts must fail."""
ATTACKERS = ("farm-b", "dist", "carrier", "agency", "recall", "admin-party")
"""Every role: two producers with no custody of V1 (dist has 20 on the way, not received), the
carrier (it carried 40, now received), the inspector, the recall officer and the admin."""


def _snapshot(world: World) -> tuple[int, dict[str, list[tuple[Any, ...]]]]:
    with world.ledger.engine.connect() as conn:
        return world.ledger.size(), rows_of(conn)


def _refused(response: Any, attempt: str) -> None:
    assert 400 <= response.status_code < 500, (attempt, response.status_code, response.get_data(as_text=True))
    if response.is_json:
        problem = response.get_json()
        assert response.mimetype == "application/problem+json" and problem["detail"], attempt


@pytest.fixture
def attacked(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World]:
    client, world = served
    _attacker_world(world)
    return client, world


def _api_attempts(client: FlaskClient, world: World, who: str) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {world.tokens[who]}"}
    out: dict[str, Any] = {}
    home = {"dist": "dc-ny", "carrier": "field-b"}.get(who, "field-b")
    for name, body in READABLE.items():
        body = body | {"location": home} if body["location"] == "field-b" else body
        out[f"readable: {name}"] = client.post("/api/v1/events", json=body, headers=bearer)
    for name, event in CAPTURED.items():
        out[f"capture: {name}"] = client.post("/epcis/capture", json=epcis_document(event), headers=bearer)
    recall = {"seeds": {"lots": [V1]}, "class": "I", "reason": "forged"}
    if who not in ("recall", "admin-party"):
        out["recall: issue"] = client.post("/api/v1/recalls", json=recall, headers=bearer)
    if who != "admin-party":
        out["label: issue for V1"] = client.post("/api/v1/labels", json={"id": V1}, headers=bearer)
    return out


@pytest.mark.parametrize("who", ATTACKERS)
def test_write_matrix__no_write_outside_custody(attacked: tuple[FlaskClient, World], who: str) -> None:
    client, world = attacked
    before = _snapshot(world)
    for attempt, response in _api_attempts(client, world, who).items():
        if who not in ENTITLED.get(attempt, ()):
            _refused(response, f"{who}: {attempt}")
        else:
            assert response.status_code in (201, 202), (who, attempt, response.get_json())
            before = _snapshot(world)
    assert _snapshot(world) == before


FORMS: dict[str, dict[str, str]] = {
    "harvest": {"location": "field-b", "product": "romaine", "lot": "V1", "quantity": "5"},
    "ship": {"location": "field-b", "to": "packhouse", "product": "romaine", "lot": "V1", "quantity": "5",
             "reference_type": "bol", "reference_number": "X-1"},
    "receive": {"location": "field-b", "from": "field-a", "product": "romaine", "lot": "V1", "quantity": "5",
                "reference_type": "bol", "reference_number": "BOL-1"},
}  # fmt: skip


@pytest.mark.parametrize("kind", list(FORMS))
def test_write_matrix__forms_apply_the_same_rule(attacked: tuple[FlaskClient, World], kind: str) -> None:
    client, world = attacked
    before = _snapshot(world)
    assert sign_in(client, world.tokens["farm-b"]).status_code in (302, 303)
    form = client.get(f"/record/{kind}")
    values = FORMS[kind] | {"time": "2026-08-06T08:00", "tz": "America/Toronto", "csrf_token": csrf_of(form)}
    response = client.post(f"/record/{kind}", data=values)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "V1" in response.get_data(as_text=True)
    assert _snapshot(world) == before


CONTROLS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "farm-a ships V1 from its field": ("farm-a", lambda: ship("V1", "5", day=6, number="BOL-7")),
    "dist receives the 20 shipped to it": ("dist", lambda: receive("V1", "20", at="dc-ny", day=6, number="BOL-2")),
    "farm-a unpacks its pallet": ("farm-a", lambda: _readable("disaggregate", "field-a", parent=PALLET)),
    "packer destroys what it holds": ("packer", lambda: _readable("destroy", "packhouse", items=_items())),
    "agency inspects V1": ("agency", lambda: _readable("inspect", "packhouse", items=_items(), result="conformant")),
    "farm-a harvests more V1": ("farm-a", lambda: harvest("V1", "5", day=6)),
}  # fmt: skip


@pytest.mark.parametrize("control", list(CONTROLS))
def test_write_matrix__the_holder_may(attacked: tuple[FlaskClient, World], control: str) -> None:
    """The same kinds of request succeed for the party in custody: the matrix refuses for the
    right reason, not because the requests are malformed."""
    client, world = attacked
    who, body = CONTROLS[control]
    response = client.post("/api/v1/events", json=body(), headers=world.bearer(who))
    assert response.status_code == 201, response.get_json()


def test_write_matrix__a_custodian_ships_only_from_where_it_holds(attacked: tuple[FlaskClient, World]) -> None:
    """The packer holds 40 of V1 at the packhouse: a capture that ships 500 of it out of an
    unregistered place (phantom stock) is refused; shipping 40 from the packhouse is not."""
    client, world = attacked
    with world.ledger.engine.connect() as conn:
        packhouse = conn.execute(select(locations.c.uri).where(locations.c.id == "packhouse")).scalar()
    phantom = CAPTURED["ship V1 out of an unregistered place"]
    refused = client.post("/epcis/capture", json=epcis_document(phantom), headers=world.bearer("packer"))
    assert refused.status_code == 422 and "not on hand" in refused.get_json()["detail"]
    real = phantom | {"quantityList": _qty(V1, 40), "readPoint": {"id": packhouse}, "bizLocation": {"id": packhouse},
                      "sourceList": [{"type": "location", "source": packhouse}]}  # fmt: skip
    assert client.post("/epcis/capture", json=epcis_document(real), headers=world.bearer("packer")).status_code == 202
