"""The EPCIS 2.0 query interface over HTTP (``GET /epcis/events``, ``GET /epcis/events/{id}``),
on both engines, against a hand-built supply chain whose answers are worked out by hand.

The chain (times are -04:00; UTC in brackets; E0..E8 is ledger order):

====  ========  ===================================================================  ============
name  recorder  event                                                                eventTime
====  ========  ===================================================================  ============
E0    farm-a    harvest romaine lot A1 at field A (ObjectEvent ADD, quantityList)    d1 08:00 [12Z]
E1    farm-b    harvest spinach lot S1 at field B (private ids)                      d1 07:00 [11Z]
E2    farm-a    ship A1 field A -> packhouse (OBSERVE shipping in_transit)           d2 08:00 [12Z]
E3    farm-b    ship S1 field B -> packhouse, carried by the carrier                 d2 06:00 [10Z]
E4    packer    receive A1 at the packhouse                                          d3 08:00 [12Z]
E5    packer    receive S1 at the packhouse (same eventTime as E4)                   d3 08:00 [12Z]
E6    packer    transform A1 + S1 -> salad mix M1 (TransformationEvent)              d4 08:00 [12Z]
E7    packer    aggregate M1 onto PALLET (AggregationEvent ADD, childQuantityList)   d4 12:00 [16Z]
E8    packer    EPCIS capture: commission items S-1, S-2 (epcList in URN form,       d5 08:00 [12Z]
                bizLocation as an SGLN URN, eventID urn:uuid:...)
====  ========  ===================================================================  ============
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.epcis.test_validate import SCHEMA
from tests.factories import PALLET, World, epcis_document, harvest, receive, ship, t
from tracefood.chain.export import export_document

Served = tuple[FlaskClient, World]
QPE = "epcisException:QueryParameterException"
FIELD_A_URN = "urn:epc:id:sgln:754000.000101.0"  # = https://id.gs1.org/414/7540000001018
PACKHOUSE_DL = "https://id.gs1.org/414/7540000001025"
PACKHOUSE_URN = "urn:epc:id:sgln:754000.000102.0"
A1_DL = "https://id.gs1.org/01/07540001000119/10/A1"
A1_URN = "urn:epc:class:lgtin:754000.0100011.A1"
M1_URN = "urn:epc:class:lgtin:754000.1100018.M1"
S1 = "urn:tracefood:lot:spinach:S1"
ITEM_URN = "urn:epc:id:sgtin:754000.0100011.S-1"
ITEM_DL = "https://id.gs1.org/01/07540001000119/21/S-1"
ROMAINE_PATTERN = "urn:epc:idpat:sgtin:754000.0100011.*"
ROMAINE_GTIN_DL = "https://id.gs1.org/01/07540001000119"
PALLET_DL = f"https://id.gs1.org/00/{PALLET}"
PALLET_URN = "urn:epc:id:sscc:754000.00000000011"
ITEMS_EVENT_ID = "urn:uuid:5b3a0c4e-3f0e-4c61-9c1e-7d1b7f1e0a01"
ALL = [f"E{i}" for i in range(9)]
BY_EVENT_TIME = ["E1", "E0", "E3", "E2", "E4", "E5", "E6", "E7", "E8"]


def build(world: World) -> dict[str, Any]:
    """Record the chain; name -> receipt."""
    mix = {
        "kind": "transform",
        "time": t(4),
        "location": "packhouse",
        "inputs": [
            {"product": "romaine", "lot": "A1", "quantity": "80"},
            {"product": "spinach", "lot": "S1", "quantity": "50"},
        ],
        "outputs": [{"product": "mix", "lot": "M1", "quantity": "200"}],
    }
    pallet = {
        "kind": "aggregate",
        "time": t(4, "12:00"),
        "location": "packhouse",
        "parent": PALLET,
        "items": [{"product": "mix", "lot": "M1", "quantity": "200"}],
    }
    items = epcis_document(
        {
            "type": "ObjectEvent",
            "eventID": ITEMS_EVENT_ID,
            "eventTime": t(5),
            "eventTimeZoneOffset": "-04:00",
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "epcList": [ITEM_URN, "urn:epc:id:sgtin:754000.0100011.S-2"],
            "readPoint": {"id": PACKHOUSE_URN},
            "bizLocation": {"id": PACKHOUSE_URN},
        }
    )
    steps: list[tuple[str, Any]] = [
        ("farm-a", harvest()),
        ("farm-b", harvest(lot="S1", product="spinach", location="field-b", day=1) | {"time": t(1, "07:00")}),
        ("farm-a", ship()),
        ("farm-b", ship("S1", "100", frm="field-b", product="spinach", number="BOL-2") | {"time": t(2, "06:00")}),
        ("packer", receive()),
        ("packer", receive("S1", frm="field-b", product="spinach", number="BOL-2")),
        ("packer", mix),
        ("packer", pallet),
    ]
    steps[3][1]["carrier"] = "carrier"
    receipts = {f"E{i}": world.record(party, body)[0] for i, (party, body) in enumerate(steps)}
    receipts["E8"] = world.store.capture(items, world.actor("packer"))[0]
    return receipts


@pytest.fixture
def chain(served: Served) -> tuple[FlaskClient, World, dict[str, Any]]:
    client, world = served
    return client, world, build(world)


def get(client: FlaskClient, world: World, url: str, who: str = "recall", **headers: str) -> TestResponse:
    return client.get(url, headers={"Authorization": f"Bearer {world.tokens[who]}", **headers})


def event_list(response: TestResponse) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert document["type"] == "EPCISQueryDocument"
    results = document["epcisBody"]["queryResults"]
    assert results["queryName"] == "SimpleEventQuery"
    return list(results["resultsBody"]["eventList"])


def names(receipts: dict[str, Any], found: list[dict[str, Any]]) -> list[str]:
    by_id = {r.event_id: name for name, r in receipts.items()}
    return [by_id[e["eventID"]] for e in found]


def check_all(client: FlaskClient, world: World, receipts: dict[str, Any], cases: dict[str, list[str]]) -> None:
    """Every query string gives exactly the named events, in ledger order (no orderBy)."""
    wrong = []
    for query, expected in cases.items():
        found = names(receipts, event_list(get(client, world, f"/epcis/events?{query}&perPage=100")))
        if found != expected:
            wrong.append(f"{query}: {found} != {expected}")
    assert not wrong, "\n".join(wrong)


def test_query__no_filter_is_every_event_in_ledger_order_as_exported(chain: Any) -> None:
    client, world, receipts = chain
    response = get(client, world, "/epcis/events")
    found = event_list(response)
    assert names(receipts, found) == ALL
    exported = export_document(world.ledger.engine)
    assert found == exported["epcisBody"]["eventList"]  # recordTime included: the ledger's
    assert response.get_json()["@context"] == exported["@context"]
    assert all(e["recordTime"] == receipts[n].recorded for n, e in zip(ALL, found, strict=True))
    assert "Link" not in response.headers


def test_query__the_answer_is_a_valid_epcis_query_document(chain: Any) -> None:
    client, world, _ = chain
    response = get(client, world, "/epcis/events")  # every type, the readable form's transformation included
    assert len(event_list(response)) == 9
    errors = sorted(SCHEMA.iter_errors(response.get_json()), key=str)
    assert not errors, errors[0]
    empty = get(client, world, "/epcis/events?eventType=TransactionEvent").get_json()
    assert not list(SCHEMA.iter_errors(empty))


def test_query__gs1_headers(chain: Any) -> None:
    client, world, receipts = chain
    for url in ("/epcis/events", "/epcis/events/" + quote(receipts["E0"].event_id, safe=""), "/epcis/events?x=1"):
        response = get(client, world, url)
        assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
        assert response.headers["GS1-CBV-Version"] == "2.0.0"
        if response.status_code == 200:
            assert response.mimetype == "application/json"
            for name in ("GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Min", "GS1-CBV-Max"):
                assert response.headers[name] == "2.0.0"


def test_query__version_negotiation(chain: Any) -> None:
    client, world, _ = chain
    accepted = {"GS1-EPCIS-Min": "1.2.0", "GS1-EPCIS-Max": "2.0.0", "GS1-CBV-Min": "2.0", "GS1-CBV-Max": "3"}
    assert get(client, world, "/epcis/events", **accepted).status_code == 200
    for name, value in (("GS1-EPCIS-Min", "2.1.0"), ("GS1-EPCIS-Max", "1.2"), ("GS1-CBV-Max", "1.2.0")):
        response = get(client, world, "/epcis/events", **{name: value})
        assert response.status_code == 406 and response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["type"] == "epcisException:NotAcceptableException"
        assert problem["errors"][0]["field"] == name
    response = get(client, world, "/epcis/events", **{"GS1-EPCIS-Max": "two"})
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "GS1-EPCIS-Max"


def test_query__event_type_action_step_disposition(chain: Any) -> None:
    check_all(
        *chain,
        {
            "eventType=AggregationEvent": ["E7"],
            "eventType=TransformationEvent|AggregationEvent": ["E6", "E7"],
            "eventType=ObjectEvent,TransformationEvent": ["E0", "E1", "E2", "E3", "E4", "E5", "E6", "E8"],
            "eventType=TransformationEvent&eventType=AggregationEvent": ["E6", "E7"],
            "eventType=TransactionEvent": [],
            "EQ_action=OBSERVE": ["E2", "E3", "E4", "E5"],
            "EQ_action=ADD": ["E0", "E1", "E7", "E8"],
            "EQ_bizStep=shipping": ["E2", "E3"],
            "EQ_bizStep=urn:epcglobal:cbv:bizstep:receiving": ["E4", "E5"],
            "EQ_bizStep=https://ref.gs1.org/cbv/BizStep-commissioning": ["E0", "E1", "E6", "E8"],
            "EQ_bizStep=cbv:BizStep-shipping,packing": ["E2", "E3", "E7"],
            "EQ_bizStep=https://example.org/steps/washing": [],
            "EQ_disposition=in_transit": ["E2", "E3"],
            "EQ_disposition=https://ref.gs1.org/cbv/Disp-in_transit": ["E2", "E3"],
        },
    )


def test_query__places_in_every_form(chain: Any) -> None:
    check_all(
        *chain,
        {
            f"EQ_bizLocation={PACKHOUSE_DL}": ["E4", "E5", "E6", "E7", "E8"],
            f"EQ_bizLocation={PACKHOUSE_URN}": ["E4", "E5", "E6", "E7", "E8"],
            f"EQ_readPoint={FIELD_A_URN}": ["E0", "E2"],  # a shipment's read point is where it left
            "EQ_readPoint=https://id.gs1.org/414/7540000001018": ["E0", "E2"],
            "EQ_readPoint=urn:tracefood:loc:field-b": ["E1", "E3"],
            f"EQ_readPoint=urn:tracefood:loc:field-b,{FIELD_A_URN}": ["E0", "E1", "E2", "E3"],
            "EQ_bizLocation=urn:tracefood:loc:nowhere": [],
        },
    )


def test_query__match_parameters_by_role_and_level(chain: Any) -> None:
    check_all(
        *chain,
        {
            f"MATCH_epcClass={A1_URN}": ["E0", "E2", "E4"],
            f"MATCH_epcClass={A1_DL}": ["E0", "E2", "E4"],
            "MATCH_epcClass=https://brand.example/01/07540001000119/10/A1": ["E0", "E2", "E4"],
            f"MATCH_inputEPCClass={A1_DL}": ["E6"],
            f"MATCH_outputEPCClass={M1_URN}": ["E6"],
            f"MATCH_anyEPCClass={A1_URN}": ["E0", "E2", "E4", "E6"],
            f"MATCH_epcClass={M1_URN}": ["E7"],  # childQuantityList
            f"MATCH_epcClass={A1_URN}|{M1_URN}": ["E0", "E2", "E4", "E7"],
            f"MATCH_epc={A1_URN}": [],  # a class id is never in an EPC list
            f"MATCH_epc={ITEM_URN}": ["E8"],
            f"MATCH_epc={ITEM_DL}": ["E8"],
            f"MATCH_anyEPC={ITEM_DL}": ["E8"],
            f"MATCH_epcClass={ITEM_DL}": [],  # an item is never in a quantity list
            f"MATCH_parentID={PALLET_URN}": ["E7"],
            f"MATCH_anyEPC={PALLET_DL}": ["E7"],
            f"MATCH_epc={PALLET_DL}": [],  # parentID is not an EPC list
            f"MATCH_inputEPC={ITEM_DL}": [],
            f"MATCH_outputEPC={ITEM_DL}": [],
            f"MATCH_anyEPC={M1_URN}": [],
            f"MATCH_anyEPCClass={ROMAINE_PATTERN}": ["E0", "E2", "E4", "E6"],
            f"MATCH_anyEPCClass={ROMAINE_GTIN_DL}": ["E0", "E2", "E4", "E6"],
            f"MATCH_epc={ROMAINE_PATTERN}": ["E8"],
            f"MATCH_epcClass={S1}": ["E1", "E3", "E5"],
            f"MATCH_inputEPCClass={S1}": ["E6"],
            f"MATCH_anyEPCClass={S1}&MATCH_anyEPCClass={A1_DL}": ["E0", "E1", "E2", "E3", "E4", "E5", "E6"],
            "MATCH_anyEPC=urn:epc:id:grai:0614141.12345.400": [],  # a GS1 key TraceFood follows by identity
            # parameters are ANDed
            f"MATCH_anyEPCClass={A1_URN}&EQ_bizLocation={PACKHOUSE_URN}": ["E4", "E6"],
            f"MATCH_epcClass={S1}&EQ_bizStep=shipping&eventType=ObjectEvent": ["E3"],
        },
    )


def test_query__event_ids(chain: Any) -> None:
    client, world, receipts = chain
    e2, e5 = receipts["E2"].event_id, receipts["E5"].event_id
    check_all(
        client,
        world,
        receipts,
        {
            f"EQ_eventID={quote(e5, safe='')}": ["E5"],
            f"EQ_eventID={quote(e5, safe='')}|{quote(e2, safe='')}": ["E2", "E5"],
            f"EQ_eventID={ITEMS_EVENT_ID}": ["E8"],
            "EQ_eventID=urn:uuid:00000000-0000-0000-0000-000000000000": [],
        },
    )


def test_query__times_compare_in_utc_exactly(chain: Any) -> None:
    client, world, receipts = chain
    cases = {
        "GE_eventTime=2026-08-02T12:00:00Z": ["E2", "E4", "E5", "E6", "E7", "E8"],
        "GE_eventTime=2026-08-02T08:00:00-04:00": ["E2", "E4", "E5", "E6", "E7", "E8"],
        "GE_eventTime=2026-08-02T14:00:00%2B02:00": ["E2", "E4", "E5", "E6", "E7", "E8"],
        "GE_eventTime=2026-08-02T14:00:00+02:00": ["E2", "E4", "E5", "E6", "E7", "E8"],  # '+' arrives as ' '
        "GE_eventTime=2026-08-02T12:00:00.0001Z": ["E4", "E5", "E6", "E7", "E8"],
        "LT_eventTime=2026-08-02T12:00:00Z": ["E0", "E1", "E3"],
        "LT_eventTime=2026-08-02T12:00:00.0001Z": ["E0", "E1", "E2", "E3"],
        "GE_eventTime=2026-08-01T11:30:00Z&LT_eventTime=2026-08-03T00:00:00Z": ["E0", "E2", "E3"],
        "GE_eventTime=2026-08-05T00:00:00Z&LT_eventTime=2026-08-04T00:00:00Z": [],
        "GE_eventTime=0001-01-01T00:00:00%2B01:00": ALL,  # before year 1 in UTC
        "LT_eventTime=9999-12-31T23:59:59-01:00": ALL,  # after year 9999 in UTC
        "LT_eventTime=9999-12-31T23:59:60Z": ALL,
        "GE_eventTime=9999-12-31T23:59:59.9999Z": [],
        "LT_eventTime=2026-08-04T15:59:60Z": ["E0", "E1", "E2", "E3", "E4", "E5", "E6"],  # leap second
    }
    recorded = receipts["E4"].recorded  # 2026-...T...Z with microseconds
    shifted = (dt.datetime.fromisoformat(recorded) + dt.timedelta(hours=2)).isoformat().replace("+00:00", "%2B02:00")
    for bound in (recorded, shifted):
        cases[f"GE_recordTime={bound}"] = ["E4", "E5", "E6", "E7", "E8"]
        cases[f"LT_recordTime={bound}"] = ["E0", "E1", "E2", "E3"]
    check_all(client, world, receipts, cases)


def follow(client: FlaskClient, world: World, url: str, who: str = "recall") -> tuple[list[dict[str, Any]], int]:
    """Every event across the pages of ``url`` (following Link rel=next), and the page count."""
    found: list[dict[str, Any]] = []
    pages = 0
    while url:
        response = get(client, world, url, who)
        page = event_list(response)
        pages += 1
        assert page or pages == 1, "no empty pages after the first"
        found += page
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else ""
        if link:
            assert link.endswith('>; rel="next"')
    return found, pages


def test_query__paging_returns_every_event_once_in_order(chain: Any) -> None:
    client, world, receipts = chain
    orders = {
        "": ALL,
        "orderDirection=ASC": ALL,
        "orderDirection=DESC": ALL[::-1],
        "orderBy=eventTime&orderDirection=ASC": BY_EVENT_TIME,
        "orderBy=eventTime&orderDirection=DESC": BY_EVENT_TIME[::-1],
        "orderBy=eventTime": BY_EVENT_TIME[::-1],  # DESC by default (EPCIS 2.0)
        "orderBy=recordTime&orderDirection=ASC": ALL,
        "orderBy=recordTime": ALL[::-1],
        f"orderBy=eventTime&orderDirection=ASC&MATCH_anyEPCClass={A1_URN}": ["E0", "E2", "E4", "E6"],
    }
    for query, expected in orders.items():
        for per_page in (1, 2, 4, 9, 30):
            found, pages = follow(client, world, f"/epcis/events?{query}&perPage={per_page}")
            assert names(receipts, found) == expected, (query, per_page)
            assert pages == -(-len(expected) // per_page), (query, per_page)


def test_query__page_size(chain: Any) -> None:
    client, world, _ = chain
    assert len(event_list(get(client, world, "/epcis/events?perPage=5000"))) == 9  # served as 1000
    response = get(client, world, "/epcis/events?perPage=3")
    assert len(event_list(response)) == 3
    first = response.headers["Link"]
    # the page size may change from page to page; the filters and order may not
    url = first[1 : first.index(">")].replace("perPage=3", "perPage=6")
    assert len(event_list(get(client, world, url))) == 6


def test_query__next_page_link_uses_the_public_address_not_the_host_header(chain: Any) -> None:
    client, world, _ = chain
    response = get(client, world, "/epcis/events?perPage=2", Host="evil.example")
    assert response.headers["Link"].startswith("<http://localhost/epcis/events?")  # TRACEFOOD_PUBLIC_URL
    assert "evil.example" not in response.headers["Link"]


def token_of(response: TestResponse) -> str:
    link = response.headers["Link"]
    return link[link.index("nextPageToken=") + len("nextPageToken=") : link.index(">")]


def test_query__a_token_continues_only_its_own_query(chain: Any) -> None:
    client, world, _ = chain
    token = token_of(get(client, world, "/epcis/events?orderBy=eventTime&perPage=2"))
    others = ("", "orderBy=recordTime&", "orderBy=eventTime&orderDirection=ASC&", "orderBy=eventTime&EQ_action=ADD&")
    for other in others:
        response = get(client, world, f"/epcis/events?{other}nextPageToken={token}")
        assert response.status_code == 400, other
        assert response.get_json()["errors"][0]["field"] == "nextPageToken"
    assert get(client, world, f"/epcis/events?orderBy=eventTime&nextPageToken={token}").status_code == 200


def forged(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).rstrip(b"=").decode()


BAD = [
    ("foo=1", "foo"),
    ("eventType=ObjectEvent&foo=1", "foo"),
    ("eventtype=ObjectEvent", "eventtype"),
    ("eventType=", "eventType"),
    ("eventType=ObjectEvent,,AggregationEvent", "eventType"),
    ("eventType=objectevent", "eventType"),
    ("EQ_action=add", "EQ_action"),
    ("EQ_bizStep=Shipping", "EQ_bizStep"),
    ("EQ_disposition=lost", "EQ_disposition"),
    ("EQ_bizLocation=packhouse", "EQ_bizLocation"),
    ("EQ_readPoint=https://id.gs1.org/414/7540000001019", "EQ_readPoint"),  # bad check digit
    ("MATCH_epc=https://id.gs1.org/01/07540001000118/21/S-1", "MATCH_epc"),
    ("MATCH_epcClass=urn:epc:class:lgtin:754000.01000.A1", "MATCH_epcClass"),
    ("MATCH_parentID=not-an-id", "MATCH_parentID"),
    ("EQ_eventID=abc", "EQ_eventID"),
    ("GE_eventTime=2026-08-01", "GE_eventTime"),
    ("GE_eventTime=2026-08-01T00:00:00", "GE_eventTime"),
    ("LT_eventTime=2026-02-30T00:00:00Z", "LT_eventTime"),
    ("LT_eventTime=2026-08-01T25:00:00Z", "LT_eventTime"),
    ("GE_recordTime=2026-08-01T00:00:00%2B24:00", "GE_recordTime"),
    ("LT_recordTime=yesterday", "LT_recordTime"),
    ("GE_eventTime=2026-08-01T00:00:00Z&GE_eventTime=2026-08-02T00:00:00Z", "GE_eventTime"),
    ("perPage=0", "perPage"),
    ("perPage=-1", "perPage"),
    ("perPage=abc", "perPage"),
    ("perPage=1.5", "perPage"),
    ("perPage=%EF%BC%91", "perPage"),  # a full-width digit one
    ("perPage=1&perPage=2", "perPage"),
    ("orderBy=quantity", "orderBy"),
    ("orderDirection=asc", "orderDirection"),
    ("nextPageToken=abc!", "nextPageToken"),
    ("nextPageToken=abc", "nextPageToken"),
    (f"nextPageToken={forged({'a': 1})}", "nextPageToken"),
    (f"nextPageToken={forged(1, 'x', None, 1)}", "nextPageToken"),
    ("MATCH_epc=" + "|".join(["urn:uuid:x"] * 201), "MATCH_epc"),
]


def test_query__bad_parameters_are_the_binding_problem_naming_them(chain: Any) -> None:
    client, world, _ = chain
    wrong = []
    for query, field in BAD:
        response = get(client, world, f"/epcis/events?{query}")
        problem = response.get_json()
        ok = (
            response.status_code == 400
            and response.mimetype == "application/problem+json"
            and problem["type"] == QPE
            and problem["status"] == 400
            and problem["errors"][0]["field"] == field
            and field in problem["detail"]
        )
        if not ok:
            wrong.append(f"{query}: {response.status_code} {problem}")
    assert not wrong, "\n".join(wrong)


def test_query__forged_tokens_of_the_right_query_show_nothing_more(chain: Any) -> None:
    """A token is not signed: forging one only moves within what the same query answers."""
    client, world, receipts = chain
    token = token_of(get(client, world, "/epcis/events?perPage=1", "farm-a"))
    fingerprint = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))[1]
    found = event_list(get(client, world, f"/epcis/events?nextPageToken={forged(1, fingerprint, None, 1)}", "farm-a"))
    assert names(receipts, found) == ["E2", "E4", "E6"]  # still only farm-a's view
    for bad in (forged(1, fingerprint, None, -1), forged(1, fingerprint, "x", 1), forged(1, fingerprint, None, True)):
        assert get(client, world, f"/epcis/events?nextPageToken={bad}", "farm-a").status_code == 400


def test_query__who_sees_what(chain: Any) -> None:
    client, world, receipts = chain
    expected = {
        "farm-a": ["E0", "E2", "E4", "E6"],  # recorded E0, E2; produced A1
        "farm-b": ["E1", "E3", "E5", "E6"],  # recorded E1, E3; produced S1
        "carrier": ["E1", "E3", "E5", "E6"],  # carried S1
        "packer": ALL,  # received A1 and S1, made M1, the pallet and the items
        "dist": [],
        "agency": ALL,  # inspector
        "recall": ALL,  # recall officer
        "admin-party": ALL,
    }
    for who, visible in expected.items():
        found, _ = follow(client, world, "/epcis/events?perPage=4", who)
        assert names(receipts, found) == visible, who
        hidden = next((n for n in ALL if n not in visible), None)
        if hidden:
            url = "/epcis/events/" + quote(receipts[hidden].event_id, safe="")
            assert get(client, world, url, who).status_code == 404, who
    assert client.get("/epcis/events").status_code == 401
    assert client.get("/epcis/events/" + quote(receipts["E0"].event_id, safe="")).status_code == 401


def test_get_event__by_id_in_every_spelling(chain: Any) -> None:
    client, world, receipts = chain
    e0 = receipts["E0"].event_id  # ni:///sha-256;...?ver=CBV2.0
    for url in (
        "/epcis/events/" + quote(e0, safe=""),
        "/epcis/events/" + quote(e0, safe=":/;?="),  # '?' unencoded: the query string is the id's
    ):
        assert names(receipts, event_list(get(client, world, url))) == ["E0"], url
    assert names(receipts, event_list(get(client, world, f"/epcis/events/{ITEMS_EVENT_ID}"))) == ["E8"]
    by_hash = "/epcis/events/" + quote(receipts["E8"].hash_id, safe="")
    assert names(receipts, event_list(get(client, world, by_hash))) == ["E8"]
    response = get(client, world, "/epcis/events/" + quote(e0, safe="") + "&x=1")
    assert response.status_code == 404


def test_get_event__unknown_is_a_404_naming_the_id(chain: Any) -> None:
    client, world, receipts = chain
    for event_id in ("urn:uuid:00000000-0000-0000-0000-000000000000", "ni:///sha-256;00?ver=CBV2.0", "x" * 3000):
        response = get(client, world, "/epcis/events/" + quote(event_id, safe=""))
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["type"] == "epcisException:NoSuchNameException"
        assert problem["errors"][0]["field"] == "eventID"
        if len(event_id) < 100:
            assert event_id in problem["detail"]
    response = get(client, world, "/epcis/events/" + quote(receipts["E0"].event_id, safe="") + "?perPage=2")
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "perPage"


def test_query__error_declarations_answer_with_their_event(served: Served) -> None:
    """A correction repeats its event (same eventID and hash, plus errorDeclaration): it is
    answered wherever that event is."""
    client, world = served
    world.record("farm-a", harvest())
    shipped = world.record("farm-a", ship())[0]
    exported = export_document(world.ledger.engine)
    event = dict(exported["epcisBody"]["eventList"][1])
    event.pop("recordTime")
    event["errorDeclaration"] = {"declarationTime": "2026-08-02T10:00:00-04:00", "reason": "incorrect_data"}
    document = epcis_document(event) | {"@context": exported["@context"]}
    corrected = world.store.capture(document, world.actor("farm-a"))[0]
    assert corrected.created and corrected.event_id == shipped.event_id
    for url in (
        "/epcis/events?EQ_eventID=" + quote(shipped.event_id, safe=""),
        "/epcis/events/" + quote(shipped.event_id, safe=""),
        f"/epcis/events?MATCH_epcClass={A1_URN}&EQ_bizStep=shipping",
    ):
        found = event_list(get(client, world, url))
        assert [e["eventID"] for e in found] == [shipped.event_id] * 2, url
        assert "errorDeclaration" not in found[0] and found[1]["errorDeclaration"]["reason"] == "incorrect_data"
    found, _ = follow(client, world, "/epcis/events?perPage=1", "farm-a")
    assert len(found) == 3
