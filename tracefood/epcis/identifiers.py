"""Identifiers as the ledger names things: one canonical key per lot, item, unit, place or party.

One lot arrives as an EPC class URN in EPCIS, as a Digital Link on any brand domain from a label,
with a zero-suppressed GTIN... Trace and recall need them all on one ledger key, and a mistyped
GS1 key must be refused before it is stored: nothing is ever deleted from the ledger.

:func:`parse_id` -> :class:`Ident`, the ledger's view: GS1 ids are validated (digits, lengths,
check digits, key-qualifier order) and keyed by the constrained Digital Link on
``https://id.gs1.org``, the form the CBV 2.0 event hash uses; any other absolute URI is a private
id kept verbatim. :func:`parse_lookup_id` also takes what people type, :func:`opaque_ident` the
short EPC URNs other systems export. The key checks and key builders (:func:`check_gtin`,
:func:`lot_uri`...) live in :mod:`tracefood.epcis.gs1_keys`; the strict barcode parser
:func:`parse_digital_link`, :class:`IdentifierError` and :func:`gs1_check_digit` in
:mod:`tracefood.epcis.digital_link`, re-exported here with the error :func:`parse_id` raises.

Decisions:

* Raw non-ASCII in an id is refused (percent-encode it); see :mod:`~tracefood.epcis.gs1_keys` for
  the text allowed in lots, serials and GLN extensions.
* The Digital Link 1.1 short names (``/gtin/``, ``/lot/``) are accepted: labels printed that way
  exist. Check digits are still checked.
* GS1 keys TraceFood does not model (GRAI, GIAI, ``/235/``, EPC ``bic``...) are refused with a
  reason, never kept as private ids that could not meet their other forms in a trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from tracefood.epcis.canonical_ids import constrain_digital_link
from tracefood.epcis.digital_link import (
    DigitalLink,
    _check_uri_chars,
    _is_digits,
    _naming_input,
    _qualifier_sets,
    _split_dl,
    element_string,
    gs1_check_digit,
    parse_digital_link,
)
from tracefood.epcis.gs1_keys import (
    GS1_RESOLVER,
    check_gln,
    check_gtin,
    check_sscc,
    check_text,
    dl_encode,
    dl_uri,
    gln_uri,
    gtin_from_epc,
    lot_uri,
    pgln_uri,
    with_check_digit,
)
from tracefood.errors import IdentifierError, UnsupportedIdentifier

__all__ = [
    "DigitalLink",
    "Ident",
    "IdentKind",
    "IdentifierError",
    "UnsupportedIdentifier",
    "element_string",
    "gs1_check_digit",
    "opaque_ident",
    "parse_digital_link",
    "parse_id",
    "parse_lookup_id",
]


IdentKind = Literal["lot", "item", "product", "sscc", "location", "party", "private", "other"]
"""``other``: a GS1 key TraceFood follows by identity only (GRAI crates, GIAI assets...), made
by the event reader for EPCIS captures, never by :func:`parse_id`."""


@dataclass(frozen=True)
class Ident:
    """A parsed identifier. ``key`` is the canonical ledger key: the constrained GS1 Digital Link
    on ``https://id.gs1.org`` for GS1 ids, the URI itself for private ids. The other fields are
    derived from the key, so two forms of one identifier give equal :class:`Ident` values."""

    kind: IdentKind
    key: str
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None
    gln: str | None = None
    extension: str | None = None


def _gtin_ident(gtin: str, lot: str | None = None, serial: str | None = None) -> Ident:
    if serial is not None:
        key = dl_uri(("01", gtin), ("21", dl_encode(check_text(serial, "serial"))))
        return Ident("item", key, gtin=gtin, serial=serial)
    if lot is not None:
        return Ident("lot", lot_uri(gtin, lot), gtin=gtin, lot=lot)
    return Ident("product", dl_uri(("01", gtin)), gtin=gtin)


def _location_ident(gln: str, extension: str | None) -> Ident:
    extension = None if extension == "0" else extension
    return Ident("location", gln_uri(gln, extension), gln=gln, extension=extension)


def _decode(raw: str, name: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise IdentifierError(f"{name} is not valid percent-encoded UTF-8", raw) from None


_DL_NAMES = {"00": "SSCC", "01": "GTIN", "10": "lot", "21": "serial", "22": "CPV", "254": "GLN extension"}


def _dl_ident(uri: str) -> Ident | None:
    split = _split_dl(uri)
    if isinstance(split, str):
        if constrain_digital_link(uri) is not None:  # GS1 to the event hash: never a private id
            raise IdentifierError(f"malformed GS1 Digital Link: {split}")
        return None
    pairs, _ = split
    _qualifier_sets(pairs)
    values = {ai: _decode(raw, _DL_NAMES.get(ai, f"AI ({ai})")) for ai, raw in pairs}
    key = pairs[0][0]
    unsupported = sorted(set(values) - {"00", "01", "10", "21", "22", "254", "414", "417"})
    if unsupported:
        raise UnsupportedIdentifier(f"GS1 AI ({unsupported[0]}) is not supported in TraceFood ids")
    if key == "01":
        if "22" in values:
            check_text(values["22"], "CPV")  # checked, then dropped from the key as the event hash does
        return _gtin_ident(check_gtin(values["01"]), values.get("10"), values.get("21"))
    if key == "00":
        sscc = check_sscc(values["00"])
        return Ident("sscc", dl_uri(("00", sscc)), sscc=sscc)
    if key == "414":
        return _location_ident(check_gln(values["414"]), values.get("254"))
    gln = check_gln(values["417"])
    return Ident("party", pgln_uri(gln), gln=gln)


_EPC = re.compile(r"urn:epc:(id|class|idpat):([a-z]+):(.*)", re.DOTALL)
_EPC_PARTS = {("id", "sgtin"): 3, ("class", "lgtin"): 3, ("idpat", "sgtin"): 3, ("id", "sscc"): 2,
              ("id", "sgln"): 3, ("id", "pgln"): 2}  # fmt: skip


def _company_and_reference(cp: str, ref: str, digits: int) -> None:
    if not _is_digits(cp) or not 6 <= len(cp) <= 12:
        raise IdentifierError("EPC company prefix must be 6 to 12 digits", cp)
    if not _is_digits(ref) or len(cp) + len(ref) != digits:
        raise IdentifierError(f"EPC company prefix and reference must be {digits} digits together", ref)


def _epc_ident(uri: str) -> Ident:
    m = _EPC.fullmatch(uri)
    if m is None:
        raise IdentifierError("malformed EPC URN (expected lower-case urn:epc:id|class|idpat:<scheme>:<parts>)")
    form = (m.group(1), m.group(2))
    count = _EPC_PARTS.get(form)
    if count is None:
        raise UnsupportedIdentifier(f"EPC {form[0]}:{form[1]} URNs are not supported in TraceFood ids")
    parts = m.group(3).split(".", count - 1)
    if len(parts) != count:
        raise IdentifierError(f"malformed EPC URN: {count} dot-separated parts expected")
    if form == ("id", "sscc"):
        _company_and_reference(parts[0], parts[1], 17)
        sscc = with_check_digit(parts[1][:1] + parts[0] + parts[1][1:])
        return Ident("sscc", dl_uri(("00", sscc)), sscc=sscc)
    if form[1] in ("sgln", "pgln"):
        _company_and_reference(parts[0], parts[1], 12)
        gln = with_check_digit(parts[0] + parts[1])
        if form[1] == "pgln":
            return Ident("party", pgln_uri(gln), gln=gln)
        return _location_ident(gln, check_text(_decode(parts[2], "GLN extension"), "GLN extension"))
    if form[0] == "idpat" and (parts[2] != "*" or "*" in parts[0] + parts[1]):
        raise IdentifierError("only urn:epc:idpat:sgtin:<company>.<item>.* (one product) is supported")
    _company_and_reference(parts[0], parts[1], 13)
    gtin = gtin_from_epc(parts[0], parts[1])
    if form[0] == "idpat":
        return _gtin_ident(gtin)
    text = _decode(parts[2], "lot" if form[0] == "class" else "serial")
    return _gtin_ident(gtin, lot=text) if form[0] == "class" else _gtin_ident(gtin, serial=text)


_SHORT_EPC = re.compile(r"urn:epc:(id|class):(sscc|sgtin|lgtin|sgln|pgln):([0-9]+)\.([0-9]+)(?:\.(.*))?", re.DOTALL)
_OPAQUE_KINDS: dict[str, IdentKind] = {"sscc": "sscc", "sgtin": "item", "lgtin": "lot", "sgln": "location",
                                       "pgln": "party"}  # fmt: skip


def opaque_ident(value: str) -> Ident | None:
    """An EPC URN that is GS1 in shape but has the wrong number of digits (another system's
    export that dropped leading zeros, say ``urn:epc:id:sscc:08600031303.0005``), as an id
    followed by identity only: its key is the URN exactly as written, its kind comes from the
    EPC scheme, and no GS1 key is derived from it (no check digit can be computed for digits
    that are missing). None for anything else, including every valid id and a lot or serial
    that would be refused anyway (empty, too long, control characters). The lenient import
    (:mod:`tracefood.epcis.lenient`) keeps such ids and lists them in the ledger entry; the
    lookups (trace, lot page, EPCIS query) take them as written."""
    m = _SHORT_EPC.fullmatch(value)
    if m is None:
        return None
    try:
        parse_id(value)
    except UnsupportedIdentifier:
        return None
    except IdentifierError as exc:
        if "digits together" not in exc.reason:
            return None
        kind = _OPAQUE_KINDS[m.group(2)]
        if (m.group(1) == "class") != (kind == "lot") or (m.group(5) is None) != (kind in ("sscc", "party")):
            return None
        text = None
        if m.group(5) is not None:
            try:  # the same rules as for a well-formed URN's lot, serial or extension
                text = check_text(_decode(m.group(5), "lot"), "lot")
            except IdentifierError:
                return None
        return Ident(kind, value, lot=text if kind == "lot" else None)
    return None


_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:.")


@_naming_input
def parse_id(value: str) -> Ident:
    """Parse an EPC URN, a GS1 Digital Link on any domain, or a private absolute URI.

    GS1 ids are validated (check digits, lengths, key-qualifier order, EPC URN shape) and get the
    canonical key; any other absolute URI (``urn:tracefood:lot:...``, ``https://example.org/lot/42``)
    is a private id whose key is the URI itself.
    """
    _check_uri_chars(value)
    if _URI_SCHEME.match(value) is None:
        raise IdentifierError("not an absolute URI (scheme:...)")
    # A GS1-looking id is GS1 or refused, never private: a private "URN:EPC:..." could never meet
    # its lot in a trace (and the CBV 2.0 event hash would not canonicalise it either).
    if value[:8].lower() == "urn:epc:":
        return _epc_ident(value)
    if value.partition(":")[0].lower() in ("http", "https"):
        found = _dl_ident(value)
        if found is not None:
            return found
    return Ident("private", value)


def parse_lookup_id(value: str) -> Ident:
    """:func:`parse_id`, also taking what people type to look a lot up: a bare 18-digit SSCC,
    or a Digital Link path (``/01/{gtin}/10/{lot}``, ``/00/{sscc}``) on the GS1 resolver."""
    value = value.strip()
    if len(value) == 18 and value.isascii() and value.isdigit():
        value = f"{GS1_RESOLVER}/00/{value}"
    elif value.startswith("/"):
        value = GS1_RESOLVER + value
    return parse_id(value)
