"""What a supply-chain event says, read off its EPCIS 2.0 JSON form.

Every route (TraceFood's readable JSON, EPCIS capture, file import) ends as an EPCIS 2.0 event;
:func:`facts` reads from it what the projections need (objects and their roles, quantities,
locations, parties, time) so that one code path updates lots, stock, links and shipments
whatever the source. :func:`freeze` and :func:`thaw` move numbers in and out of the ledger's
float-free canonical form (CONVENTIONS 10): a non-integer number is stored as its decimal
string and its JSON pointer is listed, so export gives back a number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from tracefood.epcis import cbv
from tracefood.epcis.canonical_ids import canonical_gs1_uri
from tracefood.epcis.identifiers import Ident, opaque_ident, parse_id
from tracefood.epcis.prehash import normalise_timestamp
from tracefood.errors import EventError, IdentifierError, UnsupportedIdentifier

MICRO = 10**6
"""Quantities are stored as integers in millionths of their unit (no floats in hashed data)."""
ENTRY_KIND = "epcis-event"
"""The ledger entry kind of a supply-chain event."""
TF_NS = "https://tracefood.org/epcis/"
"""Namespace of TraceFood's EPCIS extension fields (prefix ``tf``)."""
SAFE_INT = 2**53 - 1
MAX_NUMBER_TEXT = 100
MAX_EXPONENT = 300


@dataclass(frozen=True)
class Obj:
    """One object an event names, in one role, with its quantity (micro-units) if given."""

    ident: Ident
    role: str  # epc | input | output | parent | child
    quantity: int | None = None
    uom: str | None = None
    pointer: str = ""


@dataclass(frozen=True)
class Facts:
    event_type: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    time: str
    read_point: str | None
    biz_location: str | None
    source_location: str | None
    dest_location: str | None
    source_party: str | None
    dest_party: str | None
    carrier: str | None
    reference: str | None
    correction: bool
    objects: list[Obj] = field(default_factory=list)

    @property
    def where(self) -> str | None:
        """The location an event happens at, for stock: business location, else read point."""
        return self.biz_location or self.read_point


def micro(value: Any, pointer: str) -> int:
    """A quantity in micro-units; refuses negatives, non-numbers and more than 6 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise EventError(pointer, "must be a number")
    try:
        dec = Decimal(str(value).strip()[:MAX_NUMBER_TEXT])
    except InvalidOperation:
        raise EventError(pointer, "must be a number") from None
    if not dec.is_finite() or dec < 0:
        raise EventError(pointer, "must be a finite number >= 0")
    if dec and dec.adjusted() > 12:  # checked before any arithmetic: 1E999999 stays cheap
        raise EventError(pointer, "too large (at most 12 digits before the decimal point)")
    if dec.as_tuple().exponent < -6 and dec != dec.quantize(Decimal("0.000001"), rounding=ROUND_DOWN):  # type: ignore[operator]
        raise EventError(pointer, "at most 6 decimal places")
    return int(dec * MICRO)


def parse_json_number(text: str) -> Decimal:
    """``parse_float`` for json.loads: non-integer numbers as Decimal (never float), refusing
    literals whose size would make later arithmetic or formatting explode (``1e-999999999``
    formats as a billion digits)."""
    if len(text) > MAX_NUMBER_TEXT:
        raise ValueError(f"number literal longer than {MAX_NUMBER_TEXT} characters")
    dec = Decimal(text)
    if dec and not -MAX_EXPONENT <= dec.adjusted() <= MAX_EXPONENT:
        raise ValueError(f"number out of range: {text[:40]}")
    return dec


def format_micro(value: int | None) -> str | None:
    if value is None:
        return None
    text = format((Decimal(value) / MICRO).normalize(), "f")
    return text


# Identifiers repeat across a batch (the same lot in its ship, receive and pack events):
# parsing is pure, so remember it.
_parse_id = functools.lru_cache(maxsize=65_536)(parse_id)


def _ident(value: Any, pointer: str, opaque: Collection[str] = ()) -> Ident:
    if not isinstance(value, str):
        raise EventError(pointer, "must be an identifier URI")
    try:
        return _parse_id(value)
    except UnsupportedIdentifier:
        # Other GS1 keys (GRAI returnable crates, GIAI assets, GSRN...) are valid EPCIS objects
        # that TraceFood follows by identity only: no lot code, no quantities.
        return Ident("other", canonical_gs1_uri(value))
    except IdentifierError as exc:
        kept = opaque_ident(value) if value in opaque else None
        if kept is not None:
            return kept
        raise EventError(pointer, f"{exc.reason}: {value!r}") from None


def _id_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _typed(items: Any, key: str, type_name: str) -> str | None:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and cbv.normalise("sourceDestType", item.get("type")) == type_name:
            value = item.get(key)
            if isinstance(value, str):
                return value
    return None


def _location_key(value: str | None, pointer: str, opaque: Collection[str] = ()) -> str | None:
    if value is None:
        return None
    try:
        return _parse_id(value).key
    except IdentifierError as exc:
        kept = opaque_ident(value) if value in opaque else None
        if kept is not None:
            return kept.key
        raise EventError(pointer, f"{exc.reason}: {value!r}") from None


def facts(event: Mapping[str, Any], opaque: Collection[str] = ()) -> Facts:
    """Read the facts of an EPCIS event that has passed the structural checks.

    ``opaque``: malformed EPC URNs to follow by identity (see
    :func:`~tracefood.epcis.identifiers.opaque_ident`); the lenient import lists them in the
    ledger entry, and a replay passes the same list."""
    kind = str(event.get("type"))
    # The steps run in this order so that the first bad field reported stays the same: the
    # objects, then the read point and business location, then time, then source and destination.
    objects = _objects(event, kind, opaque)
    read_point = _location_key(_id_of(event.get("readPoint")), "/readPoint/id", opaque)
    biz_location = _location_key(_id_of(event.get("bizLocation")), "/bizLocation/id", opaque)
    carrier = event.get("tf:carrier")
    return Facts(
        event_type=kind,
        action=event.get("action") if isinstance(event.get("action"), str) else None,
        biz_step=cbv.normalise("bizStep", event.get("bizStep")) or _str(event.get("bizStep")),
        disposition=cbv.normalise("disposition", event.get("disposition")) or _str(event.get("disposition")),
        time=_utc_time(event.get("eventTime")),
        read_point=read_point,
        biz_location=biz_location,
        source_location=_location_key(_typed(event.get("sourceList"), "source", "location"), "/sourceList", opaque),
        dest_location=_location_key(
            _typed(event.get("destinationList"), "destination", "location"), "/destinationList", opaque
        ),
        source_party=_typed(event.get("sourceList"), "source", "owning_party"),
        dest_party=_typed(event.get("destinationList"), "destination", "owning_party"),
        carrier=carrier if isinstance(carrier, str) else None,
        reference=_reference(event),
        correction="errorDeclaration" in event,
        objects=objects,
    )


# Where each event type lists its objects: (EPC list, quantity list, role), in reading order.
_OBJECT_LISTS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "TransformationEvent": (
        ("inputEPCList", "inputQuantityList", "input"),
        ("outputEPCList", "outputQuantityList", "output"),
    ),
    "AggregationEvent": (("childEPCs", "childQuantityList", "child"),),
    "AssociationEvent": (("childEPCs", "childQuantityList", "child"),),
}
_DEFAULT_OBJECT_LISTS = (("epcList", "quantityList", "epc"),)
_WITH_PARENT = frozenset({"AggregationEvent", "AssociationEvent", "TransactionEvent"})


def _objects(event: Mapping[str, Any], kind: str, opaque: Collection[str]) -> list[Obj]:
    """The objects an event names, each in its role: the parent first, then EPCs and quantities."""
    objects: list[Obj] = []
    if kind in _WITH_PARENT and isinstance(event.get("parentID"), str):
        objects.append(Obj(_ident(event["parentID"], "/parentID", opaque), "parent", pointer="/parentID"))
    for epcs, quantities, role in _OBJECT_LISTS.get(kind, _DEFAULT_OBJECT_LISTS):
        objects += _epc_objects(event, epcs, role, opaque)
        objects += _quantity_objects(event, quantities, role, opaque)
    return objects


def _epc_objects(event: Mapping[str, Any], name: str, role: str, opaque: Collection[str]) -> list[Obj]:
    return [
        Obj(_ident(value, f"/{name}/{i}", opaque), role, pointer=f"/{name}/{i}")
        for i, value in enumerate(event.get(name) or [])
    ]


def _quantity_objects(event: Mapping[str, Any], name: str, role: str, opaque: Collection[str]) -> list[Obj]:
    objects = []
    for i, item in enumerate(event.get(name) or []):
        ptr = f"/{name}/{i}"
        if not isinstance(item, Mapping):
            raise EventError(ptr, "must be an object")
        qty = micro(item["quantity"], ptr + "/quantity") if "quantity" in item else None
        uom = item.get("uom")
        objects.append(Obj(_ident(item.get("epcClass"), ptr + "/epcClass", opaque), role, qty, uom, ptr))
    return objects


def _reference(event: Mapping[str, Any]) -> str | None:
    """The business transactions as ``type:id`` words (``bol:urn:...``), or None."""
    refs = [
        f"{cbv.normalise('bizTransactionType', bt.get('type')) or bt.get('type') or 'ref'}:{bt.get('bizTransaction')}"
        for bt in event.get("bizTransactionList") or []
        if isinstance(bt, Mapping)
    ]
    return " ".join(refs) or None


_UTC_MILLIS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def _utc_time(value: Any) -> str:
    text = normalise_timestamp(str(value))
    if not _UTC_MILLIS.fullmatch(text):
        raise EventError("/eventTime", f"not a date-time that can be placed in UTC: {str(value)[:40]!r}")
    return text


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- numbers in and out of the canonical form ---------------------------------------------------


def _walk(value: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    yield pointer, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{pointer}/{i}")


def _escape(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def freeze(value: Any) -> tuple[Any, list[str]]:
    """Replace non-integer numbers (float, Decimal) and unsafe integers by decimal strings.

    Returns the new value and the JSON pointers of the replaced numbers, in document order.
    (The walk keeps its path as a list and builds a pointer only for a replaced number: this
    runs once per recorded event.)
    """
    paths: list[str] = []
    path: list[str | int] = []

    def number(item: Any) -> Any:
        if type(item) is int:
            if -SAFE_INT <= item <= SAFE_INT:
                return item
            paths.append("".join("/" + _escape(p) for p in path))
            return str(item)
        dec = Decimal(repr(item)) if isinstance(item, float) else item
        if dec.is_finite() and dec and not -MAX_EXPONENT <= dec.adjusted() <= MAX_EXPONENT:
            raise EventError("".join("/" + _escape(p) for p in path), "number out of range")
        if dec.is_finite() and dec == dec.to_integral_value() and abs(dec) <= SAFE_INT:
            return int(dec)  # 12.0 -> 12: the same number to every JSON reader and to the event hash
        paths.append("".join("/" + _escape(p) for p in path))
        return format(dec, "f") if dec.is_finite() else str(dec)

    def conv(item: Any) -> Any:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            return item
        if kind is dict or isinstance(item, Mapping):
            out = {}
            for key, inner in item.items():
                path.append(key)
                out[key] = conv(inner)
                path.pop()
            return out
        if kind is list or kind is tuple:
            items = []
            for i, inner in enumerate(item):
                path.append(i)
                items.append(conv(inner))
                path.pop()
            return items
        if kind is int or kind is float or isinstance(item, Decimal | int | float):
            return number(item)
        return item

    return conv(value), paths


def thaw(value: Any, paths: list[str]) -> Any:
    """Undo :func:`freeze`: the listed pointers become JSON numbers again (float or int)."""
    for pointer in paths:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        target = value
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last: Any = int(parts[-1]) if isinstance(target, list) else parts[-1]
        text = target[last]
        dec = Decimal(text)
        target[last] = int(dec) if dec == dec.to_integral_value() else float(dec)
    return value
