"""Recalls over HTTP on both engines: the scope by trace forward, the ledger event, the label page
and the trust list showing it at once, holders and contact details, acknowledgements, closing,
and bad input that records nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import World, gtin, harvest, receive, ship, t
from tests.web.test_pages import csrf_of, sign_in
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.labels import signing as labels

ROMAINE, MIX = gtin("0754000100011"), gtin("1754000100018")
A1, A2, M1 = lot_uri(ROMAINE, "A1"), lot_uri(ROMAINE, "A2"), lot_uri(MIX, "M1")
PROBLEM = "application/problem+json"


@pytest.fixture
def chain(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World]:
    """A1 -> packer, mixed into M1; 10 CS of M1 shipped to dist (in transit); A2 untouched."""
    client, world = served
    world.record("farm-a", harvest("A1", "100"))
    world.record("farm-a", harvest("A2", "30"))
    world.record("farm-a", ship("A1", "100"))
    world.record("packer", receive("A1", "100"))
    world.record(
        "packer",
        {"kind": "transform", "time": t(4), "location": "packhouse",
         "inputs": [{"product": "romaine", "lot": "A1", "quantity": "100"}],
         "outputs": [{"product": "mix", "lot": "M1", "quantity": "50"}]},
    )  # fmt: skip
    world.record("packer", ship("M1", "10", frm="packhouse", to="dc-ny", product="mix", day=5, number="BOL-M"))
    return client, world


def open_recall(client: FlaskClient, world: World, **body: Any) -> Any:
    payload = {"seeds": {"lots": [A1]}, "class": "I", "reason": "Listeria monocytogenes", "hazard": "pathogen"}
    return client.post("/api/v1/recalls", json=payload | body, headers=world.bearer("recall"))


def test_recall__scope_event_holders_and_labels(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    label = client.post("/api/v1/labels", json={"id": M1}, headers=world.bearer("packer")).get_json()["url"]
    size = world.ledger.size()
    response = open_recall(client, world, instructions="Pull from shelves; hold for destruction")
    assert response.status_code == 201, response.get_json()
    recall = response.get_json()
    assert recall["id"].startswith("R-") and recall["status"] == "open" and recall["class"] == "I"
    assert {lot["id"] for lot in recall["lots"]} == {A1, M1}  # not A2
    assert [lot["id"] for lot in recall["lots"] if lot["seed"]] == [A1]
    assert world.ledger.size() == size + 1 and recall["ledger_seq"] == size  # one ledger event
    entry = client.get(f"/api/v1/ledger/entries/{size}", headers=world.bearer("recall")).get_json()["entry"]["payload"][
        "epcis"
    ]
    assert entry["disposition"] == "recalled" and entry["tf:recallId"] == recall["id"]
    assert {q["epcClass"] for q in entry["quantityList"]} == {A1, M1}
    # holders: the packer still holds 40 CS, dist has 10 on the way; contact details for officers
    holders = {h["party"]: h for h in recall["holders"]}
    assert set(holders) == {"packer", "dist"}
    assert holders["packer"]["on_hand"][0]["quantity"] == "40"
    assert holders["dist"]["incoming"][0]["quantity"] == "10"
    assert holders["dist"]["contact"] == {"email": "recalls@dist.example"}
    assert recall["effectiveness"] == {"holders": 2, "acknowledged": 0, "waiting": ["dist", "packer"]}
    # every affected lot shows the recall at once: its label, the page, the trust list
    verdict = client.post("/api/v1/labels/verify", json={"url": label}).get_json()
    assert verdict["genuine"] and verdict["status"] == "recalled" and verdict["recall"]["recall_id"] == recall["id"]
    page = client.get(label.removeprefix("http://localhost").split("#")[0]).get_data(as_text=True)
    assert 'id="recall-banner"' in page and "Listeria monocytogenes" in page and "Pull from shelves" in page
    trust = json.loads(client.get("/api/v1/trust-list").get_data(as_text=True).split("\n\n")[0])
    assert M1 in {r["id"] for r in trust["recalled"]}
    assert labels.REASONS  # the verdict reasons are unchanged by a recall


def test_recall__acknowledge_and_close(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    recall_id = open_recall(client, world).get_json()["id"]
    path = f"/api/v1/recalls/{recall_id}"
    shown = client.get(path, headers=world.bearer("dist")).get_json()
    assert all(h["contact"] is None for h in shown["holders"])  # not for a producer
    assert client.post(path + "/acknowledge", json={}, headers=world.bearer("farm-b")).status_code == 403
    acked = client.post(path + "/acknowledge", json={"note": "quarantined"}, headers=world.bearer("dist"))
    assert acked.status_code == 200
    assert acked.get_json()["effectiveness"] is None  # a holder sees its own part (test_recall_privacy.py)
    officer = client.get(path, headers=world.bearer("recall")).get_json()
    assert officer["effectiveness"] == {"holders": 2, "acknowledged": 1, "waiting": ["packer"]}
    again = client.post(path + "/acknowledge", json={}, headers=world.bearer("dist"))
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert client.post(path + "/close", json={"reason": "done"}, headers=world.bearer("packer")).status_code == 403
    bad = client.post(path + "/close", json={}, headers=world.bearer("recall"))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "/reason"
    closed = client.post(path + "/close", json={"reason": "all product destroyed"}, headers=world.bearer("recall"))
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert client.post(path + "/close", json={"reason": "x"}, headers=world.bearer("recall")).status_code == 409
    listed = client.get("/api/v1/recalls", headers=world.bearer("agency")).get_json()["recalls"]
    assert [(r["id"], r["status"], r["lots"]) for r in listed] == [(recall_id, "closed", 2)]
    assert client.get("/api/v1/recalls/R-1999-0001", headers=world.bearer("recall")).status_code == 404


def test_recall__by_source_location_product_and_dates(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    seeds = {"location": "field-a", "product": "romaine", "from": "2026-08-01", "to": "2026-08-01"}
    recall = open_recall(client, world, seeds=seeds).get_json()
    assert {lot["id"] for lot in recall["lots"] if lot["seed"]} == {A1, A2}
    assert {lot["id"] for lot in recall["lots"]} == {A1, A2, M1}


@pytest.mark.parametrize(
    ("who", "body", "status", "field"),
    [
        ("farm-a", {}, 403, None),
        ("agency", {}, 403, None),
        ("recall", {"class": "IV"}, 422, "/class"),
        ("recall", {"reason": ""}, 422, "/reason"),
        ("recall", {"seeds": {"lots": []}}, 422, "/seeds/lots"),
        ("recall", {"seeds": {"lots": [lot_uri(ROMAINE, "NOPE")]}}, 422, "/seeds/lots/0"),
        ("recall", {"seeds": {"lots": ["not an id"]}}, 422, "/seeds/lots/0"),
        ("recall", {"seeds": {"location": "field-a", "product": "romaine", "from": "2026-08-02", "to": "x"}}, 422,
         "/seeds/to"),
        ("recall", {"seeds": {"location": "nowhere", "product": "romaine", "from": "2026-08-01", "to": "2026-08-02"}},
         422, "/seeds/location"),
        ("recall", {"seeds": "A1"}, 422, "/seeds"),
    ],
)  # fmt: skip
def test_recall__refusals_record_nothing(
    chain: tuple[FlaskClient, World], who: str, body: dict[str, Any], status: int, field: str | None
) -> None:
    client, world = chain
    size = world.ledger.size()
    payload = {"seeds": {"lots": [A1]}, "class": "I", "reason": "Listeria"} | body
    response = client.post("/api/v1/recalls", json=payload, headers=world.bearer(who))
    assert response.status_code == status and response.mimetype == PROBLEM
    if field:
        assert response.get_json()["errors"][0]["field"] == field
    assert world.ledger.size() == size
    assert client.get("/api/v1/recalls", headers=world.bearer("recall")).get_json()["recalls"] == []


def _sign_in(client: FlaskClient, token: str) -> str:
    """Sign in; the CSRF token of the session's pages."""
    sign_in(client, token)
    return csrf_of(client.get("/"))


def test_recall_pages__officer_flow_and_access(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    _sign_in(client, world.tokens["farm-a"])
    assert client.get("/recall").status_code == 403
    client.post("/sign-out", data={})
    csrf = _sign_in(client, world.tokens["recall"])
    assert "Trace and recall" in client.get("/recall").get_data(as_text=True)
    found = client.get("/recall", query_string={"q": "A1"})
    assert found.status_code == 303 and "/recall/trace" in found.headers["Location"]
    trace_page = client.get("/recall/trace", query_string={"id": A1}).get_data(as_text=True)
    assert 'id="trace-graph"' in trace_page and 'class="node node-start"' in trace_page
    assert client.get("/recall/trace", query_string={"id": "nope"}).status_code == 400
    size = world.ledger.size()
    refused = client.post("/recall/issue", data={"id": A1, "class": "IV", "reason": "x", "csrf_token": csrf})
    assert refused.status_code == 422 and world.ledger.size() == size
    made = client.post("/recall/issue", data={"id": A1, "class": "I", "reason": "Listeria", "csrf_token": csrf})
    assert made.status_code == 303 and world.ledger.size() == size + 1
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "0 of 2 holders acknowledged" in page and "recalls@dist.example" in page
    xlsx = client.get("/recall/export/fsma204x", query_string={"recall": made.headers["Location"].rsplit("/", 1)[1]})
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.post("/recall/issue", data={"id": A1, "class": "I", "reason": "x"}).status_code == 400  # CSRF
