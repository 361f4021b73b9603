"""Labels over HTTP: issuing (API and the producer's button), the server's verdict, the scan
page (HTML and JSON), keys, the JWKS and the trust list, and bad input. Both engines."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import World, harvest, receive, ship
from tests.labelkit import MIX, RECALL, ROMAINE, forgeries, recall_document
from tests.web.conftest import LABEL_MASTER_KEY
from tests.web.test_pages import csrf_of, sign_in
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.labels import db_trust, issuance
from tracefood.labels import qr as label_qr
from tracefood.labels import signing as labels
from tracefood.labels.keystore import LabelKeys
from tracefood.labels.trust import TrustList
from tracefood.ledger.note import Verifier
from tracefood.web.api.labels import MIMETYPES

BASE = "http://localhost"
A1 = lot_uri(ROMAINE, "A1")
PROBLEM = "application/problem+json"


@pytest.fixture
def chain(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World]:
    client, world = served
    world.record("farm-a", harvest("A1", "100"))
    world.record("farm-a", harvest("A2", "50", day=2))
    world.record("farm-a", ship("A1", "100"))
    world.record("packer", receive("A1", "100"))
    return client, world


def app_keys(world: World) -> LabelKeys:
    """The app's label keys, opened with the same master key as the served app."""
    return LabelKeys(world.ledger, base64.b64decode(LABEL_MASTER_KEY))


def issue(client: FlaskClient, world: World, who: str = "farm-a", **body: Any) -> Any:
    return client.post("/api/v1/labels", json={"id": A1} | body, headers=world.bearer(who))


def post(client: FlaskClient, world: World, path: str, body: Any, who: str = "farm-a") -> Any:
    return client.post(path, json=body, headers=world.bearer(who))


def issued_count(world: World) -> int:
    return len(issuance.issuances(world.ledger.engine))


# -- issuing -------------------------------------------------------------------------------------


def test_api__issue_a_label_as_json(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    response = issue(client, world)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["url"].startswith(f"{BASE}/01/{ROMAINE}/10/A1#1.")
    assert body["qr"]["ec"] == "M" and body["qr"]["version"] <= 10
    assert body["party"] == "farm-a" and body["info"]["product"] == "Romaine"
    assert body["info"]["origin"]["region"] == "Montérégie"
    log = client.get("/api/v1/labels", query_string={"id": A1}, headers=world.bearer("farm-a")).get_json()
    assert [r["url"] for r in log["labels"]] == [body["url"]]
    # another producer does not see farm-a's issuance log; the inspector does
    assert client.get("/api/v1/labels", headers=world.bearer("farm-b")).get_json()["labels"] == []
    assert len(client.get("/api/v1/labels", headers=world.bearer("agency")).get_json()["labels"]) == 1


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf", "zpl"])
def test_api__issue_a_label_file(chain: tuple[FlaskClient, World], fmt: str) -> None:
    client, world = chain
    response = issue(client, world, format=fmt, ec="Q")
    assert response.status_code == 201
    assert response.mimetype == MIMETYPES[fmt]
    url = response.headers["Label-URL"]
    assert f'filename="label-A1.{fmt}"' in response.headers["Content-Disposition"]
    if fmt == "png":
        assert label_qr.decode_image(response.data) == [url]
        (code,) = label_qr.decode_details(response.data)
        assert code.ec == "Q"
    elif fmt == "zpl":
        assert f"^FDQM,B{len(url.encode()):04d}{url}" in response.get_data(as_text=True).replace("^FH", "")
    elif fmt == "pdf":
        assert response.data.startswith(b"%PDF")
    else:
        assert b"<svg" in response.data
    assert labels.verify(url, db_trust.DbTrust(world.ledger.engine)).genuine


@pytest.mark.parametrize(
    ("party", "body", "status", "field"),
    [
        ("farm-b", {}, 404, "id"),  # may not see A1: answered as unknown (issue 12)
        ("agency", {}, 403, None),  # inspectors do not issue labels
        ("farm-a", {"id": lot_uri(ROMAINE, "NOPE")}, 404, "id"),
        ("farm-a", {"id": "not a lot"}, 422, "id"),
        ("farm-a", {"id": "urn:tracefood:loc:field-a"}, 422, "id"),
        ("farm-a", {"format": "gif"}, 422, "/format"),
        ("farm-a", {"layout": "a3"}, 422, "/layout"),
        ("farm-a", {"ec": "X"}, 422, "ec"),
        ("farm-a", {"ec": 5}, 422, "/ec"),
        ("farm-a", {"attributes": "17=991399"}, 422, "attributes"),
        ("farm-a", {"party": "packer"}, 403, None),  # a producer signs only for itself
    ],
)
def test_api__issue_refusals_are_problems_and_record_nothing(
    chain: tuple[FlaskClient, World], party: str, body: dict[str, Any], status: int, field: str | None
) -> None:
    client, world = chain
    response = issue(client, world, party, **body)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    if field:
        assert field in [e["field"] for e in response.get_json()["errors"]]
    assert issued_count(world) == 0
    assert client.post("/api/v1/labels", json={"id": A1}).status_code == 401


def test_api__issue_needs_json(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    response = client.post("/api/v1/labels", data="id=x", headers=world.bearer("farm-a"))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    response = client.post("/api/v1/labels", json=["x"], headers=world.bearer("farm-a"))
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "/"


# -- verdicts: the API and the page's JSON give every forgery its own reason ---------------------


def test_verify__every_forgery_over_the_api_and_the_page(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    cases = forgeries(world, app_keys(world), BASE)
    for name, (url, reason) in cases.items():
        verdict = client.post("/api/v1/labels/verify", json={"url": url}).get_json()
        assert verdict["reason"] == reason, name
        assert verdict["genuine"] == (reason == "genuine")
        path, _, fragment = url.removeprefix(BASE).partition("#")
        if reason == "malformed":
            continue  # not a lot path: the page says so itself (test_page__bad_addresses)
        page = client.get(path, headers={"Accept": "application/json", "Label-Signature": fragment})
        # a changed GTIN names no lot: 404, with the verdict as a member of the problem
        assert page.status_code == (404 if reason == "gtin_changed" else 200), name
        if fragment:
            assert page.get_json()["verdict"]["reason"] == reason, name
        else:
            assert page.get_json()["verdict"] is None  # no fragment sent: no verdict to give
        html = client.get(path)
        assert html.status_code == page.status_code and b'id="verdict"' in html.data


def test_page__json_verdict_for_percent_encoded_lot_codes(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    world.record("farm-a", harvest("7/B&C%", "5", day=4))
    url = issue(client, world, id=lot_uri(ROMAINE, "7/B&C%")).get_json()["url"]
    assert "/10/7%2FB%26C%25#" in url
    path, fragment = url.removeprefix(BASE).split("#")
    data = client.get(path, headers={"Accept": "application/json", "Label-Signature": fragment}).get_json()
    assert data["verdict"]["reason"] == "genuine" and data["subject"]["lot"] == "7/B&C%"
    assert client.post("/api/v1/labels/verify", json={"url": url}).get_json()["reason"] == "genuine"


def test_verify__bad_requests(chain: tuple[FlaskClient, World]) -> None:
    client, _ = chain
    for body, field in (({}, "/url"), ({"url": 5}, "/url"), ({"url": "x" * 3000}, "/url")):
        response = client.post("/api/v1/labels/verify", json=body)
        assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == field
    response = client.post("/api/v1/labels/verify", json={"url": "not a url"})
    assert response.status_code == 200 and response.get_json()["reason"] == "malformed"


# -- the scan page -------------------------------------------------------------------------------


def _page(client: FlaskClient, url: str, **headers: str) -> Any:
    return client.get(url.removeprefix(BASE).split("#")[0], headers=headers)


def test_page__public_view_without_personal_information(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    url = issue(client, world).get_json()["url"]
    page = _page(client, url, **{"Accept-Language": "fr-CA,fr;q=0.9"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="fr"' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "Romaine" in html and "A1" in html and ROMAINE in html and "Montérégie" in html
    assert html.count('class="event"') == 3  # harvest, ship, receive
    assert "Field A" in html and "Packhouse" in html  # places are public
    assert "Ferme A" in html  # the producer, as printed on the label
    for private in ("BOL-1", "Emballeur", "alice@farm-a.example", "+1 450 555 0001"):
        assert private not in html, private
    assert "/static/label.js" in html


def test_page__signed_in_inspector_sees_parties_and_documents(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    url = issue(client, world).get_json()["url"]
    token = world.tokens["agency"]
    assert sign_in(client, token).status_code in (302, 303)
    html = _page(client, url).get_data(as_text=True)
    assert "BOL-1" in html and "Ferme A" in html and "Emballeur" in html
    data = _page(client, url, Accept="application/json").get_json()
    assert data["full_history"] and {h["party"] for h in data["history"]} == {"farm-a", "packer"}


def test_page__recall_banner_and_hold(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    url = issue(client, world).get_json()["url"]
    assert 'id="recall-banner"' not in _page(client, url).get_data(as_text=True)
    document = recall_document(A1, world.registry.get("location", "packhouse")["uri"])
    forged = client.post("/epcis/capture", json=document, headers=world.bearer("packer"))  # issue 12
    assert forged.status_code == 422 and forged.get_json()["errors"][0]["field"].endswith("/disposition")
    assert 'id="recall-banner"' not in _page(client, url).get_data(as_text=True)
    recall = {"seeds": {"lots": [A1]}} | RECALL
    made = client.post("/api/v1/recalls", json=recall, headers={"Authorization": f"Bearer {world.tokens['recall']}"})
    assert made.status_code == 201, made.get_json()
    html = _page(client, url, **{"Accept-Language": "en"}).get_data(as_text=True)
    banner = html[html.index('id="recall-banner"') : html.index("</section>", html.index('id="recall-banner"'))]
    assert "RECALLED" in banner and ">I<" in banner and "Listeria monocytogenes" in banner and "What to do" in banner
    data = _page(client, url, Accept="application/json").get_json()
    assert data["status"] == "recalled" and data["recall"]["recall_id"] == made.get_json()["id"]
    verdict = client.post("/api/v1/labels/verify", json={"url": url}).get_json()
    assert verdict["genuine"] and not verdict["ok"] and verdict["status"] == "recalled"
    document = json.loads(client.get("/api/v1/trust-list").get_data(as_text=True).split("\n\n")[0])
    assert [r["id"] for r in document["recalled"]] == [A1] and document["recalled"][0]["recall"]["class"] == "I"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        (f"/01/{ROMAINE[:-1]}0/10/A1", 400, "gtin"),
        ("/01/123/10/A1", 400, "gtin"),
        ("/00/12345", 400, "sscc"),
        (f"/01/{MIX}/10/NEVER-SEEN", 404, "id"),
        (f"/01/{ROMAINE}/10/{'X' * 30}", 400, "lot"),
        (f"/01/{ROMAINE}/10/%C3%A9", 400, "lot"),  # not a GS1 lot character
    ],
)
def test_page__bad_addresses(chain: tuple[FlaskClient, World], path: str, status: int, field: str) -> None:
    client, _ = chain
    page = client.get(path)
    assert page.status_code == status and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Traceback" not in html
    assert ('id="unknown-banner"' if status == 404 else 'class="verdict verdict-refused"') in html
    problem = client.get(path, headers={"Accept": "application/json"})
    assert problem.status_code == status and problem.mimetype == PROBLEM
    assert problem.get_json()["errors"][0]["field"] == field


# -- keys, JWKS, trust list ----------------------------------------------------------------------


def test_keys__api_create_rotate_revoke(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    first = post(client, world, "/api/v1/label-keys", {})
    assert first.status_code == 201 and first.get_json()["state"] == "active"
    kid = first.get_json()["kid"]
    url = issue(client, world).get_json()["url"]
    assert kid in url
    assert post(client, world, "/api/v1/label-keys", {"party": "farm-a"}, "farm-b").status_code == 403
    second = post(client, world, "/api/v1/label-keys", {"rotate": True}).get_json()
    listed = client.get("/api/v1/label-keys", headers=world.bearer("farm-a")).get_json()["keys"]
    states = {k["kid"]: k["state"] for k in listed}
    assert states == {kid: "retired", second["kid"]: "active"}
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert {k["kid"] for k in jwks["keys"]} == set(states)
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in jwks["keys"])
    revoke = f"/api/v1/label-keys/{kid}/revoke"
    assert post(client, world, revoke, {}).status_code == 422
    assert post(client, world, revoke, {"reason": "x"}, "packer").status_code == 403
    revoked = post(client, world, revoke, {"reason": "tablet lost"})
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert kid not in {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    verdict = client.post("/api/v1/labels/verify", json={"url": url}).get_json()
    assert verdict["reason"] == "revoked_key" and "tablet lost" in verdict["message"]
    again = post(client, world, revoke, {"reason": "y"})
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert post(client, world, "/api/v1/label-keys/short/revoke", {"reason": "y"}).status_code == 400


def test_trust_list__served_signed_and_fresh(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    url = issue(client, world).get_json()["url"]
    verifier = Verifier.parse(client.get("/api/v1/ledger/key").get_data(as_text=True))
    first = client.get("/api/v1/trust-list")
    assert first.status_code == 200 and first.mimetype == "text/plain"
    trust = TrustList.open(first.get_data(as_text=True), pinned=verifier)
    assert labels.verify(url, trust).genuine
    assert trust.document["base_url"] == BASE
    # a revocation shows in the next trust list at once (the cache follows what it lists)
    kid = url.split("#1.")[1][:12]
    client.post(f"/api/v1/label-keys/{kid}/revoke", json={"reason": "lost"}, headers=world.bearer("farm-a"))
    again = TrustList.open(client.get("/api/v1/trust-list").get_data(as_text=True), pinned=verifier)
    assert labels.verify(url, again).reason == "revoked_key"
    document = json.loads(client.get("/api/v1/trust-list").get_data(as_text=True).split("\n\n")[0])
    assert document["keys"][0]["revoked_reason"] == "lost"
    assert document["revoked"] == [
        {"kid": kid, "party": "farm-a", "revoked_at": document["keys"][0]["revoked_at"], "reason": "lost"}
    ]
    assert document["issued_at"] < document["expires_at"] and document["recalled"] == []


# -- the producer's button ---------------------------------------------------------------------


def test_lots_page__print_label_button(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    sign_in(client, world.tokens["farm-a"])
    page = client.get("/lots")
    assert 'action="/labels/issue"' in page.get_data(as_text=True)
    csrf = csrf_of(page)
    response = client.post("/labels/issue", data={"id": A1, "format": "png", "csrf_token": csrf})
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert label_qr.decode_image(response.data) == [response.headers["Label-URL"]]
    assert client.post("/labels/issue", data={"id": A1, "format": "png"}).status_code == 400  # no CSRF token
    refused = client.post("/labels/issue", data={"id": lot_uri(ROMAINE, "NOPE"), "csrf_token": csrf})
    assert refused.status_code == 404 and "no lot" in refused.get_data(as_text=True)
    assert issued_count(world) == 1


def test_api__issue_by_gtin_and_lot_or_sscc(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    by_parts = client.post("/api/v1/labels", json={"gtin": ROMAINE, "lot": "A1"}, headers=world.bearer("farm-a"))
    assert by_parts.status_code == 201 and by_parts.get_json()["id"] == A1
    for body, field in (({"gtin": ROMAINE}, "/id"), ({"gtin": "123", "lot": "A1"}, "/gtin"), ({}, "/id")):
        response = client.post("/api/v1/labels", json=body, headers=world.bearer("farm-a"))
        assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == field
    unknown = client.post("/api/v1/labels", json={"sscc": "075400000000000110"}, headers=world.bearer("farm-a"))
    assert unknown.status_code in (404, 422) and unknown.mimetype == PROBLEM
