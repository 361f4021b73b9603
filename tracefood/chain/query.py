"""The EPCIS 2.0 query interface: ``SimpleEventQuery`` parameters, as the GS1 REST binding's
``GET /events`` takes them, answered from the projections.

Every filter is SQL on the ``events``, ``lot_events`` and ``lots`` projections, and pages are
cut by keyset (sort key, then ledger sequence number), never by OFFSET: the cost of a page
grows with the page, not with the ledger. The events themselves come out exactly as
:func:`tracefood.chain.export.export_document` exports them (``recordTime`` is the time the
ledger recorded the event).

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

Which role of an object in an event each ``MATCH_`` parameter looks at (EPCIS 2.0 section
8.2.7.1; ``lot_events.role`` says which list of the event named the object, but not whether an
``epc`` or ``child`` came from the EPC list or the quantity list, so the identifier's own level
decides: a GS1 class id, GTIN + lot or GTIN alone, can only be in a quantity list; an SGTIN or
SSCC only in an EPC list; other ids, private ones included, are matched on the role alone):

=======================  ==================================  ==============================
parameter                event fields (EPCIS 2.0)            ``lot_events.role``, id level
=======================  ==================================  ==============================
``MATCH_epc``            epcList, childEPCs                  epc, child; instance
``MATCH_parentID``       parentID                            parent; instance
``MATCH_inputEPC``       inputEPCList                        input; instance
``MATCH_outputEPC``      outputEPCList                       output; instance
``MATCH_anyEPC``         all five above                      epc, child, input, output,
                                                             parent; instance
``MATCH_epcClass``       quantityList, childQuantityList     epc, child; class
``MATCH_inputEPCClass``  inputQuantityList                   input; class
``MATCH_outputEPCClass`` outputQuantityList                  output; class
``MATCH_anyEPCClass``    all four quantity lists             epc, child, input, output;
                                                             class
=======================  ==================================  ==============================

The ``content`` role (a lot inside a pallet an event names) is never matched: the event does
not name it. A GTIN-level value
(``urn:epc:idpat:sgtin:CP.IR.*`` or ``https://id.gs1.org/01/{gtin}``) is a pattern: it matches
every serialised item of that GTIN (instance parameters) or every lot of it and the GTIN class
itself (class parameters). An error declaration matches what the event it declares erroneous
matches (it repeats that event, and has no ``lot_events`` rows of its own).

Who sees what: inspectors, recall officers and admins query every event. Producers and
carriers see the events they recorded, and the events that name (or carry inside a pallet or
container) a lot they may see by :mod:`tracefood.chain.access` (produced it, held it, shipped,
received or are receiving it, or carried it). An event outside that is answered as unknown
(404), not forbidden.

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
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, Engine, Select, and_, false, or_, select, union_all

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.export import EPCIS_CONTEXT, export_document
from tracefood.chain.registry import Actor
from tracefood.chain.tables import events, lot_events, lots
from tracefood.epcis import cbv
from tracefood.epcis.canonical_ids import canonical_gs1_uri
from tracefood.epcis.identifiers import Ident, opaque_ident, parse_id
from tracefood.errors import IdentifierError, NoSuchNameException, QueryParameterException, UnsupportedIdentifier
from tracefood.ledger import db

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


# -- the binding's problem types -----------------------------------------------------------------


# -- the parsed query ----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Page:
    document: dict[str, Any]
    next_token: str | None


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


# -- running it ----------------------------------------------------------------------------------


def _named(roles: tuple[str, ...] | None, lot_ids: Select[Any]) -> Select[Any]:
    """Sequence numbers of the events naming one of ``lot_ids`` in one of ``roles`` (any role:
    None). Integers, so the database can hash or join them cheaply."""
    named = select(lot_events.c.seq).where(lot_events.c.lot_id.in_(lot_ids))
    return named if roles is None else named.where(lot_events.c.role.in_(roles))


def _corrections(seqs: Select[Any]) -> Select[Any]:
    """Sequence numbers of the error declarations of the events ``seqs`` (the same event hash;
    an error declaration has no lot rows of its own, so it is found through its event)."""
    original, correction = events.alias("original"), events.alias("correction")
    return (
        select(correction.c.seq)
        .select_from(original.join(correction, correction.c.hash_id == original.c.hash_id))
        .where(original.c.seq.in_(seqs), original.c.correction.is_(False), correction.c.correction.is_(True))
    )


def _match_condition(match: Match) -> ColumnElement[bool]:
    which: list[ColumnElement[bool]] = []
    if match.keys:
        which.append(lots.c.key.in_(match.keys))
    if match.gtins:
        which.append(and_(lots.c.gtin.in_(match.gtins), lots.c.kind.in_(match.pattern_kinds)))
    if not which:
        return false()  # only ids of the other level: they are never in these lists
    named = _named(match.roles, select(lots.c.id).where(or_(*which)))
    return events.c.seq.in_(select(union_all(named, _corrections(named)).subquery().c.seq))


def visibility(actor: Actor) -> ColumnElement[bool] | None:
    """What ``actor`` may see (None: everything): the events it recorded, and those naming a lot
    it may see (:func:`tracefood.chain.access.lots_seen_by`) and their error declarations."""
    if access.reads_every_lot(actor):
        return None
    party = actor.party_id
    if party is None:
        return false()
    named = _named(None, access.lots_seen_by(party))
    # an OR of hashed lookups: the correction arm's table is built only if a correction is met
    return or_(
        events.c.party_id == party,
        events.c.seq.in_(named),
        and_(events.c.correction.is_(True), events.c.seq.in_(_corrections(named))),
    )


def _conditions(query: Query) -> list[ColumnElement[bool]]:
    c = events.c
    out: list[ColumnElement[bool]] = []
    for column, values in (
        (c.event_type, query.event_types),
        (c.action, query.actions),
        (c.biz_step, query.biz_steps),
        (c.disposition, query.dispositions),
        (c.biz_location, query.biz_locations),
        (c.read_point, query.read_points),
    ):
        if values:
            out.append(column.in_(values))
    for column, (low, high) in ((c.event_time, query.event_time), (c.recorded, query.record_time)):
        if low is not None:
            out.append(column >= low)
        if high is not None:
            out.append(column < high)
    if query.event_ids:
        out.append(_event_id_condition(query.event_ids))
    out.extend(_match_condition(m) for m in query.matches)
    return out


def _event_id_condition(ids: Iterable[str]) -> ColumnElement[bool]:
    """Events whose eventID is one of ``ids``. An error declaration repeats the eventID of the
    event it corrects; its row is keyed ``<eventID>#correction``."""
    wanted = sorted(set(ids))
    return or_(
        and_(events.c.event_id.in_(wanted), events.c.correction.is_(False)),
        events.c.event_id.in_([i + "#correction" for i in wanted]),
    )


def run_query(engine: Engine, query: Query, actor: Actor) -> Page:
    """One page of the query's answer as an EPCISQueryDocument, and the next page's token."""
    sort = {"eventTime": events.c.event_time, "recordTime": events.c.recorded}.get(query.order_by or "")
    conditions = _conditions(query)
    seen = visibility(actor)
    if seen is not None:
        conditions.append(seen)
    if query.after is not None:
        key, seq = query.after
        after = events.c.seq < seq if query.descending else events.c.seq > seq
        if sort is not None:
            # `sort >= key` alone is what an index on the sort column can seek on
            if query.descending:
                after = and_(sort <= key, or_(sort < key, after))
            else:
                after = and_(sort >= key, or_(sort > key, after))
        conditions.append(after)
    order = [events.c.seq] if sort is None else [sort, events.c.seq]
    stmt = (
        select(*order)
        .where(*conditions)
        .order_by(*(col.desc() if query.descending else col.asc() for col in order))
        .limit(query.per_page + 1)
    )
    with db.read_snapshot(engine, single_statement=True) as conn:
        rows = [(int(r[-1]), r[0] if sort is not None else None) for r in conn.execute(stmt)]
    more = len(rows) > query.per_page
    rows = rows[: query.per_page]
    token = None
    if more:
        last_seq, last_key = rows[-1]
        token = page_token(query, str(last_key) if sort is not None else None, last_seq)
    return Page(_document(engine, [seq for seq, _ in rows]), token)


def event_document(engine: Engine, event_id: str, actor: Actor) -> dict[str, Any]:
    """``GET /events/{eventID}``: the event and any error declaration of it. The event's CBV
    2.0 hash ID finds it too, whatever eventID it was captured with."""
    condition = or_(_event_id_condition([event_id]), events.c.hash_id == event_id)
    seen = visibility(actor)
    stmt = select(events.c.seq).where(condition, *([] if seen is None else [seen])).order_by(events.c.seq)
    with db.read_snapshot(engine, single_statement=True) as conn:
        seqs = [int(s) for s in conn.execute(stmt.limit(100)).scalars()]
    if not seqs:
        raise NoSuchNameException(
            f"no event {event_id[:200]!r}", errors=[{"field": "eventID", "reason": f"unknown: {event_id[:200]}"}]
        )
    return _document(engine, seqs)


def _document(engine: Engine, seqs: list[int]) -> dict[str, Any]:
    """The events as :func:`export_document` gives them, in the order of ``seqs``."""
    context: list[Any] = [EPCIS_CONTEXT]
    event_list: list[dict[str, Any]] = []
    if seqs:
        exported = export_document(engine, seqs)  # ledger order
        by_seq = dict(zip(sorted(seqs), exported["epcisBody"]["eventList"], strict=True))
        context, event_list = exported["@context"], [by_seq[s] for s in seqs]
    return {
        "@context": context,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": utc.text(utc.now(), "us"),
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": event_list}}},
    }


def known_keys(engine: Engine) -> Callable[[str], bool]:
    """``parse_query``'s ``known``: whether the ledger has an object with this key."""

    def known(key: str) -> bool:
        with engine.connect() as conn:
            return conn.execute(select(lots.c.id).where(lots.c.key == key)).first() is not None

    return known
