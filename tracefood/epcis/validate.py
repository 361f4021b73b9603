"""Validate EPCIS 2.0 JSON / JSON-LD capture documents before they reach the ledger.

Why code and not GS1's JSON Schema: we may not ship the schema file; a schema validator says
``{...} is not valid under any of the given schemas`` where a producer needs "ObjectEvent needs
epcList, a non-empty quantityList, or sensorElementList + readPoint"; and it checks the ``uri``
and ``date-time`` formats only if optional packages are installed -- without them GS1's own
invalid vectors (bizStep ``transforming``, an un-namespaced ilmd field) pass. So this module
restates the rules of the official schema (EPCIS-JSON-Schema.json, draft-07) as small checks,
always enforces its formats (``uri``: an absolute RFC 3986 URI, so ``prefix:name`` counts as
namespaced; ``date-time``: RFC 3339, offset required; both in :mod:`~tracefood.ledger.epcis_formats`)
and adds the CBV vocabulary checks of a conforming capture interface. Input is parsed JSON,
numbers as int, float or ``Decimal`` (the web layer parses with ``parse_float=Decimal``). Each
check appends a :class:`Finding` (RFC 6901 pointer, short reason) and carries on, so producers
see every problem at once; bad input never raises.

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

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from tracefood.epcis import cbv
from tracefood.epcis.formats import is_date_time as is_date_time  # re-exported
from tracefood.epcis.formats import is_uri as is_uri  # re-exported

MAX_FINDINGS: Final = 100
EVENT_TYPES: Final = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")


@dataclass(frozen=True)
class Finding:
    """One problem: where (RFC 6901 pointer into the document) and what, for a human."""

    field: str
    reason: str


class _Out(list[Finding]):
    def add(self, field: str, reason: str) -> None:
        self.append(Finding(field, reason))

    def result(self) -> list[Finding]:
        """At most MAX_FINDINGS findings, then one saying how many more there were."""
        more = [Finding("", f"{len(self) - MAX_FINDINGS} more findings not shown")] if len(self) > MAX_FINDINGS else []
        return self[:MAX_FINDINGS] + more


Check = Callable[[object, str, _Out], None]


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, float | Decimal) and not _is_number(value):
        return f"{value} (JSON has no NaN or Infinity)"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return "a number"
    names = {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _at(pointer: str, key: object) -> str:
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


# --- building blocks -------------------------------------------------------------------------


def _anything(value: object, at: str, out: _Out) -> None:
    pass


def _expect(test: Callable[[Any], object], what: str) -> Check:
    """A check that ``test(value)`` holds; the finding says the value must be ``what``."""

    def check(value: object, at: str, out: _Out) -> None:
        if not test(value):
            out.add(at, f"must be {what}, got {_show(value)}")

    return check


def _is_number(value: object) -> bool:
    """JSON numbers as parsed by json (int, float) or with parse_float=Decimal, as the web layer does."""
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)
    return _expect(lambda value: isinstance(value, str) and compiled.fullmatch(value), what)


_string = _expect(lambda value: isinstance(value, str), "a string")
_uri = _expect(is_uri, "an absolute URI (like urn:epc:id:sgtin:... or https://...)")
_time = _expect(is_date_time, "an RFC 3339 date-time with offset (like 2026-07-22T06:45:00+02:00)")
_number = _expect(_is_number, "a number")


def _same(check: Check, names: str) -> dict[str, Check]:
    return dict.fromkeys(names.split(), check)


def _freeze(value: object) -> object:
    """A hashable stand-in with JSON equality (1 == 1.0, but true != 1)."""
    if isinstance(value, bool | str) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, int | float | Decimal):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_freeze(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _freeze(item)) for key, item in value.items()))
    return ("other", id(value))


def _unique(items: list[Any], at: str, out: _Out) -> None:
    seen: dict[object, int] = {}
    for index, item in enumerate(items):
        try:
            key = _freeze(item)
        except RecursionError:  # absurdly deep nesting: skip rather than crash
            continue
        if key in seen:
            out.add(_at(at, index), f"duplicate of item {seen[key]}")
        seen.setdefault(key, index)


def _array(item: Check, *, min_items: int = 0, unique: bool = False) -> Check:
    def check(value: object, at: str, out: _Out) -> None:
        if not isinstance(value, list):
            out.add(at, f"must be an array, got {_show(value)}")
            return
        if len(value) < min_items:
            out.add(at, f"must have at least {min_items} item{'s' if min_items > 1 else ''}")
        for index, element in enumerate(value):
            item(element, _at(at, index), out)
        if unique:
            _unique(value, at, out)

    return check


_Spec = tuple[Mapping[str, Check], tuple[str, ...], str]  # fields, required, extra
_NAMESPACED: Final = "extension fields must be namespaced (prefix:name or an absolute URI)"
_MISSING_HINTS: Final = {
    "@context": " (e.g. 'https://ref.gs1.org/standards/epcis/epcis-context.jsonld')",
    "eventTimeZoneOffset": " (e.g. '+02:00')",
    "action": " (ADD, OBSERVE or DELETE)",
}


def _fields(what: str, value: dict[Any, Any], at: str, out: _Out, spec: _Spec) -> None:
    """Check an object's known fields, that the required ones are there, and its other keys
    per ``extra``: allowed ("any"), "namespaced" (keys are URIs) or "none"."""
    fields, required, extra = spec
    for key, element in value.items():
        check = fields.get(key) if isinstance(key, str) else None
        if check is not None:
            check(element, _at(at, key), out)
        elif extra == "none":
            out.add(_at(at, key), f"unknown field {key!r} in {what} (allowed: {', '.join(fields)})")
        elif extra == "namespaced" and not is_uri(key):
            out.add(_at(at, key), f"unknown field {key!r} in {what}; {_NAMESPACED}")
    for key in required:
        if key not in value:
            out.add(_at(at, key), f"required field missing{_MISSING_HINTS.get(key, '')}")


def _object(what: str, fields: Mapping[str, Check], required: str = "", *, extra: str = "namespaced") -> Check:
    """An object with known ``fields`` and the space-separated ``required`` ones."""
    spec = (fields, tuple(required.split()), extra)

    def check(value: object, at: str, out: _Out) -> None:
        if isinstance(value, dict):
            _fields(what, value, at, out, spec)
        else:
            out.add(at, f"{what} must be an object, got {_show(value)}")

    return check


# --- vocabularies ----------------------------------------------------------------------------

# Forms the official schema refuses for CBV values (vocab-other-uri): CBV 1.x URNs and the old
# ns.gs1.org namespace; for measurement / alert types (vocab-nonGS1WebVoc-uri): GS1 Web URIs.
_SCHEMA_REFUSED_CBV: Final = re.compile(r"urn:epcglobal:cbv|https?://ns\.gs1\.org/cbv/", re.IGNORECASE)
_SCHEMA_REFUSED_GS1: Final = re.compile(r"https?://(?:www\.)?gs1\.org/voc/", re.IGNORECASE)
_OLD_CBV_NAMESPACE: Final = re.compile(r"^https?://ns\.gs1\.org/cbv/", re.IGNORECASE)
_CBV_NAMESPACE: Final = re.compile(r"cbv:|https?://ref\.gs1\.org/cbv/", re.IGNORECASE)


def vocabulary_problem(kind: cbv.Kind, value: str) -> str | None:
    """Why ``value`` is not acceptable as a ``kind`` value in EPCIS 2.0 JSON; None if it is."""
    vocab = cbv.vocabulary(kind)
    if value in vocab.terms:
        return None
    short = cbv.normalise(kind, _OLD_CBV_NAMESPACE.sub("cbv:", value))  # the old namespace only to give a hint
    gs1_voc = vocab.curie_prefix == "gs1:"
    refused = (_SCHEMA_REFUSED_GS1 if gs1_voc else _SCHEMA_REFUSED_CBV).match(value) is not None
    if short is not None:
        return f"write the bare term {short!r}: EPCIS 2.0 JSON does not allow the form {value!r}" if refused else None
    ours = value.startswith("gs1:") if gs1_voc else _CBV_NAMESPACE.match(value) is not None
    if not (refused or ours) and is_uri(value):
        return None  # user vocabulary: an absolute URI outside GS1's namespaces
    reason = f"not a standard {vocab.label}: {_show(value)}"
    if len(value) < 64 and (close := difflib.get_close_matches(value, vocab.terms, n=1, cutoff=0.75)):
        reason += f"; did you mean {close[0]!r}?"
    return reason if refused or ours else reason + "; other values must be absolute URIs in your own namespace"


def _vocab(kind: cbv.Kind) -> Check:
    def check(value: object, at: str, out: _Out) -> None:
        if not isinstance(value, str):
            out.add(at, f"must be a string ({cbv.vocabulary(kind).label} or a URI), got {_show(value)}")
        elif (problem := vocabulary_problem(kind, value)) is not None:
            out.add(at, problem)

    return check


# --- event parts -----------------------------------------------------------------------------


def _context(value: object, at: str, out: _Out) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not (is_uri(item) or isinstance(item, dict)):
                out.add(_at(at, index), f"@context items must be URIs or objects, got {_show(item)}")
        _unique(value, at, out)
    elif not (is_uri(value) or isinstance(value, dict)):
        out.add(at, f"@context must be a URI, an object or an array of them, got {_show(value)}")


def _certification_info(value: object, at: str, out: _Out) -> None:
    for index, item in enumerate(value) if isinstance(value, list) else [(-1, value)]:
        if not is_uri(item):
            out.add(at if index < 0 else _at(at, index), f"certificationInfo holds certificate URIs; got {_show(item)}")


_DISPOSITIONS = _array(_vocab("disposition"), min_items=1, unique=True)
_PERSISTENT_FIELDS = _object("persistentDisposition", {"set": _DISPOSITIONS, "unset": _DISPOSITIONS}, extra="none")


def _persistent_disposition(value: object, at: str, out: _Out) -> None:
    _PERSISTENT_FIELDS(value, at, out)
    if isinstance(value, dict) and "set" not in value and "unset" not in value:
        out.add(_at(at, "set"), "persistentDisposition needs set or unset")


_QUANTITY = _object(
    "quantity element",
    {"epcClass": _uri, "quantity": _number, "uom": _pattern("[A-Z0-9]{2,3}", "a UN/CEFACT unit code like KGM")},
    "epcClass",
    extra="none",
)
_BIZ_TRANSACTION = _object(
    "bizTransaction", {"type": _vocab("bizTransactionType"), "bizTransaction": _uri}, "bizTransaction", extra="none"
)
_SOURCE_TYPE = _vocab("sourceDestType")
_SOURCE = _object("source", {"type": _SOURCE_TYPE, "source": _uri}, "type source", extra="none")
_DESTINATION = _object("destination", {"type": _SOURCE_TYPE, "destination": _uri}, "type destination", extra="none")
_SENSOR_METADATA = _object(
    "sensorMetadata",
    _same(_time, "time startTime endTime")
    | _same(_uri, "deviceID deviceMetadata rawData dataProcessingMethod bizRules"),
)
_SENSOR_REPORT = _object(
    "sensorReport",
    {
        "type": _vocab("measurementType"),
        "exception": _vocab("sensorAlertType"),
        "component": _vocab("component"),
        "time": _time,
        "stringValue": _string,
        "uom": _string,
        "booleanValue": _expect(lambda value: isinstance(value, bool), "true or false"),
        "hexBinaryValue": _pattern("[A-Fa-f0-9]+", "hexadecimal digits"),
        **_same(_number, "value minValue maxValue meanValue sDev percRank percValue"),
        **_same(_uri, "deviceID deviceMetadata rawData dataProcessingMethod bizRules microorganism"),
        **_same(_uri, "chemicalSubstance coordinateReferenceSystem uriValue"),
    },
    "type",
)
_SENSOR_ELEMENT = _object(
    "sensorElement",
    {"sensorMetadata": _SENSOR_METADATA, "sensorReport": _array(_SENSOR_REPORT, min_items=1)},
    "sensorReport",
)
_ERROR_DECLARATION = _object(
    "errorDeclaration",
    {"declarationTime": _time, "reason": _vocab("errorReason"), "correctiveEventIDs": _array(_uri)},
    "declarationTime",
)

# --- events ----------------------------------------------------------------------------------

_COMMON: Final = {
    "@context": _context,
    "type": _anything,  # dispatched on before the fields are checked
    "eventTime": _time,
    "recordTime": _time,
    "eventTimeZoneOffset": _pattern(
        r"[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)", "an offset -13:59..+14:00 like +02:00"
    ),
    "eventID": _uri,
    "certificationInfo": _certification_info,
    "errorDeclaration": _ERROR_DECLARATION,
}
_WHAT_WHERE_WHY: Final = {
    "bizStep": _vocab("bizStep"),
    "disposition": _vocab("disposition"),
    "readPoint": _object("readPoint", {"id": _uri}, "id"),
    "bizLocation": _object("bizLocation", {"id": _uri}, "id"),
    "bizTransactionList": _array(_BIZ_TRANSACTION),
    "sourceList": _array(_SOURCE),
    "destinationList": _array(_DESTINATION),
    "sensorElementList": _array(_SENSOR_ELEMENT),
}
_ACTION: Final = {"action": _expect(lambda value: value in ("ADD", "OBSERVE", "DELETE"), "ADD, OBSERVE or DELETE")}
_EPCS, _UNIQUE_EPCS, _QUANTITIES = _array(_uri), _array(_uri, unique=True), _array(_QUANTITY)
_PARENT_CHILD: Final = {"parentID": _uri, "childEPCs": _EPCS, "childQuantityList": _QUANTITIES}
_NEW_OBJECTS: Final = {"persistentDisposition": _persistent_disposition, "ilmd": _object("ilmd", {})}
Rule = Callable[[dict[Any, Any], str, _Out], None]


def _nonempty(value: object) -> bool:
    return isinstance(value, list) and len(value) > 0


def _object_event_rule(event: dict[Any, Any], at: str, out: _Out) -> None:
    quantities, sensors = _nonempty(event.get("quantityList")), _nonempty(event.get("sensorElementList"))
    if not ("epcList" in event or quantities or (sensors and "readPoint" in event)):
        need = "epcList, a non-empty quantityList, or sensorElementList + readPoint"
        out.add(_at(at, "epcList"), f"ObjectEvent needs {need}")
    if "ilmd" in event and event.get("action") in ("OBSERVE", "DELETE"):
        out.add(_at(at, "ilmd"), f"ilmd is only allowed when action is ADD, not {event['action']}")


def _children_rule(epcs: str, quantities: str, min_epcs: int) -> Rule:
    def rule(event: dict[Any, Any], at: str, out: _Out) -> None:
        listed = isinstance(event.get(epcs), list) and len(event[epcs]) >= min_epcs
        if "action" in event and event["action"] != "DELETE" and not listed and not _nonempty(event.get(quantities)):
            need = f"a non-empty {epcs}" if min_epcs else epcs
            out.add(_at(at, epcs), f"{event['type']} needs {need} or a non-empty {quantities} unless action is DELETE")

    return rule


def _transformation_rule(event: dict[Any, Any], at: str, out: _Out) -> None:
    inputs = _nonempty(event.get("inputEPCList")) or _nonempty(event.get("inputQuantityList"))
    outputs = _nonempty(event.get("outputEPCList")) or _nonempty(event.get("outputQuantityList"))
    if (inputs and outputs) or ((inputs or outputs) and "transformationID" in event):
        return
    if inputs or outputs:
        missing = "outputs" if inputs else "inputs"
        out.add(_at(at, f"{missing[:-1]}EPCList"), f"TransformationEvent has no {missing} and no transformationID")
    else:
        out.add(_at(at, "inputEPCList"), "TransformationEvent needs inputs and/or outputs (EPC or quantity lists)")


_TIMES: Final = ("eventTime", "eventTimeZoneOffset")
_TRANSACTION: Final = {"bizTransactionList": _array(_BIZ_TRANSACTION, min_items=1), "parentID": _uri, "epcList": _EPCS}
_INPUTS_OUTPUTS: Final = _same(_UNIQUE_EPCS, "inputEPCList outputEPCList") | _same(
    _QUANTITIES, "inputQuantityList outputQuantityList"
)
# Per event type: its fields, the required ones, and a rule across fields (the schema's anyOf).
_EVENTS: Final[Mapping[str, tuple[Mapping[str, Check], tuple[str, ...], Rule]]] = {
    "ObjectEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _NEW_OBJECTS | {"epcList": _UNIQUE_EPCS, "quantityList": _QUANTITIES},
        (*_TIMES, "action"),
        _object_event_rule,
    ),
    "AggregationEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _PARENT_CHILD,
        (*_TIMES, "action"),
        _children_rule("childEPCs", "childQuantityList", 1),
    ),
    "AssociationEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _PARENT_CHILD,
        (*_TIMES, "action", "parentID"),
        _children_rule("childEPCs", "childQuantityList", 1),
    ),
    "TransactionEvent": (
        _COMMON | _ACTION | _WHAT_WHERE_WHY | _TRANSACTION | {"quantityList": _QUANTITIES},
        (*_TIMES, "action", "bizTransactionList"),
        _children_rule("epcList", "quantityList", 0),
    ),
    "TransformationEvent": (
        _COMMON | _WHAT_WHERE_WHY | _NEW_OBJECTS | _INPUTS_OUTPUTS | {"transformationID": _uri},
        _TIMES,
        _transformation_rule,
    ),
}


def _event(value: object, at: str, out: _Out) -> None:
    if not isinstance(value, dict):
        out.add(at, f"event must be an object, got {_show(value)}")
        return
    kind = value.get("type")
    spec = _EVENTS.get(kind) if isinstance(kind, str) else None
    if "type" not in value:
        out.add(_at(at, "type"), f"required field missing (one of {', '.join(EVENT_TYPES)})")
    elif spec is None and not is_uri(kind):
        what = f"unknown event type {kind!r}" if isinstance(kind, str) else f"must be a string, got {_show(kind)}"
        out.add(_at(at, "type"), f"{what}: use one of {', '.join(EVENT_TYPES)} or a URI")
    if spec is None:
        # An event type named by a URI is an extension event (the schema's Extended-Event): the
        # common fields are checked, the others belong to whoever defined the type.
        _fields("event", value, at, out, (_COMMON, _TIMES, "any"))
        return
    fields, required, rule = spec
    _fields(str(kind), value, at, out, (fields, required, "namespaced"))
    rule(value, at, out)


# --- documents -------------------------------------------------------------------------------

_EVENT_LIST = _array(_event)
_ATTRIBUTE = _object(
    "attribute",
    {
        "id": _uri,
        "attribute": _expect(lambda v: _is_number(v) or isinstance(v, str | dict), "a number, string or object"),
    },
    "id",
    extra="any",
)
_ELEMENT = _object(
    "vocabulary element", {"id": _uri, "attributes": _array(_ATTRIBUTE), "children": _array(_uri)}, "id", extra="any"
)
_VOCABULARIES = _array(
    _object("vocabulary", {"type": _uri, "vocabularyElementList": _array(_ELEMENT)}, "type", extra="any")
)
_DOCUMENT_FIELDS: Final = {
    "@context": _context,
    "id": _uri,
    "type": _anything,  # dispatched on
    "schemaVersion": _pattern(r"[0-9]+(?:\.[0-9]+)*", "a version number like '2.0'"),
    "creationDate": _time,
}
_MASTER_DATA = _object("epcisMasterData", {"vocabularyList": _VOCABULARIES}, extra="any")
_EPCIS_DOCUMENT = _object(
    "EPCISDocument",
    _DOCUMENT_FIELDS
    | _same(_string, "instanceIdentifier sender receiver")
    | {"epcisHeader": _object("epcisHeader", {"epcisMasterData": _MASTER_DATA})}
    | {"epcisBody": _object("epcisBody", {"eventList": _EVENT_LIST}, "eventList", extra="any")},
    "@context type schemaVersion creationDate epcisBody",
)
_RESULTS_BODY = _object("resultsBody", {"eventList": _EVENT_LIST, "vocabularyList": _VOCABULARIES}, "eventList")
_QUERY_RESULTS = _object(
    "queryResults",
    {"queryName": _string, "subscriptionID": _string, "resultsBody": _RESULTS_BODY},
    "queryName resultsBody",
)
_EPCIS_QUERY_DOCUMENT = _object(
    "EPCISQueryDocument",
    _DOCUMENT_FIELDS | {"epcisBody": _object("epcisBody", {"queryResults": _QUERY_RESULTS}, "queryResults")},
    "@context type epcisBody",
)


def check_document(doc: object) -> list[Finding]:
    """All findings for an EPCISDocument or EPCISQueryDocument (parsed JSON); [] when valid."""
    out = _Out()
    kind = doc.get("type") if isinstance(doc, dict) else None
    if not isinstance(doc, dict):
        out.add("", f"an EPCIS document must be a JSON object, got {_show(doc)}")
    elif kind == "EPCISDocument":
        _EPCIS_DOCUMENT(doc, "", out)
    elif kind == "EPCISQueryDocument":
        _EPCIS_QUERY_DOCUMENT(doc, "", out)
    elif "type" not in doc:
        out.add("/type", "required field missing (EPCISDocument or EPCISQueryDocument)")
    else:
        out.add("/type", f"must be EPCISDocument or EPCISQueryDocument, got {_show(kind)}")
    return out.result()


def check_event(event: object, pointer: str = "") -> list[Finding]:
    """All findings for one event as it appears in an event list; ``pointer`` prefixes paths."""
    out = _Out()
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
