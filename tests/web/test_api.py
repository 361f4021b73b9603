"""The ledger API through the real Flask app on each engine, and the shape of every error."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Database
from tracefood.ledger import Ledger, NewEntry, merkle
from tracefood.ledger.note import Verifier, open_checkpoint
from tracefood.web import ledger_ext
from tracefood.web.api.ledger import openapi_paths
from tracefood.web.app import create_app

PROBLEM = "application/problem+json"


def b64d(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


@pytest.fixture
def app(migrated: Database, key_file: Path, tmp_path: Path) -> Iterator[Flask]:
    ledger = Ledger.open(migrated.url, key_file=key_file)
    ledger.append_batch([NewEntry({"lot": f"L{i}", "kg": i}) for i in range(13)])
    ledger.close()
    app = create_app({"DATABASE_URL": migrated.url, "LEDGER_KEY_FILE": str(key_file), "HOME": str(tmp_path)})
    yield app
    ledger_ext.close(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_problem(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field], body
        assert all(e["reason"] for e in body["errors"])
    return body


def test_healthz__reports_ledger_size(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["ledger_size"] == 13


def test_checkpoint__is_signed_by_the_published_key(client: FlaskClient) -> None:
    key = client.get("/api/v1/ledger/key")
    assert key.status_code == 200 and key.mimetype == "text/plain"
    verifier = Verifier.parse(key.get_data(as_text=True))
    note = client.get("/api/v1/ledger/checkpoint")
    assert note.mimetype == "text/plain"
    checkpoint = open_checkpoint(note.get_data(as_text=True), verifier)
    assert checkpoint.size == 13


def test_entry__the_public_gets_hashes_not_the_payload(client: FlaskClient) -> None:
    """Issue 12: an entry's payload is a business record (tests/web/test_entry_access.py covers
    who reads it); without a token the entry is its index, id, leaf hash and checkpoint."""
    body = client.get("/api/v1/ledger/entries/4").get_json()
    assert body["index"] == 4 and body["payload"] == "withheld" and "body" not in body and "entry" not in body
    proof = client.get(body["checkpoint"]["inclusion_proof"]).get_json()
    assert proof["leaf_hash"] == body["leaf_hash"] and body["checkpoint"]["size"] == 13


def test_proofs__verify_against_the_signed_checkpoint(client: FlaskClient) -> None:
    verifier = Verifier.parse(client.get("/api/v1/ledger/key").get_data(as_text=True))
    checkpoint = open_checkpoint(client.get("/api/v1/ledger/checkpoint").get_data(as_text=True), verifier)
    for index in range(13):
        proof = client.get(f"/api/v1/ledger/proofs/inclusion?index={index}&size=13").get_json()
        entry = client.get(f"/api/v1/ledger/entries/{index}").get_json()
        assert proof["leaf_hash"] == entry["leaf_hash"]
        merkle.verify_inclusion(index, 13, b64d(proof["leaf_hash"]), [b64d(p) for p in proof["proof"]], checkpoint.root)
    for first in range(1, 14):
        proof = client.get(f"/api/v1/ledger/proofs/consistency?from={first}&to=13").get_json()
        assert b64d(proof["to_root"]) == checkpoint.root
        merkle.verify_consistency(
            first, 13, [b64d(p) for p in proof["proof"]], b64d(proof["from_root"]), checkpoint.root
        )


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/v1/ledger/proofs/inclusion?index=13&size=13", 400, "index"),
        ("/api/v1/ledger/proofs/inclusion?index=abc", 400, "index"),
        ("/api/v1/ledger/proofs/inclusion?index=-1", 400, "index"),
        ("/api/v1/ledger/proofs/inclusion?index=1.5", 400, "index"),
        ("/api/v1/ledger/proofs/inclusion", 400, "index"),
        ("/api/v1/ledger/proofs/inclusion?index=0&size=0", 400, "size"),
        ("/api/v1/ledger/proofs/inclusion?index=0&size=14", 404, "size"),
        ("/api/v1/ledger/proofs/inclusion?index=0&size=99999999999999999999999", 400, "size"),
        ("/api/v1/ledger/proofs/consistency?from=5&to=3", 400, "from"),
        ("/api/v1/ledger/proofs/consistency?from=0&to=3", 400, "from"),
        ("/api/v1/ledger/proofs/consistency?from=x&to=3", 400, "from"),
        ("/api/v1/ledger/proofs/consistency?from=1&to=20", 404, "to"),
        ("/api/v1/ledger/entries/13", 404, "index"),
        ("/api/v1/ledger/entries/x1", 400, "index"),
        ("/api/v1/ledger/entries/" + "1" * 5000, 400, "index"),
        ("/api/v1/ledger/entries/9999999999999999999", 404, "index"),
        ("/api/v1/ledger/proofs/inclusion?index=" + "1" * 5000, 400, "index"),
        ("/api/v1/ledger/proofs/inclusion?index=1&size=9223372036854775807", 404, "size"),
        ("/api/v1/ledger/proofs/consistency?from=2&to=288230376151711745", 404, "to"),
        ("/api/v1/ledger/proofs/consistency?from=2&to=9999999999999999999", 404, "to"),
    ],
)
def test_api__bad_requests_are_problems_naming_the_field(
    client: FlaskClient, url: str, status: int, field: str
) -> None:
    assert_problem(client.get(url), status, field)


def test_api__unknown_route_and_method_are_problems(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/nope"), 404)
    response = client.post("/api/v1/ledger/checkpoint")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_api__uninitialised_database_says_run_init(tmp_path: Path, key_file: Path) -> None:
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "LEDGER_KEY_FILE": str(key_file), "HOME": str(tmp_path)}
    )
    client = app.test_client()
    body = assert_problem(client.get("/api/v1/ledger/checkpoint"), 503)
    assert "tracefood init" in body["detail"]
    health = client.get("/healthz")
    assert health.status_code == 503 and "tracefood init" in health.get_json()["detail"]
    ledger_ext.close(app)


def test_openapi__documents_exactly_the_routes(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api", "/healthz", "/epcis", "/.well-known", "/01/", "/00/")):
            routes |= documented_form(rule.rule)
    assert routes == set(openapi_paths())


def documented_form(rule: str) -> set[str]:
    """OpenAPI paths of a Flask rule: ``<any(a, b):kind>`` is one path per alternative, and
    ``<int:index>`` is ``{index}``."""
    found = re.search(r"<any\(([^)]*)\):\w+>", rule)
    if found:
        return {
            path
            for alternative in found.group(1).split(",")
            for path in documented_form(rule[: found.start()] + alternative.strip() + rule[found.end() :])
        }
    return {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)}
