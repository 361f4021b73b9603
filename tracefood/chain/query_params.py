"""How the EPCIS 2.0 query interface (:mod:`tracefood.chain.query`) reads its parameters: the
``SimpleEventQuery`` parameters as the GS1 REST binding's ``GET /events`` takes them, checked
and canonicalised into a :class:`Query`, and the page tokens that continue one.

Parameters (EPCIS 2.0 section 8.2.7.1; described one by one in the OpenAPI document). A list is
``|``-separated (the binding), ``,``-separated or the parameter repeated; an identifier list
splits on a comma only before a URI scheme (lot codes may contain commas). CBV values fold to
the bare word from any spelling; places and objects are canonicalised with
:func:`~tracefood.epcis.identifiers.parse_id`, so the EPC URN and Digital Link forms of one id
match each other. Times are RFC 3339 with an offset (a space before ``HH:MM``, which is what an
unencoded ``+`` becomes, is read as ``+``), compared in UTC; the stored times have millisecond
(event) and microsecond (record) precision, so a finer bound is rounded up, which keeps ``>=``
and ``<`` exact. ``orderBy`` ties are broken by ledger order; without ``orderBy`` the answer is
in ledger order, ascending unless ``orderDirection=DESC`` (with it, ``DESC`` by default, as the
standard says). ``perPage`` above 1,000 is served as 1,000 (the binding allows it). A
``nextPageToken`` is base64url of (format, query fingerprint, last sort key, last sequence
number): it continues only the query it came from, and forging one reveals nothing the same
query does not already show.

Errors are the binding's problem types: a bad or unknown parameter is
``epcisException:QueryParameterException`` (400) naming it, an unknown event
``epcisException:NoSuchNameException`` (404).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from tracefood.epcis import cbv
from tracefood.epcis.canonical_ids import canonical_gs1_uri
from tracefood.epcis.identifiers import Ident, opaque_ident, parse_id
from tracefood.errors import IdentifierError, QueryParameterException, UnsupportedIdentifier

DEFAULT_PER_PAGE: Final = 30
MAX_PER_PAGE: Final = 1000
MAX_VALUES: Final = 200
"""Values per list parameter: each is a bound parameter of one statement."""
EVENT_TYPES: Final = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
ACTIONS: Final = ("ADD", "OBSERVE", "DELETE")
ORDER_BY: Final = ("eventTime", "recordTime")
Level = Literal["instance", "class"]
MATCH_PARAMETERS: Final[Mapping[str, tuple[tuple[str, ...], Level]]] = {
    "MATCH_epc": (("epc", "child"), "instance"),
    "MATCH_parentID": (("parent",), "instance"),
    "MATCH_inputEPC": (("input",), "instance"),
    "MATCH_outputEPC": (("output",), "instance"),
    "MATCH_anyEPC": (("epc", "child", "input", "output", "parent"), "instance"),
    "MATCH_epcClass": (("epc", "child"), "class"),
    "MATCH_inputEPCClass": (("input",), "class"),
    "MATCH_outputEPCClass": (("output",), "class"),
    "MATCH_anyEPCClass": (("epc", "child", "input", "output"), "class"),
}
TIME_PARAMETERS: Final = ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime")
PARAMETERS: Final = ("eventType", *TIME_PARAMETERS, "EQ_action", "EQ_bizStep", "EQ_disposition", "EQ_bizLocation",
                     "EQ_readPoint", *MATCH_PARAMETERS, "EQ_eventID", "orderBy", "orderDirection", "perPage",
                     "nextPageToken")  # fmt: skip
SINGLE_VALUED: Final = frozenset({*TIME_PARAMETERS, "orderBy", "orderDirection", "perPage", "nextPageToken"})
_OTHER_LEVEL: Final[Mapping[Level, frozenset[str]]] = {
    "instance": frozenset({"lot", "product"}),  # GS1 class-level ids: only in quantity lists
    "class": frozenset({"item", "sscc"}),  # GS1 instance-level ids: only in EPC lists
}
_PATTERN_KINDS: Final[Mapping[Level, tuple[str, ...]]] = {"instance": ("item",), "class": ("lot", "product")}
_WORDS = re.compile(r"[|,]")
_URIS = re.compile(r"\||,(?=[A-Za-z][A-Za-z0-9+.-]*:)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?([Zz]|[+\- ]\d{2}:\d{2})", re.ASCII
)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,400}")
_TOKEN_VERSION: Final = 1
_EXAMPLE_TERMS: Final[Mapping[cbv.Kind, str]] = {"bizStep": "shipping", "disposition": "in_transit"}


@dataclass(frozen=True)
class Match:
    """One ``MATCH_`` parameter: objects named in ``roles``, by canonical key or GTIN pattern."""

    parameter: str
    roles: tuple[str, ...]
    keys: tuple[str, ...]
    gtins: tuple[str, ...]
    pattern_kinds: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    """A parsed query. Times are bounds in the stored text form: ``[GE, LT)``."""

    event_types: tuple[str, ...] = ()
    event_time: tuple[str | None, str | None] = (None, None)
    record_time: tuple[str | None, str | None] = (None, None)
    actions: tuple[str, ...] = ()
    biz_steps: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    biz_locations: tuple[str, ...] = ()
    read_points: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    matches: tuple[Match, ...] = ()
    order_by: str | None = None
    descending: bool = False
    per_page: int = DEFAULT_PER_PAGE
    after: tuple[str | None, int] | None = None
    """(sort key, sequence number) of the last event of the previous page."""

    @property
    def fingerprint(self) -> str:
        """What a page token is bound to: every filter and the order, not the page size."""
        shape = dataclasses.asdict(self)
        del shape["per_page"], shape["after"]
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def parse_query(args: Iterable[tuple[str, str]], known: Callable[[str], bool] | None = None) -> Query:
    """Read the query string pairs; :class:`QueryParameterException` names the first bad one.

    ``known(key)``: whether the ledger has an object with that key; a MATCH value that is an EPC
    URN with digits missing is then taken as written when a lenient import kept it so
    (:func:`~tracefood.epcis.identifiers.opaque_ident`), and refused otherwise."""
    given: dict[str, list[str]] = {}
    for name, value in args:
        if name not in PARAMETERS:
            raise QueryParameterException(name, f"unknown query parameter; supported: {', '.join(PARAMETERS)}")
        given.setdefault(name, []).append(value)
    for name, values in given.items():
        if name in SINGLE_VALUED and len(values) > 1:
            raise QueryParameterException(name, "given more than once")
    one = {name: values[0] for name, values in given.items() if name in SINGLE_VALUED}
    order_by = one.get("orderBy")
    if order_by is not None and order_by not in ORDER_BY:
        raise QueryParameterException("orderBy", f"must be {' or '.join(ORDER_BY)}, got {order_by[:40]!r}")
    direction = one.get("orderDirection")
    if direction is not None and direction not in ("ASC", "DESC"):
        raise QueryParameterException("orderDirection", f"must be ASC or DESC, got {direction[:40]!r}")
    query = Query(
        event_types=tuple(_event_type(v) for v in _values(given, "eventType", _WORDS)),
        event_time=(_time(one, "GE_eventTime", 3), _time(one, "LT_eventTime", 3)),
        record_time=(_time(one, "GE_recordTime", 6), _time(one, "LT_recordTime", 6)),
        actions=tuple(_action(v) for v in _values(given, "EQ_action", _WORDS)),
        biz_steps=tuple(_term("EQ_bizStep", "bizStep", v) for v in _values(given, "EQ_bizStep", _WORDS)),
        dispositions=tuple(_term("EQ_disposition", "disposition", v) for v in _values(given, "EQ_disposition", _WORDS)),
        biz_locations=tuple(_place("EQ_bizLocation", v) for v in _values(given, "EQ_bizLocation", _URIS)),
        read_points=tuple(_place("EQ_readPoint", v) for v in _values(given, "EQ_readPoint", _URIS)),
        event_ids=tuple(_event_id(v) for v in _values(given, "EQ_eventID", _URIS)),
        matches=tuple(_match(name, _values(given, name, _URIS), known) for name in MATCH_PARAMETERS if name in given),
        order_by=order_by,
        descending=direction == "DESC" if direction is not None else order_by is not None,
        per_page=_per_page(one.get("perPage")),
    )
    token = one.get("nextPageToken")
    if token is None:
        return query
    return dataclasses.replace(query, after=_read_token(token, query))


def _values(given: Mapping[str, list[str]], name: str, separator: re.Pattern[str]) -> list[str]:
    out: list[str] = []
    for raw in given.get(name, []):
        for part in separator.split(raw):
            value = part.strip()
            if not value:
                raise QueryParameterException(name, "empty value (give one value, or several separated by | or ,)")
            out.append(value)
    if len(out) > MAX_VALUES:
        raise QueryParameterException(name, f"at most {MAX_VALUES} values, got {len(out)}")
    return out


def _event_type(value: str) -> str:
    if value not in EVENT_TYPES and not _SCHEME.match(value):
        raise QueryParameterException(
            "eventType", f"{value[:60]!r} is not an EPCIS event type ({', '.join(EVENT_TYPES)}) nor an extension URI"
        )
    return value


def _action(value: str) -> str:
    if value not in ACTIONS:
        raise QueryParameterException("EQ_action", f"must be {', '.join(ACTIONS)}, got {value[:40]!r}")
    return value


def _term(name: str, kind: cbv.Kind, value: str) -> str:
    """The stored spelling: the bare CBV word, or a non-CBV URI as given."""
    term = cbv.normalise(kind, value)
    if term is not None:
        return term
    if not _SCHEME.match(value):
        example = _EXAMPLE_TERMS[kind]
        raise QueryParameterException(
            name,
            f"{value[:60]!r} is not a CBV 2.0 {kind} ({example} or {cbv.web_uri(kind, example)}) nor a URI",
        )
    return value


def _place(name: str, value: str) -> str:
    return _ident(name, value).key


def _event_id(value: str) -> str:
    if not _SCHEME.match(value):
        raise QueryParameterException("EQ_eventID", f"an eventID is a URI, got {value[:80]!r}")
    return value


def _ident(name: str, value: str, known: Callable[[str], bool] | None = None) -> Ident:
    try:
        return parse_id(value)
    except UnsupportedIdentifier:
        # GS1 keys TraceFood follows by identity only (GRAI, GIAI...), keyed as capture keys them
        return Ident("other", canonical_gs1_uri(value))
    except IdentifierError as exc:
        kept = opaque_ident(value)  # an EPC URN with digits missing, as a lenient import keeps it
        if kept is None or known is None or not known(kept.key):
            raise QueryParameterException(name, f"{exc.reason}: {value[:80]!r}") from None
        return kept


def _match(name: str, values: list[str], known: Callable[[str], bool] | None) -> Match:
    roles, level = MATCH_PARAMETERS[name]
    keys: list[str] = []
    gtins: list[str] = []
    for value in values:
        ident = _ident(name, value, known)
        if ident.kind == "product" and ident.gtin:
            gtins.append(ident.gtin)
        elif ident.kind not in _OTHER_LEVEL[level]:
            keys.append(ident.key)
    return Match(name, roles, tuple(sorted(set(keys))), tuple(sorted(set(gtins))), _PATTERN_KINDS[level])


def _per_page(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PER_PAGE
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12 or int(raw) < 1:
        raise QueryParameterException("perPage", f"must be a whole number from 1 to {MAX_PER_PAGE}, got {raw[:40]!r}")
    return min(int(raw), MAX_PER_PAGE)


def _time(one: Mapping[str, str], name: str, digits: int) -> str | None:
    """An RFC 3339 bound as the stored UTC text with ``digits`` fraction digits, rounded up."""
    raw = one.get(name)
    if raw is None:
        return None
    found = _RFC3339.fullmatch(raw.strip())
    if found is None:
        raise QueryParameterException(
            name, f"must be an RFC 3339 date-time with a UTC offset (2026-08-13T10:00:00-04:00), got {raw[:60]!r}"
        )
    year, month, day, hour, minute, second = (int(g) for g in found.groups()[:6])
    fraction, offset = found.group(7) or "", found.group(8)
    units = int(fraction[:digits].ljust(digits, "0"))
    if fraction[digits:].strip("0"):
        units += 1  # stored times have `digits` digits: t >= x and t < x both mean t >= / < ceil(x)
    try:
        moment = dt.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        raise QueryParameterException(name, f"not a calendar date-time: {raw[:60]!r}") from None
    if second == 60:  # a leap second: no stored time falls inside it
        units = 10**digits
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = (0, 0) if offset in ("Z", "z") else (int(offset[1:3]), int(offset[4:6]))
    if hours > 23 or minutes > 59:
        raise QueryParameterException(name, f"not a UTC offset: {offset!r}")
    try:
        utc = moment - sign * dt.timedelta(hours=hours, minutes=minutes) + dt.timedelta(seconds=units // 10**digits)
    except OverflowError:  # before year 1 or after 9999 in UTC: below or above every stored time
        return "0000" if year < 5000 else "~"
    units %= 10**digits
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
        f".{units:0{digits}d}Z"
    )


# -- page tokens ---------------------------------------------------------------------------------


def page_token(query: Query, sort_key: str | None, seq: int) -> str:
    raw = json.dumps([_TOKEN_VERSION, query.fingerprint, sort_key, seq], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _read_token(token: str, query: Query) -> tuple[str | None, int]:
    foreign = "not a token this server issued (use the Link rel=next URL of the previous page)"
    try:
        if _TOKEN.fullmatch(token) is None:
            raise ValueError(token)
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise QueryParameterException("nextPageToken", foreign) from None
    if not (isinstance(data, list) and len(data) == 4 and data[0] == _TOKEN_VERSION):
        raise QueryParameterException("nextPageToken", foreign)
    _, fingerprint, sort_key, seq = data
    if fingerprint != query.fingerprint:
        raise QueryParameterException("nextPageToken", "belongs to another query: give it the same filters and order")
    key_ok = sort_key is None if query.order_by is None else isinstance(sort_key, str) and len(sort_key) <= 40
    if type(seq) is not int or not 0 <= seq < 2**62 or not key_ok:
        raise QueryParameterException("nextPageToken", "damaged token")
    return sort_key, seq
