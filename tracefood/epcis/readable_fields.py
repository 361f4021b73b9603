"""Reading the fields of one readable event, each problem recorded with its JSON pointer.

:mod:`tracefood.epcis.readable` turns a readable event into EPCIS, one rule per kind; the rules
read the producer's fields through :class:`FieldReader`, which resolves registry ids (products,
locations, parties) to URIs and checks lots, quantities, SSCCs, times, references and
temperatures. A bad field never stops the reading: it is recorded as an
:class:`~tracefood.epcis.EventError` and the producer sees every problem at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from tracefood.epcis.events import micro
from tracefood.epcis.gs1_keys import check_sscc, lot_uri, sscc_uri
from tracefood.epcis.identifiers import parse_id
from tracefood.errors import EventError, IdentifierError

REFERENCE_TYPES = ("bol", "po", "inv", "desadv", "recadv", "prodorder", "cert", "pedigree", "rma", "testprd")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")

Lookup = Callable[[str, str], Mapping[str, Any] | None]
"""(entity, id) -> registry row or None; entity is party, location or product."""


def private_lot_uri(product_id: str, lot: str) -> str:
    return f"urn:tracefood:lot:{product_id}:{quote(lot, safe='')}"


class FieldReader:
    """The fields of one readable event, read for its EPCIS form; ``errors`` collects the problems."""

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


def read_time(b: FieldReader, now: dt.datetime) -> tuple[str, str] | None:
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


def read_references(b: FieldReader) -> list[dict[str, str]]:
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


def read_temperature(b: FieldReader, event: dict[str, Any]) -> None:
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
