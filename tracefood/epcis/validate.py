"""Validate EPCIS 2.0 JSON / JSON-LD capture documents before they reach the ledger.

Why code and not GS1's JSON Schema: we may not ship the schema file; a schema validator says
``{...} is not valid under any of the given schemas`` where a producer needs "ObjectEvent needs
epcList, a non-empty quantityList, or sensorElementList + readPoint"; and it checks the ``uri``
and ``date-time`` formats only if optional packages are installed -- without them GS1's own
invalid vectors (bizStep ``transforming``, an un-namespaced ilmd field) pass. So this module
restates the rules of the official schema (EPCIS-JSON-Schema.json, draft-07) as small checks,
always enforces its formats (``uri``: an absolute RFC 3986 URI, so ``prefix:name`` counts as
namespaced; ``date-time``: RFC 3339, offset required; both in :mod:`~tracefood.epcis.formats`)
and adds the CBV vocabulary checks of a conforming capture interface. Input is parsed JSON,
numbers as int, float or ``Decimal`` (the web layer parses with ``parse_float=Decimal``). Each
check appends a :class:`Finding` (RFC 6901 pointer, short reason) and carries on, so producers
see every problem at once; bad input never raises. The check builders are in
:mod:`tracefood.epcis.checks`, the CBV vocabulary and the rules across fields in
:mod:`tracefood.epcis.semantics`; this module lays out the schema: event parts, events, documents.

Relation to the official schema (tested on every vector and on generated mutations of the GS1
examples, formats enforced): whenever the schema rejects a document, :func:`check_document`
rejects it too. The converse holds except for these deliberate, stricter rules:

* Only EPCISDocument / EPCISQueryDocument; the schema also takes a bare event (see check_event).
* A value in GS1's own namespaces must be a standard term: the schema takes any URI as bizStep,
  disposition etc. unless it starts with ``urn:epcglobal:cbv`` or ``http(s)://ns.gs1.org/cbv/``,
  so ``cbv:BizStep-shiping`` passes it; here anything under ``cbv:`` / ``https://ref.gs1.org/cbv/``
  (``gs1:`` for measurement and alert types) must be standard. User vocabulary as a URI in any
  other namespace is accepted, as EPCIS allows. Standard terms in CBV 1.x URN form are refused,
  as by the schema, with a hint to write the bare term.
* readPoint / bizLocation extension fields must be namespaced (the schema allows any key there;
  JSON-LD would silently drop an un-namespaced one).
* Numbers must be finite (Python's json reads NaN and Infinity; JSON has neither).
* Patterns match the whole string with ASCII digits, as ECMA-262 regexes do (Python's
  ``re.search`` in the ``jsonschema`` library lets ``"+02:00\\n"`` through ``...$``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tracefood.epcis.checks import (
    MAX_DEPTH,
    MAX_FINDINGS,
    Check,
    Finding,
    Findings,
    a_date_time,
    a_number,
    a_string,
    a_uri,
    anything,
    check_fields,
    check_unique,
    child_pointer,
    expect,
    is_number,
    json_array,
    json_object,
    pattern,
    same,
    show,
    too_deep,
)
from tracefood.epcis.formats import is_uri
from tracefood.epcis.semantics import (
    Rule,
    children_rule,
    object_event_rule,
    persistent_disposition,
    transformation_rule,
    vocabulary_check,
)

__all__ = ["EVENT_TYPES", "MAX_FINDINGS", "Finding", "check_document", "check_event", "document_events"]

EVENT_TYPES: Final = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")


# --- event parts -----------------------------------------------------------------------------


def _context(value: object, at: str, out: Findings) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not (is_uri(item) or isinstance(item, dict)):
                out.add(child_pointer(at, index), f"@context items must be URIs or objects, got {show(item)}")
        check_unique(value, at, out)
    elif not (is_uri(value) or isinstance(value, dict)):
        out.add(at, f"@context must be a URI, an object or an array of them, got {show(value)}")


def _certification_info(value: object, at: str, out: Findings) -> None:
    for index, item in enumerate(value) if isinstance(value, list) else [(-1, value)]:
        if not is_uri(item):
            out.add(
                at if index < 0 else child_pointer(at, index),
                f"certificationInfo holds certificate URIs; got {show(item)}",
            )


_QUANTITY = json_object(
    "quantity element",
    {"epcClass": a_uri, "quantity": a_number, "uom": pattern("[A-Z0-9]{2,3}", "a UN/CEFACT unit code like KGM")},
    "epcClass",
    extra="none",
)
_BIZ_TRANSACTION = json_object(
    "bizTransaction",
    {"type": vocabulary_check("bizTransactionType"), "bizTransaction": a_uri},
    "bizTransaction",
    extra="none",
)
_SOURCE_TYPE = vocabulary_check("sourceDestType")
_SOURCE = json_object("source", {"type": _SOURCE_TYPE, "source": a_uri}, "type source", extra="none")
_DESTINATION = json_object(
    "destination", {"type": _SOURCE_TYPE, "destination": a_uri}, "type destination", extra="none"
)
_SENSOR_METADATA = json_object(
    "sensorMetadata",
    same(a_date_time, "time startTime endTime")
    | same(a_uri, "deviceID deviceMetadata rawData dataProcessingMethod bizRules"),
)
_SENSOR_REPORT = json_object(
    "sensorReport",
    {
        "type": vocabulary_check("measurementType"),
        "exception": vocabulary_check("sensorAlertType"),
        "component": vocabulary_check("component"),
        "time": a_date_time,
        "stringValue": a_string,
        "uom": a_string,
        "booleanValue": expect(lambda value: isinstance(value, bool), "true or false"),
        "hexBinaryValue": pattern("[A-Fa-f0-9]+", "hexadecimal digits"),
        **same(a_number, "value minValue maxValue meanValue sDev percRank percValue"),
        **same(a_uri, "deviceID deviceMetadata rawData dataProcessingMethod bizRules microorganism"),
        **same(a_uri, "chemicalSubstance coordinateReferenceSystem uriValue"),
    },
    "type",
)
_SENSOR_ELEMENT = json_object(
    "sensorElement",
    {"sensorMetadata": _SENSOR_METADATA, "sensorReport": json_array(_SENSOR_REPORT, min_items=1)},
    "sensorReport",
)
_ERROR_DECLARATION = json_object(
    "errorDeclaration",
    {
        "declarationTime": a_date_time,
        "reason": vocabulary_check("errorReason"),
        "correctiveEventIDs": json_array(a_uri),
    },
    "declarationTime",
)

# --- events ----------------------------------------------------------------------------------

_COMMON: Final = {
    "@context": _context,
    "type": anything,  # dispatched on before the fields are checked
    "eventTime": a_date_time,
    "recordTime": a_date_time,
    "eventTimeZoneOffset": pattern(
        r"[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)", "an offset -13:59..+14:00 like +02:00"
    ),
    "eventID": a_uri,
    "certificationInfo": _certification_info,
    "errorDeclaration": _ERROR_DECLARATION,
}
_WHAT_WHERE_WHY: Final = {
    "bizStep": vocabulary_check("bizStep"),
    "disposition": vocabulary_check("disposition"),
    "readPoint": json_object("readPoint", {"id": a_uri}, "id"),
    "bizLocation": json_object("bizLocation", {"id": a_uri}, "id"),
    "bizTransactionList": json_array(_BIZ_TRANSACTION),
    "sourceList": json_array(_SOURCE),
    "destinationList": json_array(_DESTINATION),
    "sensorElementList": json_array(_SENSOR_ELEMENT),
}
_ACTION: Final = {"action": expect(lambda value: value in ("ADD", "OBSERVE", "DELETE"), "ADD, OBSERVE or DELETE")}
_EPCS, _UNIQUE_EPCS, _QUANTITIES = json_array(a_uri), json_array(a_uri, unique=True), json_array(_QUANTITY)
_PARENT_CHILD: Final = {"parentID": a_uri, "childEPCs": _EPCS, "childQuantityList": _QUANTITIES}
_NEW_OBJECTS: Final = {"persistentDisposition": persistent_disposition, "ilmd": json_object("ilmd", {})}
_TIMES: Final = ("eventTime", "eventTimeZoneOffset")
_TRANSACTION: Final = {
    "bizTransactionList": json_array(_BIZ_TRANSACTION, min_items=1),
    "parentID": a_uri,
    "epcList": _EPCS,
}
_INPUTS_OUTPUTS: Final = same(_UNIQUE_EPCS, "inputEPCList outputEPCList") | same(
    _QUANTITIES, "inputQuantityList outputQuantityList"
)
# Per event type: its fields, the required ones, and a rule across fields (the schema's anyOf).
_EVENTS: Final[Mapping[str, tuple[Mapping[str, Check], tuple[str, ...], Rule]]] = {
    "ObjectEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _NEW_OBJECTS | {"epcList": _UNIQUE_EPCS, "quantityList": _QUANTITIES},
        (*_TIMES, "action"),
        object_event_rule,
    ),
    "AggregationEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _PARENT_CHILD,
        (*_TIMES, "action"),
        children_rule("childEPCs", "childQuantityList", 1),
    ),
    "AssociationEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _PARENT_CHILD,
        (*_TIMES, "action", "parentID"),
        children_rule("childEPCs", "childQuantityList", 1),
    ),
    "TransactionEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _TRANSACTION | {"quantityList": _QUANTITIES},
        (*_TIMES, "action", "bizTransactionList"),
        children_rule("epcList", "quantityList", 0),
    ),
    "TransformationEvent": (
        _COMMON | _WHAT_WHERE_WHY | _NEW_OBJECTS | _INPUTS_OUTPUTS | {"transformationID": a_uri},
        _TIMES,
        transformation_rule,
    ),
}


def _event(value: object, at: str, out: Findings) -> None:
    if not isinstance(value, dict):
        out.add(at, f"event must be an object, got {show(value)}")
        return
    kind = value.get("type")
    spec = _EVENTS.get(kind) if isinstance(kind, str) else None
    if "type" not in value:
        out.add(child_pointer(at, "type"), f"required field missing (one of {', '.join(EVENT_TYPES)})")
    elif spec is None and not is_uri(kind):
        what = f"unknown event type {kind!r}" if isinstance(kind, str) else f"must be a string, got {show(kind)}"
        out.add(child_pointer(at, "type"), f"{what}: use one of {', '.join(EVENT_TYPES)} or a URI")
    if spec is None:
        # An event type named by a URI is an extension event (the schema's Extended-Event): the
        # common fields are checked, the others belong to whoever defined the type.
        check_fields("event", value, at, out, (_COMMON, _TIMES, "any"))
        return
    fields, required, rule = spec
    check_fields(str(kind), value, at, out, (fields, required, "namespaced"))
    rule(value, at, out)


# --- documents -------------------------------------------------------------------------------

_EVENT_LIST = json_array(_event)
_ATTRIBUTE = json_object(
    "attribute",
    {
        "id": a_uri,
        "attribute": expect(lambda v: is_number(v) or isinstance(v, str | dict), "a number, string or object"),
    },
    "id",
    extra="any",
)
_ELEMENT = json_object(
    "vocabulary element",
    {"id": a_uri, "attributes": json_array(_ATTRIBUTE), "children": json_array(a_uri)},
    "id",
    extra="any",
)
_VOCABULARIES = json_array(
    json_object("vocabulary", {"type": a_uri, "vocabularyElementList": json_array(_ELEMENT)}, "type", extra="any")
)
_DOCUMENT_FIELDS: Final = {
    "@context": _context,
    "id": a_uri,
    "type": anything,  # dispatched on
    "schemaVersion": pattern(r"[0-9]+(?:\.[0-9]+)*", "a version number like '2.0'"),
    "creationDate": a_date_time,
}
_MASTER_DATA = json_object("epcisMasterData", {"vocabularyList": _VOCABULARIES}, extra="any")
_EPCIS_DOCUMENT = json_object(
    "EPCISDocument",
    _DOCUMENT_FIELDS
    | same(a_string, "instanceIdentifier sender receiver")
    | {"epcisHeader": json_object("epcisHeader", {"epcisMasterData": _MASTER_DATA})}
    | {"epcisBody": json_object("epcisBody", {"eventList": _EVENT_LIST}, "eventList", extra="any")},
    "@context type schemaVersion creationDate epcisBody",
)
_RESULTS_BODY = json_object("resultsBody", {"eventList": _EVENT_LIST, "vocabularyList": _VOCABULARIES}, "eventList")
_QUERY_RESULTS = json_object(
    "queryResults",
    {"queryName": a_string, "subscriptionID": a_string, "resultsBody": _RESULTS_BODY},
    "queryName resultsBody",
)
_EPCIS_QUERY_DOCUMENT = json_object(
    "EPCISQueryDocument",
    _DOCUMENT_FIELDS | {"epcisBody": json_object("epcisBody", {"queryResults": _QUERY_RESULTS}, "queryResults")},
    "@context type epcisBody",
)


def check_document(doc: object) -> list[Finding]:
    """All findings for an EPCISDocument or EPCISQueryDocument (parsed JSON); [] when valid."""
    out = Findings()
    deep = too_deep(doc)
    if deep is not None:
        out.add(deep, f"nested deeper than {MAX_DEPTH} levels")
        return list(out)
    kind = doc.get("type") if isinstance(doc, dict) else None
    if not isinstance(doc, dict):
        out.add("", f"an EPCIS document must be a JSON object, got {show(doc)}")
    elif kind == "EPCISDocument":
        _EPCIS_DOCUMENT(doc, "", out)
    elif kind == "EPCISQueryDocument":
        _EPCIS_QUERY_DOCUMENT(doc, "", out)
    elif "type" not in doc:
        out.add("/type", "required field missing (EPCISDocument or EPCISQueryDocument)")
    else:
        out.add("/type", f"must be EPCISDocument or EPCISQueryDocument, got {show(kind)}")
    return out.result()


def check_event(event: object, pointer: str = "") -> list[Finding]:
    """All findings for one event as it appears in an event list; ``pointer`` prefixes paths."""
    out = Findings()
    _event(event, pointer, out)
    return out.result()


def document_events(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The event list of an EPCISDocument or EPCISQueryDocument that passed check_document.

    ValueError if ``doc`` has no list of event objects where its type says it should.
    """
    body = doc.get("epcisBody")
    if doc.get("type") == "EPCISQueryDocument" and isinstance(body, Mapping):
        results = body.get("queryResults")
        body = results.get("resultsBody") if isinstance(results, Mapping) else None
    events = body.get("eventList") if isinstance(body, Mapping) else None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise ValueError("not a checked EPCIS document: no list of event objects (run check_document first)")
    return events
