"""Access control over HTTP: every role against every write route (cross-party included), and
contact details never shown to roles that may not see them. Both engines, real tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import World, epcis_document, harvest, t
from tracefood.chain.registry import OPERATOR

ROLES = ["farm-a", "farm-b", "carrier", "agency", "recall", "admin-party", None]
"""Token holders: producer A, producer B (another party), carrier, inspector, recall officer,
admin, and no token at all."""


@pytest.fixture
def seeded(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World]:
    """The served world with one lot harvested by farm A."""
    served[1].record("farm-a", harvest(lot="SEED"))
    return served


def call(client: FlaskClient, world: World, who: str | None, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
    data = json.dumps(body) if body is not None else None
    return client.open(path, method=method, data=data, headers=headers, content_type="application/json")


CAPTURE = epcis_document(
    {
        "type": "ObjectEvent",
        "eventTime": "2026-08-01T08:00:00-04:00",
        "eventTimeZoneOffset": "-04:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "epcList": ["https://id.gs1.org/01/09506000134352/21/ACCESS-1"],
    }
)
CROSSING = {
    "kind": "border_crossing",
    "time": t(2),
    "location": "lacolle",
    "direction": "departing",
    "items": [{"product": "romaine", "lot": "SEED"}],
}

# (route, body) -> expected status per token holder, in ROLES order.
MATRIX: list[tuple[str, str, Any, list[int]]] = [
    # producer A records at its own field; the same event from B is not A's receipt to have (409)
    ("POST", "/api/v1/events", harvest(lot="N1"), [201, 409, 403, 403, 403, 403, 401]),
    # and A may not record at B's field
    (
        "POST",
        "/api/v1/events",
        harvest(lot="N2", product="spinach", location="field-b"),
        [422, 201, 403, 403, 403, 403, 401],
    ),
    # a carrier crosses only with lots in transit (SEED is not): 422 for the carrier
    ("POST", "/api/v1/events", CROSSING, [422, 422, 422, 403, 403, 403, 401]),
    ("POST", "/epcis/capture", CAPTURE, [202, 409, 403, 403, 403, 403, 401]),
    ("POST", "/api/v1/parties", {"id": "new-p", "name": "N", "country": "CA"}, [403] * 5 + [201, 401]),
    (
        "POST",
        "/api/v1/locations",
        {"id": "new-l", "name": "N", "party": "farm-a", "kind": "farm", "country": "CA"},
        [403] * 5 + [201, 401],
    ),
    (
        "POST",
        "/api/v1/products",
        {"id": "new-x", "description": "N", "commodity": "c", "unit": "KGM", "ftl": False},
        [403] * 5 + [201, 401],
    ),
    ("PATCH", "/api/v1/parties/farm-a", {"name": "Ferme A renamed"}, [403] * 5 + [200, 401]),
    ("PATCH", "/api/v1/locations/field-a", {"name": "Field A2"}, [403] * 5 + [200, 401]),
    ("PATCH", "/api/v1/products/romaine", {"description": "Romaine 2"}, [403] * 5 + [200, 401]),
    ("POST", "/api/v1/tokens", {"party": "farm-b", "role": "producer"}, [403] * 5 + [201, 401]),
    ("GET", "/api/v1/audit", None, [403] * 5 + [200, 401]),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p} {i}" for i, (m, p, _, _) in enumerate(MATRIX)]
)
def test_access__every_role_on_every_write_route(
    seeded: tuple[FlaskClient, World], method: str, path: str, body: Any, expected: list[int]
) -> None:
    client, world = seeded
    got = []
    for who in ROLES:
        size = world.ledger.size()
        audit = len(world.registry.audit())
        response = call(client, world, who, method, path, body)
        got.append(response.status_code)
        if response.status_code >= 400:
            assert response.mimetype == "application/problem+json"
            problem = response.get_json()
            assert problem["status"] == response.status_code and problem["detail"]
            assert world.ledger.size() == size, "a refused request changed the ledger"
            assert len(world.registry.audit()) == audit, "a refused request changed the registry"
    assert got == expected


def test_access__contact_details_only_for_the_party_recall_and_admin(seeded: tuple[FlaskClient, World]) -> None:
    client, world = seeded
    seen = {}
    for who in ROLES[:-1]:
        one = call(client, world, who, "GET", "/api/v1/parties/farm-a").get_json()
        listed = {p["id"]: p for p in call(client, world, who, "GET", "/api/v1/parties").get_json()}
        assert ("contact" in one) == ("contact" in listed["farm-a"])
        seen[who] = "contact" in one
        # never anyone else's contact details, except for recall officers and admins
        others = {pid for pid, p in listed.items() if "contact" in p and pid != who}
        assert not others or who in ("recall", "admin-party")
    assert seen == {
        "farm-a": True,
        "farm-b": False,
        "carrier": False,
        "agency": False,
        "recall": True,
        "admin-party": True,
    }
    assert call(client, world, None, "GET", "/api/v1/parties").status_code == 401


def test_access__a_lot_is_shown_only_to_those_who_held_it(seeded: tuple[FlaskClient, World]) -> None:
    client, world = seeded
    lots = call(client, world, "farm-a", "GET", "/api/v1/lots").get_json()
    lot_id = lots[0]["id"]
    assert call(client, world, "farm-a", "GET", f"/api/v1/lot?id={lot_id}").status_code == 200
    assert call(client, world, "farm-b", "GET", f"/api/v1/lot?id={lot_id}").status_code == 404  # as unknown
    for reader in ("agency", "recall", "admin-party"):
        assert call(client, world, reader, "GET", f"/api/v1/lot?id={lot_id}").status_code == 200
    assert call(client, world, "farm-b", "GET", "/api/v1/lots?party=farm-a").status_code == 403
    assert call(client, world, "farm-b", "GET", "/api/v1/lots").get_json() == []


def test_access__a_revoked_token_is_refused(seeded: tuple[FlaskClient, World]) -> None:
    client, world = seeded
    token_id = world.tokens["farm-a"].split("_")[1]
    assert call(client, world, "farm-a", "GET", "/api/v1/me").status_code == 200
    world.registry.revoke_token(token_id, OPERATOR)
    response = call(client, world, "farm-a", "GET", "/api/v1/me")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Basic abc", "Bearer tf_0000000000000000_wrongwrongwrongwrongwrong", "Bearer not-a-token"],
)
def test_access__bad_credentials_are_401(seeded: tuple[FlaskClient, World], header: str) -> None:
    client, _ = seeded
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["field"] == "Authorization"


def test_access__registry_changes_are_audited(seeded: tuple[FlaskClient, World]) -> None:
    client, world = seeded
    call(client, world, "admin-party", "PATCH", "/api/v1/parties/farm-b", {"contact": {"email": "new@farm-b.example"}})
    trail = call(client, world, "admin-party", "GET", "/api/v1/audit?entity=party&id=farm-b").get_json()
    assert [r["action"] for r in trail] == ["create", "update"]
    assert trail[-1]["before"]["contact"] == {"email": "bob@farm-b.example"}
    assert trail[-1]["after"]["contact"] == {"email": "new@farm-b.example"}
    assert trail[-1]["actor"].startswith("admin:admin-party")
