"""`GET /api/v1/trace` and `tracefood trace`: who may trace what, the answer's shape, and bad
input as problems naming the parameter. Both engines."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.cli.test_cli import run
from tests.factories import World, gtin, harvest, receive, ship
from tracefood.epcis.gs1_keys import lot_uri

A1 = lot_uri(gtin("0754000100011"), "A1")
PROBLEM = "application/problem+json"


@pytest.fixture
def chain(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World]:
    client, world = served
    world.record("farm-a", harvest("A1", "100"))
    world.record("farm-a", ship("A1", "60"))
    world.record("packer", receive("A1", "60"))
    return client, world


def get(client: FlaskClient, world: World, who: str, **args: str) -> object:
    return client.get("/api/v1/trace", query_string=args, headers=world.bearer(who))


def test_trace_api__forward_with_holders(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    response = get(client, world, "recall", id=A1, direction="forward")
    assert response.status_code == 200  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert body["lots"] == [A1] and len(body["events"]) == 3
    assert {(h["party"], h["quantity"]) for h in body["holders"]} == {("farm-a", "40"), ("packer", "60")}
    assert body["in_transit"] == [] and body["graph"]["nodes"][0]["id"] == A1
    assert {p["id"] for p in body["parties"]} == {"farm-a", "packer"}


@pytest.mark.parametrize(
    ("who", "status"), [("recall", 200), ("agency", 200), ("admin-party", 200), ("farm-a", 200), ("packer", 200),
                        ("farm-b", 404), ("dist", 404)],
)  # fmt: skip
def test_trace_api__who_may_trace(chain: tuple[FlaskClient, World], who: str, status: int) -> None:
    client, world = chain
    response = get(client, world, who, id=A1, direction="back")
    assert response.status_code == status  # type: ignore[attr-defined]
    assert client.get("/api/v1/trace", query_string={"id": A1, "direction": "back"}).status_code == 401


@pytest.mark.parametrize(
    ("args", "status", "field"),
    [
        ({"direction": "back"}, 400, "id"),
        ({"id": A1}, 400, "direction"),
        ({"id": A1, "direction": "up"}, 400, "direction"),
        ({"id": "nope", "direction": "back"}, 400, "id"),
        ({"id": lot_uri(gtin("0754000100011"), "ZZ"), "direction": "back"}, 404, "id"),
        ({"id": A1, "direction": "back", "limit": "0"}, 400, "limit"),
        ({"id": A1, "direction": "back", "limit": "x"}, 400, "limit"),
        ({"id": A1, "direction": "back", "page_token": "%%%"}, 400, "page_token"),
        ({"id": A1, "direction": "back", "colour": "red"}, 400, "colour"),
    ],
)
def test_trace_api__bad_input(chain: tuple[FlaskClient, World], args: dict[str, str], status: int, field: str) -> None:
    client, world = chain
    response = get(client, world, "recall", **args)
    assert response.status_code == status and response.mimetype == PROBLEM  # type: ignore[attr-defined]
    assert response.get_json()["errors"][0]["field"] == field  # type: ignore[attr-defined]


def test_cli__trace(tmp_path: object) -> None:
    from pathlib import Path

    home = Path(str(tmp_path))
    assert run(home, "demo", "--no-serve").returncode == 0
    text = run(home, "trace", "/01/17541004000141/10/SR-0815-B", "--direction", "back")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("trace back from https://id.gs1.org/01/17541004000141/10/SR-0815-B: 5 lots")
    assert "lot        urn:tracefood:lot:spinach-bulk:LS-0812" in text.stdout
    import json

    forward = json.loads(run(home, "trace", "075410000000000421", "--direction", "forward", "--json").stdout)
    assert forward["start"]["type"] == "container"
    # the container held three pallets: their lots, and what was made from them (nothing yet)
    assert sorted(lot.rsplit("/", 1)[1] for lot in forward["lots"]) == ["NAP-26225-01", "SR-0815-A", "SR-0815-B"]
    assert len(forward["containers"]) == 4
    bad = run(home, "trace", "nope", "--direction", "back")
    assert bad.returncode == 1 and bad.stderr.startswith("error: id:")
