"""URI and date-time syntax: RFC 3986 / RFC 3339, as the EPCIS JSON Schema's formats require.

GS1's EPCIS 2.0 JSON Schema declares ``"format": "uri"`` (an absolute RFC 3986 URI: so
``prefix:name`` counts as a namespaced key) and ``"format": "date-time"`` (RFC 3339, offset
required) on identifiers, vocabulary, namespaced fields and event times. JSON Schema validators
check formats only when optional packages are installed, so :mod:`tracefood.epcis.validate`
always checks them itself, with these two predicates (through :mod:`tracefood.epcis.checks`): regexes transcribed
from the RFCs' ABNF, plus the checks a regex cannot make (IPv6 literals, calendar dates, leap
seconds). Digits are ASCII only and the whole string must match, as in ECMA-262.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from typing import Final

__all__ = ["is_date_time", "is_uri"]


# RFC 3986 "URI" (absolute; optional query and fragment), transcribed from its ABNF.
_UNRESERVED, _SUB_DELIMS, _PCT = r"A-Za-z0-9\-._~", r"!$&'()*+,;=", r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SEGMENTS = rf"(?:/{_PCHAR}*)*"
_USERINFO = rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?"
_HOST = rf"(?:\[([^\[\]]*)\]|(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*)"  # IP-literal checked below
_HIER_PART = rf"(?://{_USERINFO}{_HOST}(?::[0-9]*)?{_SEGMENTS}|/(?:{_PCHAR}+{_SEGMENTS})?|{_PCHAR}+{_SEGMENTS}|)"
_URI: Final = re.compile(rf"[A-Za-z][A-Za-z0-9+\-.]*:{_HIER_PART}(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?")
_IP_FUTURE: Final = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+")
_DATE_TIME: Final = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|([+-])(\d\d):(\d\d))", re.ASCII
)


def is_uri(value: object) -> bool:
    """True for an absolute URI per RFC 3986 (what JSON Schema's ``"format": "uri"`` means)."""
    match = _URI.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    literal = match.group(1)  # inside an IP-literal host "[...]"
    if literal is None or _IP_FUTURE.fullmatch(literal):
        return True
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return "%" not in literal  # ipaddress takes IPv6 zone ids ("fe80::1%eth0"); RFC 3986 does not


def is_date_time(value: object) -> bool:
    """True for an RFC 3339 ``date-time`` (offset required; ``T`` and ``Z`` in either case)."""
    match = _DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    sign, off_hour, off_minute = match.group(7) or "+", int(match.group(8) or 0), int(match.group(9) or 0)
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return False
    if hour > 23 or minute > 59 or off_hour > 23 or off_minute > 59:
        return False
    utc_minute = (hour * 60 + minute - int(sign + "1") * (off_hour * 60 + off_minute)) % 1440
    return second <= 59 or (second == 60 and utc_minute == 1439)  # leap seconds happen at 23:59:60 UTC
