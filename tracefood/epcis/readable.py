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
from dataclasses import dataclass
from typing import Any

from tracefood.epcis.gs1_keys import pgln_uri
from tracefood.epcis.readable_fields import FieldReader, Lookup, read_references, read_temperature, read_time
from tracefood.errors import EventError

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
CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    {"tf": "https://tracefood.org/epcis/"},
]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EVENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!-~]{1,240}")

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


def to_epcis(data: Any, lookup: Lookup, party_id: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The EPCIS 2.0 event for one readable event; raises ExceptionGroup of EventError."""
    if not isinstance(data, Mapping):
        raise ExceptionGroup("invalid event", [EventError("", "must be a JSON object")])
    b = FieldReader(data, lookup, party_id)
    kind = data.get("kind")
    if kind not in KINDS:
        raise ExceptionGroup("invalid event", [EventError("/kind", f"must be one of {', '.join(KINDS)}")])
    for key in data:
        if key not in _COMMON and key not in _ALLOWED[kind]:
            b.fail(f"/{key}", f"unknown field for a {kind} event")
    # The steps run in this order so that the errors are listed in the order of the fields.
    when = read_time(b, now or dt.datetime.now(dt.UTC))
    here = b.location("location")
    ctx = _Context(str(kind), when, here, lookup("party", party_id))
    event: dict[str, Any] = {"type": "ObjectEvent"}
    _event_id(b, event)
    if when:
        event["eventTime"], event["eventTimeZoneOffset"] = when
    refs = read_references(b)
    event = _KIND_RULES[ctx.kind](b, event, ctx, bool(refs))
    where = ctx.where if ctx.kind not in _IN_TRANSIT else None
    if where:
        event["readPoint"] = where
        event["bizLocation"] = where
    if refs:
        event["bizTransactionList"] = refs
    if b.errors:
        raise ExceptionGroup("invalid event", b.errors)
    return {k: v for k, v in event.items() if v not in ([], None, {})}


@dataclass(frozen=True)
class _Context:
    """What every kind's rule may read besides the readable event: its kind, its time (ISO
    time, offset), the location row it happens at and the recording party's row."""

    kind: str
    when: tuple[str, str] | None
    here: Mapping[str, Any] | None
    me: Mapping[str, Any] | None

    @property
    def where(self) -> dict[str, Any] | None:
        return {"id": self.here["uri"]} if self.here else None


# A kind's rule fills in the event (or returns a new one, when the event type changes); the last
# argument says whether the event names a reference document.
_Rule = Callable[[FieldReader, dict[str, Any], _Context, bool], dict[str, Any]]
# Goods in transit are read at a place but not kept there: no business location.
_IN_TRANSIT = frozenset({"ship", "border_crossing"})


def _event_id(b: FieldReader, event: dict[str, Any]) -> None:
    if "event_id" not in b.data:
        return
    eid = b.data["event_id"]
    if not isinstance(eid, str) or not _EVENT_ID.fullmatch(eid):
        b.fail("/event_id", "must be an absolute URI of at most 255 printable ASCII characters (e.g. urn:uuid:...)")
    else:
        event["eventID"] = eid


def _harvest(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    event.update(action="ADD", quantityList=b.items("items", quantity="required"))
    event.update(bizStep="commissioning", disposition="active")
    ilmd: dict[str, Any] = {}
    if isinstance(b.data.get("field"), str):
        ilmd["tf:field"] = b.data["field"]
    date = b.data.get("harvest_date") or (ctx.when[0][:10] if ctx.when else None)
    if date is not None and not (isinstance(date, str) and _DATE.match(date)):
        b.fail("/harvest_date", "must be a date YYYY-MM-DD")
    elif date:
        ilmd["tf:harvestDate"] = date
    event["ilmd"] = ilmd
    return event


def _cool_or_inspect(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    event.update(action="OBSERVE", epcList=b.containers(), quantityList=b.items("items", quantity="optional"))
    if ctx.kind == "cool":
        event.update(bizStep="storing", disposition="in_progress")
    else:
        result = b.choice("result", ("conformant", "non_conformant"))
        event.update(bizStep="inspecting", disposition=result)
    read_temperature(b, event)
    return event


def _transformation(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    event = {"type": "TransformationEvent", **{k: v for k, v in event.items() if k != "type"}}
    event["inputQuantityList"] = b.items("inputs", quantity="required")
    event["outputQuantityList"] = b.items("outputs", quantity="required")
    if not event["inputQuantityList"]:
        b.fail("/inputs", "required")
    if not event["outputQuantityList"]:
        b.fail("/outputs", "required")
    event["bizStep"] = "packing" if ctx.kind == "initial_pack" else "commissioning"
    event["disposition"] = "active"
    if ctx.here:
        event["ilmd"] = {"tf:tlcSource": ctx.here["uri"]}
    return event


def _aggregation(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    event["type"] = "AggregationEvent"
    event["parentID"] = b.sscc("parent")
    event["childEPCs"] = b.containers()
    event["childQuantityList"] = b.items("items", quantity="optional" if ctx.kind == "disaggregate" else "required")
    if ctx.kind == "aggregate":
        step = b.choice("step", ("packing", "loading"), "packing")
        event.update(action="ADD", bizStep=step, disposition="in_progress")
        if not event["childEPCs"] and not event["childQuantityList"]:
            b.fail("/items", "an aggregation needs items or containers")
        if isinstance(b.data.get("seal"), str):
            event["tf:seal"] = b.data["seal"]
    else:
        step = b.choice("step", ("unpacking", "unloading"), "unpacking")
        event.update(action="DELETE", bizStep=step, disposition="in_progress")
    return event


def _goods(b: FieldReader, event: dict[str, Any], kind: str) -> None:
    """The lots and logistic units a ship, receive, border crossing or destroy event names."""
    quantity = "required" if kind == "destroy" else "optional"
    event["epcList"] = b.containers() if kind != "destroy" else []
    event["quantityList"] = b.items("items", quantity=quantity)
    if not event["epcList"] and not event["quantityList"]:
        b.fail("/items", "name at least one lot (items) or logistic unit (containers)")


def _ship(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    _goods(b, event, ctx.kind)
    to = b.location("to")
    carrier = b.party("carrier")
    event.update(action="OBSERVE", bizStep="shipping", disposition="in_transit")
    if to is not None:
        to_party = b.lookup("party", to["party_id"])
        event["destinationList"] = [{"type": "location", "destination": to["uri"]}]
        if to_party:
            event["destinationList"].insert(0, {"type": "owning_party", "destination": party_uri(to_party)})
    if ctx.here and ctx.me:
        event["sourceList"] = [
            {"type": "owning_party", "source": party_uri(ctx.me)},
            {"type": "location", "source": ctx.here["uri"]},
        ]
    if carrier:
        event["tf:carrier"] = carrier["id"]
    if not has_refs:
        b.fail("/reference", "required: the shipment's reference document (type and number), e.g. a bill of lading")
    event["readPoint"] = ctx.where  # in transit: no business location
    return event


def _receive(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    _goods(b, event, ctx.kind)
    source = b.location("from", required=False)
    event.update(action="OBSERVE", bizStep="receiving", disposition="in_progress")
    if source:
        event["sourceList"] = [{"type": "location", "source": source["uri"]}]
    if ctx.here and ctx.me:
        event["destinationList"] = [
            {"type": "owning_party", "destination": party_uri(ctx.me)},
            {"type": "location", "destination": ctx.here["uri"]},
        ]
    if not has_refs:
        b.fail("/reference", "required: the reference document received with the goods")
    return event


def _border_crossing(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    _goods(b, event, ctx.kind)
    direction = b.choice("direction", ("departing", "arriving"))
    event.update(action="OBSERVE", bizStep=direction, disposition="in_transit")
    if ctx.here and ctx.here.get("kind") != "port_of_entry":
        b.fail("/location", f"{ctx.here['id']!r} is not a port of entry")
    if isinstance(b.data.get("customs_entry"), str):
        event["tf:customsEntry"] = b.data["customs_entry"]
    if "fast_lane" in b.data:
        if not isinstance(b.data["fast_lane"], bool):
            b.fail("/fast_lane", "must be true or false")
        else:
            event["tf:fastLane"] = "true" if b.data["fast_lane"] else "false"
    carrier = b.party("carrier")
    if carrier:
        event["tf:carrier"] = carrier["id"]
    event["readPoint"] = ctx.where  # in transit: no business location
    return event


def _destroy(b: FieldReader, event: dict[str, Any], ctx: _Context, has_refs: bool) -> dict[str, Any]:
    _goods(b, event, ctx.kind)
    event.update(action="DELETE", bizStep="destroying", disposition="destroyed")
    if isinstance(b.data.get("reason"), str):
        event["tf:reason"] = b.data["reason"][:200]
    return event


_KIND_RULES: Mapping[str, _Rule] = {
    "harvest": _harvest,
    "cool": _cool_or_inspect,
    "inspect": _cool_or_inspect,
    "initial_pack": _transformation,
    "transform": _transformation,
    "aggregate": _aggregation,
    "disaggregate": _aggregation,
    "ship": _ship,
    "receive": _receive,
    "border_crossing": _border_crossing,
    "destroy": _destroy,
}


_NUMBER_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")


def decimal_paths(event: dict[str, Any]) -> list[str]:
    """The JSON pointers of the decimal strings
    :func:`~tracefood.epcis.readable_fields.plain_number` put in a readable event's
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
