"""Identifiers: GS1 keys, EPC URNs, GS1 Digital Link, and one canonical key per thing.

One lot arrives as an EPC class URN in EPCIS, as a Digital Link on any brand domain from a label,
with a zero-suppressed GTIN... Trace and recall need them all on one ledger key, and a mistyped
GS1 key must be refused before it is stored: nothing is ever deleted from the ledger.

* Key checks: :func:`gs1_check_digit`, :func:`check_gtin` / ``gln`` / ``sscc``, :func:`check_premises`.
* :func:`parse_id` -> :class:`Ident`, the ledger's view: GS1 ids are validated (digits, lengths,
  check digits, key-qualifier order) and keyed by the constrained Digital Link on
  ``https://id.gs1.org``, the form the CBV 2.0 event hash uses; any other absolute URI is a
  private id kept verbatim. :func:`lot_uri`, :func:`sscc_uri`, :func:`gln_uri`, :func:`pgln_uri`
  build the same keys.
* :func:`parse_digital_link` -> :class:`DigitalLink`, the label scanner's strict parser (AI table,
  character sets, check digits, qualifier order, no duplicates), and :func:`element_string`: they
  live in :mod:`tracefood.ledger.digital_link` with :class:`IdentifierError` and
  :func:`gs1_check_digit`, and are re-exported here.
* The event hash's lenient converters, :func:`epc_uri_to_digital_link` and
  :func:`constrain_digital_link`, which answer ``None`` rather than raise.

Decisions:

* Lot, serial and GLN extension text may be any printable Unicode (``Récolte-12``), 1-20
  characters (the GS1 limit), no surrounding whitespace. GS1 allows only CSET 82 there, so
  :func:`parse_digital_link` (what a barcode can carry) refuses what :func:`parse_id` accepts.
* Every character but ``A-Z a-z 0-9 ' - . ; = _`` is percent-encoded (UTF-8): CSET 82 as the
  CBV 2.0 event hash does, any other text as a valid URI. Raw non-ASCII in an id is refused.
* GTIN-8/12/13 are padded to GTIN-14 and the Digital Link 1.1 short names (``/gtin/``, ``/lot/``)
  are accepted: labels printed that way exist. Check digits are still checked.
* A GLN extension ``0`` means "none" (EPC TDS): ``/254/0`` is dropped from the key.
* Québec premises site numbers (Attestra, formerly Agri-Traçabilité Québec) have 7 digits: "chaque
  site possède une carte de site à sept chiffres" (https://dairytrace.ca/fr/identification-des-sites/).
  No check digit is published, so only the shape is checked.
* GS1 keys TraceFood does not model (GRAI, GIAI, ``/235/``, EPC ``bic``...) are refused with a
  reason, never kept as private ids that could not meet their other forms in a trace.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from tracefood.epcis.digital_link import (
    _SHORT_NAMES,
    DigitalLink,
    IdentifierError,
    _check_uri_chars,
    _is_digits,
    _naming_input,
    _qualifier_sets,
    _split_dl,
    element_string,
    gs1_check_digit,
    parse_digital_link,
)

__all__ = [
    "GS1_RESOLVER",
    "DigitalLink",
    "Ident",
    "IdentKind",
    "IdentifierError",
    "UnsupportedIdentifier",
    "check_gln",
    "check_gtin",
    "check_premises",
    "check_sscc",
    "constrain_digital_link",
    "element_string",
    "epc_uri_to_digital_link",
    "gln_uri",
    "gs1_check_digit",
    "lot_uri",
    "parse_digital_link",
    "parse_id",
    "pgln_uri",
    "sscc_uri",
]

GS1_RESOLVER = "https://id.gs1.org"
_MAX_TEXT = 20  # GS1 limit for lot (AI 10), serial (AI 21) and GLN extension (AI 254)


# --------------------------------------------------------------------------------------------
# Keys and text
# --------------------------------------------------------------------------------------------


def _checked(digits: str) -> str:
    return digits + gs1_check_digit(digits)


def _check_key(value: str, name: str, lengths: tuple[int, ...], want: str) -> str:
    if not value or not _is_digits(value):
        raise IdentifierError(f"{name} must be digits only", value)
    if len(value) not in lengths:
        raise IdentifierError(f"{name} must have {want} digits (got {len(value)})", value)
    expected = gs1_check_digit(value[:-1])
    if value[-1] != expected:
        raise IdentifierError(f"bad check digit (expected {expected})", value)
    return value


def check_gtin(value: str) -> str:
    """A GTIN-8, -12, -13 or -14 with a valid check digit, returned as a GTIN-14."""
    return _check_key(value, "GTIN", (8, 12, 13, 14), "8, 12, 13 or 14").zfill(14)


def check_gln(value: str) -> str:
    """A 13-digit GLN with a valid check digit."""
    return _check_key(value, "GLN", (13,), "13")


def check_sscc(value: str) -> str:
    """An 18-digit SSCC with a valid check digit."""
    return _check_key(value, "SSCC", (18,), "18")


def check_premises(value: str) -> str:
    """A Québec premises site number: exactly 7 digits (no check digit is published)."""
    if len(value) != 7 or not _is_digits(value):
        raise IdentifierError("premises site number must be exactly 7 digits", value)
    return value


def _text(value: str, name: str) -> str:
    """A lot, serial or extension: 1-20 printable characters, no surrounding whitespace."""
    if not value:
        raise IdentifierError(f"empty {name}", value)
    if len(value) > _MAX_TEXT:
        raise IdentifierError(f"{name} longer than {_MAX_TEXT} characters ({len(value)})", value)
    if not value.isprintable():
        raise IdentifierError(f"{name} contains a control or non-printable character", value)
    if value != value.strip():
        raise IdentifierError(f"{name} has leading or trailing whitespace", value)
    return value


# Kept literal in Digital Link values: the CSET 82 characters the CBV 2.0 event hash leaves
# unescaped (GS1 Digital Link table 7-1 escapes the rest of CSET 82, "'" stays literal).
_DL_SAFE = frozenset(string.ascii_letters + string.digits + "'-.;=_")


def _dl_encode(value: str) -> str:
    """Percent-encode a decoded AI value for a GS1 Digital Link path segment (UTF-8)."""
    return "".join(c if c in _DL_SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in value)


def _dl(*pairs: tuple[str, str]) -> str:
    return GS1_RESOLVER + "".join(f"/{ai}/{value}" for ai, value in pairs)


@functools.lru_cache(maxsize=65536)  # pure; a lot is named by many events
def lot_uri(gtin: str, lot: str) -> str:
    """``https://id.gs1.org/01/{gtin14}/10/{lot}``: the key of a lot (GTIN + lot)."""
    return _dl(("01", check_gtin(gtin)), ("10", _dl_encode(_text(lot, "lot"))))


def sscc_uri(sscc: str) -> str:
    """``https://id.gs1.org/00/{sscc}``: the key of a logistic unit."""
    return _dl(("00", check_sscc(sscc)))


def gln_uri(gln: str, extension: str | None = None) -> str:
    """``https://id.gs1.org/414/{gln}[/254/{extension}]``: the key of a location."""
    if extension is None or extension == "0":
        return _dl(("414", check_gln(gln)))
    return _dl(("414", check_gln(gln)), ("254", _dl_encode(_text(extension, "GLN extension"))))


def pgln_uri(gln: str) -> str:
    """``https://id.gs1.org/417/{gln}``: the key of a party."""
    return _dl(("417", check_gln(gln)))


# --------------------------------------------------------------------------------------------
# Ledger ids
# --------------------------------------------------------------------------------------------


class UnsupportedIdentifier(IdentifierError):
    """A well-formed GS1 key that TraceFood does not model as a lot, item, unit or place (GRAI,
    GIAI, GSRN...): refused by :func:`parse_id`, followed by identity only in EPCIS captures."""


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
        return Ident("item", _dl(("01", gtin), ("21", _dl_encode(_text(serial, "serial")))), gtin=gtin, serial=serial)
    if lot is not None:
        return Ident("lot", lot_uri(gtin, lot), gtin=gtin, lot=lot)
    return Ident("product", _dl(("01", gtin)), gtin=gtin)


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
            _text(values["22"], "CPV")  # checked, then dropped from the key as the event hash does
        return _gtin_ident(check_gtin(values["01"]), values.get("10"), values.get("21"))
    if key == "00":
        sscc = check_sscc(values["00"])
        return Ident("sscc", _dl(("00", sscc)), sscc=sscc)
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
        sscc = _checked(parts[1][:1] + parts[0] + parts[1][1:])
        return Ident("sscc", _dl(("00", sscc)), sscc=sscc)
    if form[1] in ("sgln", "pgln"):
        _company_and_reference(parts[0], parts[1], 12)
        gln = _checked(parts[0] + parts[1])
        if form[1] == "pgln":
            return Ident("party", pgln_uri(gln), gln=gln)
        return _location_ident(gln, _text(_decode(parts[2], "GLN extension"), "GLN extension"))
    if form[0] == "idpat" and (parts[2] != "*" or "*" in parts[0] + parts[1]):
        raise IdentifierError("only urn:epc:idpat:sgtin:<company>.<item>.* (one product) is supported")
    _company_and_reference(parts[0], parts[1], 13)
    gtin = _gtin(parts[0], parts[1])
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
    (:mod:`tracefood.ledger.lenient`) keeps such ids and lists them in the ledger entry; the
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
                text = _text(_decode(m.group(5), "lot"), "lot")
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


# --------------------------------------------------------------------------------------------
# Lenient converters for the CBV 2.0 event hash (never raise)
# --------------------------------------------------------------------------------------------


def _gtin(company_prefix: str, item_ref: str) -> str:
    """GTIN-14 from an EPC company prefix and item reference (indicator digit first)."""
    return _checked(item_ref[:1] + company_prefix + item_ref[1:])


def _convert_epc(scheme: str, kind: str, parts: list[str]) -> str | None:
    """Convert the dot-separated parts of an EPC (pattern/class) URI to a Digital Link URI."""
    raw = [unquote(p) for p in parts]
    pattern = kind == "idpat"
    if pattern:
        if raw[-1] != "*" or any("*" in p for p in raw[:-1]):
            return None
        raw = raw[:-1]
    n = len(raw)
    cp = raw[0] if n else ""
    if not cp or not _is_digits(cp):
        return None
    if kind == "class":
        if scheme == "lgtin" and n == 3 and _is_digits(raw[1]):
            return _dl(("01", _gtin(cp, raw[1])), ("10", _dl_encode(raw[2])))
        return None
    if scheme in ("sgtin", "upui") and _is_digits(raw[1] if n > 1 else "x"):
        gtin = _gtin(cp, raw[1])
        if pattern and n == 2:
            return _dl(("01", gtin))
        if n == 3:
            return _dl(("01", gtin), ("21" if scheme == "sgtin" else "235", _dl_encode(raw[2])))
        return None
    if scheme == "sscc" and n == 2 and _is_digits(raw[1]) and raw[1]:
        return _dl(("00", _checked(raw[1][:1] + cp + raw[1][1:])))
    if scheme == "sgln" and n in (2, 3) and _is_digits(raw[1]):
        gln = _checked(cp + raw[1])
        if n == 2 or raw[2] == "0":
            return _dl(("414", gln))
        return _dl(("414", gln), ("254", _dl_encode(raw[2])))
    if scheme in ("grai", "gdti", "sgcn") and n in (2, 3) and _is_digits(raw[1]):
        ai, lead = {"grai": ("8003", "0"), "gdti": ("253", ""), "sgcn": ("255", "")}[scheme]
        serial = _dl_encode(raw[2]) if n == 3 else ""
        if n == 2 and not pattern:
            return None
        return _dl((ai, _checked(lead + cp + raw[1]) + serial))
    if scheme in ("giai", "ginc") and n == 2 and not pattern:
        return _dl(("8004" if scheme == "giai" else "401", _dl_encode(cp + raw[1])))
    if scheme in ("gsrn", "gsrnp", "gsin", "pgln") and n == 2 and _is_digits(raw[1]) and not pattern:
        ai = {"gsrn": "8018", "gsrnp": "8017", "gsin": "402", "pgln": "417"}[scheme]
        return _dl((ai, _checked(cp + raw[1])))
    if scheme == "cpi" and n in (2, 3):
        if n == 2 and not pattern:
            return None
        key = ("8010", _dl_encode(cp + raw[1]))
        return _dl(key) if n == 2 else _dl(key, ("8011", _dl_encode(raw[2])))
    if scheme == "itip" and n in (4, 5) and _is_digits(*raw[1:4]):
        key = ("8006", _gtin(cp, raw[1]) + raw[2] + raw[3])
        if n == 4:
            return _dl(key) if pattern else None
        return _dl(key, ("21", _dl_encode(raw[4])))
    return None


_EPC_URI = re.compile(r"^urn:epc:(id|idpat|class):([a-z]+):(.*)$")
_EPC_SPLITS = {"itip": 4}  # maximum splits of the part list: everything after is the serial


def epc_uri_to_digital_link(uri: str) -> str | None:
    """Canonical GS1 Digital Link URI for an EPC URI, EPC class URI or EPC pattern URI.

    ``urn:epc:id:sgtin:4012345.011111.987`` -> ``https://id.gs1.org/01/04012345111118/21/987``.
    Pattern URIs keep only the key (``urn:epc:idpat:sgtin:4054739.099914.*`` -> ``.../01/<gtin>``).
    Returns ``None`` when ``uri`` is not a convertible EPC URI. No check is made beyond that:
    use :func:`parse_id` to validate.
    """
    m = _EPC_URI.match(uri)
    if m is None:
        return None
    kind, scheme, body = m.groups()
    parts = body.split(".", _EPC_SPLITS.get(scheme, 2))
    try:
        return _convert_epc(scheme, kind, parts)
    except (IndexError, ValueError):
        return None


# Primary keys of the constrained canonical form, with the qualifiers kept (finest first).
_PRIMARY_KEYS: Mapping[str, tuple[str, ...]] = {
    "00": (), "01": ("21", "235", "10"), "253": (), "255": (), "401": (), "402": (), "414": ("254",), "417": (),
    "8003": (), "8004": (), "8006": ("21", "10"), "8010": ("8011",), "8017": (), "8018": (),
}  # fmt: skip
_KEY_SYNTAX: Mapping[str, re.Pattern[str]] = {
    ai: re.compile(pattern, re.ASCII)
    for ai, pattern in {
        "00": r"^\d{18}$", "01": r"^(\d{8}|\d{12,14})$", "253": r"^\d{13}.{0,17}$", "255": r"^\d{13}\d{0,12}$",
        "402": r"^\d{17}$", "414": r"^\d{13}$", "417": r"^\d{13}$", "8003": r"^\d{14}.{0,16}$",
        "8006": r"^\d{18}$", "8017": r"^\d{18}$", "8018": r"^\d{18}$",
    }.items()
}  # fmt: skip


def constrain_digital_link(uri: str) -> str | None:
    """Constrained canonical form of a GS1 Digital Link URI on any domain (CBV 2.0 event hash).

    The domain becomes ``https://id.gs1.org``, the query string and fragment are dropped,
    short names become numeric AIs, GTINs are padded to 14 digits and only the finest
    identification level is kept (``01/.../22/.../10/.../21/...`` -> ``01/.../21/...``).
    Returns ``None`` when ``uri`` carries no recognisable GS1 primary key. Check digits are not
    checked: use :func:`parse_id` to validate.
    """
    split = urlsplit(uri)
    if split.scheme.lower() not in ("http", "https") or not split.netloc:
        return None
    segments = [s for s in split.path.split("/") if s]
    for start in range(len(segments) - 1):
        ai = _SHORT_NAMES.get(segments[start], segments[start])
        if ai not in _PRIMARY_KEYS or (len(segments) - start) % 2:
            continue
        value = unquote(segments[start + 1])
        syntax = _KEY_SYNTAX.get(ai)
        if syntax is not None and not syntax.match(value):
            continue
        if ai == "01":
            value = value.zfill(14)
        rest = segments[start + 2 :]
        qualifiers = {_SHORT_NAMES.get(rest[i], rest[i]): unquote(rest[i + 1]) for i in range(0, len(rest), 2)}
        pairs = [(ai, _dl_encode(value))]
        for qualifier in _PRIMARY_KEYS[ai]:
            if qualifier in qualifiers:
                pairs.append((qualifier, _dl_encode(qualifiers[qualifier])))
                break
        return _dl(*pairs)
    return None
