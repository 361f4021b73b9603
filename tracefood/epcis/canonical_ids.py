"""The CBV 2.0 event hash's view of an identifier: its constrained canonical form, never refused.

The event hash (:mod:`tracefood.epcis.event_hash`) writes every identifier in one form whatever
the serialisation: CBV URNs become CBV Web URIs, and EPC URIs, EPC class and pattern URIs and GS1
Digital Link URIs on any domain become *constrained canonical* GS1 Digital Link URIs (domain
``https://id.gs1.org``, numeric AIs, no query string, only the finest identification level).

These converters are lenient on purpose: a hash must be computed for any event a partner sends,
so they answer ``None`` (or the value unchanged) rather than raise, and they cover GS1 keys
TraceFood does not model (GRAI, GIAI, CPI...). Validation is the job of
:func:`tracefood.epcis.identifiers.parse_id`, which also uses :func:`constrain_digital_link` to
tell a malformed GS1 link from a private URL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from tracefood.epcis.cbv import CBV_BASE
from tracefood.epcis.digital_link import _SHORT_NAMES, _is_digits
from tracefood.epcis.gs1_keys import dl_encode, dl_uri, gtin_from_epc, with_check_digit

__all__ = ["canonical_gs1_uri", "constrain_digital_link", "epc_uri_to_digital_link"]

_CBV_URN = re.compile(r"^urn:epcglobal:cbv:(bizstep|disp|btt|sdt|er|comp):(.+)$")
_CBV_URN_TYPES = {"bizstep": "BizStep-", "disp": "Disp-", "btt": "BTT-", "sdt": "SDT-", "er": "ER-", "comp": "Comp-"}


@functools.lru_cache(maxsize=65_536)  # pure, and identifiers repeat across events
def canonical_gs1_uri(value: str) -> str:
    """Normalise an identifier URI as the event hash requires.

    CBV URNs (``urn:epcglobal:cbv:bizstep:x``) become CBV Web URIs; EPC URIs, EPC class and
    pattern URIs and Digital Link URIs become constrained canonical Digital Link URIs.  Any
    other value (``geo:``, ``urn:uuid:``, business transaction URNs, plain URLs) is returned
    stripped but unchanged.
    """
    text = value.strip()
    if text.startswith("urn:epcglobal:cbv:"):
        m = _CBV_URN.match(text)
        return CBV_BASE + _CBV_URN_TYPES[m.group(1)] + m.group(2) if m else text
    if text.startswith("urn:epc:"):
        return epc_uri_to_digital_link(text) or text
    if text.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
        return constrain_digital_link(text) or text
    return text


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
            return dl_uri(("01", gtin_from_epc(cp, raw[1])), ("10", dl_encode(raw[2])))
        return None
    if scheme in ("sgtin", "upui") and _is_digits(raw[1] if n > 1 else "x"):
        gtin = gtin_from_epc(cp, raw[1])
        if pattern and n == 2:
            return dl_uri(("01", gtin))
        if n == 3:
            return dl_uri(("01", gtin), ("21" if scheme == "sgtin" else "235", dl_encode(raw[2])))
        return None
    if scheme == "sscc" and n == 2 and _is_digits(raw[1]) and raw[1]:
        return dl_uri(("00", with_check_digit(raw[1][:1] + cp + raw[1][1:])))
    if scheme == "sgln" and n in (2, 3) and _is_digits(raw[1]):
        gln = with_check_digit(cp + raw[1])
        if n == 2 or raw[2] == "0":
            return dl_uri(("414", gln))
        return dl_uri(("414", gln), ("254", dl_encode(raw[2])))
    if scheme in ("grai", "gdti", "sgcn") and n in (2, 3) and _is_digits(raw[1]):
        ai, lead = {"grai": ("8003", "0"), "gdti": ("253", ""), "sgcn": ("255", "")}[scheme]
        serial = dl_encode(raw[2]) if n == 3 else ""
        if n == 2 and not pattern:
            return None
        return dl_uri((ai, with_check_digit(lead + cp + raw[1]) + serial))
    if scheme in ("giai", "ginc") and n == 2 and not pattern:
        return dl_uri(("8004" if scheme == "giai" else "401", dl_encode(cp + raw[1])))
    if scheme in ("gsrn", "gsrnp", "gsin", "pgln") and n == 2 and _is_digits(raw[1]) and not pattern:
        ai = {"gsrn": "8018", "gsrnp": "8017", "gsin": "402", "pgln": "417"}[scheme]
        return dl_uri((ai, with_check_digit(cp + raw[1])))
    if scheme == "cpi" and n in (2, 3):
        if n == 2 and not pattern:
            return None
        key = ("8010", dl_encode(cp + raw[1]))
        return dl_uri(key) if n == 2 else dl_uri(key, ("8011", dl_encode(raw[2])))
    if scheme == "itip" and n in (4, 5) and _is_digits(*raw[1:4]):
        key = ("8006", gtin_from_epc(cp, raw[1]) + raw[2] + raw[3])
        if n == 4:
            return dl_uri(key) if pattern else None
        return dl_uri(key, ("21", dl_encode(raw[4])))
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
        pairs = [(ai, dl_encode(value))]
        for qualifier in _PRIMARY_KEYS[ai]:
            if qualifier in qualifiers:
                pairs.append((qualifier, dl_encode(qualifiers[qualifier])))
                break
        return dl_uri(*pairs)
    return None
