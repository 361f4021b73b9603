"""GS1 keys: the key checks (digits, lengths, check digits) and the canonical key of each thing.

A mistyped GS1 key must be refused before it is stored (nothing is ever deleted from the ledger),
and every form of one key must meet on one ledger key. This module holds both halves: the checks
(:func:`check_gtin`, :func:`check_gln`, :func:`check_sscc`, and :func:`check_text` for lot, serial
and GLN extension text) and the builders of the canonical key, the constrained GS1 Digital Link
on ``https://id.gs1.org`` that the CBV 2.0 event hash also uses (:func:`lot_uri`,
:func:`sscc_uri`, :func:`gln_uri`, :func:`pgln_uri`). Parsing an id someone wrote lives in
:mod:`tracefood.epcis.identifiers`; the event hash's lenient conversions in
:mod:`tracefood.epcis.canonical_ids`; both build their keys with the helpers here.

Decisions:

* Lot, serial and GLN extension text may be any printable Unicode (``Récolte-12``), 1-20
  characters (the GS1 limit), no surrounding whitespace. GS1 allows only CSET 82 there, so
  :func:`~tracefood.epcis.digital_link.parse_digital_link` (what a barcode can carry) refuses
  what :func:`~tracefood.epcis.identifiers.parse_id` accepts.
* Every character but ``A-Z a-z 0-9 ' - . ; = _`` is percent-encoded (UTF-8): CSET 82 as the
  CBV 2.0 event hash does, any other text as a valid URI.
* GTIN-8/12/13 are padded to GTIN-14. Check digits are always checked.
* A GLN extension ``0`` means "none" (EPC TDS): ``/254/0`` is dropped from the key.
"""

from __future__ import annotations

import functools
import string

from tracefood.epcis.digital_link import _is_digits, gs1_check_digit
from tracefood.errors import IdentifierError

__all__ = [
    "GS1_RESOLVER",
    "MAX_TEXT",
    "check_gln",
    "check_gtin",
    "check_sscc",
    "check_text",
    "dl_encode",
    "dl_uri",
    "gln_uri",
    "gtin_from_epc",
    "lot_uri",
    "pgln_uri",
    "sscc_uri",
    "with_check_digit",
]

GS1_RESOLVER = "https://id.gs1.org"
MAX_TEXT = 20  # GS1 limit for lot (AI 10), serial (AI 21) and GLN extension (AI 254)


# --------------------------------------------------------------------------------------------
# Key checks
# --------------------------------------------------------------------------------------------


def with_check_digit(digits: str) -> str:
    """``digits`` followed by their GS1 check digit."""
    return digits + gs1_check_digit(digits)


def gtin_from_epc(company_prefix: str, item_ref: str) -> str:
    """GTIN-14 from an EPC company prefix and item reference (indicator digit first)."""
    return with_check_digit(item_ref[:1] + company_prefix + item_ref[1:])


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


def check_text(value: str, name: str) -> str:
    """A lot, serial or extension: 1-20 printable characters, no surrounding whitespace."""
    if not value:
        raise IdentifierError(f"empty {name}", value)
    if len(value) > MAX_TEXT:
        raise IdentifierError(f"{name} longer than {MAX_TEXT} characters ({len(value)})", value)
    if not value.isprintable():
        raise IdentifierError(f"{name} contains a control or non-printable character", value)
    if value != value.strip():
        raise IdentifierError(f"{name} has leading or trailing whitespace", value)
    return value


# --------------------------------------------------------------------------------------------
# Canonical keys
# --------------------------------------------------------------------------------------------

# Kept literal in Digital Link values: the CSET 82 characters the CBV 2.0 event hash leaves
# unescaped (GS1 Digital Link table 7-1 escapes the rest of CSET 82, "'" stays literal).
_DL_SAFE = frozenset(string.ascii_letters + string.digits + "'-.;=_")


def dl_encode(value: str) -> str:
    """Percent-encode a decoded AI value for a GS1 Digital Link path segment (UTF-8)."""
    return "".join(c if c in _DL_SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in value)


def dl_uri(*pairs: tuple[str, str]) -> str:
    """``https://id.gs1.org/{ai}/{value}...`` for already encoded (AI, value) pairs."""
    return GS1_RESOLVER + "".join(f"/{ai}/{value}" for ai, value in pairs)


@functools.lru_cache(maxsize=65536)  # pure; a lot is named by many events
def lot_uri(gtin: str, lot: str) -> str:
    """``https://id.gs1.org/01/{gtin14}/10/{lot}``: the key of a lot (GTIN + lot)."""
    return dl_uri(("01", check_gtin(gtin)), ("10", dl_encode(check_text(lot, "lot"))))


def sscc_uri(sscc: str) -> str:
    """``https://id.gs1.org/00/{sscc}``: the key of a logistic unit."""
    return dl_uri(("00", check_sscc(sscc)))


def gln_uri(gln: str, extension: str | None = None) -> str:
    """``https://id.gs1.org/414/{gln}[/254/{extension}]``: the key of a location."""
    if extension is None or extension == "0":
        return dl_uri(("414", check_gln(gln)))
    return dl_uri(("414", check_gln(gln)), ("254", dl_encode(check_text(extension, "GLN extension"))))


def pgln_uri(gln: str) -> str:
    """``https://id.gs1.org/417/{gln}``: the key of a party."""
    return dl_uri(("417", check_gln(gln)))
