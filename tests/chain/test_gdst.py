"""The GDST seafood chain (``vectors/epcis/gdst-traceback``) imported leniently and traced back.

The documents come from another system and carry defects a strict capture refuses (see
``tracefood.ledger.lenient``); every expected answer below is worked out from the documents by
hand and written as the indexes of their events. ``traceback_tests.jsonld`` (21 events):

    hatchery:   0 hatching ADD tf12012021 (1000 KGM) -> 1 shipping -> 2 receiving at the fish farm
    feed mill: 13 commissioning ff11252021 (10000) -> 11 shipping -> 12 receiving at the fish farm
    fish farm: 14 farmHarvest: feed 10000 + hatchery 1000 -> farmed-tuna (12000);
                3 shipping -> 4 receiving at the processor
    fisherman:  5 fishingEvent v1-0122-2022 (9876) -> 6 transshipment -> 7 landing -> 8 receiving
    processor: 15 commingling: farmed-tuna 12000 + fisherman 10000 -> commingle (22000)
               16 commissioning: commingle 9876 -> processor.2u v1-0122-2022 (5000)
               17 packing the lot on SSCC ...0004; 18 packing ...0004 on ...0005 (pallet in pallet)
                9 shipping ...0005 -> 10 receiving at the importer
               19 unpacking ...0005 (no children named: all of them); 20 unpacking the lot from ...0004

The final product is processor.2u v1-0122-2022: its trace back reaches every lot and every event
of the document. The SSCC URNs are two digits short (kept as written), events 1/9/11, 2/10/12
and 19/20 share an eventID, and event 15 uses 10000 KGM of a lot of which 9876 was received.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VECTORS
from tracefood.chain import trace
from tracefood.chain.capture import EventStore
from tracefood.chain.pending import EventReceipt
from tracefood.chain.query import known_keys, run_query
from tracefood.chain.query_params import parse_query
from tracefood.chain.rebuild import rebuild
from tracefood.chain.registry import OPERATOR, Actor, Registry
from tracefood.epcis.events import parse_json_number
from tracefood.errors import InvalidEntry, NotFound, QueryParameterException
from tracefood.ledger import Ledger

GDST = VECTORS / "epcis" / "gdst-traceback"
ORG = "urn:gdst:example.org:product:lot:class:"
FINAL, COMMINGLE = ORG + "processor.2u.v1-0122-2022", ORG + "processor.10u.commingle-01232022"
FARMED, FISHED = ORG + "fishfarm.1u.farmed-tuna-01192022", ORG + "fisherman01.tunau.v1-0122-2022"
FEED, HATCHED = ORG + "feedmill.1u.ff11252021", ORG + "hatchery.1u.tf12012021"
CASE, PALLET = "urn:epc:id:sscc:08600031303.0004", "urn:epc:id:sscc:08600031303.0005"
WHOLECHAIN = "urn:gdst:wholechain.com:product:lot:class:fishcompany."
FILET, SALMON_FRY = (
    "urn:gdst:wholechain.com:product:lot:class:processingcompany.tunafilet.34e5e863",
    (WHOLECHAIN + "sal-fry.weio348"),
)


def load(name: str) -> Any:
    return json.loads((GDST / name).read_bytes().removeprefix(b"\xef\xbb\xbf"), parse_float=parse_json_number)


class Imported:
    def __init__(self, ledger: Ledger) -> None:
        Registry(ledger.engine).create("party", {"id": "importer", "name": "Importer", "country": "US"}, OPERATOR)
        self.ledger = ledger
        self.store = EventStore(ledger)
        self.actor = Actor("producer", "importer", "test")
        self.receipts: dict[str, list[EventReceipt]] = {}

    def run(self, name: str) -> list[dict[str, Any]]:
        receipts, repairs = self.store.import_document(load(name), self.actor, lenient=True)
        self.receipts[name] = receipts
        return repairs

    def ids(self, name: str, indexes: set[int] | range) -> set[str]:
        """The recorded eventIDs of these events of a document (after repairs)."""
        return {self.receipts[name][i].event_id for i in indexes}

    def trace(self, identifier: str, direction: str) -> dict[str, Any]:
        return trace.trace(self.ledger.engine, identifier, direction)


@pytest.fixture
def gdst(ledger: Ledger) -> Imported:
    imported = Imported(ledger)
    imported.run("traceback_tests.jsonld")
    return imported


def test_gdst__the_strict_import_refuses_and_the_lenient_one_lists_its_repairs(ledger: Ledger) -> None:
    imported = Imported(ledger)
    with pytest.raises(InvalidEntry) as refused:
        imported.store.import_document(load("traceback_tests.jsonld"), imported.actor)
    assert "08600031303.0005" in refused.value.errors[0]["reason"]
    assert ledger.size() == 0
    repairs = imported.run("traceback_tests.jsonld")
    base = "/epcisBody/eventList/"
    by_kind: dict[str, set[str]] = {}
    for repair in repairs:
        assert repair["field"].startswith(base)
        by_kind.setdefault(repair["reason"].split(":")[0], set()).add(repair["field"].removeprefix(base))
    assert by_kind == {
        "kept as written and followed by identity": {
            "9/epcList/0", "10/epcList/0", "17/parentID", "18/parentID", "18/childEPCs/0", "19/parentID",
            "20/parentID",
        },
        # the earliest event keeps a shared eventID (19 and 20 are simultaneous: document order)
        "replaced by the event's hash ID": {"9/eventID", "10/eventID", "11/eventID", "12/eventID", "20/eventID"},
        "more than the 9876 KGM on hand at urn": {"15/inputQuantityList/1/quantity"},
    }  # fmt: skip
    receipts = imported.receipts["traceback_tests.jsonld"]
    assert len({r.seq for r in receipts}) == 21 and ledger.size() == 21
    assert len({r.event_id for r in receipts}) == 21  # every eventID names one event now
    assert {receipts[i].event_id for i in (9, 10, 11, 12, 20)} == {receipts[i].hash_id for i in (9, 10, 11, 12, 20)}
    assert receipts[1].event_id == "urn:uuid:cd1df67c-def8-4a64-a19a-e531ff11b6a7U"
    # the ledger entry keeps what was repaired, and a replay of the ledger gives the same state
    assert rebuild(ledger.engine).ok
    # the same document again changes nothing
    again, _ = imported.store.import_document(load("traceback_tests.jsonld"), imported.actor, lenient=True)
    assert not any(r.created for r in again) and ledger.size() == 21


def test_gdst__trace_back_from_the_final_product_reaches_the_whole_chain(gdst: Imported) -> None:
    result = gdst.trace(FINAL, "back")
    assert set(result["lots"]) == {FINAL, COMMINGLE, FARMED, FISHED, FEED, HATCHED}
    assert set(result["containers"]) == {CASE, PALLET}
    assert set(result["events"]) == gdst.ids("traceback_tests.jsonld", range(21))
    assert result["counts"] == {"lots": 6, "containers": 2, "events": 21}
    transforms = {(e["from"], e["to"], e["quantity"]) for e in result["graph"]["edges"] if e["type"] == "transform"}
    assert transforms == {
        (COMMINGLE, FINAL, "9876"),
        (FARMED, COMMINGLE, "12000"),
        (FISHED, COMMINGLE, "10000"),
        (FEED, FARMED, "10000"),
        (HATCHED, FARMED, "1000"),
    }
    carried = {(e["from"], e["to"]) for e in result["graph"]["edges"] if e["type"] == "carried"}
    assert carried == {(CASE, FINAL), (PALLET, FINAL)}  # the pallet held the case that held the lot
    depth = {n["id"]: n["depth"] for n in result["graph"]["nodes"] if n["type"] == "lot"}
    assert depth == {FINAL: 0, COMMINGLE: 1, FARMED: 2, FISHED: 2, FEED: 3, HATCHED: 3}


def test_gdst__trace_back_from_an_intermediate_lot_stops_at_its_own_sources(gdst: Imported) -> None:
    result = gdst.trace(FARMED, "back")
    assert set(result["lots"]) == {FARMED, FEED, HATCHED}
    # the farmed tuna's own events (made by 14, shipped 3, received 4, consumed by 15) and its
    # sources' (feed 13/11/12, hatchery 0/1/2); nothing of the fisherman's lot or the product
    assert set(result["events"]) == gdst.ids("traceback_tests.jsonld", {0, 1, 2, 3, 4, 11, 12, 13, 14, 15})


def test_gdst__trace_forward_from_the_hatchery_reaches_the_importer(gdst: Imported) -> None:
    result = gdst.trace(HATCHED, "forward")
    assert set(result["lots"]) == {HATCHED, FARMED, COMMINGLE, FINAL}  # not the feed or the fish: co-inputs
    assert set(result["containers"]) == {CASE, PALLET}
    expected = {0, 1, 2, 14, 3, 4, 15, 16, 17, 18, 9, 10, 19, 20}
    assert set(result["events"]) == gdst.ids("traceback_tests.jsonld", expected)
    holders = {(h["lot"], h["location"], h["quantity"]) for h in result["holders"]}
    assert holders == {
        (FINAL, "urn:gdst:example.org:location:loc:importer.123u", "5000"),  # received in the pallet
        (COMMINGLE, "urn:gdst:example.org:location:loc:processor.plant1u", "12124"),  # 22000 - 9876
    }
    assert result["in_transit"] == []


def test_gdst__a_short_sscc_is_traced_and_queried_as_written(gdst: Imported) -> None:
    result = gdst.trace(PALLET, "forward")
    assert set(result["containers"]) == {PALLET, CASE} and result["lots"] == [FINAL]
    assert set(result["events"]) == gdst.ids("traceback_tests.jsonld", {16, 17, 18, 9, 10, 19, 20})
    officer = Actor("recall_officer", "importer", "test")
    page = run_query(gdst.ledger.engine, parse_query([("MATCH_epc", PALLET)], known_keys(gdst.ledger.engine)), officer)
    found = page.document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert {e["eventID"] for e in found} == gdst.ids("traceback_tests.jsonld", {9, 10})
    with pytest.raises(QueryParameterException):  # a short URN the ledger does not hold is malformed
        parse_query([("MATCH_epc", "urn:epc:id:sscc:08600031303.0009")], known_keys(gdst.ledger.engine))
    # the correctly written SSCC would be another unit: it is not in this ledger
    with pytest.raises(NotFound, match="no lot"):
        gdst.trace("urn:epc:id:sscc:08600031303.000005", "forward")


def test_gdst__documents_sharing_events_import_once(gdst: Imported) -> None:
    """testserver_advancedfilters repeats 12 events of traceback_tests, reuses SSCC ...0004 for a
    second trip (15 packing, 16 unpacking) and ships ...0004 itself (7, 8)."""
    gdst.run("testserver_advancedfilters.jsonld")
    receipts = gdst.receipts["testserver_advancedfilters.jsonld"]
    assert sum(r.created for r in receipts) == 5 and gdst.ledger.size() == 26
    shared = {0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13}
    assert gdst.ids("testserver_advancedfilters.jsonld", shared) <= gdst.ids("traceback_tests.jsonld", range(21))
    result = gdst.trace(FINAL, "back")
    assert set(result["events"]) == gdst.ids("traceback_tests.jsonld", range(21)) | gdst.ids(
        "testserver_advancedfilters.jsonld", {7, 8, 14, 15, 16}
    )
    assert rebuild(gdst.ledger.engine).ok


def test_gdst__co_travel_in_a_container_is_not_lineage(ledger: Ledger) -> None:
    """epcisquerydoc-example01, the wholechain.com chain: two catches (17, 18) commingled (19) into
    1024f44f, processed (21) into head-and-gutted tuna 8a25a035, transshipped (22), landed (23),
    packed (24) on SSCC 0614141.1234567890 with whole salmon eiwo493 (from fry weio348 by 20),
    shipped (25), received (26), unpacked (27), and processed (28) into tuna filet 34e5e863."""
    imported = Imported(ledger)
    repairs = imported.run("epcisquerydoc-example01.jsonld")
    fields = {r["field"].rsplit("eventList/", 1)[-1] for r in repairs}
    assert {"/epcisHeader", "20/transformationID", "21/transformationID", "28/transformationID"} <= fields
    name = "epcisquerydoc-example01.jsonld"
    back = imported.trace(FILET, "back")
    tuna = {WHOLECHAIN + s for s in ("hgtuna.8a25a035", "tuna.1024f44f", "tuna.23423", "tuna.23423445")}
    assert set(back["lots"]) == {FILET} | tuna
    assert set(back["events"]) == imported.ids(name, {17, 18, 19, 21, 22, 23, 24, 25, 26, 27, 28})
    assert back["containers"] == ["https://id.gs1.org/00/106141412345678908"]  # extension digit 1 first
    forward = imported.trace(SALMON_FRY, "forward")
    assert set(forward["lots"]) == {SALMON_FRY, WHOLECHAIN + "sal-whole.eiwo493"}  # never the tuna filet
    assert set(forward["events"]) == imported.ids(name, {2, 20, 24, 25, 26, 27})
    # the example.org chain of the same document, its SSCC ...0003 packed twice (13, 29)
    chain = set(range(31)) - {2, *range(17, 29)}
    assert set(imported.trace(ORG + "processor.2.v1-0122-2022", "back")["events"]) == imported.ids(name, chain)


def test_gdst__a_repeated_event_is_recorded_once_and_a_broken_file_is_refused(ledger: Ledger) -> None:
    imported = Imported(ledger)
    imported.run("EPCISQueryDocument_duplicate_eventIDs.jsonld")
    first, second = imported.receipts["EPCISQueryDocument_duplicate_eventIDs.jsonld"]
    assert first == second and ledger.size() == 1  # the same event twice: one entry
    broken = (GDST / "EPCISQueryDocument_malformed.jsonld").read_text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken)


def test_gdst__lenient_is_a_closed_list(ledger: Ledger, tmp_path: Path) -> None:
    """Any other defect refuses the document whole, lenient or not."""
    imported = Imported(ledger)
    document = load("traceback_tests.jsonld")
    document["epcisBody"]["eventList"][3]["quantityList"][0]["epcClass"] = "urn:epc:class:lgtin:40123A5.012345.X"
    document["epcisBody"]["eventList"][5]["bizStep"] = "fishing"  # not a CBV term
    with pytest.raises(InvalidEntry) as refused:
        imported.store.import_document(document, imported.actor, lenient=True)
    assert {e["field"] for e in refused.value.errors} == {"/epcisBody/eventList/5/bizStep"}
    del document["epcisBody"]["eventList"][5]["bizStep"]
    with pytest.raises(InvalidEntry) as refused:
        imported.store.import_document(document, imported.actor, lenient=True)
    assert refused.value.errors[0]["field"] == "/epcisBody/eventList/3/quantityList/0/epcClass"
    assert ledger.size() == 0


@pytest.mark.parametrize("text", ["a%00b", "a%0Ab", "X" * 21, ""])
def test_gdst__digits_missing_do_not_excuse_a_bad_lot(ledger: Ledger, text: str) -> None:
    """A URN kept as written must still have a lot code TraceFood would take."""
    imported = Imported(ledger)
    document = load("traceback_tests.jsonld")
    document["epcisBody"]["eventList"][3]["quantityList"][0]["epcClass"] = "urn:epc:class:lgtin:061414.01234." + text
    with pytest.raises(InvalidEntry) as refused:
        imported.store.import_document(document, imported.actor, lenient=True)
    assert refused.value.errors[0]["field"] == "/epcisBody/eventList/3/quantityList/0/epcClass"
    assert ledger.size() == 0
