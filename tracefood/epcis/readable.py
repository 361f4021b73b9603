"""TraceFood's readable event JSON: one kind per critical tracking event, turned into EPCIS 2.0.

A producer writes ``{"kind": "ship", "time": ..., "location": "packer-dc", "to": "nyc-dist",
"items": [{"product": "romaine", "lot": "L-0812", "quantity": "120", "unit": "CS"}],
"reference": {"type": "bol", "number": "BOL-778"}}`` and gets the EPCIS ObjectEvent that
DESIGN.md's table prescribes (OBSERVE, ``shipping``, ``in_transit``, source and destination
lists, the bill of lading as a business transaction). Products, locations and parties are
named by their registry ids; the registry resolves them to GS1 Digital Link URIs (GTIN + lot,
GLN) or to TraceFood's private URNs for participants without GS1 keys.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from tracefood.epcis.events import EventError, micro
from tracefood.epcis.identifiers import IdentifierError, check_sscc, lot_uri, parse_id, pgln_uri, sscc_uri

KINDS = (
    "harvest",
    "cool",
    "initial_pack",
    "transform",
    "aggregate",
    "disaggregate",
    "ship",
    "receive",
    "border_crossing",
    "inspect",
    "destroy",
)
REFERENCE_TYPES = ("bol", "po", "inv", "desadv", "recadv", "prodorder", "cert", "pedigree", "rma", "testprd")
CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    {"tf": "https://tracefood.org/epcis/"},
]
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EVENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!-~]{1,240}")

Lookup = Callable[[str, str], Mapping[str, Any] | None]
"""(entity, id) -> registry row or None; entity is party, location or product."""

_ALLOWED: dict[str, tuple[str, ...]] = {
    "harvest": ("items", "field", "harvest_date"),
    "cool": ("items", "containers", "temperature"),
    "initial_pack": ("inputs", "outputs"),
    "transform": ("inputs", "outputs"),
    "aggregate": ("parent", "items", "containers", "step", "seal"),
    "disaggregate": ("parent", "items", "containers", "step"),
    "ship": ("items", "containers", "to", "carrier"),
    "receive": ("items", "containers", "from"),
    "border_crossing": ("items", "containers", "direction", "customs_entry", "fast_lane", "carrier"),
    "inspect": ("items", "containers", "result", "temperature"),
    "destroy": ("items", "reason"),
}
_COMMON = ("kind", "time", "location", "reference", "event_id")


def party_uri(row: Mapping[str, Any]) -> str:
    return pgln_uri(row["gln"]) if row.get("gln") else f"urn:tracefood:party:{row['id']}"


def private_lot_uri(product_id: str, lot: str) -> str:
    return f"urn:tracefood:lot:{product_id}:{quote(lot, safe='')}"


class _Builder:
    def __init__(self, data: Mapping[str, Any], lookup: Lookup, party_id: str) -> None:
        self.data = data
        self.lookup = lookup
        self.party_id = party_id
        self.errors: list[EventError] = []

    def fail(self, field: str, reason: str) -> None:
        self.errors.append(EventError(field, reason))

    def need(self, name: str) -> Any:
        if name not in self.data or self.data[name] in (None, "", []):
            self.fail(f"/{name}", "required")
            return None
        return self.data[name]

    def location(self, name: str, *, required: bool = True) -> Mapping[str, Any] | None:
        value = self.need(name) if required else self.data.get(name)
        if value is None:
            return None
        row = self.lookup("location", value) if isinstance(value, str) else None
        if row is None:
            self.fail(f"/{name}", f"unknown location {value!r}")
        return row

    def party(self, name: str) -> Mapping[str, Any] | None:
        value = self.data.get(name)
        if value is None:
            return None
        row = self.lookup("party", value) if isinstance(value, str) else None
        if row is None:
            self.fail(f"/{name}", f"unknown party {value!r}")
        return row

    def items(self, name: str, *, quantity: str) -> list[dict[str, Any]]:
        """quantityList entries for ``name``; ``quantity``: required, optional or none."""
        raw = self.data.get(name) or []
        if not isinstance(raw, list):
            self.fail(f"/{name}", "must be a list")
            return []
        out: list[dict[str, Any]] = []
        for i, item in enumerate(raw):
            ptr = f"/{name}/{i}"
            if not isinstance(item, Mapping):
                self.fail(ptr, "must be an object with product and lot (or id)")
                continue
            for key in item:
                if key not in ("product", "lot", "id", "quantity", "unit"):
                    self.fail(f"{ptr}/{key}", "unknown field")
            uri, unit = self._lot(item, ptr)
            entry: dict[str, Any] = {"epcClass": uri}
            if "quantity" in item and quantity != "none":
                try:
                    entry["quantity"] = plain_number(Decimal(micro(item["quantity"], f"{ptr}/quantity")) / 10**6)
                except EventError as exc:
                    self.errors.append(exc)
                entry["uom"] = item.get("unit") or unit
                if not isinstance(entry["uom"], str) or not re.fullmatch(r"[A-Z0-9]{1,3}", entry["uom"]):
                    self.fail(f"{ptr}/unit", "must be a UN/ECE Recommendation 20 unit code such as KGM or CS")
            elif quantity == "required":
                self.fail(f"{ptr}/quantity", "required")
            if uri is not None:
                out.append(entry)
        return out

    def _lot(self, item: Mapping[str, Any], ptr: str) -> tuple[str | None, str | None]:
        if "id" in item:
            try:
                ident = parse_id(str(item["id"]))
            except IdentifierError as exc:
                self.fail(f"{ptr}/id", exc.reason)
                return None, None
            product = self.lookup("product", f"gtin:{ident.gtin}") if ident.gtin else None
            return str(item["id"]), (product or {}).get("unit")
        product_id, lot = item.get("product"), item.get("lot")
        product = self.lookup("product", product_id) if isinstance(product_id, str) else None
        if product is None:
            self.fail(f"{ptr}/product", f"unknown product {product_id!r}")
        if not isinstance(lot, str) or not lot.strip() or len(lot) > 20 or not lot.isprintable():
            # GS1 AI (10) batch/lot: up to 20 characters.
            self.fail(f"{ptr}/lot", "must be a lot code of 1 to 20 printable characters")
            return None, None
        if product is None:
            return None, None
        if product.get("gtin"):
            return lot_uri(product["gtin"], lot), product["unit"]
        return private_lot_uri(product["id"], lot), product["unit"]

    def containers(self, name: str = "containers") -> list[str]:
        raw = self.data.get(name) or []
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            self.fail(f"/{name}", "must be a list of SSCCs")
            return []
        out = []
        for i, value in enumerate(raw):
            try:
                out.append(sscc_uri(check_sscc(str(value))))
            except IdentifierError as exc:
                self.fail(f"/{name}/{i}", exc.reason)
        return out

    def sscc(self, name: str) -> str | None:
        value = self.need(name)
        if value is None:
            return None
        try:
            return sscc_uri(check_sscc(str(value)))
        except IdentifierError as exc:
            self.fail(f"/{name}", exc.reason)
            return None

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.data.get(name, default)
        if value not in options:
            self.fail(f"/{name}", f"must be one of {', '.join(options)}")
            return None
        return str(value)


def _time(b: _Builder, now: dt.datetime) -> tuple[str, str] | None:
    value = b.need("time")
    if value is None:
        return None
    if not isinstance(value, str) or not _TIME.match(value):
        b.fail("/time", "must be an RFC 3339 date-time with an offset, e.g. 2026-08-12T06:30:00-04:00")
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:  # matches the pattern but is no real time: month 13, year 0...
        b.fail("/time", f"not a valid date-time: {exc}")
        return None
    offset = value[-6:] if value[-6] in "+-" else "+00:00"
    return moment.isoformat(), offset


def to_epcis(data: Any, lookup: Lookup, party_id: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The EPCIS 2.0 event for one readable event; raises ExceptionGroup of EventError."""
    if not isinstance(data, Mapping):
        raise ExceptionGroup("invalid event", [EventError("", "must be a JSON object")])
    b = _Builder(data, lookup, party_id)
    kind = data.get("kind")
    if kind not in KINDS:
        raise ExceptionGroup("invalid event", [EventError("/kind", f"must be one of {', '.join(KINDS)}")])
    for key in data:
        if key not in _COMMON and key not in _ALLOWED[kind]:
            b.fail(f"/{key}", f"unknown field for a {kind} event")
    when = _time(b, now or dt.datetime.now(dt.UTC))
    here = b.location("location")
    me = lookup("party", party_id)
    event: dict[str, Any] = {"type": "ObjectEvent"}
    if "event_id" in data:
        eid = data["event_id"]
        if not isinstance(eid, str) or not _EVENT_ID.fullmatch(eid):
            b.fail("/event_id", "must be an absolute URI of at most 255 printable ASCII characters (e.g. urn:uuid:...)")
        else:
            event["eventID"] = eid
    if when:
        event["eventTime"], event["eventTimeZoneOffset"] = when
    where = {"id": here["uri"]} if here else None
    refs = _references(b)

    if kind == "harvest":
        event.update(action="ADD", quantityList=b.items("items", quantity="required"))
        event.update(bizStep="commissioning", disposition="active")
        ilmd: dict[str, Any] = {}
        if isinstance(data.get("field"), str):
            ilmd["tf:field"] = data["field"]
        date = data.get("harvest_date") or (when[0][:10] if when else None)
        if date is not None and not (isinstance(date, str) and _DATE.match(date)):
            b.fail("/harvest_date", "must be a date YYYY-MM-DD")
        elif date:
            ilmd["tf:harvestDate"] = date
        event["ilmd"] = ilmd
    elif kind in ("cool", "inspect"):
        event.update(action="OBSERVE", epcList=b.containers(), quantityList=b.items("items", quantity="optional"))
        if kind == "cool":
            event.update(bizStep="storing", disposition="in_progress")
        else:
            result = b.choice("result", ("conformant", "non_conformant"))
            event.update(bizStep="inspecting", disposition=result)
        _temperature(b, event)
    elif kind in ("initial_pack", "transform"):
        event = {k: v for k, v in event.items() if k != "type"}
        event = {"type": "TransformationEvent", **event}
        event["inputQuantityList"] = b.items("inputs", quantity="required")
        event["outputQuantityList"] = b.items("outputs", quantity="required")
        if not event["inputQuantityList"]:
            b.fail("/inputs", "required")
        if not event["outputQuantityList"]:
            b.fail("/outputs", "required")
        event["bizStep"] = "packing" if kind == "initial_pack" else "commissioning"
        event["disposition"] = "active"
        if here:
            event["ilmd"] = {"tf:tlcSource": here["uri"]}
    elif kind in ("aggregate", "disaggregate"):
        event["type"] = "AggregationEvent"
        event["parentID"] = b.sscc("parent")
        event["childEPCs"] = b.containers()
        event["childQuantityList"] = b.items("items", quantity="optional" if kind == "disaggregate" else "required")
        if kind == "aggregate":
            step = b.choice("step", ("packing", "loading"), "packing")
            event.update(action="ADD", bizStep=step, disposition="in_progress")
            if not event["childEPCs"] and not event["childQuantityList"]:
                b.fail("/items", "an aggregation needs items or containers")
            if isinstance(data.get("seal"), str):
                event["tf:seal"] = data["seal"]
        else:
            step = b.choice("step", ("unpacking", "unloading"), "unpacking")
            event.update(action="DELETE", bizStep=step, disposition="in_progress")
    elif kind in ("ship", "receive", "border_crossing", "destroy"):
        quantity = "required" if kind == "destroy" else "optional"
        event["epcList"] = b.containers() if kind != "destroy" else []
        event["quantityList"] = b.items("items", quantity=quantity)
        if not event["epcList"] and not event["quantityList"]:
            b.fail("/items", "name at least one lot (items) or logistic unit (containers)")
        if kind == "ship":
            to = b.location("to")
            carrier = b.party("carrier")
            event.update(action="OBSERVE", bizStep="shipping", disposition="in_transit")
            if to is not None:
                to_party = lookup("party", to["party_id"])
                event["destinationList"] = [{"type": "location", "destination": to["uri"]}]
                if to_party:
                    event["destinationList"].insert(0, {"type": "owning_party", "destination": party_uri(to_party)})
            if here and me:
                event["sourceList"] = [
                    {"type": "owning_party", "source": party_uri(me)},
                    {"type": "location", "source": here["uri"]},
                ]
            if carrier:
                event["tf:carrier"] = carrier["id"]
            if not refs:
                b.fail(
                    "/reference", "required: the shipment's reference document (type and number), e.g. a bill of lading"
                )
            where_read, where = where, None  # in transit: no business location
            event["readPoint"] = where_read
        elif kind == "receive":
            source = b.location("from", required=False)
            event.update(action="OBSERVE", bizStep="receiving", disposition="in_progress")
            if source:
                event["sourceList"] = [{"type": "location", "source": source["uri"]}]
            if here and me:
                event["destinationList"] = [
                    {"type": "owning_party", "destination": party_uri(me)},
                    {"type": "location", "destination": here["uri"]},
                ]
            if not refs:
                b.fail("/reference", "required: the reference document received with the goods")
        elif kind == "border_crossing":
            direction = b.choice("direction", ("departing", "arriving"))
            event.update(action="OBSERVE", bizStep=direction, disposition="in_transit")
            if here and here.get("kind") != "port_of_entry":
                b.fail("/location", f"{here['id']!r} is not a port of entry")
            if isinstance(data.get("customs_entry"), str):
                event["tf:customsEntry"] = data["customs_entry"]
            if "fast_lane" in data:
                if not isinstance(data["fast_lane"], bool):
                    b.fail("/fast_lane", "must be true or false")
                else:
                    event["tf:fastLane"] = "true" if data["fast_lane"] else "false"
            carrier = b.party("carrier")
            if carrier:
                event["tf:carrier"] = carrier["id"]
            event["readPoint"], where = where, None
        else:
            event.update(action="DELETE", bizStep="destroying", disposition="destroyed")
            if isinstance(data.get("reason"), str):
                event["tf:reason"] = data["reason"][:200]
    if where:
        event["readPoint"] = where
        event["bizLocation"] = where
    if refs:
        event["bizTransactionList"] = refs
    if b.errors:
        raise ExceptionGroup("invalid event", b.errors)
    return {k: v for k, v in event.items() if v not in ([], None, {})}


def _references(b: _Builder) -> list[dict[str, str]]:
    ref = b.data.get("reference")
    if ref is None:
        return []
    if not isinstance(ref, Mapping) or not isinstance(ref.get("number"), str) or not ref["number"].strip():
        b.fail("/reference", "must be an object with type and number")
        return []
    kind = ref.get("type")
    if kind not in REFERENCE_TYPES:
        b.fail("/reference/type", f"must be a CBV business transaction type: {', '.join(REFERENCE_TYPES)}")
        return []
    # The document belongs to whoever issued it: on a receipt from a known location, the
    # shipper's (so the receipt names the same bill of lading as the shipment did).
    issuer_id = b.party_id
    source = b.data.get("from") if b.data.get("kind") == "receive" else None
    source_row = b.lookup("location", source) if isinstance(source, str) else None
    if source_row is not None:
        issuer_id = source_row["party_id"]
    issuer = b.lookup("party", issuer_id)
    number = ref["number"].strip()
    if issuer and issuer.get("gln"):
        uri = f"urn:epcglobal:cbv:bt:{issuer['gln']}:{quote(number, safe='')}"
    else:
        uri = f"urn:tracefood:bt:{issuer_id}:{quote(number, safe='')}"
    return [{"type": str(kind), "bizTransaction": uri}]


def _temperature(b: _Builder, event: dict[str, Any]) -> None:
    temp = b.data.get("temperature")
    if temp is None:
        return
    if isinstance(temp, bool) or not isinstance(temp, int | str | Decimal):
        b.fail("/temperature", "must be a number of degrees Celsius (as a string or integer)")
        return
    try:
        value = Decimal(str(temp))
    except ArithmeticError:
        b.fail("/temperature", "must be a number of degrees Celsius")
        return
    if not value.is_finite() or not -100 <= value <= 100:
        b.fail("/temperature", "must be between -100 and 100 degrees Celsius")
        return
    reading = {"type": "gs1:Temperature", "value": plain_number(value), "uom": "CEL"}
    event["sensorElementList"] = [{"sensorReport": [reading]}]


def plain_number(value: Decimal) -> int | str:
    """A number as the ledger stores it: an int, or the normalised decimal string of a
    non-integer (``120.50`` -> ``"120.5"``), which hashes exactly as the number would (CBV 2.0
    writes numbers without trailing zeros) and is listed in the entry's ``decimals``."""
    if value == value.to_integral_value():
        return int(value)
    return format(value.normalize(), "f")


_NUMBER_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")


def decimal_paths(event: dict[str, Any]) -> list[str]:
    """The JSON pointers of the decimal strings :func:`plain_number` put in a readable event's
    EPCIS form (quantities and temperature readings): the entry's ``decimals``."""
    paths = [
        f"/{name}/{i}/quantity"
        for name in _NUMBER_LISTS
        for i, item in enumerate(event.get(name) or [])
        if isinstance(item.get("quantity"), str)
    ]
    for i, element in enumerate(event.get("sensorElementList") or []):
        for j, report in enumerate(element.get("sensorReport") or []):
            if isinstance(report.get("value"), str):
                paths.append(f"/sensorElementList/{i}/sensorReport/{j}/value")
    return paths


_EPCIS_TO_READABLE = (
    ("/quantityList/", "/items/"),
    ("/childQuantityList/", "/items/"),
    ("/inputQuantityList/", "/inputs/"),
    ("/outputQuantityList/", "/outputs/"),
    ("/epcList/", "/containers/"),
    ("/childEPCs/", "/containers/"),
    ("/parentID", "/parent"),
    ("/eventTime", "/time"),
    ("/eventID", "/event_id"),
    ("/bizLocation/id", "/location"),
    ("/readPoint/id", "/location"),
)


def readable_field(pointer: str) -> str:
    """The readable event's field for a pointer into the EPCIS event made from it."""
    for epcis, mine in _EPCIS_TO_READABLE:
        if pointer.startswith(epcis):
            return mine + pointer[len(epcis) :]
    return pointer
