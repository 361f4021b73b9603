"""Records on demand on both engines: the FSMA 204 sortable spreadsheet (CSV and XLSX, read back
with openpyxl), the CFIA one-step-back/one-step-forward file and the EPCIS document, for a recall
or for lots and their trace, over HTTP and from the CLI."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask.testing import FlaskClient

from tests.cli.test_cli import run
from tests.factories import World
from tests.web.test_recalls import A1, M1, chain, open_recall
from tracefood.chain.records import CFIA_COLUMNS, FSMA_COLUMNS

__all__ = ["chain"]  # the fixture, shared with test_recalls


def csv_rows(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheet programs read it as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_fsma204_for_a_recall(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    recall_id = open_recall(client, world).get_json()["id"]
    response = client.get("/api/v1/records/fsma204", query_string={"recall": recall_id}, headers=world.bearer("recall"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = csv_rows(response.data)
    assert list(rows[0]) == list(FSMA_COLUMNS)
    events = [(r["Critical tracking event"], r["Traceability lot code"], r["Quantity"]) for r in rows]
    # worked out by hand: A1 harvested, shipped, received, used; M1 made, shipped; the recall on both
    assert events == [
        ("Harvesting", "A1", "100"),
        ("Shipping", "A1", "100"),
        ("Receiving", "A1", "100"),
        ("Transformation", "A1", "100"),
        ("Transformation", "M1", "50"),
        ("Shipping", "M1", "10"),
        ("Other: recall", "A1", ""),
        ("Other: recall", "M1", ""),
    ]
    ship = rows[1]
    assert ship["Ship-from location"].startswith("Field A") and ship["Ship-to location"].startswith("Packhouse")
    assert (ship["Reference document type"], ship["Reference document number"]) == ("bol", "BOL-1")
    assert rows[0]["Traceability lot code source"].startswith("Field A") and rows[0]["GTIN"] == A1.split("/")[4]
    assert rows[4]["Product description"] == "Salad mix" and rows[4]["Unit of measure"] == "CS"
    xlsx = client.get(
        "/api/v1/records/fsma204", query_string={"recall": recall_id, "format": "xlsx"}, headers=world.bearer("recall")
    )
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True)
    table = [[c if c is not None else "" for c in row] for row in book.active.iter_rows(values_only=True)]
    book.close()
    assert table[0] == list(FSMA_COLUMNS)
    assert table[1:] == [[r[c] for c in FSMA_COLUMNS] for r in rows]  # the same records


def test_cfia_and_epcis_for_lots_and_their_trace(chain: tuple[FlaskClient, World]) -> None:
    client, world = chain
    args: dict[str, Any] = {"id": M1, "trace": "back"}
    cfia = client.get("/api/v1/records/cfia", query_string=args, headers=world.bearer("agency"))
    rows = csv_rows(cfia.data)
    assert list(rows[0]) == list(CFIA_COLUMNS)
    steps = [(r["Lot code"], r["Step"], r["Other party"]) for r in rows]
    assert ("A1", "Received from (one step back)", "Ferme A") in steps
    assert ("A1", "Sent to (one step forward)", "Emballeur") in steps
    assert ("M1", "Sent to (one step forward)", "NY Distributor") in steps
    epcis = client.get("/api/v1/records/epcis", query_string=args, headers=world.bearer("agency")).get_json()
    assert (
        epcis["type"] == "EPCISDocument" and len(epcis["epcisBody"]["eventList"]) == 5
    )  # harvest, ship, receive, mix, ship
    dated = client.get(
        "/api/v1/records/fsma204", query_string=args | {"from": "2026-08-04", "to": "2026-08-04"},
        headers=world.bearer("agency"),
    )  # fmt: skip
    assert {r["Critical tracking event"] for r in csv_rows(dated.data)} == {"Transformation"}


@pytest.mark.parametrize(
    ("who", "args", "status", "field"),
    [
        ("farm-a", {"id": A1}, 403, None),
        ("recall", {}, 400, "id"),
        ("recall", {"recall": "R-1999-0001"}, 400, "recall"),
        ("recall", {"id": A1, "format": "pdf"}, 400, "format"),
        ("recall", {"id": A1, "trace": "up"}, 400, "trace"),
        ("recall", {"id": A1, "from": "yesterday"}, 400, "from"),
        ("recall", {"id": A1, "colour": "red"}, 400, "colour"),
        ("recall", {"id": "nope"}, 400, "id"),
    ],
)
def test_records_bad_requests(
    chain: tuple[FlaskClient, World], who: str, args: dict[str, str], status: int, field: str | None
) -> None:
    client, world = chain
    response = client.get("/api/v1/records/fsma204", query_string=args, headers=world.bearer(who))
    assert response.status_code == status and response.mimetype == "application/problem+json"
    if field:
        assert response.get_json()["errors"][0]["field"] == field


def test_cli__export_fsma204_cfia_epcis(tmp_path: Path) -> None:
    assert run(tmp_path, "demo", "--no-serve").returncode == 0
    salad = "/01/17541004000141/10/SR-0815-B"
    xlsx = tmp_path / "fsma.xlsx"
    made = run(tmp_path, "export", "fsma204", "--lot", salad, "--trace", "back", "-o", str(xlsx))
    assert made.returncode == 0, made.stderr
    book = openpyxl.load_workbook(xlsx, read_only=True)  # read-only keeps the file open until closed
    try:
        rows = list(book.active.iter_rows(values_only=True))
    finally:
        book.close()
    assert rows[0] == FSMA_COLUMNS and len(rows) > 10
    assert {r[3] for r in rows[1:]} >= {"SR-0815-B", "LS-0812", "HG-0812"}  # the salad and both farm lots
    cfia = tmp_path / "cfia.csv"
    assert run(tmp_path, "export", "cfia", "--lot", salad, "-o", str(cfia)).returncode == 0
    assert "Sent to (one step forward)" in cfia.read_text(encoding="utf-8-sig")
    epcis = tmp_path / "e.jsonld"
    assert run(tmp_path, "export", "epcis", "--lot", salad, "-o", str(epcis)).returncode == 0
    bad = run(tmp_path, "export", "fsma204", "-o", str(tmp_path / "x.csv"))
    assert bad.returncode == 1 and bad.stderr.startswith("error: id:")
