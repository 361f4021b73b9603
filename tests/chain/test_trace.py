"""Trace back and forward on a hand-built chain whose answers are worked out by hand below.

The chain (days of August 2026):

    1  farm-a harvests A1 (100 KGM romaine) and A2 (30); farm-b harvests B1 (50 KGM spinach)
    2  A1 -> packhouse (BOL-1), B1 -> packhouse (BOL-2); A2 -> dc-ny by mistake (BOL-9),
       then declared erroneous (an EPCIS error declaration)
    3  the packer receives A1 and B1
    4  the packer mixes A1 (100) + B1 (50) into M1 (60 CS of salad mix) and loads 40 CS on PALLET
    5  PALLET ships to dc-ny (carrier, BOL-3), leaves by Lacolle, enters by Champlain
    6  dist receives PALLET and unloads the 40 CS; the packer ships its last 20 CS to the shop
       (still in transit)
    7  dist ships 15 CS to the shop (BOL-5); farm-b's B2 (20 KGM) reaches dc-ny and dist loads it
       on the same PALLET: a lot added after the pallet's trip, and a pallet reused
    8  the shop receives the 15 CS; dist ships PALLET (with B2) to the shop (BOL-6)

So M1 descends from A1 and B1 (mixing), is split between dist and the shop, travelled on PALLET
across the border, and shares PALLET (at another time) with B2, which is not its relative.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import PALLET, ROLES, build_world, epcis_document, gtin, harvest, receive, ship, t
from tracefood.chain import trace
from tracefood.chain.capture import EventStore
from tracefood.chain.export import export_document
from tracefood.chain.registry import Actor
from tracefood.epcis.gs1_keys import lot_uri, sscc_uri
from tracefood.epcis.readable_fields import private_lot_uri
from tracefood.errors import Conflict, InvalidParameter, NotFound
from tracefood.ledger import Ledger

ROMAINE, MIX = gtin("0754000100011"), gtin("1754000100018")
A1, A2, M1 = lot_uri(ROMAINE, "A1"), lot_uri(ROMAINE, "A2"), lot_uri(MIX, "M1")
B1, B2 = private_lot_uri("spinach", "B1"), private_lot_uri("spinach", "B2")
P = sscc_uri(PALLET)


def bol(number: str) -> dict[str, str]:
    return {"type": "bol", "number": number}


def item(lot: str, qty: str, product: str = "romaine") -> dict[str, str]:
    return {"product": product, "lot": lot, "quantity": qty}


@pytest.fixture
def chain(ledger: Ledger) -> dict[str, Any]:
    w = build_world(ledger)
    w.registry.create("party", {"id": "shop", "name": "Corner shop", "country": "US"}, w.actor("admin-party"))
    w.registry.create(
        "location",
        {"id": "shop-ny", "name": "Shop NY", "party": "shop", "kind": "retail", "country": "US"},
        w.actor("admin-party"),
    )
    w.registry.create(
        "location",
        {"id": "champlain", "name": "Champlain", "party": "agency", "kind": "port_of_entry", "port_code": "0712",
         "country": "US"},
        w.actor("admin-party"),
    )  # fmt: skip
    seqs: dict[str, int] = {}

    def rec(name: str, party: str, event: dict[str, Any]) -> None:
        (receipt,) = w.store.record(event, Actor(ROLES.get(party, "producer"), party, "test"))
        seqs[name] = receipt.seq

    rec("harvest A1", "farm-a", harvest("A1", "100"))
    rec("harvest A2", "farm-a", harvest("A2", "30"))
    rec("harvest B1", "farm-b", harvest("B1", "50", product="spinach", location="field-b"))
    rec("ship A1", "farm-a", ship("A1", "100"))
    rec("ship B1", "farm-b", ship("B1", "50", frm="field-b", product="spinach", number="BOL-2"))
    rec("ship A2", "farm-a", ship("A2", "30", to="dc-ny", number="BOL-9"))
    rec("receive A1", "packer", receive("A1", "100"))
    rec("receive B1", "packer", receive("B1", "50", frm="field-b", product="spinach", number="BOL-2"))
    rec("mix", "packer", {"kind": "transform", "time": t(4), "location": "packhouse",
                          "inputs": [item("A1", "100"), item("B1", "50", "spinach")],
                          "outputs": [item("M1", "60", "mix")]})  # fmt: skip
    rec("load", "packer", {"kind": "aggregate", "time": t(4, "12:00"), "location": "packhouse", "parent": PALLET,
                           "items": [item("M1", "40", "mix")]})  # fmt: skip
    rec("ship pallet", "packer", {"kind": "ship", "time": t(5), "location": "packhouse", "to": "dc-ny",
                                  "carrier": "carrier", "containers": [PALLET],
                                  "reference": {"type": "bol", "number": "BOL-3"}})  # fmt: skip
    rec("leave", "carrier", {"kind": "border_crossing", "time": t(5, "10:00"), "location": "lacolle",
                             "direction": "departing", "containers": [PALLET]})  # fmt: skip
    rec("enter", "carrier", {"kind": "border_crossing", "time": t(5, "10:30"), "location": "champlain",
                             "direction": "arriving", "containers": [PALLET]})  # fmt: skip
    rec("receive pallet", "dist", {"kind": "receive", "time": t(6), "location": "dc-ny", "from": "packhouse",
                                   "containers": [PALLET], "reference": bol("BOL-3")})  # fmt: skip
    rec("unload", "dist", {"kind": "disaggregate", "time": t(6, "09:00"), "location": "dc-ny", "parent": PALLET,
                           "items": [item("M1", "40", "mix")]})  # fmt: skip
    rec(
        "packer to shop",
        "packer",
        ship("M1", "20", frm="packhouse", to="shop-ny", day=6, product="mix", number="BOL-4"),
    )
    rec("dist to shop", "dist", ship("M1", "15", frm="dc-ny", to="shop-ny", day=7, product="mix", number="BOL-5"))
    rec("harvest B2", "farm-b", harvest("B2", "20", product="spinach", location="field-b", day=6))
    rec("ship B2", "farm-b", ship("B2", "20", frm="field-b", to="dc-ny", day=6, product="spinach", number="BOL-7"))
    rec("receive B2", "dist", receive("B2", "20", at="dc-ny", frm="field-b", day=7, product="spinach", number="BOL-7"))
    rec("reload", "dist", {"kind": "aggregate", "time": t(7, "12:00"), "location": "dc-ny", "parent": PALLET,
                           "items": [item("B2", "20", "spinach")]})  # fmt: skip
    rec("shop receives", "shop", receive("M1", "15", at="shop-ny", frm="dc-ny", day=8, product="mix", number="BOL-5"))
    rec("pallet to shop", "dist", {"kind": "ship", "time": t(8, "10:00"), "location": "dc-ny", "to": "shop-ny",
                                   "containers": [PALLET], "reference": bol("BOL-6")})  # fmt: skip
    # the shipment of A2 to dc-ny was a mistake: declare it erroneous
    (wrong,) = export_document(ledger.engine, seqs=[seqs["ship A2"]])["epcisBody"]["eventList"]
    wrong.pop("recordTime", None)
    wrong["errorDeclaration"] = {"declarationTime": "2026-08-02T12:00:00Z", "reason": "incorrect_data"}
    w.store.capture(epcis_document(wrong), w.actor("farm-a"))
    return {"world": w, "seqs": seqs, "ids": _event_ids(ledger, seqs)}


def _event_ids(ledger: Ledger, seqs: dict[str, int]) -> dict[str, str]:
    document = export_document(ledger.engine, seqs=sorted(seqs.values()))
    by_seq = dict(zip(sorted(seqs.values()), document["epcisBody"]["eventList"], strict=True))
    return {name: by_seq[seq]["eventID"] for name, seq in seqs.items()}


def events_of(result: dict[str, Any], chain: dict[str, Any]) -> set[str]:
    names = {v: k for k, v in chain["ids"].items()}
    return {names.get(e, e) for e in result["events"]}


def run(chain: dict[str, Any], identifier: str, direction: str) -> dict[str, Any]:
    return trace.trace(chain["world"].ledger.engine, identifier, direction)


def test_back_from_the_mix_reaches_both_farms(chain: dict[str, Any]) -> None:
    result = run(chain, M1, "back")
    assert set(result["lots"]) == {M1, A1, B1}
    assert result["containers"] == [P]
    assert events_of(result, chain) == {
        "harvest A1", "harvest B1", "ship A1", "ship B1", "receive A1", "receive B1", "mix", "load",
        "ship pallet", "leave", "enter", "receive pallet", "unload", "packer to shop", "dist to shop",
        "shop receives",
    }  # fmt: skip
    assert {p["id"] for p in result["parties"]} >= {"farm-a", "farm-b", "packer", "carrier", "dist", "shop"}
    used = {(e["from"], e["to"], e["quantity"]) for e in result["graph"]["edges"] if e["type"] == "transform"}
    assert used == {(A1, M1, "100"), (B1, M1, "50")}
    assert {e["event"] for e in result["graph"]["edges"] if e["type"] == "transform"} == {chain["ids"]["mix"]}
    assert result["holders"] == [] and result["in_transit"] == []  # where it is now: trace forward's job


def test_forward_from_a_farm_lot_reaches_the_mix_and_every_holder(chain: dict[str, Any]) -> None:
    result = run(chain, A1, "forward")
    assert set(result["lots"]) == {A1, M1}  # not B1 (a co-input), not B2 (a later pallet-mate)
    assert result["containers"] == [P]
    events = events_of(result, chain)
    assert {"leave", "enter", "ship pallet", "receive pallet"} <= events  # the trip inside PALLET
    assert not events & {"reload", "pallet to shop", "harvest B1", "harvest B2"}  # PALLET's later trip is not M1's
    holders = {(h["lot"], h["party"], h["quantity"]) for h in result["holders"]}
    assert holders == {(M1, "dist", "25"), (M1, "shop", "15")}
    transit = [(s["lot"], s["from_party"], s["to_party"], s["quantity"]) for s in result["in_transit"]]
    assert transit == [(M1, "packer", "shop", "20")]


def test_a_lot_added_after_the_trip_is_not_a_relative(chain: dict[str, Any]) -> None:
    forward = run(chain, B2, "forward")
    assert forward["lots"] == [B2] and forward["containers"] == [P]
    assert {"reload", "pallet to shop"} <= events_of(forward, chain)
    assert not events_of(forward, chain) & {"ship pallet", "leave", "enter", "mix"}
    assert {(s["lot"], s["to_party"]) for s in forward["in_transit"]} == {(B2, "shop")}
    back = run(chain, B2, "back")
    assert back["lots"] == [B2]


def test_from_the_pallet_every_content_of_its_life(chain: dict[str, Any]) -> None:
    result = run(chain, PALLET, "forward")  # a bare SSCC is accepted
    assert set(result["lots"]) == {M1, B2}
    assert result["start"]["id"] == P and result["start"]["type"] == "container"
    back = run(chain, f"/00/{PALLET}", "back")
    assert set(back["lots"]) == {M1, B2, A1, B1}


def test_a_corrected_shipment_is_left_out(chain: dict[str, Any]) -> None:
    result = run(chain, A2, "forward")
    assert result["lots"] == [A2]
    assert events_of(result, chain) == {"harvest A2"}
    assert result["in_transit"] == []
    assert "dist" not in {p["id"] for p in result["parties"]}
    assert [(h["party"], h["quantity"]) for h in result["holders"]] == [("farm-a", "30")]  # back at the farm


def test_urn_and_digital_link_forms_trace_alike(chain: dict[str, Any]) -> None:
    urn = f"urn:epc:class:lgtin:{ROMAINE[1:8]}.{ROMAINE[0]}{ROMAINE[8:13]}.A1"
    assert run(chain, urn, "forward")["lots"] == run(chain, A1, "forward")["lots"]


def test_paging_returns_everything_once(chain: dict[str, Any]) -> None:
    whole = run(chain, M1, "back")
    seen_events: list[str] = []
    seen_lots: list[str] = []
    token = None
    while True:
        page = trace.trace(chain["world"].ledger.engine, M1, "back", limit=4, page_token=token)
        seen_events += page["events"]
        seen_lots += page["lots"]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen_events == whole["events"] and sorted(seen_lots) == sorted(whole["lots"])


@pytest.mark.parametrize(
    ("identifier", "direction", "error", "field"),
    [
        ("urn:tracefood:lot:nothing:X", "back", NotFound, "id"),
        ("not an id", "back", InvalidParameter, "id"),
        ("https://id.gs1.org/01/12345678901234/10/A1", "back", InvalidParameter, "id"),
        ("A1", "sideways", InvalidParameter, "direction"),
    ],
)
def test_bad_input(chain: dict[str, Any], identifier: str, direction: str, error: type, field: str) -> None:
    with pytest.raises(error) as caught:
        run(chain, identifier, direction)
    assert caught.value.errors[0]["field"] == field
    with pytest.raises(InvalidParameter, match="page_token"):
        trace.trace(chain["world"].ledger.engine, A1, "back", page_token="garbage!")


# -- property: forward and back are mirror images, and both equal the lineage built -------------

_EXAMPLE = iter(range(10**9))


@st.composite
def lineages(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Steps on a fresh set of lots: ("harvest", n), ("transform", (inputs, moved)) where moved
    says the output is first split: part shipped to the packhouse and transformed there."""
    steps: list[tuple[str, Any]] = [("harvest", i) for i in range(draw(st.integers(1, 4)))]
    lots = len(steps)
    for _ in range(draw(st.integers(0, 6))):
        inputs = sorted(draw(st.sets(st.integers(0, lots - 1), min_size=1, max_size=3)))
        steps.append(("transform", inputs))
        lots += 1
    return steps


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=lineages(), shipped=st.booleans())
def test_property__forward_reaches_exactly_what_back_reaches(
    ledger: Ledger, steps: list[tuple[str, Any]], shipped: bool
) -> None:
    with contextlib.suppress(Conflict):  # the registry, once per database (examples share it)
        build_world(ledger)
    store = EventStore(ledger)
    tag = f"P{next(_EXAMPLE)}-"
    names: list[str] = []
    parents: dict[int, set[int]] = {}
    farm = Actor("producer", "farm-a", "test")
    for kind, arg in steps:
        n = len(names)
        names.append(f"{tag}{n}")
        if kind == "harvest":
            store.record(harvest(names[n], "1000"), farm)
        else:
            parents[n] = set(arg)
            store.record(
                {"kind": "transform", "time": t(2), "location": "field-a",
                 "inputs": [item(names[i], "10") for i in arg], "outputs": [item(names[n], "100")]},
                farm,
            )  # fmt: skip
    if shipped:  # a split: part of the last lot goes to the packhouse and is transformed there
        last = len(names) - 1
        store.record(ship(names[last], "40", number=f"{tag}BOL"), farm)
        store.record(receive(names[last], "40", number=f"{tag}BOL", day=3), Actor("producer", "packer", "t"))
        names.append(f"{tag}X")
        parents[len(names) - 1] = {last}
        store.record(
            {"kind": "transform", "time": t(4), "location": "packhouse",
             "inputs": [item(names[last], "40")], "outputs": [item(names[-1], "40")]},
            Actor("producer", "packer", "t"),
        )  # fmt: skip

    def ancestors(i: int) -> set[int]:
        out = {i}
        for p in parents.get(i, ()):
            out |= ancestors(p)
        return out

    keys = [lot_uri(ROMAINE, name) for name in names]
    back = {i: set(trace.trace(ledger.engine, keys[i], "back")["lots"]) for i in range(len(names))}
    forward = {i: set(trace.trace(ledger.engine, keys[i], "forward")["lots"]) for i in range(len(names))}
    for x in range(len(names)):
        assert back[x] == {keys[a] for a in ancestors(x)}
        for y in range(len(names)):
            assert (keys[y] in forward[x]) == (keys[x] in back[y])
