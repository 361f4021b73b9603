"""GS1 Digital Link: the label scanner's strict parser, and the GS1 syntax it rests on.

A label's QR code carries a GS1 Digital Link (``https://brand.example/01/09506000134352/10/ABC?17=251231``).
:func:`parse_digital_link` reads it as a barcode scanner must: each Application Identifier value
is checked against the GS1 Barcode Syntax Dictionary's table below (character set, length, check
digit, YYMMDD date), then the key-qualifier order, qualifiers in the path and other AIs in the
query, no AI twice; it is tested against the GS1 Syntax Engine's table. That is stricter than
:func:`tracefood.epcis.identifiers.parse_id`, which names things on the ledger and accepts lot
text no barcode can carry (any printable Unicode, where GS1 allows only CSET 82).
:func:`element_string` writes a parsed link as a GS1 element string, bracketed or with FNC1.

Linters: check digits, character sets, lengths, YYMMDD dates (day 00 allowed). Not done: AI
pairing rules (``req``/``ex``), country, currency and coupon linters.

This module sits below :mod:`tracefood.epcis.identifiers` and never imports it: ``parse_id``
reads Digital Link paths with :func:`_split_dl`, :func:`_qualifier_sets` and the short names
from here, so what both modules need -- :class:`IdentifierError`, :func:`gs1_check_digit` and the
character checks -- is defined here too, and ``identifiers`` re-exports the public names.
"""

from __future__ import annotations

import calendar
import functools
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote

from tracefood.errors import IdentifierError

__all__ = [
    "DigitalLink",
    "IdentifierError",
    "element_string",
    "gs1_check_digit",
    "parse_digital_link",
]


_T = TypeVar("_T")


def _naming_input(func: Callable[[str], _T]) -> Callable[[str], _T]:
    """Re-raise an :class:`IdentifierError` from deep inside as one about the whole input."""

    @functools.wraps(func)
    def wrapper(value: str) -> _T:
        try:
            return func(value)
        except IdentifierError as exc:
            if exc.value == value:
                raise
            raise type(exc)(exc.reason, value) from None  # keeps a subclass (UnsupportedIdentifier)

    return wrapper


# --------------------------------------------------------------------------------------------
# Digits and URI characters
# --------------------------------------------------------------------------------------------


def _is_digits(*parts: str) -> bool:
    """ASCII digits only (``"٣".isdigit()`` is true in Python); the empty string passes."""
    return all(p == "" or (p.isascii() and p.isdigit()) for p in parts)


def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of ``digits`` (weights 3,1,3,... from the rightmost digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


_URI_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


def _check_uri_chars(value: str) -> None:
    bad = next((c for c in value if c not in _URI_CHARS), None)
    if bad is not None:
        raise IdentifierError(f"character {bad!r} is not allowed in a URI (percent-encode it)", value)


# --------------------------------------------------------------------------------------------
# The GS1 Application Identifier table (from the GS1 Barcode Syntax Dictionary)
# --------------------------------------------------------------------------------------------

# "AIs:spec" entries. Types: N digits, X CSET 82, Y CSET 39, Z CSET 64; "..n" up to n characters;
# "c" ends with a check digit, "d" is a YYMMDD date; [..] an optional last component; "+" joins.
_AI_TABLE = """
00:N18c 01,02:N14c 10,21,22,243,254,420,7020-7022,710-715,7240,8002,8012:X..20 11-13,15-17:N6d
20:N2 235:X..28 240,241,250,251,400,401,403,7002,7023,8004,90:X..30 242:N..6 253:N13c+[X..17]
255:N13c+[N..12] 30,37:N..8 3900-3909,3920-3929,423,425:N..15 3910-3919,3930-3939:N3+N..15
3940-3943,8111:N4 3950-3955,8005:N6 402:N17c 410-417:N13c 421:N3+X..9 422,424,426:N3 427,7008:X..3
4300,4301,4310,4311,4320:X..35 4302-4306,4312-4316,8110,8112,8200:X..70 4307,4317:X2 4308,4319:X..30
4309:N10+N10 4318:X..20 4321-4323:N1 4324,4325,7003:N6d+N4 4326,7006:N6d 4330-4333:N6+[X1] 7001:N13
7004:N..4 7005:X..12 7007:N6d+[N6d] 7009:X..10 7010:X..2 7011:N6d+[N4] 7030-7039:N3+X..27 7040:N1+X3
7230-7239:X2+X..28 7241:N2 7242,8013,8020:X..25 8001:N14 8003:N1+N13c+[X..16] 8006,8026:N14c+N4
8007:X..34 8008:N8+[N..4] 8009:X..50 8010:Y..30 8011:N..12 8017,8018:N18c 8019:N..10 8030:Z..90
91-99:X..90
"""
_CSETS = {
    "N": ("digits", frozenset(string.digits)),
    "X": ("GS1 CSET 82", frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_")),
    "Y": ("GS1 CSET 39", frozenset(string.ascii_uppercase + string.digits + "#-/")),
    "Z": ("GS1 CSET 64", frozenset(string.ascii_letters + string.digits + "-_=")),
}
_TOKEN = re.compile(r"(\[)?([NXYZ])(\.\.)?([0-9]+)([cd]?)\]?")


@dataclass(frozen=True)
class _Component:
    cset: str
    low: int
    high: int
    linter: str
    optional: bool


def _load_ai_table() -> dict[str, tuple[_Component, ...]]:
    table: dict[str, tuple[_Component, ...]] = {}
    for entry in _AI_TABLE.split():
        ais, spec = entry.split(":")
        components = []
        for token in spec.split("+"):
            m = _TOKEN.fullmatch(token)
            assert m is not None, token
            size = int(m.group(4))
            components.append(_Component(m.group(2), 1 if m.group(3) else size, size, m.group(5), bool(m.group(1))))
        for part in ais.split(","):
            low, _, high = part.partition("-")
            for n in range(int(low), int(high or low) + 1):
                table[str(n).zfill(len(low))] = tuple(components)
    measures = (*range(310, 317), *range(320, 338), *range(340, 358), *range(360, 370))
    table.update({f"{prefix}{d}": (_Component("N", 6, 6, "", False),) for prefix in measures for d in range(6)})
    return table


_AI_SPECS = _load_ai_table()
# AIs whose two-digit prefix has a predefined length: no FNC1 separator after them.
_PREDEFINED = frozenset(["00", "01", "02", "03", "04", "41", *map(str, range(11, 21)), *map(str, range(31, 37))])
# Digital Link primary keys and their alternative key-qualifier sequences (ordered, all optional).
_DL_KEYS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "00": ((),), "01": (("22", "10", "21"), ("235",)), "253": ((),), "255": ((),), "401": ((),), "402": ((),),
    "414": (("254",), ("7040",)), "415": (("8020",),), "417": (("7040",),), "8003": ((),), "8004": (("7040",),),
    "8006": (("22", "10", "21"),), "8010": (("8011",),), "8013": ((),), "8017": (("8019",),), "8018": (("8019",),),
}  # fmt: skip
# Digital Link 1.1 short names ("convenience alphas"), deprecated since but printed on labels.
_SHORT_NAMES = {
    "gtin": "01", "sscc": "00", "gdti": "253", "gcn": "255", "ginc": "401", "gsin": "402", "gln": "414",
    "party": "417", "grai": "8003", "giai": "8004", "itip": "8006", "cpid": "8010", "gsrnp": "8017",
    "gsrn": "8018", "ser": "21", "lot": "10", "cpv": "22", "glnx": "254", "cpsn": "8011", "tpx": "235",
    "gmn": "8013", "payTo": "415", "glnProd": "416", "shipTo": "410", "billTo": "411", "purchasedFrom": "412",
    "shipFor": "413", "refno": "8020", "srin": "8019",
}  # fmt: skip


def _valid_date(yymmdd: str) -> bool:
    year, month, day = 2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    return 1 <= month <= 12 and day <= calendar.monthrange(year, month)[1]


def _check_ai_value(ai: str, value: str) -> str:
    """``value`` checked against the AI's components (GTIN-8/12/13 padded to 14 digits)."""
    if not value:
        raise IdentifierError(f"empty value for AI ({ai})")
    if ai == "01" and len(value) in (8, 12, 13) and _is_digits(value):
        value = value.zfill(14)
    pos = 0
    for comp in _AI_SPECS[ai]:
        if comp.optional and pos == len(value):
            break
        part = value[pos : pos + comp.high]
        if len(part) < comp.low:
            raise IdentifierError(f"AI ({ai}) value too short ({len(value)} characters)")
        name, allowed = _CSETS[comp.cset]
        bad = next((c for c in part if c not in allowed), None)
        if bad is not None:
            raise IdentifierError(f"AI ({ai}) contains {bad!r}, outside {name}")
        if comp.linter == "c" and part[-1] != gs1_check_digit(part[:-1]):
            raise IdentifierError(f"bad check digit in AI ({ai}) (expected {gs1_check_digit(part[:-1])})")
        if comp.linter == "d" and not _valid_date(part):
            raise IdentifierError(f"AI ({ai}) is not a valid YYMMDD date")
        pos += len(part)
    if pos < len(value):
        raise IdentifierError(f"AI ({ai}) value too long ({len(value)} characters)")
    return value


# --------------------------------------------------------------------------------------------
# GS1 Digital Link
# --------------------------------------------------------------------------------------------

_DL_SCHEMES = ("https://", "http://", "HTTPS://", "HTTP://")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]*)?")


@dataclass(frozen=True)
class DigitalLink:
    """A parsed GS1 Digital Link: the primary key, its qualifiers (path) and AI attributes (query).

    Values are decoded and a zero-suppressed GTIN is padded to 14 digits. Non-numeric query
    parameters and the fragment are not part of it.
    """

    primary: tuple[str, str]
    qualifiers: tuple[tuple[str, str], ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


def _ai_of(segment: str) -> str | None:
    return segment if segment in _AI_SPECS else _SHORT_NAMES.get(segment)


def _split_dl(uri: str) -> tuple[list[tuple[str, str]], str] | str:
    """The Digital Link path as ``(AI, raw value)`` pairs, and the raw query string.

    As the GS1 reference parser does, the path is read backwards in ``/AI/value`` pairs up to the
    rightmost primary key; anything before it is the stem. Without a primary key there the URI is
    no Digital Link, and the answer is the reason why.
    """
    _check_uri_chars(uri)
    scheme = next((s for s in _DL_SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise IdentifierError("scheme must be http:// or https:// (one case)")
    rest, _, query = uri[len(scheme) :].split("#", 1)[0].partition("?")
    host, _, path = rest.partition("/")
    if not _HOST.fullmatch(host):
        raise IdentifierError("missing or malformed domain")
    if path.endswith("/"):
        return "the path ends with '/'"
    segments = path.split("/")
    pairs: list[tuple[str, str]] = []
    for i in range(len(segments) - 2, -1, -2):
        ai = _ai_of(segments[i])
        if ai is None:
            return (
                f"no GS1 Digital Link key in the path (unknown AI {segments[i]!r})"
                if segments[i]
                else "empty path segment"
            )
        pairs.append((ai, segments[i + 1]))
        if ai in _DL_KEYS:
            return pairs[::-1], query
    return "no GS1 Digital Link key in the path"


def _qualifier_sets(pairs: list[tuple[str, str]]) -> list[tuple[str, ...]]:
    """The key's qualifier sequences that the path follows; raises if it follows none."""
    key, qualifiers = pairs[0][0], [ai for ai, _ in pairs[1:]]

    def follows(sequence: Iterable[str]) -> bool:
        remaining = iter(sequence)
        return all(ai in remaining for ai in qualifiers)  # in order, each at most once

    found = [alt for alt in _DL_KEYS[key] if follows(alt)]
    if not found:
        path = "/".join(f"({ai})" for ai, _ in pairs)
        raise IdentifierError(f"{path} is not a valid key-qualifier sequence")
    return found


def _unescape(raw: str, *, query: bool) -> str:
    """Percent-decoding byte-wise ("+" is a space in the query only): CSET checks do the rest."""
    return unquote(raw.replace("+", " ") if query else raw, encoding="latin-1")


@_naming_input
def parse_digital_link(uri: str) -> DigitalLink:
    """Parse a GS1 Digital Link URI strictly; :class:`IdentifierError` says why it is invalid."""
    split = _split_dl(uri)
    if isinstance(split, str):
        raise IdentifierError(split)
    pairs, query = split
    allowed = _qualifier_sets(pairs)
    path = [(ai, _check_ai_value(ai, _unescape(raw, query=False))) for ai, raw in pairs]
    attributes = []
    for param in query.split("&"):
        name, eq, raw = param.partition("=")
        if not eq or not name or not _is_digits(name):
            continue  # singletons and non-GS1 parameters are ignored, as the standard says
        if name not in _AI_SPECS:
            raise IdentifierError(f"unknown AI ({name}) in the query string")
        if any(name in alt for alt in allowed):
            raise IdentifierError(f"AI ({name}) qualifies the key: it belongs in the path")
        attributes.append((name, _check_ai_value(name, _unescape(raw, query=True))))
    seen: set[str] = set()
    for ai, _ in path + attributes:
        if ai in seen:
            raise IdentifierError(f"duplicate AI ({ai})")
        seen.add(ai)
    return DigitalLink(path[0], tuple(path[1:]), tuple(attributes))


def element_string(dl: DigitalLink, *, fnc1: bool = False) -> str:
    """The GS1 element string: ``(01)09506000134352(10)ABC`` (a ``(`` in a value is written
    ``\\(``); with ``fnc1=True`` the barcode message form ``^0109506000134352^10ABC``, where ``^``
    is FNC1, written first and after every AI without a predefined length that is not last."""
    elements = [dl.primary, *dl.qualifiers, *dl.attributes]
    if not fnc1:
        return "".join(f"({ai})" + value.replace("(", "\\(") for ai, value in elements)
    out, separator = [], True
    for ai, value in elements:
        out.append(("^" if separator else "") + ai + value)
        separator = ai[:2] not in _PREDEFINED
    return "".join(out)
