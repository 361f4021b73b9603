"""Records on demand never carry a live spreadsheet formula: a lot code or a document number
that starts like a formula comes out of the FSMA 204 and CFIA CSV files as text (OWASP CSV
injection), while the XLSX file writes every cell as a string already. Both engines."""

from __future__ import annotations

import csv
import io

import pytest

from tests.factories import World, gtin, harvest, ship
from tracefood.chain import records
from tracefood.epcis.gs1_keys import lot_uri

ROMAINE = gtin("0754000100011")


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8").removeprefix("\ufeff"))))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("-12.5", "-12.5"),  # a plain number cannot run
        ("A=1", "A=1"),
        ("", ""),
    ],
)
def test_cell__neutralises_formulas(value: str, shown: str) -> None:
    assert records.cell(value) == shown


def test_records__formula_lot_codes_and_documents_come_out_as_text(world: World) -> None:
    world.record("farm-a", harvest("=1+2", "100"))
    world.record("farm-a", ship("=1+2", "100", number="@SUM(A1)"))
    lot = lot_uri(ROMAINE, "=1+2")
    rows = records.rows(world.ledger.engine, records.lots_for(world.ledger.engine, ids=[lot]), None, None)
    fsma = _rows(records.fsma204_csv(rows))
    assert {r["Traceability lot code"] for r in fsma} == {"'=1+2"}
    assert not any(cell.startswith(records._FORMULA_START) for r in fsma for cell in r.values())
    cfia = _rows(records.cfia_csv(rows))
    assert {r["Lot code"] for r in cfia} == {"'=1+2"}
    assert not any(cell.startswith(records._FORMULA_START) for r in cfia for cell in r.values())
