"""The CBV 2.0 pre-hash string of an EPCIS event: the canonical form the event hash ID digests.

:mod:`tracefood.epcis.event_hash` explains the algorithm and its deliberate deviations; this
module does the work: it walks the event's fields in the canonical property order, normalises
each value (timestamps, numbers, vocabulary terms, CURIEs; identifiers through
:func:`~tracefood.epcis.canonical_ids.canonical_gs1_uri`), sorts the members of unordered
lists and writes user extensions as ``{namespace}localName=value``. It is kept apart from the
digest so that tests and tools can compare pre-hash strings with the reference vectors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tracefood import utc
from tracefood.epcis.canonical_ids import canonical_gs1_uri

__all__ = [
    "DEFAULT_NAMESPACES",
    "expand_curie",
    "expand_vocabulary",
    "format_number",
    "namespaces_from_context",
    "normalise_timestamp",
    "prehash_string",
]

CBV_WEB = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"

DEFAULT_NAMESPACES: Mapping[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": CBV_WEB,
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": GS1_VOC,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}
"""Prefixes defined by the standard EPCIS 2.0 JSON-LD context."""

# Fields that never enter the hash: assigned after capture, or annotations.
_EXCLUDED_KEYS = frozenset({"eventID", "recordTime", "errorDeclaration", "type"})
_EXCLUDED_EXTENSIONS = frozenset({"{http://www.w3.org/2000/01/rdf-schema#}comment"})

# --------------------------------------------------------------------------------------------
# Small value helpers
# --------------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$"
)


@functools.lru_cache(maxsize=4096)  # pure; each event's time is read twice
def normalise_timestamp(value: str) -> str:
    """Return an xsd:dateTime as UTC with millisecond precision: ``YYYY-MM-DDTHH:MM:SS.mmmZ``.

    Finer fractions are rounded half up to the millisecond (``.1415`` -> ``.142``, carrying
    into the seconds if needed); coarser ones are zero-filled.  A missing offset means UTC.
    Strings that are not timestamps are returned stripped but otherwise unchanged.
    """
    text = value.strip()
    m = _TIMESTAMP.match(text)
    if m is None:
        return text
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction = m.group(7) or "0"
    millis = int((Decimal("0." + fraction) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC) + timedelta(milliseconds=millis)
        if m.group(9):
            offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
            moment -= offset if m.group(9) == "+" else -offset
    except (ValueError, OverflowError):  # month 13, or 0001-01-01 shifted before year 1
        return text
    return utc.text(moment, "ms")


def format_number(value: int | float | Decimal) -> str:
    """Write a number without trailing zeros or exponent: ``1.0`` -> ``1``, ``0.3430`` -> ``0.343``."""
    if isinstance(value, int):
        return str(value)
    dec = Decimal(repr(value)) if isinstance(value, float) else value
    if not dec.is_finite():
        return str(value)
    text = format(dec.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _scalar(value: Any) -> str:
    """The textual form of a JSON scalar (JSON-LD ``{"@value": ...}`` objects included)."""
    if isinstance(value, Mapping):
        value = value.get("@value", value.get("@id", ""))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return format_number(value)
    if value is None:
        return ""
    return str(value).strip()


def _as_list(value: Any) -> list[Any]:
    """A JSON value as a list (a single value is a one-element list; ``None`` is empty)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


# --------------------------------------------------------------------------------------------
# Namespaces and vocabularies
# --------------------------------------------------------------------------------------------


def namespaces_from_context(context: Any) -> dict[str, str]:
    """Collect ``prefix -> namespace IRI`` definitions from a JSON-LD ``@context`` value.

    Accepts the ``@context`` of an EPCIS document (a string, an object, or a list of both).
    Remote context URLs are not fetched; the standard EPCIS prefixes
    (:data:`DEFAULT_NAMESPACES`) are always included and local definitions override them.
    """
    found: dict[str, str] = dict(DEFAULT_NAMESPACES)
    for entry in _as_list(context):
        if not isinstance(entry, Mapping):
            continue
        for prefix, iri in entry.items():
            if isinstance(iri, Mapping):
                iri = iri.get("@id")
            if isinstance(prefix, str) and isinstance(iri, str) and not prefix.startswith("@") and ":" in iri:
                found[prefix] = iri
    return found


def expand_curie(value: str, namespaces: Mapping[str, str]) -> str:
    """Expand ``prefix:local`` when ``prefix`` is a known namespace; otherwise return ``value``."""
    prefix, sep, local = value.partition(":")
    if sep and not local.startswith("//") and prefix in namespaces:
        return namespaces[prefix] + local
    return value


def expand_vocabulary(value: Any, term_prefix: str, namespaces: Mapping[str, str]) -> str:
    """Normalise a vocabulary value (``bizStep``, ``disposition``, types, ``component``...).

    A bare term (no colon) becomes ``term_prefix + term``, e.g. ``"shipping"`` with
    ``https://ref.gs1.org/cbv/BizStep-`` -> ``https://ref.gs1.org/cbv/BizStep-shipping``;
    CURIEs and CBV URNs are expanded; any other URI goes through :func:`canonical_gs1_uri`.
    """
    text = _scalar(value)
    if text and ":" not in text:
        return term_prefix + text
    return _normalise_uri_value(text, namespaces)


def _normalise_uri_value(text: str, namespaces: Mapping[str, str]) -> str:
    """CURIE expansion followed by CBV-URN and GS1 identifier normalisation."""
    return canonical_gs1_uri(expand_curie(text, namespaces))


# --------------------------------------------------------------------------------------------
# User extensions
# --------------------------------------------------------------------------------------------


def _extension_name(key: str, namespaces: Mapping[str, str]) -> str | None:
    """``{namespace}local`` for a prefixed or absolute extension key; ``None`` if not one."""
    if key.startswith("@"):
        return None
    prefix, sep, local = key.partition(":")
    if not sep:
        return None
    if local.startswith("//") or prefix in ("urn", "http", "https"):
        cut = max(key.rfind("/"), key.rfind("#"), key.rfind(":"))
        return "{" + key[: cut + 1] + "}" + key[cut + 1 :]
    if prefix in namespaces:
        return "{" + namespaces[prefix] + "}" + local
    return None


def _extension_pieces(key: str, value: Any, namespaces: Mapping[str, str]) -> list[str]:
    """Pre-hash pieces of one extension element (one piece per list member)."""
    name = _extension_name(key, namespaces) or key
    pieces: list[str] = []
    for item in _as_list(value):
        if isinstance(item, Mapping) and "@value" not in item and "@id" not in item:
            pieces.append(name + "".join(_extensions(item, namespaces, standard=frozenset())))
        else:
            pieces.append(f"{name}={canonical_gs1_uri(_scalar(item))}")
    return pieces


def _extensions(obj: Mapping[str, Any], namespaces: Mapping[str, str], standard: frozenset[str]) -> list[str]:
    """Sorted pre-hash pieces of the extension elements of ``obj`` (keys not in ``standard``)."""
    pieces: list[str] = []
    for key, value in obj.items():
        if key in standard or key.startswith("@"):
            continue
        name = _extension_name(key, namespaces)
        if name is None and standard:
            continue  # an unmapped plain term inside a standard structure: not an extension
        if name in _EXCLUDED_EXTENSIONS:
            continue
        pieces.extend(_extension_pieces(key, value, namespaces))
    return sorted(pieces)


# --------------------------------------------------------------------------------------------
# The canonical property order
# --------------------------------------------------------------------------------------------

_Normaliser = Callable[[Any, Mapping[str, str]], str]


def _uri(value: Any, namespaces: Mapping[str, str]) -> str:
    return _normalise_uri_value(_scalar(value), namespaces)


def _plain(value: Any, namespaces: Mapping[str, str]) -> str:
    return _scalar(value)


def _time(value: Any, namespaces: Mapping[str, str]) -> str:
    return normalise_timestamp(_scalar(value))


def _vocab(term_prefix: str) -> _Normaliser:
    def normalise(value: Any, namespaces: Mapping[str, str]) -> str:
        return expand_vocabulary(value, term_prefix, namespaces)

    return normalise


def _fields(obj: Mapping[str, Any], order: Iterable[tuple[str, _Normaliser]], namespaces: Mapping[str, str]) -> str:
    """``key=value`` pieces of ``obj`` in the given order (missing keys skipped)."""
    out = []
    for key, normalise in order:
        for item in _as_list(obj.get(key)):
            out.append(f"{key}={normalise(item, namespaces)}")
    return "".join(out)


_QUANTITY = (("epcClass", _uri), ("quantity", _plain), ("uom", _plain))
_SENSOR_METADATA = (
    ("time", _time), ("startTime", _time), ("endTime", _time), ("deviceID", _uri), ("deviceMetadata", _uri),
    ("rawData", _uri), ("dataProcessingMethod", _uri), ("bizRules", _uri),
)  # fmt: skip
_GS1_TERM = _vocab(GS1_VOC)
_SENSOR_REPORT = (
    ("type", _GS1_TERM), ("exception", _GS1_TERM), ("deviceID", _uri), ("deviceMetadata", _uri), ("rawData", _uri),
    ("dataProcessingMethod", _uri), ("time", _time), ("microorganism", _uri), ("chemicalSubstance", _uri),
    ("value", _plain), ("component", _vocab(CBV_WEB + "Comp-")), ("stringValue", _plain),
    ("booleanValue", _plain), ("hexBinaryValue", _plain), ("uriValue", _uri), ("minValue", _plain),
    ("maxValue", _plain), ("meanValue", _plain), ("sDev", _plain), ("percRank", _plain), ("percValue", _plain),
    ("uom", _plain), ("coordinateReferenceSystem", _uri),
)  # fmt: skip


_SENSOR_METADATA_KEYS = frozenset(key for key, _ in _SENSOR_METADATA)
_SENSOR_REPORT_KEYS = frozenset(key for key, _ in _SENSOR_REPORT)
_SENSOR_ELEMENT_KEYS = frozenset({"sensorMetadata", "sensorReport"})


def _epc_list(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
    items = sorted(f"epc={_uri(epc, namespaces)}" for epc in _as_list(value))
    return name + "".join(items) if items else ""


def _quantity_list(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
    items = sorted("quantityElement" + _fields(q, _QUANTITY, namespaces) for q in _as_list(value))
    return name + "".join(items) if items else ""


def _typed_list(member: str, type_prefix: str) -> Callable[[str, Any, Mapping[str, str]], str]:
    """bizTransactionList / sourceList / destinationList: ``type=...`` then the value, sorted."""
    type_term = _vocab(type_prefix)

    def build(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
        items = []
        for entry in _as_list(value):
            if not isinstance(entry, Mapping):
                entry = {member: entry}
            piece = f"type={type_term(entry['type'], namespaces)}" if entry.get("type") is not None else ""
            items.append(piece + f"{member}={_uri(entry.get(member), namespaces)}")
        return name + "".join(sorted(items)) if items else ""

    return build


def _location(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
    if not isinstance(value, Mapping):
        value = {"id": value}
    return name + _fields(value, (("id", _uri),), namespaces) + "".join(_extensions(value, namespaces, _ID_ONLY))


_ID_ONLY = frozenset({"id"})


def _persistent_disposition(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
    if not isinstance(value, Mapping):
        return ""
    disp = _vocab(CBV_WEB + "Disp-")
    items = sorted(f"{key}={disp(v, namespaces)}" for key in ("set", "unset") for v in _as_list(value.get(key)))
    return name + "".join(items) if items else ""


def _sensor_element(element: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    out = "sensorElement"
    metadata = element.get("sensorMetadata")
    if isinstance(metadata, Mapping):
        out += "sensorMetadata" + _fields(metadata, _SENSOR_METADATA, namespaces)
        out += "".join(_extensions(metadata, namespaces, _SENSOR_METADATA_KEYS))
    reports = []
    for report in _as_list(element.get("sensorReport")):
        fields = _fields(report, _SENSOR_REPORT, namespaces)
        reports.append("sensorReport" + fields + "".join(_extensions(report, namespaces, _SENSOR_REPORT_KEYS)))
    out += "".join(sorted(reports))
    return out + "".join(_extensions(element, namespaces, _SENSOR_ELEMENT_KEYS))


def _sensor_element_list(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
    items = sorted(_sensor_element(e, namespaces) for e in _as_list(value) if isinstance(e, Mapping))
    return name + "".join(items) if items else ""


def _ilmd(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
    if not isinstance(value, Mapping):
        return ""
    items = _extensions(value, namespaces, frozenset())
    return name + "".join(items) if items else ""


def _simple(normalise: _Normaliser) -> Callable[[str, Any, Mapping[str, str]], str]:
    def build(name: str, value: Any, namespaces: Mapping[str, str]) -> str:
        return "".join(f"{name}={normalise(v, namespaces)}" for v in _as_list(value))

    return build


_EVENT_ORDER: tuple[tuple[str, Callable[[str, Any, Mapping[str, str]], str]], ...] = (
    ("eventTime", _simple(_time)),
    ("eventTimeZoneOffset", _simple(_plain)),
    ("certificationInfo", _simple(_uri)),
    ("epcList", _epc_list),
    ("parentID", _simple(_uri)),
    ("inputEPCList", _epc_list),
    ("childEPCs", _epc_list),
    ("quantityList", _quantity_list),
    ("childQuantityList", _quantity_list),
    ("inputQuantityList", _quantity_list),
    ("outputEPCList", _epc_list),
    ("outputQuantityList", _quantity_list),
    ("action", _simple(_plain)),
    ("transformationID", _simple(_uri)),
    ("bizStep", _simple(_vocab(CBV_WEB + "BizStep-"))),
    ("disposition", _simple(_vocab(CBV_WEB + "Disp-"))),
    ("persistentDisposition", _persistent_disposition),
    ("readPoint", _location),
    ("bizLocation", _location),
    ("bizTransactionList", _typed_list("bizTransaction", CBV_WEB + "BTT-")),
    # destinationList precedes sourceList in the reference vectors (see module docstring).
    ("destinationList", _typed_list("destination", CBV_WEB + "SDT-")),
    ("sourceList", _typed_list("source", CBV_WEB + "SDT-")),
    ("sensorElementList", _sensor_element_list),
    ("ilmd", _ilmd),
)
_STANDARD_EVENT_KEYS = frozenset(name for name, _ in _EVENT_ORDER) | _EXCLUDED_KEYS


def prehash_string(event: Mapping[str, Any], context: Any = None) -> str:
    """The CBV 2.0 pre-hash string of one EPCIS 2.0 JSON/JSON-LD event.

    ``context`` resolves extension prefixes: either a ``prefix -> namespace`` mapping or the
    document's JSON-LD ``@context`` value (see :func:`namespaces_from_context`).  The event's
    own ``@context``, if present, is used as well.  ``eventID``, ``recordTime`` and
    ``errorDeclaration`` are ignored.
    """
    namespaces = namespaces_from_context(context)
    if "@context" in event:
        namespaces.update(namespaces_from_context(event["@context"]))
    out = [f"eventType={_scalar(event.get('type', ''))}"]
    for name, build in _EVENT_ORDER:
        if event.get(name) is not None:
            out.append(build(name, event[name], namespaces))
    out.extend(_extensions(event, namespaces, _STANDARD_EVENT_KEYS))
    return "".join(out)
