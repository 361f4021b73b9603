"""The EPCIS 2.0 query interface: ``SimpleEventQuery`` parameters, as the GS1 REST binding's
``GET /events`` takes them, answered from the projections.

Every filter is SQL on the ``events``, ``lot_events`` and ``lots`` projections, and pages are
cut by keyset (sort key, then ledger sequence number), never by OFFSET: the cost of a page
grows with the page, not with the ledger. The events themselves come out exactly as
:func:`tracefood.chain.export.export_document` exports them (``recordTime`` is the time the
ledger recorded the event).

The parameters are read by :mod:`~tracefood.chain.query_params` (described there), and the
filters and who sees what are SQL built by :mod:`~tracefood.chain.query_sql`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.export import EPCIS_CONTEXT, export_document
from tracefood.chain.query_params import Query, page_token
from tracefood.chain.query_sql import event_id_condition, query_conditions, visibility
from tracefood.chain.registry import Actor
from tracefood.chain.tables import events, lots
from tracefood.errors import NoSuchNameException
from tracefood.ledger import db


@dataclass(frozen=True)
class Page:
    document: dict[str, Any]
    next_token: str | None


def run_query(engine: Engine, query: Query, actor: Actor) -> Page:
    """One page of the query's answer as an EPCISQueryDocument, and the next page's token."""
    sort = {"eventTime": events.c.event_time, "recordTime": events.c.recorded}.get(query.order_by or "")
    conditions = query_conditions(query)
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
    condition = or_(event_id_condition([event_id]), events.c.hash_id == event_id)
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


def known_keys(engine: Engine, actor: Actor | None = None) -> Callable[[str], bool]:
    """``parse_query``'s ``known``: whether the ledger has an object with this key (that ``actor``
    may see, when given: a lot it may not see is answered as unknown, no existence oracle)."""

    def known(key: str) -> bool:
        with engine.connect() as conn:
            row = conn.execute(select(lots).where(lots.c.key == key)).first()
            return row is not None and (actor is None or access.may_see_lot(conn, actor, row))

    return known
