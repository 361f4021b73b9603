"""What a recall shows to whom (issue 12): every signed-in party reads the notice (class, reason,
instructions, every lot in scope); those who read every lot see every holder, its stock, what is
coming to it and its acknowledgement (contacts for recall officers only); any other party sees
its own part only. Over HTTP (API and page), both engines."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.factories import World
from tests.web.test_pages import sign_in
from tests.web.test_recalls import A1, M1, chain, open_recall

__all__ = ["chain"]  # the fixture: A1 -> packer -> M1 (40 CS on hand), 10 CS of M1 in transit to dist

OTHERS_NAMES = {"packer": ("Emballeur", "qa@packer.example"), "dist": ("NY Distributor", "recalls@dist.example")}


def _opened(client: FlaskClient, world: World) -> str:
    made = open_recall(client, world, instructions="Pull from shelves")
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["id"])


def _shown(client: FlaskClient, world: World, who: str, recall_id: str) -> tuple[dict[str, Any], str]:
    response = client.get(f"/api/v1/recalls/{recall_id}", headers=world.bearer(who))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), response.get_data(as_text=True)


def _notice_is_whole(shown: dict[str, Any]) -> None:
    assert shown["class"] == "I" and shown["reason"] == "Listeria monocytogenes"
    assert shown["instructions"] == "Pull from shelves" and shown["status"] == "open"
    assert {lot["id"] for lot in shown["lots"]} == {A1, M1}


def test_recall_detail__every_holder_for_those_who_read_every_lot(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    recall_id = _opened(client, world)
    for who, contacts in (("recall", True), ("agency", False), ("admin-party", True)):
        shown, _ = _shown(client, world, who, recall_id)
        _notice_is_whole(shown)
        assert shown["view"] == "every holder"
        holders = {h["party"]: h for h in shown["holders"]}
        assert set(holders) == {"packer", "dist"}
        assert holders["packer"]["on_hand"][0]["quantity"] == "40"
        assert holders["dist"]["incoming"][0]["quantity"] == "10"
        assert (holders["dist"]["contact"] is not None) is contacts, who
        assert shown["effectiveness"] == {"holders": 2, "acknowledged": 0, "waiting": ["dist", "packer"]}


def test_recall_detail__a_party_sees_the_notice_and_its_own_part_only(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    recall_id = _opened(client, world)
    for who in ("farm-a", "farm-b", "carrier"):  # no holders: the notice only
        shown, text = _shown(client, world, who, recall_id)
        _notice_is_whole(shown)
        assert shown["view"] == "own part" and shown["holders"] == [] and shown["in_transit"] == []
        assert shown["effectiveness"] is None and shown["opened_by"] is None
        for name, contact in OTHERS_NAMES.values():
            assert name not in text and contact not in text, who
    shown, text = _shown(client, world, "dist", recall_id)
    assert [h["party"] for h in shown["holders"]] == ["dist"]
    assert shown["holders"][0]["on_hand"] == [] and shown["holders"][0]["incoming"][0]["quantity"] == "10"
    assert [m["to_party"] for m in shown["in_transit"]] == ["dist"]
    assert "Emballeur" not in text and "qa@packer.example" not in text and '"40"' not in text
    shown, text = _shown(client, world, "packer", recall_id)
    assert [h["party"] for h in shown["holders"]] == ["packer"] and shown["holders"][0]["on_hand"][0][
        "quantity"
    ] == "40"
    assert [m["from_party"] for m in shown["in_transit"]] == ["packer"]  # its own shipment, sent
    assert "NY Distributor" not in text and "recalls@dist.example" not in text and shown["effectiveness"] is None


def test_recall_detail__a_holder_sees_its_own_acknowledgement_not_others(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    recall_id = _opened(client, world)
    path = f"/api/v1/recalls/{recall_id}"
    acked = client.post(path + "/acknowledge", json={"note": "quarantined"}, headers=world.bearer("dist"))
    assert acked.status_code == 200
    mine = acked.get_json()
    assert mine["view"] == "own part" and [h["party"] for h in mine["holders"]] == ["dist"]
    assert mine["holders"][0]["acknowledged"]["note"] == "quarantined"
    shown, text = _shown(client, world, "packer", recall_id)
    assert shown["holders"][0]["acknowledged"] is None and "quarantined" not in text
    officer, _ = _shown(client, world, "recall", recall_id)
    assert officer["effectiveness"] == {"holders": 2, "acknowledged": 1, "waiting": ["packer"]}


def test_recall_page__a_party_sees_its_own_part(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    recall_id = _opened(client, world)
    sign_in(client, world.tokens["farm-b"])
    page = client.get(f"/recall/{recall_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Listeria monocytogenes" in html and "A1" in html and "M1" in html
    for name, contact in OTHERS_NAMES.values():
        assert name not in html and contact not in html
    assert 'id="effectiveness"' not in html and 'name="action" value="ack"' not in html
    client.post("/sign-out", data={})
    sign_in(client, world.tokens["dist"])
    html = client.get(f"/recall/{recall_id}").get_data(as_text=True)
    assert "NY Distributor" in html and "Emballeur" not in html and 'name="action" value="ack"' in html
    client.post("/sign-out", data={})
    sign_in(client, world.tokens["recall"])
    html = client.get(f"/recall/{recall_id}").get_data(as_text=True)
    assert "Emballeur" in html and "NY Distributor" in html and "0 of 2 holders acknowledged" in html
