"""Who may read which lot, over HTTP: every role x every read route x a lot the caller's party has
a part in and one it has none in. Both engines, real tokens, one rule (tracefood.chain.access).

Each cell is the status the route answers (and, for lists, whether the lot is listed)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.factories import World, gtin, harvest, ship
from tests.web.test_pages import sign_in
from tracefood.epcis.gs1_keys import lot_uri

ROMAINE = gtin("0754000100011")
HELD, OTHER = lot_uri(ROMAINE, "HELD-1"), lot_uri(ROMAINE, "OTHER-1")

# (token holder, expected per route: (lot its party has a part in, lot it has none in)).
# farm-a produced HELD-1 and shipped it to the packer; the carrier carries that shipment; farm-b
# produced OTHER-1. The agency is an inspector; "recall" is the agency's recall officer.
# A list cell is True if the lot is listed; the scan cell is whether the full history is shown.
EXPECTED: dict[str, dict[str, tuple[Any, Any]]] = {
    "farm-a": {
        "lot": (200, 404), "trace": (200, 404), "event": (200, 404), "query": (True, False),
        "lots": (True, False), "label": (201, 404), "recall": (200, 200), "lots_page": (True, False),
        "scan": (True, False), "recall_page": (403, 403),
    },
    "packer": {  # receiving HELD-1: it sees the lot, but may not label it before it arrives
        "lot": (200, 404), "trace": (200, 404), "event": (200, 404), "query": (True, False),
        "lots": (False, False), "label": (403, 404), "recall": (200, 200), "lots_page": (False, False),
        "scan": (True, False), "recall_page": (403, 403),
    },
    "carrier": {  # carried HELD-1: sees it; a carrier is no custodian, and "my lots" is stock
        "lot": (200, 404), "trace": (200, 404), "event": (200, 404), "query": (True, False),
        "lots": (False, False), "label": (403, 404), "recall": (200, 200), "lots_page": (False, False),
        "scan": (True, False), "recall_page": (403, 403),
    },
    "agency": {  # inspector: reads everything, labels nothing; its own "my lots" is empty
        "lot": (200, 200), "trace": (200, 200), "event": (200, 200), "query": (True, True),
        "lots": (True, True), "label": (403, 403), "recall": (200, 200), "lots_page": (False, False),
        "scan": (True, True), "recall_page": (200, 200),
    },
    "recall": {
        "lot": (200, 200), "trace": (200, 200), "event": (200, 200), "query": (True, True),
        "lots": (True, True), "label": (403, 403), "recall": (200, 200), "lots_page": (False, False),
        "scan": (True, True), "recall_page": (200, 200),
    },
    "admin-party": {  # signs only as a custodian it names (here each lot's producer)
        "lot": (200, 200), "trace": (200, 200), "event": (200, 200), "query": (True, True),
        "lots": (True, True), "label": (201, 201), "recall": (200, 200), "lots_page": (False, False),
        "scan": (True, True), "recall_page": (200, 200),
    },
}  # fmt: skip


@pytest.fixture
def world_of_two_lots(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World, dict[str, str]]:
    client, world = served
    held = world.record("farm-a", harvest("HELD-1", "100"))[0]
    world.record("farm-a", ship("HELD-1", "60") | {"carrier": "carrier"})
    other = world.record("farm-b", harvest("OTHER-1", "50", location="field-b"))[0]
    return client, world, {HELD: held.event_id, OTHER: other.event_id}


def _api(client: FlaskClient, world: World, who: str, path: str, **kwargs: Any) -> Any:
    return client.open(path, headers=world.bearer(who), **kwargs)


def _cells(client: FlaskClient, world: World, who: str, lot: str, event_id: str) -> dict[str, Any]:
    """What each read route answers ``who`` about ``lot``."""
    code = lot.rsplit("/", 1)[1]
    producer = "farm-a" if lot == HELD else "farm-b"
    query = _api(client, world, who, "/epcis/events", query_string={"MATCH_anyEPCClass": lot})
    assert query.status_code == 200
    listed = _api(client, world, who, "/api/v1/lots")
    assert listed.status_code == 200
    label_body = {"id": lot} | ({"party": producer} if who == "admin-party" else {})
    scan = client.get(f"/01/{ROMAINE}/10/{code}", headers={"Accept": "application/json"})
    assert scan.status_code == 200
    lots_page = client.get("/lots")
    assert lots_page.status_code == 200
    return {
        "lot": _api(client, world, who, "/api/v1/lot", query_string={"id": lot}).status_code,
        "trace": _api(client, world, who, "/api/v1/trace", query_string={"id": lot, "direction": "back"}).status_code,
        "event": _api(client, world, who, "/epcis/events/" + quote(event_id, safe="")).status_code,
        "query": bool(query.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]),
        "lots": lot in {item["id"] for item in listed.get_json()},
        "label": _api(client, world, who, "/api/v1/labels", method="POST", json=label_body).status_code,
        "lots_page": code in lots_page.get_data(as_text=True),
        "scan": scan.get_json()["full_history"],
        "recall_page": client.get("/recall/trace", query_string={"id": lot}).status_code,
    }


@pytest.mark.parametrize("who", list(EXPECTED))
def test_access_matrix__role_by_route_by_lot(
    world_of_two_lots: tuple[FlaskClient, World, dict[str, str]], who: str
) -> None:
    client, world, event_ids = world_of_two_lots
    assert sign_in(client, world.tokens[who]).status_code in (302, 303)
    got: dict[str, list[Any]] = {}
    for lot in (HELD, OTHER):
        for route, value in _cells(client, world, who, lot, event_ids[lot]).items():
            got.setdefault(route, []).append(value)
    # recalls are notices to the whole chain: every signed-in party reads them
    for lot in (HELD, OTHER):
        body = {"seeds": {"lots": [lot]}, "class": "II", "reason": "matrix"}
        opened = _api(client, world, "recall", "/api/v1/recalls", method="POST", json=body)
        assert opened.status_code == 201
        got.setdefault("recall", []).append(
            _api(client, world, who, f"/api/v1/recalls/{opened.get_json()['id']}").status_code
        )
    assert {route: tuple(values) for route, values in got.items()} == EXPECTED[who]


def test_access_matrix__refusals_are_problems_that_hide_nothing_else(
    world_of_two_lots: tuple[FlaskClient, World, dict[str, str]],
) -> None:
    """A lot the caller may not see is answered exactly as an unknown one (issue 12: 403 against
    404 told which GTIN and lot codes exist): the same 404 problem, detail and errors alike but
    for the key; a malformed id 400; on the lot view, the trace and label issuance alike."""
    client, world, _ = world_of_two_lots
    unknown = lot_uri(ROMAINE, "NOPE")
    for path, extra in (("/api/v1/lot", {}), ("/api/v1/trace", {"direction": "back"})):
        answers = []
        for lot, status in ((OTHER, 404), (unknown, 404), ("not a lot", 400)):
            response = _api(client, world, "farm-a", path, query_string={"id": lot} | extra)
            assert response.status_code == status, (path, lot)
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["errors"][0]["field"] == "id"
            answers.append(response.get_data(as_text=True).replace(lot, "KEY"))
        assert answers[0] == answers[1], path
    issued = [
        _api(client, world, "farm-a", "/api/v1/labels", method="POST", json={"id": lot}) for lot in (OTHER, unknown)
    ]
    assert [r.status_code for r in issued] == [404, 404]
    assert issued[0].get_data(as_text=True).replace(OTHER, "KEY") == issued[1].get_data(as_text=True).replace(
        unknown, "KEY"
    )
