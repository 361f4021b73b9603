"""The EPCIS 2.0 capture validator against GS1's vectors and GS1's official JSON Schema.

Vectors are read in place from ``VECTORS/epcis`` (never copied): every GS1 example must be
accepted, every invalid-capture document rejected at the field that is wrong. The official
schema (``schema/EPCIS-JSON-Schema.json``) is the oracle, run with the ``jsonschema`` library
and the two formats it names: that library checks ``uri`` and ``date-time`` only when optional
packages are installed, so this file registers its own, deliberately simple versions (RFC 3339
grammar + a calendar check; "a scheme, then RFC 3986 characters"). That ``uri`` check is looser
than RFC 3986, which only weakens the oracle where the validator must be at least as strict.

What is checked, precisely:

* schema rejects => validator rejects: on every vector and on generated mutations of the GS1
  examples, including arbitrary JSON values put in arbitrary fields;
* schema accepts <=> validator accepts: on the vectors and on mutations drawn from values on
  which both formats agree, outside the documented stricter rules;
* each documented stricter rule: a document the schema accepts and the validator rejects.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, FormatChecker

from tests.conftest import VECTORS
from tracefood.epcis import cbv
from tracefood.epcis.formats import is_date_time, is_uri
from tracefood.epcis.validate import MAX_FINDINGS, Finding, check_document, check_event, document_events

EPCIS = VECTORS / "epcis"
GS1_EXAMPLES = sorted((EPCIS / "gs1-examples").rglob("*.jsonld"))
INVALID = sorted((EPCIS / "invalid-capture").glob("*.json"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _is_json(path: Path) -> bool:
    try:
        _load(path)
    except json.JSONDecodeError:
        return False  # a malformed-input vector, for the API tests
    return True


OTHER_DOCS = sorted(
    p for p in [*(EPCIS / "gdst-traceback").glob("*.jsonld"), *(EPCIS / "event-hash").glob("*.jsonld")] if _is_json(p)
)


def _name(path: Path) -> str:
    return str(path.relative_to(EPCIS))


EXAMPLES = {path: _load(path) for path in GS1_EXAMPLES}

# --- the oracle: the official schema with both of its formats checked ---------------------------

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII)
_URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time")
def _oracle_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats apply to strings only
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    offset = match.group(8).upper().replace("Z", "+00:00")
    year = year % 400 + 2000  # same leap years (a 400-year cycle), and datetime has no year 0
    try:  # no leap seconds in the mutations: 60 is checked as 59
        datetime.fromisoformat(f"{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{min(second, 59):02}{offset}")
    except ValueError:
        return False
    return True


@FORMATS.checks("uri")
def _oracle_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    scheme, colon, rest = value.partition(":")
    return bool(colon and re.fullmatch(r"[A-Za-z][A-Za-z0-9+\-.]*", scheme) and _URI_CHARS.fullmatch(rest))


SCHEMA = Draft7Validator(json.loads((EPCIS / "schema" / "EPCIS-JSON-Schema.json").read_text()), format_checker=FORMATS)


def schema_accepts(doc: object) -> bool:
    return SCHEMA.is_valid(doc)


def accepts(doc: object) -> bool:
    return check_document(doc) == []


# --- the vectors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GS1_EXAMPLES, ids=_name)
def test_check_document__accepts_gs1_example(path: Path) -> None:
    assert check_document(EXAMPLES[path]) == []
    # The web layer parses decimals exactly, as Decimal (no floats in hashed data).
    assert check_document(json.loads(path.read_text(encoding="utf-8-sig"), parse_float=Decimal)) == []


E = "/epcisBody/eventList"
EXPECTED_POINTERS = {
    "Combination_of_events_with_missing_mandatory_fields.json": {
        f"{E}/0/action",
        f"{E}/1/action",
        f"{E}/1/eventTimeZoneOffset",
    },
    "Combination_of_multiple_invalid_fields.json": {
        f"{E}/0/bizStep",
        f"{E}/1/disposition",
        f"{E}/2/sourceList/0/type",
        f"{E}/3/ilmd/materialType",
        f"{E}/4/eventTime",
        f"{E}/4/action",
    },
    "Combination_of_non_standard_bizStep_and_disposition.json": {f"{E}/0/bizStep", f"{E}/1/disposition"},
    "EPCISDocument_without_context.json": {"/@context"},
    "ObjectEvent_with_ilmd_field_without_namespace.json": {f"{E}/0/ilmd/materialType"},
    "ObjectEvent_with_invalid_action.json": {f"{E}/0/action"},
    "ObjectEvent_with_invalid_certificationInfo.json": {f"{E}/0/certificationInfo/0", f"{E}/0/certificationInfo/1"},
    "ObjectEvent_with_invalid_eventTime_format.json": {f"{E}/0/eventTime"},
    "ObjectEvent_with_non_standard_bizStep.json": {f"{E}/0/bizStep"},
    "ObjectEvent_with_non_standard_bizStep_in_second_event.json": {f"{E}/1/bizStep"},
    "ObjectEvent_with_non_standard_disposition.json": {f"{E}/0/disposition"},
    "ObjectEvent_with_quantity_as_text.json": {f"{E}/0/quantityList/0/quantity"},
    "ObjectEvent_with_unknown_field_in_quantityList.json": {f"{E}/0/quantityList/0/weight"},
    "ObjectEvent_without_action_and_eventTime.json": {
        f"{E}/0/eventTime",
        f"{E}/0/eventTimeZoneOffset",
        f"{E}/0/action",
    },
    "ObjectEvent_without_identifier_list.json": {f"{E}/0/epcList"},
}


def test_invalid_vectors__all_have_an_expected_pointer() -> None:
    assert sorted(EXPECTED_POINTERS) == [path.name for path in INVALID]
    assert len(GS1_EXAMPLES) == 47


@pytest.mark.parametrize("path", INVALID, ids=_name)
def test_check_document__rejects_invalid_vector_at_the_offending_fields(path: Path) -> None:
    findings = check_document(_load(path))
    assert {finding.field for finding in findings} == EXPECTED_POINTERS[path.name]
    assert all(finding.reason for finding in findings)


@pytest.mark.parametrize("path", GS1_EXAMPLES + INVALID + OTHER_DOCS, ids=_name)
def test_official_schema__same_verdict_on_every_vector(path: Path) -> None:
    doc = _load(path)
    assert accepts(doc) == schema_accepts(doc)


def test_official_schema__rejects_the_invalid_vectors_only_with_formats_checked() -> None:
    # Why the oracle needs its own formats: without them the schema lets 6 of the 15 through.
    plain = Draft7Validator(SCHEMA.schema)
    assert sum(plain.is_valid(_load(path)) for path in INVALID) == 6
    assert not any(schema_accepts(_load(path)) for path in INVALID)


# --- generated mutations of the GS1 examples -----------------------------------------------------

# Values on which the validator and the schema (with the oracle's formats) agree.
TIMES = ["2026-07-22T06:45:00+02:00", "2026-07-22t06:45:00.5z", "22-07-2026", "2026-07-22T06:45:00"]
TIMES += ["2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2026-07-22 06:45:00Z", "2026-13-01T00:00:00Z", 20260722]
OFFSETS = ["+02:00", "-13:59", "+14:00", "+14:30", "+2:00", "Z", "+02:00:00", "-00:00", 2]
URIS = ["urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/09521141012345/21/1", "example:x"]
URIS += ["not a uri", "", "plain", "http://example.com/a b", "1abc:x", "urn:x:%zz", 42, None, ["urn:a:b"]]
VOCAB = {
    "bizStep": ["shipping", "transforming", "https://example.com/bizstep/x", "urn:epcglobal:cbv:bizstep:shipping"],
    "disposition": ["in_transit", "in_transport", "cbv:Disp-in_transit", "https://ref.gs1.org/cbv/Disp-active"],
    "type": ["po", "location", "Location", "place", "urn:example:type", "http://ns.gs1.org/cbv/BTT-po", 7],
}
VOCAB["bizStep"] += ["urn:epcglobal:cbv:bizstep:xyz", "cbv:BizStep-shipping", "Shipping", None]
VOCAB["disposition"] += ["http://ns.gs1.org/cbv/Disp-active", "urn:epcglobal:cbv:disp:active", "example:d", ""]
FIELD_NAMES = ["materialType", "ex:materialType", "https://example.com/f", "eventtime", "id", "@id", "action"]
ACTIONS = ["ADD", "OBSERVE", "DELETE", "CREATE", "add", 1, None]
EVENT_TYPES = ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"]
EVENT_TYPES += ["FooEvent", "urn:example:MyEvent", "EPCISDocument", 5]
MEASUREMENTS = ["Temperature", "gs1:Temperature", "https://gs1.org/voc/Temperature", "Temp", "example:T"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)

Draw = Callable[[st.SearchStrategy[Any]], Any]
Mutation = Callable[[Draw, dict[str, Any], dict[str, Any]], None]


def pick(draw: Draw, values: list[Any]) -> Any:
    """One of ``values``, copied: later mutations must not change the module's lists."""
    return copy.deepcopy(draw(st.sampled_from(values)))


def _lists_of_objects(event: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [item for item in event.get(key, []) if isinstance(item, dict)] if isinstance(event.get(key), list) else []


def drop_field(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    target = draw(st.sampled_from([doc, event, *(v for v in event.values() if isinstance(v, dict))]))
    if target:
        del target[draw(st.sampled_from(sorted(target)))]


def set_field(key: str, values: list[Any], where: str = "event") -> Mutation:
    def mutate(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
        (doc if where == "doc" else event)[key] = pick(draw, values)

    return mutate


def set_in_list(key: str, field: str, values: list[Any]) -> Mutation:
    def mutate(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
        items = [item for name in key.split() for item in _lists_of_objects(event, name)]
        if items:
            draw(st.sampled_from(items))[field] = pick(draw, values)

    return mutate


def add_field(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    event[draw(st.sampled_from(FIELD_NAMES))] = pick(draw, ["soil", 1, {"ex:a": 1}])


def set_uri(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    value = pick(draw, URIS)
    place = draw(st.sampled_from(["eventID", "parentID", "readPoint", "epcList", "@context", "sensorReport"]))
    if place == "readPoint":
        event["readPoint"] = {"id": value}
    elif place == "epcList" and isinstance(event.get("epcList"), list):
        event["epcList"].append(value)
    elif place == "@context":
        doc["@context"] = [value] if draw(st.booleans()) else value
    elif place == "sensorReport":
        reports = [
            report
            for element in _lists_of_objects(event, "sensorElementList")
            for report in _lists_of_objects(element, "sensorReport")
        ]
        if reports:
            draw(st.sampled_from(reports))["deviceID"] = value
    elif place in event:
        event[place] = value


def set_ilmd(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    event["ilmd"] = pick(draw, [{"ex:lot": "L1"}, {"lot": "L1"}, {}, "L1"])


def empty_a_list(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    lists = sorted(key for key, value in event.items() if isinstance(value, list))
    if lists:
        event[draw(st.sampled_from(lists))] = []


def duplicate_an_item(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    names = ("epcList", "inputEPCList", "outputEPCList", "childEPCs")
    lists = sorted(key for key in names if isinstance(event.get(key), list) and event[key])
    if lists:
        items = event[draw(st.sampled_from(lists))]
        items.append(items[0])


def extra_key_in_part(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    parts = [*_lists_of_objects(event, "quantityList"), *_lists_of_objects(event, "bizTransactionList")]
    parts += _lists_of_objects(event, "sourceList") + _lists_of_objects(event, "childQuantityList")
    if parts:
        draw(st.sampled_from(parts))[draw(st.sampled_from(["weight", "ex:weight"]))] = 5


FAITHFUL: list[Mutation] = [
    drop_field,
    add_field,
    set_uri,
    set_ilmd,
    empty_a_list,
    duplicate_an_item,
    extra_key_in_part,
    set_field("action", ACTIONS),
    set_field("type", EVENT_TYPES),
    set_field("eventTime", TIMES),
    set_field("recordTime", TIMES),
    set_field("eventTimeZoneOffset", OFFSETS),
    set_field("bizStep", VOCAB["bizStep"]),
    set_field("disposition", VOCAB["disposition"]),
    set_field("certificationInfo", ["urn:cert:1", ["urn:cert:1"], [{"gs1:x": 1}], "cert one"]),
    set_field("persistentDisposition", [{"set": ["recalled"]}, {"set": []}, {}, {"unset": ["x"]}, {"set": ["a:b"]}]),
    set_field("errorDeclaration", [{"declarationTime": TIMES[0]}, {"reason": "incorrect_data"}, {"x": 1}]),
    set_field("creationDate", TIMES, where="doc"),
    set_field("schemaVersion", ["2.0", "2", "2.x", 2, "v2"], where="doc"),
    set_field("sender", ["urn:x:y", 5], where="doc"),
    set_in_list("quantityList childQuantityList inputQuantityList", "quantity", [5, 2.5, "twenty", "5", True]),
    set_in_list("quantityList outputQuantityList", "uom", ["KGM", "kg", "KGMS", "K", 1]),
    set_in_list("bizTransactionList sourceList destinationList", "type", VOCAB["type"]),
    set_in_list("sensorElementList", "sensorReport", [[], [{"type": "Temperature"}], [{"value": 1}]]),
]
# The documented stricter rules (and arbitrary JSON) -- only "schema rejects => we reject" holds.
STRICTER: list[Mutation] = [
    set_field("bizStep", ["cbv:BizStep-shiping", "https://ref.gs1.org/cbv/BizStep-xyz"]),
    set_field("disposition", ["cbv:Disp-xyz", "https://ref.gs1.org/cbv/BizStep-shipping"]),
    set_field("readPoint", [{"id": "urn:epc:id:sgln:1.2.3", "gps": "51.5,0.1"}]),
    set_in_list("sensorElementList", "sensorReport", [[{"type": m} for m in [*MEASUREMENTS, "gs1:Foo"]]]),
]


def random_value(draw: Draw, doc: dict[str, Any], event: dict[str, Any]) -> None:
    target = draw(st.sampled_from([doc, event, *(v for v in event.values() if isinstance(v, dict))]))
    key = draw(st.sampled_from([*sorted(target), "ex:new", "new"]))
    target[key] = draw(JSON_VALUES)


@st.composite
def mutated_examples(draw: Draw, mutations: list[Mutation]) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLES[draw(st.sampled_from(GS1_EXAMPLES))])
    events = document_events(doc)
    for _ in range(draw(st.integers(1, 3))):
        draw(st.sampled_from(mutations))(draw, doc, draw(st.sampled_from(events)))
    return doc


MUTATION_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@MUTATION_SETTINGS
@given(mutated_examples(FAITHFUL))
def test_official_schema__same_verdict_on_mutations(doc: dict[str, Any]) -> None:
    assert accepts(doc) == schema_accepts(doc), check_document(doc)


@MUTATION_SETTINGS
@given(mutated_examples([*FAITHFUL, *STRICTER, random_value]))
def test_official_schema__whatever_it_rejects_the_validator_rejects(doc: dict[str, Any]) -> None:
    if not schema_accepts(doc):
        assert check_document(doc) != []


STRICTER_THAN_SCHEMA = {
    "bare event at the top level": lambda doc: document_events(doc)[0] | {"@context": doc["@context"]},
    "non-standard CURIE in CBV namespace": lambda doc: _set_first(doc, "bizStep", "cbv:BizStep-shiping"),
    "non-standard CBV Web URI": lambda doc: _set_first(doc, "disposition", "https://ref.gs1.org/cbv/Disp-xyz"),
    "Web URI of another vocabulary": lambda doc: _set_first(doc, "bizStep", "https://ref.gs1.org/cbv/Disp-active"),
    "un-namespaced readPoint field": lambda doc: _set_first(doc, "readPoint", {"id": "urn:x:y", "gps": "1,2"}),
    "non-standard gs1: measurement type": lambda doc: _set_first(
        doc, "sensorElementList", [{"sensorReport": [{"type": "gs1:Foo"}]}]
    ),
    "trailing newline in a pattern": lambda doc: _set_first(doc, "eventTimeZoneOffset", "+02:00\n"),
    "non-ASCII digits in a version": lambda doc: doc | {"schemaVersion": "\u0662.0"},
    "NaN quantity": lambda doc: _set_first(doc, "quantityList", [{"epcClass": "urn:x:c", "quantity": float("nan")}]),
}


def _set_first(doc: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    document_events(doc)[0][key] = value
    return doc


@pytest.mark.parametrize("case", STRICTER_THAN_SCHEMA)
def test_official_schema__accepts_what_the_validator_deliberately_rejects(case: str) -> None:
    doc = STRICTER_THAN_SCHEMA[case](
        copy.deepcopy(EXAMPLES[EPCIS / "gs1-examples" / "Example_9.6.1-ObjectEvent.jsonld"])
    )
    assert schema_accepts(doc)
    assert not accepts(doc)


# --- one finding of each kind --------------------------------------------------------------------

DROP = object()  # "remove this field"
T, URN = "2026-07-22T06:45:00+02:00", "urn:epc:id:sgtin:0614141.107346.2017"
BASE_EVENTS: dict[str, dict[str, Any]] = {
    "ObjectEvent": {"action": "ADD", "epcList": [URN], "bizStep": "commissioning", "readPoint": {"id": "urn:x:rp"}},
    "AggregationEvent": {"action": "ADD", "parentID": "urn:x:p", "childEPCs": [URN]},
    "AssociationEvent": {"action": "ADD", "parentID": "urn:x:p", "childEPCs": [URN]},
    "TransactionEvent": {"action": "ADD", "epcList": [URN], "bizTransactionList": [{"bizTransaction": "urn:x:po"}]},
    "TransformationEvent": {"inputEPCList": [URN], "outputEPCList": ["urn:x:out"]},
}
REPORT = {"type": "Temperature", "value": 4.5, "uom": "CEL"}


def event(kind: str = "ObjectEvent", **changes: Any) -> dict[str, Any]:
    built = {"type": kind, "eventTime": T, "eventTimeZoneOffset": "+02:00", **BASE_EVENTS[kind], **changes}
    return {key: value for key, value in built.items() if value is not DROP}


def sensors(**report: Any) -> list[dict[str, Any]]:
    return [{"sensorReport": [{k: v for k, v in {**REPORT, **report}.items() if v is not DROP}]}]


S, Q, P = "/sensorElementList/0/sensorReport/0", "/quantityList/0", "/persistentDisposition"
EVENT_FINDINGS: dict[str, tuple[object, str, str]] = {
    "not an object": (["ObjectEvent"], "", "event must be an object, got an array"),
    "type missing": (event(type=DROP), "/type", "required field missing (one of ObjectEvent"),
    "type unknown": (event(type="FooEvent"), "/type", "unknown event type 'FooEvent'"),
    "type not a string": (event(type=5), "/type", "must be a string, got a number"),
    "eventTime missing": (event(eventTime=DROP), "/eventTime", "required field missing"),
    "eventTime format": (event(eventTime="22-07-2026"), "/eventTime", "RFC 3339 date-time with offset"),
    "eventTime no offset": (event(eventTime="2026-07-22T06:45:00"), "/eventTime", "RFC 3339"),
    "recordTime calendar": (event(recordTime="2026-02-30T00:00:00Z"), "/recordTime", "RFC 3339"),
    "offset range": (event(eventTimeZoneOffset="+14:30"), "/eventTimeZoneOffset", "-13:59..+14:00"),
    "eventID": (event(eventID="ni:///sha-256;abc def"), "/eventID", "must be an absolute URI"),
    "action enum": (event(action="CREATE"), "/action", "must be ADD, OBSERVE or DELETE, got 'CREATE'"),
    "action missing": (event(action=DROP), "/action", "required field missing (ADD, OBSERVE or DELETE)"),
    "epcList type": (event(epcList=URN), "/epcList", "must be an array"),
    "epcList item": (event(epcList=["0614141.107346.2017"]), "/epcList/0", "absolute URI"),
    "epcList duplicate": (event(epcList=[URN, URN]), "/epcList/1", "duplicate of item 0"),
    "no identifiers": (event(epcList=DROP), "/epcList", "ObjectEvent needs epcList, a non-empty quantityList"),
    "no readPoint": (event(epcList=DROP, readPoint=DROP, sensorElementList=sensors()), "/epcList", "+ readPoint"),
    "quantity text": (event(quantityList=[{"epcClass": URN, "quantity": "2"}]), f"{Q}/quantity", "got '2'"),
    "quantity NaN": (event(quantityList=[{"epcClass": URN, "quantity": float("nan")}]), f"{Q}/quantity", "NaN"),
    "quantity Infinity": (
        event(quantityList=[{"epcClass": URN, "quantity": Decimal("-Inf")}]),
        f"{Q}/quantity",
        "-Inf",
    ),
    "quantity uom": (event(quantityList=[{"epcClass": URN, "uom": "kg"}]), f"{Q}/uom", "UN/CEFACT"),
    "quantity epcClass": (event(quantityList=[{"quantity": 1}]), f"{Q}/epcClass", "required field missing"),
    "quantity extra": (event(quantityList=[{"epcClass": URN, "ex:w": 1}]), f"{Q}/ex:w", "(allowed: epcClass, quantity"),
    "bizStep bare": (event(bizStep="xyz"), "/bizStep", "not a standard CBV bizStep: 'xyz'; other values must be"),
    "bizStep typo": (event(bizStep="shiping"), "/bizStep", "did you mean 'shipping'?"),
    "bizStep URN": (event(bizStep="urn:epcglobal:cbv:bizstep:xyz"), "/bizStep", "not a standard CBV bizStep: 'urn"),
    "bizStep URN form": (event(bizStep="urn:epcglobal:cbv:bizstep:shipping"), "/bizStep", "bare term 'shipping'"),
    "bizStep old URI": (event(bizStep="http://ns.gs1.org/cbv/BizStep-shipping"), "/bizStep", "bare term 'shipping'"),
    "bizStep CBV CURIE": (
        event(bizStep="cbv:BizStep-xyz"),
        "/bizStep",
        "not a standard CBV bizStep: 'cbv:BizStep-xyz'",
    ),
    "bizStep not a string": (event(bizStep=["shipping"]), "/bizStep", "must be a string (CBV bizStep or a URI)"),
    "disposition": (event(disposition="in_transport"), "/disposition", "CBV disposition: 'in_transport'; did you mean"),
    "readPoint id": (event(readPoint={}), "/readPoint/id", "required field missing"),
    "readPoint type": (event(readPoint="urn:x:rp"), "/readPoint", "readPoint must be an object"),
    "readPoint extension": (event(readPoint={"id": "urn:x:rp", "gps": "1,2"}), "/readPoint/gps", "must be namespaced"),
    "bizLocation id": (event(bizLocation={"id": "warehouse 7"}), "/bizLocation/id", "absolute URI"),
    "bizTransaction missing": (event(bizTransactionList=[{}]), "/bizTransactionList/0/bizTransaction", "required"),
    "bizTransaction type": (
        event(bizTransactionList=[{"type": "order", "bizTransaction": "urn:x:po"}]),
        "/bizTransactionList/0/type",
        "CBV business transaction type: 'order'",
    ),
    "bizTransaction extra": (
        event(bizTransactionList=[{"bizTransaction": "urn:x:po", "date": T}]),
        "/bizTransactionList/0/date",
        "unknown field 'date' in bizTransaction",
    ),
    "source type missing": (event(sourceList=[{"source": "urn:x:s"}]), "/sourceList/0/type", "required field missing"),
    "destination type": (
        event(destinationList=[{"type": "place", "destination": "urn:x:d"}]),
        "/destinationList/0/type",
        "CBV source/destination type: 'place'",
    ),
    "sensorReport empty": (event(sensorElementList=[{"sensorReport": []}]), S[:-2], "at least 1 item"),
    "sensorReport type": (event(sensorElementList=sensors(type=DROP)), f"{S}/type", "required"),
    "measurement URI": (event(sensorElementList=sensors(type="https://gs1.org/voc/Mass")), f"{S}/type", "term 'Mass'"),
    "measurement CURIE": (event(sensorElementList=sensors(type="gs1:Temp")), f"{S}/type", "GS1 measurement type"),
    "sensor alert": (event(sensorElementList=sensors(exception="ALARM")), f"{S}/exception", "GS1 sensor alert type"),
    "sensor component": (event(sensorElementList=sensors(component="w")), f"{S}/component", "CBV sensor component"),
    "sensor hex": (event(sensorElementList=sensors(hexBinaryValue="0xAB")), f"{S}/hexBinaryValue", "hexadecimal"),
    "sensor boolean": (event(sensorElementList=sensors(booleanValue="yes")), f"{S}/booleanValue", "true or false"),
    "sensor value": (event(sensorElementList=sensors(value="4.5")), f"{S}/value", "must be a number"),
    "sensor extension": (event(sensorElementList=sensors(note="x")), f"{S}/note", "namespaced"),
    "sensorMetadata time": (
        event(sensorElementList=[{"sensorMetadata": {"time": "now"}, "sensorReport": [REPORT]}]),
        "/sensorElementList/0/sensorMetadata/time",
        "RFC 3339",
    ),
    "ilmd type": (event(ilmd=["ex:lot"]), "/ilmd", "ilmd must be an object"),
    "ilmd namespace": (event(ilmd={"lot": "L1"}), "/ilmd/lot", "unknown field 'lot' in ilmd; extension fields must be"),
    "ilmd action": (event(action="OBSERVE", ilmd={"ex:lot": "L1"}), "/ilmd", "only allowed when action is ADD, not"),
    "persistent empty": (event(persistentDisposition={}), f"{P}/set", "needs set or unset"),
    "persistent set": (event(persistentDisposition={"set": []}), f"{P}/set", "at least 1 item"),
    "persistent dup": (event(persistentDisposition={"unset": ["recalled"] * 2}), f"{P}/unset/1", "duplicate"),
    "persistent term": (event(persistentDisposition={"set": ["recall"]}), f"{P}/set/0", "did you mean 'recalled'?"),
    "persistent extra": (event(persistentDisposition={"set": ["recalled"], "ex:x": 1}), f"{P}/ex:x", "unknown field"),
    "error time": (event(errorDeclaration={}), "/errorDeclaration/declarationTime", "required"),
    "error reason": (
        event(errorDeclaration={"declarationTime": T, "reason": "typo"}),
        "/errorDeclaration/reason",
        "CBV error reason: 'typo'",
    ),
    "error ids": (
        event(errorDeclaration={"declarationTime": T, "correctiveEventIDs": ["e1"]}),
        "/errorDeclaration/correctiveEventIDs/0",
        "URI",
    ),
    "error extension": (event(errorDeclaration={"declarationTime": T, "by": 1}), "/errorDeclaration/by", "namespaced"),
    "certificationInfo": (
        event(certificationInfo="ISO 22000"),
        "/certificationInfo",
        "holds certificate URIs; got 'ISO",
    ),
    "certificationInfo item": (event(certificationInfo=["urn:x:c", {}]), "/certificationInfo/1", "got an object"),
    "event @context": (event(**{"@context": 5}), "/@context", "@context must be a URI, an object or an array"),
    "extension field": (event(soil="clay"), "/soil", "unknown field 'soil' in ObjectEvent; extension fields must be"),
    "field of another type": (event(parentID="urn:x:p"), "/parentID", "unknown field 'parentID' in ObjectEvent"),
    "aggregation children": (event("AggregationEvent", childEPCs=[]), "/childEPCs", "needs a non-empty childEPCs or"),
    "association parent": (event("AssociationEvent", parentID=DROP), "/parentID", "required field missing"),
    "transaction list": (event("TransactionEvent", bizTransactionList=DROP), "/bizTransactionList", "required"),
    "transaction empty": (event("TransactionEvent", bizTransactionList=[]), "/bizTransactionList", "at least 1 item"),
    "transaction EPCs": (event("TransactionEvent", epcList=DROP), "/epcList", "needs epcList or a non-empty quantity"),
    "no outputs": (
        event("TransformationEvent", outputEPCList=[]),
        "/outputEPCList",
        "no outputs and no transformationID",
    ),
    "no inputs": (
        event("TransformationEvent", inputEPCList=DROP),
        "/inputEPCList",
        "no inputs and no transformationID",
    ),
    "no lists": (event("TransformationEvent", inputEPCList=DROP, outputEPCList=DROP), "/inputEPCList", "inputs and/or"),
    "transformation action": (
        event("TransformationEvent", action="ADD"),
        "/action",
        "unknown field 'action' in Transf",
    ),
}


@pytest.mark.parametrize("case", EVENT_FINDINGS)
def test_check_event__reports_each_kind_of_finding(case: str) -> None:
    value, field, reason = EVENT_FINDINGS[case]
    findings = check_event(value)
    assert [finding.field for finding in findings] == [field]
    assert reason in findings[0].reason


@pytest.mark.parametrize("kind", BASE_EVENTS)
def test_check_event__accepts_minimal_events(kind: str) -> None:
    assert check_event(event(kind)) == []


VALID_EVENTS = {
    "extension event type": {"type": "urn:example:SoilTest", "eventTime": T, "eventTimeZoneOffset": "+00:00", "x": 1},
    "DELETE without children": event("AggregationEvent", action="DELETE", childEPCs=DROP),
    "transaction with empty epcList": event("TransactionEvent", epcList=[]),
    "transformation with ID": event("TransformationEvent", outputEPCList=DROP, transformationID="urn:x:t1"),
    "sensors and readPoint": event(epcList=DROP, sensorElementList=sensors()),
    "quantities only": event(epcList=DROP, quantityList=[{"epcClass": URN, "quantity": 2, "uom": "KGM"}]),
    "decimal quantity": event(quantityList=[{"epcClass": URN, "quantity": Decimal("1e400")}]),
    "ilmd on ADD": event(ilmd={"ex:lot": "L1", "https://example.com/voc/grade": "A"}),
    "vocabulary spellings": event(bizStep="https://ref.gs1.org/cbv/BizStep-shipping", disposition="cbv:Disp-active"),
    "user vocabulary": event(bizStep="https://example.com/steps/sorting", disposition="urn:example:disp:wet"),
    "leap second and lower case": event(eventTime="2016-12-31t23:59:60z", recordTime="2017-01-01T08:59:60.5+09:00"),
    "namespaced extensions": event(**{"ex:field": {"any": ["thing"]}}, readPoint={"id": "urn:x:rp", "ex:gps": "1,2"}),
    "IP-literal URI": event(eventID="http://[2001:db8::1]/events/1"),
}


@pytest.mark.parametrize("case", VALID_EVENTS)
def test_check_event__accepts_valid_variations(case: str) -> None:
    assert check_event(VALID_EVENTS[case]) == []


def test_check_event__prefixes_the_pointer_and_escapes_keys() -> None:
    findings = check_event(event(ilmd={"a/b~c": 1}), "/epcisBody/eventList/3")
    assert findings == [
        Finding(
            "/epcisBody/eventList/3/ilmd/a~1b~0c", "unknown field 'a/b~c' in ilmd; " + findings[0].reason.split("; ")[1]
        )
    ]


def _document(**changes: Any) -> dict[str, Any]:
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"ex": "https://example.com/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": T,
        "epcisBody": {"eventList": [event()]},
        **changes,
    }
    return {key: value for key, value in doc.items() if value is not DROP}


def _query_document(**results: Any) -> dict[str, Any]:
    body = {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": [event()]}, **results}
    body = {key: value for key, value in body.items() if value is not DROP}
    return {"@context": "https://ref.gs1.org/standards/epcis/epcis-context.jsonld", "type": "EPCISQueryDocument"} | {
        "epcisBody": {"queryResults": body}
    }


ATTRIBUTES = [{"id": "urn:x:a", "attribute": "red"}, {"id": "urn:x:b", "attribute": ["red"]}]
VOCABULARY = {"type": "urn:x:t", "vocabularyElementList": [{"id": "urn:x:e", "attributes": ATTRIBUTES}]}
DOCUMENT_FINDINGS: dict[str, tuple[object, str, str]] = {
    "not an object": ("EPCISDocument", "", "an EPCIS document must be a JSON object, got 'EPCISDocument'"),
    "type missing": (_document(type=DROP), "/type", "required field missing (EPCISDocument or EPCISQueryDocument)"),
    "bare event": (event(), "/type", "must be EPCISDocument or EPCISQueryDocument, got 'ObjectEvent'"),
    "@context missing": (_document(**{"@context": DROP}), "/@context", "required field missing (e.g. 'https://ref"),
    "@context item": (_document(**{"@context": ["epcis-context"]}), "/@context/0", "items must be URIs or objects"),
    "@context duplicate": (_document(**{"@context": [{"a": 1}, {"a": 1.0}]}), "/@context/1", "duplicate of item 0"),
    "schemaVersion": (_document(schemaVersion="2.0-rc"), "/schemaVersion", "a version number like '2.0'"),
    "creationDate": (_document(creationDate="2026-07-22"), "/creationDate", "RFC 3339"),
    "sender": (_document(sender={"id": "urn:x"}), "/sender", "must be a string"),
    "extension field": (_document(comment="hi"), "/comment", "unknown field 'comment' in EPCISDocument; extension"),
    "epcisBody missing": (_document(epcisBody=DROP), "/epcisBody", "required field missing"),
    "eventList missing": (_document(epcisBody={}), "/epcisBody/eventList", "required field missing"),
    "eventList type": (_document(epcisBody={"eventList": {}}), "/epcisBody/eventList", "must be an array, got an obj"),
    "event in list": (_document(epcisBody={"eventList": [event(action="add")]}), f"{E}/0/action", "got 'add'"),
    "header field": (_document(epcisHeader={"sbdh": {}}), "/epcisHeader/sbdh", "unknown field 'sbdh' in epcisHeader"),
    "vocabulary type": (
        _document(epcisHeader={"epcisMasterData": {"vocabularyList": [{}]}}),
        "/epcisHeader/epcisMasterData/vocabularyList/0/type",
        "required",
    ),
    "vocabulary element id": (
        _document(epcisHeader={"epcisMasterData": {"vocabularyList": [VOCABULARY | {"vocabularyElementList": [{}]}]}}),
        "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/id",
        "required field missing",
    ),
    "attribute value": (
        _document(epcisHeader={"epcisMasterData": {"vocabularyList": [VOCABULARY]}}),
        "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/attributes/1/attribute",
        "must be a number, string or object, got an array",
    ),
    "queryName": (_query_document(queryName=DROP), "/epcisBody/queryResults/queryName", "required field missing"),
    "resultsBody": (_query_document(resultsBody={}), "/epcisBody/queryResults/resultsBody/eventList", "required"),
    "query header": (_query_document() | {"epcisHeader": {}}, "/epcisHeader", "unknown field 'epcisHeader' in EPCISQ"),
}


@pytest.mark.parametrize("case", DOCUMENT_FINDINGS)
def test_check_document__reports_each_kind_of_finding(case: str) -> None:
    value, field, reason = DOCUMENT_FINDINGS[case]
    findings = check_document(value)
    assert [finding.field for finding in findings] == [field]
    assert reason in findings[0].reason


def test_check_document__accepts_both_document_types() -> None:
    assert check_document(_document()) == []
    assert check_document(_query_document()) == []


def test_check_document__caps_the_findings() -> None:
    doc = _document(epcisBody={"eventList": [event(action="CREATE", bizStep="x")] * 80})
    findings = check_document(doc)
    assert len(findings) == MAX_FINDINGS + 1
    assert findings[-1] == Finding("", "60 more findings not shown")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        JSON_VALUES,
        st.builds(_document, epcisBody=JSON_VALUES),
        st.builds(
            lambda v: event(**v),
            st.dictionaries(
                st.sampled_from([*sorted(event()), "ilmd", "quantityList", "sensorElementList"]), JSON_VALUES
            ),
        ),
    )
)
def test_check_document__never_raises(value: object) -> None:
    for findings in (check_document(value), check_event(value, "/x")):
        assert all(isinstance(finding, Finding) and finding.reason for finding in findings)


def test_check_document__handles_non_finite_numbers_and_deep_nesting() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    assert check_document(_document(**{"@context": [deep, deep]})) != []  # not URIs or objects
    assert check_document(_document(**{"ex:x": float("inf")})) == []  # extension values are not checked


def test_document_events__returns_the_event_list_of_either_document_type() -> None:
    assert document_events(_document()) == [event()]
    assert document_events(_query_document()) == [event()]
    with pytest.raises(ValueError, match="run check_document first"):
        document_events(_query_document(resultsBody=DROP))


def test_check_document__is_fast() -> None:
    path = max(GS1_EXAMPLES, key=lambda p: p.stat().st_size)
    start = time.perf_counter()
    for _ in range(20):
        assert check_document(EXAMPLES[path]) == []
    per_event = (time.perf_counter() - start) / 20 / len(document_events(EXAMPLES[path]))
    assert per_event < 0.005  # about 0.2 ms on a laptop: a 25x margin for slow CI machines


# --- formats -------------------------------------------------------------------------------------

URI_CASES = {
    "urn:epc:id:sgtin:0614141.107346.2017": True,
    "https://id.gs1.org/01/09521141012345/21/2017?17=251231#x": True,
    "ex:materialType": True,
    "a:": True,
    "http://[2001:db8::1]:8080/p": True,
    "http://[v1.fe]/": True,
    "http://[::]/": True,
    "http://user@host/%41": True,
    "materialType": False,
    "": False,
    "1a:b": False,
    "http://a b": False,
    "ex:größe": False,  # an IRI, not a URI
    "http://[zz]/": False,
    "http://[fe80::1%25eth0]/": False,
    "http://host:port/": False,
    "a:b#c#d": False,
    "a:b%2": False,
    "urn:x:y\n": False,
    5: False,
}


@pytest.mark.parametrize("value", URI_CASES, ids=repr)
def test_is_uri__follows_rfc_3986(value: object) -> None:
    assert is_uri(value) is URI_CASES[value]


@given(st.text(alphabet="aZ09:/?#[]@!$&'()*+,;=%-._~ é", max_size=20))
def test_is_uri__never_looser_than_the_oracle(value: str) -> None:
    if not _oracle_uri(value):
        assert not is_uri(value)


DATE_TIME_CASES = {
    "2026-07-22T06:45:00+02:00": True,
    "2026-07-22t06:45:00.123456789z": True,
    "2024-02-29T00:00:00Z": True,
    "2016-12-31T23:59:60Z": True,
    "2017-01-01T00:59:60+01:00": True,
    "2017-01-01T00:59:60Z": False,  # a leap second only at 23:59:60 UTC
    "2026-02-29T00:00:00Z": False,
    "2026-07-22T06:45:00": False,
    "2026-07-22 06:45:00Z": False,
    "2026-07-22T24:00:00Z": False,
    "2026-07-22T06:45:00+0200": False,
    "2026-07-22T06:45:00+24:00": False,
    "22-07-2026": False,
    "\u0662026-07-22T06:45:00Z": False,
    1658472300: False,
}


@pytest.mark.parametrize("value", DATE_TIME_CASES, ids=repr)
def test_is_date_time__follows_rfc_3339(value: object) -> None:
    assert is_date_time(value) is DATE_TIME_CASES[value]


# --- CBV vocabularies ----------------------------------------------------------------------------

KINDS = sorted(cbv.VOCABULARIES)
CONTEXT_FILES = {
    "bizStep": "cbv-context-bizstep",
    "disposition": "cbv-context-disposition",
    "bizTransactionType": "cbv-context-biztransaction-type",
    "sourceDestType": "cbv-context-sourcedest-type",
    "errorReason": "cbv-context-error-reason",
    "component": "cbv-context-component",
    "measurementType": "gs1-context-measurement-type",
    "sensorAlertType": "gs1-context-sensor-alert-type",
}
SCHEMA_ENUMS = {"bizTransactionType": "bizTransaction-type", "sourceDestType": "source-dest-type"}
SCHEMA_ENUMS |= {"errorReason": "error-reason"}


@pytest.mark.parametrize("kind", KINDS)
def test_cbv__terms_match_the_json_ld_context_and_the_schema(kind: cbv.Kind) -> None:
    context = _load(EPCIS / "context" / f"{CONTEXT_FILES[kind]}.jsonld")["@context"]
    vocab = cbv.vocabulary(kind)
    assert {term: vocab.curie_prefix + term for term in vocab.terms} == {
        key: value for key, value in context.items() if not key.startswith("@") and key not in ("cbv", "gs1")
    }
    assert context[vocab.curie_prefix.split(":")[0]] + vocab.curie_prefix.split(":")[1] == vocab.web_prefix
    enum = SCHEMA.schema["definitions"][SCHEMA_ENUMS.get(kind, kind)]["anyOf"][1]["enum"]
    assert set(enum) == vocab.terms


@pytest.mark.parametrize("kind", KINDS)
def test_cbv__normalise_accepts_all_four_forms(kind: cbv.Kind) -> None:
    vocab = cbv.vocabulary(kind)
    for term in vocab.terms:
        forms = [term, cbv.web_uri(kind, term), vocab.curie_prefix + term]
        if vocab.urn_prefix is not None:
            forms += [vocab.urn_prefix + term, vocab.urn_prefix.upper() + term]
        assert [cbv.normalise(kind, form) for form in forms] == [term] * len(forms)


def test_cbv__normalise_examples() -> None:
    assert cbv.normalise("bizStep", "shipping") == "shipping"
    assert cbv.normalise("bizStep", "urn:epcglobal:cbv:bizstep:shipping") == "shipping"
    assert cbv.normalise("bizStep", "https://ref.gs1.org/cbv/BizStep-shipping") == "shipping"
    assert cbv.normalise("bizStep", "cbv:BizStep-shipping") == "shipping"
    assert cbv.normalise("disposition", "urn:epcglobal:cbv:disp:in_transit") == "in_transit"
    assert cbv.normalise("bizTransactionType", "https://ref.gs1.org/cbv/BTT-po") == "po"
    assert cbv.normalise("sourceDestType", "cbv:SDT-owning_party") == "owning_party"
    assert cbv.normalise("errorReason", "urn:epcglobal:cbv:er:did_not_occur") == "did_not_occur"
    assert cbv.normalise("measurementType", "gs1:Temperature") == "Temperature"
    assert cbv.web_uri("component", "latitude") == "https://ref.gs1.org/cbv/Comp-latitude"
    assert cbv.web_uri("sensorAlertType", "ALARM_CONDITION") == "https://gs1.org/voc/ALARM_CONDITION"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("bizStep", "xyz"),
        ("bizStep", "urn:epcglobal:cbv:bizstep:xyz"),
        ("bizStep", "Shipping"),
        ("bizStep", "https://ref.gs1.org/cbv/Disp-active"),  # a disposition, not a bizStep
        ("bizStep", "cbv:Disp-active"),
        ("bizStep", "urn:epcglobal:cbv:disp:active"),
        ("bizStep", "http://ref.gs1.org/cbv/BizStep-shipping"),  # GS1 publishes https only
        ("bizStep", "https://example.com/shipping"),
        ("disposition", "in_transport"),
        ("component", "urn:epcglobal:cbv:comp:x"),  # no URN form in CBV
        ("measurementType", "temperature"),
    ],
)
def test_cbv__normalise_refuses_non_standard_values(kind: cbv.Kind, value: str) -> None:
    assert cbv.normalise(kind, value) is None


def test_cbv__refuses_unknown_kinds_and_terms() -> None:
    with pytest.raises(ValueError, match="unknown vocabulary kind"):
        cbv.normalise("bizstep", "shipping")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a standard CBV bizStep: 'xyz'"):
        cbv.web_uri("bizStep", "xyz")
