"""Trace back and trace forward over the projections: lineage, containers, custody, holders.

Lineage is what transformations record (``lot_links`` kind ``transform``: input lot -> output
lot, with the quantity used). Trace **back** from a lot follows inputs to their sources; trace
**forward** follows outputs to every lot made from it. Both are breadth-first, one SQL query per
level and relation over the whole frontier (``IN`` chunks), so the cost grows with the size of
the answer, not of the ledger.

Containers (pallets, intermodal containers: SSCCs) are not lineage. A lot's trace includes the
containers it travelled in and their events *while it was inside*, but never the other lots
that shared the container: co-travel is not ancestry. "While it was inside" is by event time
(equal times in the order the ledger got the events),
from the event that loaded it to the one that unloaded it, and nested (a pallet inside a sealed
container at the same time), so an event that reaches the ledger late (another system's export,
a carrier's batch) is placed where it happened, not where it arrived. A trace that starts at an
SSCC starts from everything the unit ever contained, and each of those with its whole history.

Corrections: an event that an EPCIS error declaration declares erroneous (an ``events`` row with
``correction`` and the same hash id) is left out everywhere: its links, its history rows and its
shipments.

The answer names lots, containers, events, parties and locations, as a graph (nodes and edges,
each edge with the event that links its ends); trace forward adds where the reached lots are now
(stock on hand per location and party) and what is still in transit.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, select

from tracefood.chain import access
from tracefood.chain.tables import events, locations, lot_events, lot_links, lots, parties, shipments, stock
from tracefood.epcis.events import format_micro
from tracefood.errors import InvalidParameter
from tracefood.ledger import db

if TYPE_CHECKING:
    from tracefood.chain.registry import Actor

DIRECTIONS = ("back", "forward")
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_LOTS = 1_000_000  # a bound on the closure itself (ids only), far above any real recall


_At = tuple[str, int]
"""A point in a lot's life: (event time, seq); equal times are ordered as the ledger got them."""


@dataclass(frozen=True)
class _Stay:
    """A reached lot inside a container: from ``since`` to ``until`` (None: still inside),
    loaded by event ``seq`` into this container (edges name it), unloaded by ``removed``."""

    lot: int
    since: _At
    until: _At | None
    seq: int
    removed: int | None


@dataclass
class _Closure:
    start: list[int]
    lots: dict[int, int] = field(default_factory=dict)  # lot id -> depth
    containers: dict[int, list[_Stay]] = field(default_factory=dict)  # container -> the reached lots' stays
    edges: list[tuple[int, int, str, int, int | None]] = field(default_factory=list)  # (from, to, kind, seq, qty)


def corrected_seqs(conn: Connection) -> frozenset[int]:
    """Seqs of events declared erroneous by an EPCIS error declaration: read once per answer,
    from the (few, indexed) correction rows."""
    fix = events.alias("fix")
    rows = conn.execute(
        select(events.c.seq)
        .select_from(fix)
        .join(events, and_(events.c.hash_id == fix.c.hash_id, events.c.correction.is_(False)))
        .where(fix.c.correction.is_(True))
    )
    return frozenset(r[0] for r in rows)


def _closure(conn: Connection, start: Any, direction: str) -> _Closure:
    corrected = corrected_seqs(conn)
    closure = _Closure([start.id])
    # a unit starts from everything it ever held (and what those held: pallets in containers)
    seeds = _contents(conn, start.id, corrected, closure) if start.kind == "sscc" else [start.id]
    for lot_id in seeds:
        closure.lots[lot_id] = 0
    _lineage(conn, seeds, direction, corrected, closure)
    _stays(conn, corrected, closure)
    return closure


def _contents(conn: Connection, unit: int, corrected: frozenset[int], closure: _Closure) -> list[int]:
    """Every lot and unit ``unit`` ever contained, nested, with itself: one query per level."""
    frontier = [unit]
    seen = {unit}
    while frontier:
        found = []
        for chunk in db.chunks(frontier):
            for r in conn.execute(
                select(lot_links.c.parent_id, lot_links.c.child_id, lot_links.c.seq, lot_links.c.quantity).where(
                    lot_links.c.kind == "contains",
                    lot_links.c.parent_id.in_(chunk),
                )
            ):
                if r.seq in corrected:
                    continue
                closure.edges.append((r.parent_id, r.child_id, "contains", r.seq, r.quantity))
                if r.child_id not in seen:
                    seen.add(r.child_id)
                    found.append(r.child_id)
        frontier = found
    return sorted(seen)


def _lineage(conn: Connection, seeds: list[int], direction: str, corrected: frozenset[int], closure: _Closure) -> None:
    """The lots transformations made from (forward) or into (back) the seeds, breadth-first:
    one query per level over the whole frontier."""
    frontier = seeds
    mine, theirs = (
        (lot_links.c.child_id, lot_links.c.parent_id)
        if direction == "back"
        else (lot_links.c.parent_id, lot_links.c.child_id)
    )
    depth = 0
    while frontier:
        depth += 1
        found = []
        for chunk in db.chunks(frontier):
            rows = conn.execute(
                select(mine.label("near"), theirs.label("far"), lot_links.c.seq, lot_links.c.quantity).where(
                    lot_links.c.kind == "transform", mine.in_(chunk)
                )
            )
            for r in rows:
                if r.seq in corrected:
                    continue
                src, dst = (r.far, r.near) if direction == "back" else (r.near, r.far)
                closure.edges.append((src, dst, "transform", r.seq, r.quantity))
                if r.far not in closure.lots:
                    closure.lots[r.far] = depth
                    found.append(r.far)
        if len(closure.lots) > MAX_LOTS:
            raise InvalidParameter("id", f"the trace reaches more than {MAX_LOTS:,} lots; narrow the query")
        frontier = found


def _stays(conn: Connection, corrected: frozenset[int], closure: _Closure) -> None:
    """The containers every reached lot travelled in, with when it was loaded and unloaded, and
    the containers those were in at the same time (a pallet inside a sealed container): one
    query per nesting level, eight levels at most."""
    windows: dict[int, list[_Stay]] = {i: [_Stay(i, ("", -1), None, 0, None)] for i in closure.lots}
    level = sorted(closure.lots)
    loaded, unloaded = events.alias("loaded"), events.alias("unloaded")
    for _ in range(8):
        parents: dict[int, list[_Stay]] = {}
        for chunk in db.chunks(level):
            for link in conn.execute(
                select(
                    lot_links.c.parent_id,
                    lot_links.c.child_id,
                    lot_links.c.seq,
                    lot_links.c.removed_seq,
                    loaded.c.event_time.label("since"),
                    unloaded.c.event_time.label("until"),
                )
                .join(loaded, loaded.c.seq == lot_links.c.seq)
                .outerjoin(unloaded, unloaded.c.seq == lot_links.c.removed_seq)
                .where(lot_links.c.kind == "contains", lot_links.c.child_id.in_(chunk))
            ):
                if link.seq not in corrected:
                    _inside(link, windows.get(link.child_id, []), closure, parents)
        windows, level = parents, sorted(parents)
        if not level:
            break


def _inside(link: Any, stays: list[_Stay], closure: _Closure, parents: dict[int, list[_Stay]]) -> None:
    """The part of each of ``stays`` (a reached lot inside the link's child) that the link held
    too: the lot was inside the link's parent then."""
    loaded_at: _At = (link.since, link.seq)
    unloaded_at: _At | None = None if link.removed_seq is None else (link.until, link.removed_seq)
    for stay in stays:
        since = max(stay.since, loaded_at)
        until = min((x for x in (stay.until, unloaded_at) if x is not None), default=None)
        if until is None or since <= until:  # the lot was inside while this link held
            inner = _Stay(stay.lot, since, until, link.seq, link.removed_seq)
            closure.containers.setdefault(link.parent_id, []).append(inner)
            parents.setdefault(link.parent_id, []).append(inner)


def trace(
    engine: Engine,
    identifier: str,
    direction: str,
    *,
    limit: int = DEFAULT_LIMIT,
    page_token: str | None = None,
    actor: Actor | None = None,
) -> dict[str, Any]:
    """Trace ``identifier`` back or forward; the answer's lists of events and lots are paged
    (``limit`` items from ``page_token``), the graph covers the page's lots. With ``actor``, only
    from a lot that actor may see (:func:`tracefood.chain.access.resolve_lot`)."""
    if direction not in DIRECTIONS:
        raise InvalidParameter("direction", "must be back or forward")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", f"must be 1 to {MAX_LIMIT}")
    offset = _offset(page_token)
    with db.read_snapshot(engine) as conn:
        start = access.resolve_lot(conn, identifier, actor)
        closure = _closure(conn, start, direction)
        return _answer(conn, start, direction, closure, limit, offset)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        value = int(data["o"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidParameter("page_token", "not a token this server gave") from None
    if value < 0:
        raise InvalidParameter("page_token", "not a token this server gave")
    return value


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).rstrip(b"=").decode()


def _answer(conn: Connection, start: Any, direction: str, closure: _Closure, limit: int, offset: int) -> dict[str, Any]:
    corrected = corrected_seqs(conn)
    lot_ids = sorted(closure.lots, key=lambda i: (closure.lots[i], i))
    container_ids = sorted(set(closure.containers) - set(closure.lots))
    every = lot_ids + container_ids
    rows = _lot_rows(conn, every)
    ordered, touched = _history(conn, lot_ids, closure, corrected)
    ships = _shipments(conn, lot_ids, corrected)
    party_ids = {r.party_id for r in ordered} | {s.from_party for s in ships} | {s.to_party for s in ships}
    location_uris = {r.location for r in ordered} | {s.from_location for s in ships} | {s.to_location for s in ships}
    holders: list[dict[str, Any]] = []
    in_transit: list[dict[str, Any]] = []
    if direction == "forward":
        holders = _holders(conn, lot_ids, rows, party_ids, location_uris)
        in_transit = [_in_transit(s, rows) for s in ships if s.status == "in_transit"]
    party_ids.discard(None)
    location_uris.discard(None)
    names = _names(conn, party_ids, location_uris)
    seq_ids = {r.seq: r.event_id for r in ordered} | {s.ship_seq: None for s in ships}
    page_lots = every[offset : offset + limit]
    page_events = ordered[offset : offset + limit]
    more = offset + limit < max(len(every), len(ordered))
    keep = set(page_lots)
    nodes = [_node(rows[i], closure, start) for i in page_lots if i in rows]
    edges = _edges(conn, closure, rows, ships, keep, seq_ids)
    return {
        "id": start.key,
        "direction": direction,
        "start": _node(start, closure, start),
        "lots": [rows[i].key for i in page_lots if rows[i].kind != "sscc"],
        "containers": [rows[i].key for i in every if rows[i].kind == "sscc"],
        "events": [r.event_id for r in page_events],
        "event_details": [_event_detail(r, rows, touched) for r in page_events],
        "parties": [{"id": p, "name": names["parties"].get(p)} for p in sorted(party_ids)],
        "locations": [{"id": loc, "name": names["locations"].get(loc)} for loc in sorted(location_uris)],
        "holders": holders,
        "in_transit": in_transit,
        "graph": {"nodes": nodes, "edges": edges},
        "counts": {
            "lots": sum(1 for i in every if rows[i].kind != "sscc"),
            "containers": sum(1 for i in every if rows[i].kind == "sscc"),
            "events": len(ordered),
        },
        "next_page_token": _token(offset + limit) if more else None,
    }


def _lot_rows(conn: Connection, ids: list[int]) -> dict[int, Any]:
    rows = {}
    for chunk in db.chunks(ids):
        for r in conn.execute(select(lots).where(lots.c.id.in_(chunk))):
            rows[r.id] = r
    return rows


def _history(
    conn: Connection, lot_ids: list[int], closure: _Closure, corrected: frozenset[int]
) -> tuple[list[Any], dict[int, set[int]]]:
    """Every event naming a reached lot, and every event of a container it was in while it was
    inside (by event time; the projections' ``content`` rows follow arrival order), in time
    order; and by event, the reached lots it touched."""
    history: dict[int, Any] = {}
    touched: dict[int, set[int]] = {}
    for r in _history_rows(conn, lot_ids, corrected):
        history.setdefault(r.seq, r)
        touched.setdefault(r.seq, set()).add(r.lot_id)
    for r in _container_rows(conn, closure, corrected):
        at = (r.event_time, r.seq)
        # an unloading of the unit at the very instant the lot was unloaded is part of it too
        unloading = r.event_type == "AggregationEvent" and r.action == "DELETE" and r.role == "parent"
        inside = {
            stay.lot
            for stay in closure.containers[r.lot_id]
            if stay.since <= at
            and (stay.until is None or at <= stay.until or (unloading and r.event_time == stay.until[0]))
        }
        if inside:
            history.setdefault(r.seq, r)
            touched.setdefault(r.seq, set()).update(inside)
    return sorted(history.values(), key=lambda r: (r.event_time, r.seq)), touched


def _shipments(conn: Connection, lot_ids: list[int], corrected: frozenset[int]) -> list[Any]:
    ships: list[Any] = []
    for chunk in db.chunks(lot_ids):
        ships.extend(
            s
            for s in conn.execute(select(shipments).where(shipments.c.lot_id.in_(chunk)))
            if s.ship_seq not in corrected
        )
    return ships


def _holders(
    conn: Connection, lot_ids: list[int], rows: dict[int, Any], party_ids: set[Any], location_uris: set[Any]
) -> list[dict[str, Any]]:
    """Stock on hand of the reached lots; adds the holders and places to ``party_ids`` and
    ``location_uris``."""
    holders: list[dict[str, Any]] = []
    for chunk in db.chunks(lot_ids):
        for s in conn.execute(select(stock).where(stock.c.lot_id.in_(chunk), stock.c.quantity > 0)):
            holders.append(
                {"lot": rows[s.lot_id].key, "party": s.party_id, "location": s.location,
                 "quantity": format_micro(s.quantity), "unit": rows[s.lot_id].uom}
            )  # fmt: skip
            party_ids.add(s.party_id)
            location_uris.add(s.location)
    return holders


def _in_transit(s: Any, rows: dict[int, Any]) -> dict[str, Any]:
    return {"lot": rows[s.lot_id].key, "from": s.from_location, "to": s.to_location,
            "from_party": s.from_party, "to_party": s.to_party, "quantity": format_micro(s.quantity),
            "unit": rows[s.lot_id].uom, "carrier": s.carrier, "reference": s.reference,
            "shipped_seq": s.ship_seq}  # fmt: skip


def _edges(
    conn: Connection,
    closure: _Closure,
    rows: dict[int, Any],
    ships: list[Any],
    keep: set[int],
    seq_ids: dict[int, str | None],
) -> list[dict[str, Any]]:
    """The graph's edges touching a lot of the page: lineage and contents, carriage, shipments."""
    edges = []
    for src, dst, kind, seq, qty in closure.edges:
        if src in keep or dst in keep:
            edges.append(
                {"from": rows[src].key, "to": rows[dst].key, "type": kind, "seq": seq,
                 "event": seq_ids.get(seq) or _event_id(conn, seq), "quantity": format_micro(qty)}
            )  # fmt: skip
    for container, stays in closure.containers.items():
        for stay in stays:
            if stay.lot in keep or container in keep:
                edges.append(
                    {"from": rows[container].key, "to": rows[stay.lot].key, "type": "carried", "seq": stay.seq,
                     "event": seq_ids.get(stay.seq) or _event_id(conn, stay.seq), "removed_seq": stay.removed}
                )  # fmt: skip
    for s in ships:
        if s.lot_id in keep:
            edges.append(
                {"from": rows[s.lot_id].key, "to": s.to_party or s.to_location, "type": "shipment",
                 "seq": s.ship_seq, "event": seq_ids.get(s.ship_seq) or _event_id(conn, s.ship_seq),
                 "quantity": format_micro(s.quantity), "status": s.status}
            )  # fmt: skip
    return edges


def _event_detail(r: Any, rows: dict[int, Any], touched: dict[int, set[int]]) -> dict[str, Any]:
    return {
        "seq": r.seq,
        "id": r.event_id,
        "time": r.event_time,
        "kind": r.kind or (r.biz_step or r.event_type),
        "party": r.party_id,
        "location": r.location,
        "lots": sorted(rows[i].key for i in touched[r.seq]),
    }


_HISTORY = (lot_events, events.c.event_id, events.c.biz_step, events.c.kind, events.c.event_type, events.c.action)


def _history_rows(conn: Connection, ids: Sequence[int], corrected: frozenset[int]) -> Iterable[Any]:
    """The events naming these lots (not the projections' ``content`` rows), with declared
    events left out."""
    for chunk in db.chunks(ids):
        rows = conn.execute(
            select(*_HISTORY)
            .join(events, events.c.seq == lot_events.c.seq)
            .where(lot_events.c.lot_id.in_(chunk), lot_events.c.role != "content")
        ).all()
        yield from (r for r in rows if r.seq not in corrected)


def _container_rows(conn: Connection, closure: _Closure, corrected: frozenset[int]) -> Iterable[Any]:
    """The events of each container between the first loading and the last unloading of a
    reached lot (index ``lot_events (lot_id, event_time)``): a pallet reused for years costs the
    trips that matter, not its whole life."""
    for container, stays in sorted(closure.containers.items()):
        since = min(stay.since[0] for stay in stays)
        ends = [stay.until[0] for stay in stays if stay.until is not None]
        until = max(ends) if len(ends) == len(stays) else None
        stmt = (
            select(*_HISTORY)
            .join(events, events.c.seq == lot_events.c.seq)
            .where(lot_events.c.lot_id == container, lot_events.c.role != "content", lot_events.c.event_time >= since)
        )
        if until is not None:
            stmt = stmt.where(lot_events.c.event_time <= until)
        yield from (r for r in conn.execute(stmt).all() if r.seq not in corrected)


def _node(row: Any, closure: _Closure, start: Any) -> dict[str, Any]:
    return {
        "id": row.key,
        "type": "container" if row.kind == "sscc" else "lot",
        "kind": row.kind,
        "gtin": row.gtin,
        "lot": row.lot_code,
        "product": row.product_id,
        "status": row.status,
        "party": row.party_id,
        "depth": closure.lots.get(row.id),
        "start": row.id == start.id,
    }


def _event_id(conn: Connection, seq: int) -> str | None:
    value = conn.execute(select(events.c.event_id).where(events.c.seq == seq)).scalar()
    return None if value is None else str(value)


def _names(conn: Connection, party_ids: set[str], uris: set[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {"parties": {}, "locations": {}}
    ids, places = sorted(party_ids), sorted(uris)
    for chunk in db.chunks(ids):
        found = conn.execute(select(parties.c.id, parties.c.name).where(parties.c.id.in_(chunk)))
        out["parties"].update({r[0]: r[1] for r in found})
    for chunk in db.chunks(places):
        found = conn.execute(select(locations.c.uri, locations.c.name).where(locations.c.uri.in_(chunk)))
        out["locations"].update({r[0]: r[1] for r in found})
    return out
