"""Lots, stock, lot links, custody history and shipments, kept in step with the ledger.

:class:`State` loads the projection rows a batch of events touches, applies the events one by
one in memory (checking each against what the ledger already knows: on-hand quantities, time
travel, what was shipped to whom), and writes the changes back with a few ``executemany``
statements, all inside the append transaction. An event that contradicts the state is a
:class:`~tracefood.epcis.events.EventError` naming the field; the batch then rolls back.

``strict`` is the readable API (the registry's own participants: every lot must be known and on
hand, every receipt must match a shipment to that location). Without it (EPCIS capture from
other systems), objects the ledger has never seen are first sightings and are accepted; only
events that contradict what the ledger knows are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, literal, or_, select, union_all, update

from tracefood.chain.tables import events, lot_events, lot_links, lots, shipments, stock, stock_moves
from tracefood.epcis.events import EventError, Facts, Obj, format_micro
from tracefood.ledger import db

IN_TRANSIT = "in_transit"
RECEIVED = "received"
CORRECTED = "corrected"
"""A shipment whose shipping event was declared erroneous."""
HOLDING = ("recalled", "non_conformant", "damaged", "expired")
"""Dispositions that put a lot on hold (status ``on_hold``; ``recalled`` gives ``recalled``)."""


@dataclass
class LotState:
    id: int
    key: str
    kind: str
    gtin: str | None
    lot_code: str | None
    product_id: str | None
    uom: str | None
    status: str
    first_seq: int
    first_time: str
    tlc_source: str | None
    party_id: str | None
    new: bool = False
    dirty: bool = False


@dataclass
class ShipState:
    id: int
    ship_seq: int
    lot_id: int
    quantity: int | None
    from_location: str | None
    to_location: str | None
    from_party: str | None
    to_party: str | None
    carrier: str | None
    reference: str | None
    status: str
    received_seq: int | None = None
    new: bool = False
    dirty: bool = False


@dataclass
class LinkState:
    id: int
    kind: str
    parent_id: int
    child_id: int
    seq: int
    quantity: int | None
    removed_seq: int | None = None
    new: bool = False
    dirty: bool = False


@dataclass
class EventContext:
    """Who records the event and what the registry says about the places involved."""

    seq: int
    party_id: str | None
    strict: bool
    location_party: dict[str, str] = field(default_factory=dict)
    """location key -> operating party, for registered locations."""
    product_of_gtin: dict[str, str] = field(default_factory=dict)
    carrier_role: bool = False
    inspector: bool = False
    check_access: bool = True
    """False when replaying the ledger (the events were checked when recorded)."""
    lenient: bool = False
    """An event of a lenient import: taking more than is on hand takes what there is."""
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    """(pointer, value, reason) for what a lenient event was allowed to do."""
    hash_id: str | None = None
    """The event's hash ID: an error declaration undoes the event with the same one."""
    declared: bool = False
    """The ledger already holds an error declaration of this event: it changes nothing."""


class State:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lots: dict[str, LotState] = {}
        self.by_id: dict[int, LotState] = {}
        self.stock: dict[tuple[int, str], list[Any]] = {}  # (lot, location) -> [qty, party, existed, dirty]
        self.ships: dict[int, list[ShipState]] = {}  # lot id -> in-transit shipments
        self.contents: dict[int, list[LinkState]] = {}  # parent id -> active "contains" links
        self.new_links: list[LinkState] = []
        self.history: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []
        self._next: dict[str, int] = {}
        self._applied: dict[str, int] = {}  # hash id -> seq, for the events applied in this batch
        self._times: dict[int, str] = {}  # seq -> event time, for the events applied or looked up
        self._declared: set[str] = set()  # hash ids declared erroneous in this batch before they came
        self.moves: dict[tuple[int, int, str], int] = {}  # (seq, lot, location) -> stock change
        self._holds: dict[int, set[str]] = {}  # lot -> holding dispositions applied in this batch
        self._seq = 0

    # -- loading ------------------------------------------------------------------------------

    def load(self, keys: Iterable[str]) -> None:
        """Read the rows for these object keys (and, transitively, container contents)."""
        wanted = sorted(set(keys) - set(self.lots))
        while wanted:
            found: list[LotState] = []
            for start in range(0, len(wanted), 500):
                rows = self.conn.execute(select(lots).where(lots.c.key.in_(wanted[start : start + 500])))
                found.extend(LotState(**r._mapping) for r in rows)
            ids = self._remember(found)
            wanted = self._load_related(ids)

    def _remember(self, found: list[LotState]) -> list[int]:
        for lot in found:
            self.lots[lot.key] = lot
            self.by_id[lot.id] = lot
        return [lot.id for lot in found]

    def _load_related(self, ids: list[int]) -> list[str]:
        """Stock, in-transit shipments and contents of these lots; returns unseen content keys."""
        child_ids: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for r in self.conn.execute(select(stock).where(stock.c.lot_id.in_(chunk))):
                self.stock[(r.lot_id, r.location)] = [r.quantity, r.party_id, True, False]
            for r in self.conn.execute(
                select(shipments).where(shipments.c.lot_id.in_(chunk), shipments.c.status == IN_TRANSIT)
            ):
                self.ships.setdefault(r.lot_id, []).append(ShipState(**r._mapping))
            for r in self.conn.execute(
                select(lot_links).where(
                    lot_links.c.parent_id.in_(chunk), lot_links.c.kind == "contains", lot_links.c.removed_seq.is_(None)
                )
            ):
                self.contents.setdefault(r.parent_id, []).append(LinkState(**r._mapping))
                child_ids.add(r.child_id)
        unseen = sorted(child_ids - set(self.by_id))
        keys: list[str] = []
        for start in range(0, len(unseen), 500):
            keys.extend(
                r.key for r in self.conn.execute(select(lots.c.key).where(lots.c.id.in_(unseen[start : start + 500])))
            )
        return keys

    # -- helpers ------------------------------------------------------------------------------

    def _new_id(self, table: str) -> int:
        """The next id of a projection table. Ids are allocated under the ledger's write lock,
        so max + 1 is safe; the three maxima are read once, when the first id is needed."""
        if not self._next:
            # Plain "SELECT max(id) FROM t" arms: SQLite answers those from the end of the
            # primary key, but not a max() wrapped in coalesce() or a scalar subquery.
            names = ("lots", "lot_links", "shipments")
            arms = [
                select(literal(n).label("t"), func.max(c).label("m"))
                for n, c in zip(names, (lots.c.id, lot_links.c.id, shipments.c.id), strict=True)
            ]
            for name, top in self.conn.execute(union_all(*arms)):
                self._next[name] = int(top or 0) + 1
        value = self._next[table]
        self._next[table] += 1
        return value

    def lot(self, obj: Obj, facts: Facts, ctx: EventContext, *, create: bool) -> LotState | None:
        found = self.lots.get(obj.ident.key)
        if found is not None or not create:
            return found
        ident = obj.ident
        lot = LotState(
            id=self._new_id("lots"),
            key=ident.key,
            kind=ident.kind,
            gtin=ident.gtin,
            lot_code=ident.lot,
            product_id=ctx.product_of_gtin.get(ident.gtin or "") or _private_product(ident.key),
            uom=obj.uom,
            status="active",
            first_seq=ctx.seq,
            first_time=facts.time,
            tlc_source=None,
            party_id=ctx.party_id,
            new=True,
        )
        self.lots[lot.key] = lot
        self.by_id[lot.id] = lot
        return lot

    def on_hand(self, lot: LotState, location: str) -> int | None:
        entry = self.stock.get((lot.id, location))
        return None if entry is None else int(entry[0])

    def _move(self, lot: LotState, location: str, delta: int) -> None:
        key = (self._seq, lot.id, location)
        self.moves[key] = self.moves.get(key, 0) + delta

    def add_stock(self, lot: LotState, location: str, qty: int, party: str | None) -> None:
        entry = self.stock.setdefault((lot.id, location), [0, party, False, True])
        entry[0] += qty
        self._move(lot, location, qty)
        if party is not None:
            entry[1] = party
        entry[3] = True

    def take_stock(self, lot: LotState, location: str | None, obj: Obj, ctx: EventContext, what: str) -> None:
        """Remove ``obj.quantity`` of ``lot`` from ``location``, refusing more than is on hand."""
        if obj.quantity is None or location is None:
            return
        have = self.on_hand(lot, location)
        if have is None:
            if ctx.strict or any(loc == location for (lid, loc) in self.stock if lid == lot.id):
                raise EventError(obj.pointer, f"{lot.key} is not on hand at {location}: nothing to {what}")
            return  # first sighting at this location (capture from another system)
        if ctx.check_access and ctx.party_id is not None:
            holder = self.stock[(lot.id, location)][1]
            if holder is not None and holder != ctx.party_id:
                raise EventError(obj.pointer, f"{lot.key} at {location} is held by {holder}, not by you")
        wanted = obj.quantity
        if wanted > have and ctx.lenient:
            unit = f" {lot.uom}" if lot.uom else ""
            reason = f"more than the {format_micro(have)}{unit} on hand at {location}: all of it taken"
            ctx.notes.append((obj.pointer + "/quantity", format_micro(wanted) or "", reason))
            wanted = have
        if wanted > have:
            raise EventError(
                obj.pointer + "/quantity",
                f"cannot {what} {format_micro(wanted)}: only {format_micro(have)} "
                f"{lot.uom or ''} of {lot.key} on hand at {location}".replace("  ", " "),
            )
        self.stock[(lot.id, location)][0] = have - wanted
        self._move(lot, location, -wanted)
        self.stock[(lot.id, location)][3] = True

    def record(self, lot: LotState, role: str, facts: Facts, ctx: EventContext, quantity: int | None) -> None:
        self.history.append(
            {
                "lot_id": lot.id,
                "seq": ctx.seq,
                "role": role,
                "event_time": facts.time,
                "location": facts.where or facts.source_location,
                "party_id": ctx.party_id,
                "quantity": quantity,
            }
        )

    def active_contents(self, lot: LotState) -> list[LinkState]:
        return [link for link in self.contents.get(lot.id, []) if link.removed_seq is None]

    # -- applying one event -------------------------------------------------------------------

    def apply(self, facts: Facts, ctx: EventContext) -> None:
        """Check one event against the state and apply it (raises EventError)."""
        self._check_locations(facts, ctx)
        self._seq = ctx.seq
        if facts.correction:
            self._undo(facts, ctx)
            return
        if ctx.declared or ctx.hash_id in self._declared:
            return  # declared erroneous before it reached the ledger: recorded, changes nothing
        if ctx.hash_id is not None:
            self._applied[ctx.hash_id] = ctx.seq
        self._times[ctx.seq] = facts.time
        creates = (
            facts.event_type == "ObjectEvent" and facts.action == "ADD"
        ) or facts.event_type == "TransformationEvent"
        touched: list[tuple[Obj, LotState]] = []
        for obj in facts.objects:
            create = (creates and obj.role in ("epc", "output")) or obj.role in ("parent", "child") or not ctx.strict
            if facts.event_type == "AggregationEvent" and facts.action == "DELETE" and ctx.strict:
                create = False
            lot = self.lot(obj, facts, ctx, create=create)
            if lot is None:
                raise EventError(obj.pointer, f"unknown lot {obj.ident.key}: record its harvest or receipt first")
            if lot.uom is None and obj.uom:
                lot.uom, lot.dirty = obj.uom, True
            if not lot.new or lot.first_seq != ctx.seq:
                if facts.time < lot.first_time:
                    raise EventError(
                        "/eventTime", f"{facts.time} is before {lot.key} existed (first recorded at {lot.first_time})"
                    )
                if lot.status == "destroyed" and facts.action != "DELETE":
                    raise EventError(obj.pointer, f"{lot.key} was destroyed")
            touched.append((obj, lot))
        step = facts.biz_step
        unpacked = self._unpacked(facts, touched)
        if facts.event_type == "TransformationEvent":
            self._transform(facts, ctx, touched)
        elif facts.event_type == "AggregationEvent":
            self._aggregate(facts, ctx, touched)
        elif facts.event_type == "ObjectEvent" and facts.action == "ADD":
            for obj, lot in touched:
                if facts.where and obj.quantity is not None:
                    self.add_stock(lot, facts.where, obj.quantity, ctx.party_id)
                if lot.new and lot.tlc_source is None and step == "commissioning":
                    lot.tlc_source = facts.where
        elif facts.event_type == "ObjectEvent" and facts.action == "DELETE":
            for obj, lot in touched:
                self.take_stock(lot, facts.where, obj, ctx, "destroy")
                if obj.quantity is None or not any(q[0] for (lid, _), q in self.stock.items() if lid == lot.id):
                    lot.status, lot.dirty = "destroyed", True
        elif step == "shipping":
            self._ship(facts, ctx, touched)
        elif step == "receiving":
            self._receive(facts, ctx, touched)
        elif step in ("departing", "arriving", "transporting") and (ctx.strict or ctx.carrier_role):
            for obj, lot in touched:
                moving = self.ships.get(lot.id, [])
                if not any(s.status == IN_TRANSIT for s in moving):
                    raise EventError(obj.pointer, f"{lot.key} is not in transit: record its shipment first")
                if ctx.carrier_role and not any(s.carrier == ctx.party_id for s in moving):
                    raise EventError(obj.pointer, f"{lot.key} is not in your custody")
        if facts.disposition in HOLDING and facts.action != "DELETE":
            for _, lot in touched:
                self._holds.setdefault(lot.id, set()).add(facts.disposition)
                status = "recalled" if facts.disposition == "recalled" else "on_hold"
                if lot.status != status:
                    lot.status, lot.dirty = status, True
        for obj, lot in touched:
            self.record(lot, obj.role, facts, ctx, obj.quantity)
            if facts.event_type == "ObjectEvent":
                # what travels inside a pallet or container shares its history while inside
                for inner, qty in self._moving(lot, None)[1:]:
                    self.record(inner, "content", facts, ctx, qty)
        if facts.event_type == "AggregationEvent":
            # a unit loaded into or unloaded from another takes its contents along: they share
            # the event (a lot on a pallet put into a container); an unpacking that names no
            # children unloads every one of them
            named = {lot.id for _, lot in touched}
            for child, qty in unpacked:
                if child.id not in named:
                    self.record(child, "child", facts, ctx, qty)
            moved = [lot for o, lot in touched if o.role == "child"] + [c for c, _ in unpacked if c.id not in named]
            for child in moved:
                for inner, qty in self._moving(child, None)[1:]:
                    self.record(inner, "content", facts, ctx, qty)

    # -- error declarations -------------------------------------------------------------------

    def _undo(self, facts: Facts, ctx: EventContext) -> None:
        """An EPCIS error declaration: undo what the declared event did. Its stock moves are
        reversed (stock that has moved on since is taken back as far as it is still there,
        never below zero), its shipments marked corrected (a shipment) or back in transit (a
        receipt), its loadings and unloadings reversed, and a destroyed lot given back the
        status its other events give it. Lineage needs no undoing: every reader leaves
        declared events out. What later events did with the goods is theirs to declare."""
        original = self._original(ctx.hash_id)
        if original is None:
            if ctx.hash_id is not None:
                self._declared.add(ctx.hash_id)  # the event, if it comes later, changes nothing
            return
        for lot, location, delta in self._moves_of(original):
            if delta > 0:
                self._take_back(lot, location, delta)
            elif delta < 0:
                self.add_stock(lot, location, -delta, None)
        step = facts.biz_step
        if facts.event_type == "AggregationEvent":
            for obj in facts.objects:
                parent = self.lots.get(obj.ident.key) if obj.role == "parent" else None
                if parent is not None and facts.action == "ADD":
                    for link in self.active_contents(parent):
                        if link.seq == original:
                            link.removed_seq, link.dirty = ctx.seq, True
                elif parent is not None and facts.action == "DELETE":
                    self._reopen(parent, original)
        elif facts.event_type == "ObjectEvent" and facts.action == "DELETE":
            for obj in facts.objects:
                gone = self.lots.get(obj.ident.key)
                if gone is not None and gone.status == "destroyed":
                    gone.status, gone.dirty = self._status_without(gone, original), True
        elif step in ("shipping", "receiving"):
            for ship in self._shipments_of(original, step):
                if step == "shipping":
                    if ship.status == RECEIVED and ship.to_location and ship.quantity is not None:
                        self._take_back(self.by_id[ship.lot_id], ship.to_location, ship.quantity)
                    ship.status, ship.dirty = CORRECTED, True
                else:
                    ship.status, ship.received_seq, ship.dirty = IN_TRANSIT, None, True

    def _moves_of(self, seq: int) -> list[tuple[LotState, str, int]]:
        """The stock moves of one event (this batch's or stored), with their lots loaded."""
        found = {(lid, loc): d for (s, lid, loc), d in self.moves.items() if s == seq}
        for r in self.conn.execute(select(stock_moves).where(stock_moves.c.seq == seq)):
            found.setdefault((r.lot_id, r.location), r.delta)
        self._load_ids(sorted({lid for lid, _ in found}))
        return [(self.by_id[lid], loc, d) for (lid, loc), d in sorted(found.items())]

    def _load_ids(self, ids: list[int]) -> None:
        missing = [i for i in ids if i not in self.by_id]
        if missing:
            self.load(r.key for r in self.conn.execute(select(lots.c.key).where(lots.c.id.in_(missing))))

    def _status_without(self, lot: LotState, destroyed: int) -> str:
        """A destroyed lot's status once its destruction is undone: recalled or on hold if an
        event (not declared erroneous, not the destruction) said so, else active."""
        fix = events.alias("fix")
        rows = self.conn.execute(
            select(events.c.disposition)
            .join(lot_events, lot_events.c.seq == events.c.seq)
            .outerjoin(fix, and_(fix.c.hash_id == events.c.hash_id, fix.c.correction.is_(True)))
            .where(
                lot_events.c.lot_id == lot.id,
                events.c.seq != destroyed,
                events.c.correction.is_(False),
                fix.c.seq.is_(None),
                or_(events.c.action.is_(None), events.c.action != "DELETE"),
                events.c.disposition.in_(HOLDING),
            )
        )
        found = {r[0] for r in rows} | self._holds.get(lot.id, set())
        return "recalled" if "recalled" in found else "on_hold" if found else "active"

    def _original(self, hash_id: str | None) -> int | None:
        if hash_id is None:
            return None
        if hash_id in self._applied:
            return self._applied[hash_id]
        found = self.conn.execute(
            select(events.c.seq).where(events.c.hash_id == hash_id, events.c.correction.is_(False))
        ).first()
        return None if found is None else int(found[0])

    def _take_back(self, lot: LotState, location: str, qty: int) -> None:
        entry = self.stock.get((lot.id, location))
        if entry is not None:
            taken = min(qty, max(0, int(entry[0])))
            entry[0], entry[3] = int(entry[0]) - taken, True
            self._move(lot, location, -taken)

    def _shipments_of(self, seq: int, step: str) -> list[ShipState]:
        """The shipments a shipping (by ship_seq) or receiving (by received_seq) event made or
        closed (a pallet's contents included, whatever it holds now), from memory or the
        database (then kept for the flush), with their lots loaded."""
        column = shipments.c.ship_seq if step == "shipping" else shipments.c.received_seq
        out = {
            s.id: s
            for ships in self.ships.values()
            for s in ships
            if (s.ship_seq if step == "shipping" else s.received_seq) == seq
        }
        rows = [r for r in self.conn.execute(select(shipments).where(column == seq)) if r.id not in out]
        self._load_ids(sorted({r.lot_id for r in rows}))
        wanted = {r.id for r in rows}  # loading reads the in-transit ones
        out.update((s.id, s) for ships in self.ships.values() for s in ships if s.id in wanted)
        for r in rows:
            if r.id not in out:
                ship = ShipState(**r._mapping)
                self.ships.setdefault(ship.lot_id, []).append(ship)
                out[ship.id] = ship
        return [s for s in out.values() if s.status != CORRECTED]

    def _reopen(self, parent: LotState, seq: int) -> None:
        """Links an undone unpacking closed are open again."""
        for link in self.contents.get(parent.id, []):
            if link.removed_seq == seq:
                link.removed_seq, link.dirty = None, True
        known = {link.id for link in self.contents.get(parent.id, [])}
        for r in self.conn.execute(
            select(lot_links).where(lot_links.c.parent_id == parent.id, lot_links.c.removed_seq == seq)
        ):
            if r.id not in known:
                link = LinkState(**{**r._mapping, "removed_seq": None})
                link.dirty = True
                self.contents.setdefault(parent.id, []).append(link)

    def _unpacked(self, facts: Facts, touched: list[tuple[Obj, LotState]]) -> list[tuple[LotState, int | None]]:
        """The units an AggregationEvent DELETE takes out of its parent (before it does)."""
        if facts.event_type != "AggregationEvent" or facts.action != "DELETE":
            return []
        parent = next((lot for o, lot in touched if o.role == "parent"), None)
        if parent is None:
            return []
        named = {lot.id for o, lot in touched if o.role == "child"}
        return [
            (self.by_id[link.child_id], link.quantity)
            for link in self._loaded_by(self.active_contents(parent), facts.time)
            if (not named or link.child_id in named) and link.child_id in self.by_id
        ]

    def _check_locations(self, facts: Facts, ctx: EventContext) -> None:
        if ctx.party_id is None or ctx.carrier_role or ctx.inspector or not ctx.check_access:
            return  # carriers and inspectors act at places others operate
        places = (
            ("/bizLocation/id", facts.biz_location),
            ("/readPoint/id", facts.read_point),
            # a shipment takes its stock from its source location
            ("/sourceList", facts.source_location if facts.biz_step == "shipping" else None),
        )
        for name, key in places:
            operator = ctx.location_party.get(key or "")
            if key and operator is None and ctx.strict and name != "/sourceList":
                raise EventError(name, f"unknown location {key}")
            if operator is not None and operator != ctx.party_id:
                port = facts.biz_step in ("departing", "arriving")
                if not port:
                    raise EventError(name, f"{key} is operated by {operator}, not by {ctx.party_id}")

    def _transform(self, facts: Facts, ctx: EventContext, touched: list[tuple[Obj, LotState]]) -> None:
        inputs = [(o, lot) for o, lot in touched if o.role == "input"]
        outputs = [(o, lot) for o, lot in touched if o.role == "output"]
        for obj, lot in inputs:
            self.take_stock(lot, facts.where, obj, ctx, "transform")
        for obj, lot in outputs:
            if ctx.strict and not lot.new:
                raise EventError(obj.pointer, f"{lot.key} already exists: an output must be a new lot code")
            if facts.where and obj.quantity is not None:
                self.add_stock(lot, facts.where, obj.quantity, ctx.party_id)
            if lot.new:
                lot.tlc_source = facts.where
            for in_obj, in_lot in inputs:
                self._link("transform", in_lot, lot, ctx.seq, in_obj.quantity)

    def _aggregate(self, facts: Facts, ctx: EventContext, touched: list[tuple[Obj, LotState]]) -> None:
        parents = [lot for o, lot in touched if o.role == "parent"]
        children = [(o, lot) for o, lot in touched if o.role == "child"]
        if not parents:
            return
        parent = parents[0]
        if facts.action == "ADD":
            for obj, child in children:
                if child.id == parent.id:
                    raise EventError(obj.pointer, "a logistic unit cannot contain itself")
                if ctx.strict and obj.quantity is not None and facts.where:
                    have = self.on_hand(child, facts.where)
                    if have is None or obj.quantity > have:
                        raise EventError(
                            obj.pointer + "/quantity",
                            f"only {format_micro(have or 0)} of {child.key} on hand at {facts.where}",
                        )
                self._link("contains", parent, child, ctx.seq, obj.quantity)
        elif facts.action == "DELETE":
            active = self._loaded_by(self.active_contents(parent), facts.time)
            named = {lot.id for _, lot in children}
            if ctx.strict:
                for obj, child in children:
                    if not any(link.child_id == child.id for link in active):
                        raise EventError(obj.pointer, f"{child.key} is not in {parent.key}")
            for link in active:
                if not named or link.child_id in named:
                    link.removed_seq, link.dirty = ctx.seq, True

    def _loaded_by(self, links: list[LinkState], time: str) -> list[LinkState]:
        """The links made by events at or before ``time``: an unloading that reaches the ledger
        late (another system's export) does not close a later trip of the same unit."""
        unknown = sorted({link.seq for link in links} - set(self._times))
        for start in range(0, len(unknown), 500):
            found = self.conn.execute(
                select(events.c.seq, events.c.event_time).where(events.c.seq.in_(unknown[start : start + 500]))
            )
            self._times.update((int(seq), str(at)) for seq, at in found)
        return [link for link in links if self._times.get(link.seq, "") <= time]

    def _link(self, kind: str, parent: LotState, child: LotState, seq: int, qty: int | None) -> None:
        link = LinkState(self._new_id("lot_links"), kind, parent.id, child.id, seq, qty, new=True)
        self.new_links.append(link)
        if kind == "contains":
            self.contents.setdefault(parent.id, []).append(link)

    def _moving(self, lot: LotState, qty: int | None, depth: int = 0) -> list[tuple[LotState, int | None]]:
        """The lot itself and, for a logistic unit, everything inside it (recursively)."""
        out: list[tuple[LotState, int | None]] = [(lot, qty)]
        if depth < 8:
            for link in self.active_contents(lot):
                child = self.by_id.get(link.child_id)
                if child is not None:
                    out.extend(self._moving(child, link.quantity, depth + 1))
        return out

    def _ship(self, facts: Facts, ctx: EventContext, touched: list[tuple[Obj, LotState]]) -> None:
        origin = facts.source_location or facts.where
        for obj, lot in touched:
            for moving, qty in self._moving(lot, obj.quantity):
                piece = Obj(obj.ident, obj.role, qty, obj.uom, obj.pointer)
                self.take_stock(moving, origin, piece, ctx, "ship")
                ship = ShipState(
                    id=self._new_id("shipments"),
                    ship_seq=ctx.seq,
                    lot_id=moving.id,
                    quantity=qty,
                    from_location=origin,
                    to_location=facts.dest_location,
                    from_party=ctx.party_id,
                    to_party=ctx.location_party.get(facts.dest_location or ""),
                    carrier=facts.carrier,
                    reference=facts.reference,
                    status=IN_TRANSIT,
                    new=True,
                )
                self.ships.setdefault(moving.id, []).append(ship)

    def _receive(self, facts: Facts, ctx: EventContext, touched: list[tuple[Obj, LotState]]) -> None:
        here = facts.where
        for obj, lot in touched:
            for moving, qty in self._moving(lot, obj.quantity):
                pending = [s for s in self.ships.get(moving.id, []) if s.status == IN_TRANSIT]
                mine = [s for s in pending if s.to_location in (here, None)]
                if not mine and (ctx.strict or pending):
                    elsewhere = sorted({str(s.to_location) for s in pending})
                    raise EventError(
                        obj.pointer,
                        f"{moving.key} was not shipped to {here}"
                        + (f" (in transit to {', '.join(elsewhere)})" if elsewhere else ""),
                    )
                # the shipment this receipt names (same reference document) first, then oldest
                mine.sort(key=lambda s: (s.reference != facts.reference, s.ship_seq))
                if qty is not None and mine and all(s.quantity is not None for s in mine):
                    sent = sum(int(s.quantity or 0) for s in mine)
                    if qty > sent and ctx.strict:
                        raise EventError(
                            obj.pointer + "/quantity",
                            f"receiving {format_micro(qty)} but only {format_micro(sent)} was shipped to {here}",
                        )
                self._close_shipments(mine, qty, ctx.seq)
                if here and qty is not None:
                    self.add_stock(moving, here, qty, ctx.party_id)

    def _close_shipments(self, mine: list[ShipState], qty: int | None, seq: int) -> None:
        """Mark what arrived as received. A partial receipt splits a shipment: the received
        part becomes its own row, the rest stays in transit."""
        remaining = qty
        for ship in mine:
            if remaining is not None and ship.quantity is not None and ship.quantity > remaining:
                if remaining > 0:
                    part = ShipState(**{**vars(ship), "id": self._new_id("shipments")})
                    part.quantity, part.status, part.received_seq, part.new, part.dirty = (
                        remaining,
                        RECEIVED,
                        seq,
                        True,
                        False,
                    )
                    self.ships.setdefault(ship.lot_id, []).append(part)
                    ship.quantity, ship.dirty = ship.quantity - remaining, True
                return
            ship.status, ship.received_seq, ship.dirty = RECEIVED, seq, True
            if remaining is None or ship.quantity is None:
                return
            remaining -= ship.quantity
            if remaining <= 0:
                return

    # -- writing ------------------------------------------------------------------------------

    def add_event(
        self, seq: int, event_id: str, hash_id: str, kind: str | None, f: Facts, party: str | None, recorded: str
    ) -> None:
        """The ``events`` row of an appended event (recording and rebuilding alike)."""
        self.event_rows.append(
            {
                "seq": seq,
                "event_id": event_id + ("#correction" if f.correction else ""),
                "hash_id": hash_id,
                "correction": f.correction,
                "event_type": f.event_type,
                "kind": kind,
                "action": f.action,
                "biz_step": f.biz_step,
                "disposition": f.disposition,
                "event_time": f.time,
                "recorded": recorded,
                "party_id": party,
                "read_point": f.read_point,
                "biz_location": f.biz_location,
            }
        )

    def flush(self) -> None:
        conn = self.conn
        new_lots = [lot for lot in self.lots.values() if lot.new]
        cols: tuple[str, ...] = ("id", "key", "kind", "gtin", "lot_code", "product_id", "uom", "status")
        cols += ("first_seq", "first_time", "tlc_source", "party_id")
        db.insert_many(conn, "lots", cols, [tuple(getattr(lot, c) for c in cols) for lot in new_lots])
        changed = [lot for lot in self.lots.values() if lot.dirty and not lot.new]
        if changed:
            conn.execute(
                update(lots).where(lots.c.id == bindparam("lid")).values(status=bindparam("st"), uom=bindparam("u")),
                [{"lid": lot.id, "st": lot.status, "u": lot.uom} for lot in changed],
            )
        fresh = [(lid, loc, e[1], e[0]) for (lid, loc), e in self.stock.items() if not e[2]]
        db.insert_many(conn, "stock", ("lot_id", "location", "party_id", "quantity"), fresh)
        moved = [{"l": lid, "loc": loc, "q": e[0], "p": e[1]} for (lid, loc), e in self.stock.items() if e[2] and e[3]]
        if moved:
            conn.execute(
                update(stock)
                .where(stock.c.lot_id == bindparam("l"), stock.c.location == bindparam("loc"))
                .values(quantity=bindparam("q"), party_id=bindparam("p")),
                moved,
            )
        lcols = ("id", "kind", "parent_id", "child_id", "seq", "quantity", "removed_seq")
        db.insert_many(conn, "lot_links", lcols, [tuple(getattr(k, c) for c in lcols) for k in self.new_links])
        removed = [
            {"i": k.id, "r": k.removed_seq} for links in self.contents.values() for k in links if k.dirty and not k.new
        ]
        if removed:
            conn.execute(
                update(lot_links).where(lot_links.c.id == bindparam("i")).values(removed_seq=bindparam("r")), removed
            )
        all_ships = [s for ships in self.ships.values() for s in ships]
        scols: tuple[str, ...] = ("id", "ship_seq", "lot_id", "quantity", "from_location", "to_location")
        scols += ("from_party", "to_party")
        scols += ("carrier", "reference", "status", "received_seq")
        db.insert_many(conn, "shipments", scols, [tuple(getattr(s, c) for c in scols) for s in all_ships if s.new])
        done = [
            {"i": s.id, "st": s.status, "r": s.received_seq, "q": s.quantity}
            for s in all_ships
            if s.dirty and not s.new
        ]
        if done:
            conn.execute(
                update(shipments)
                .where(shipments.c.id == bindparam("i"))
                .values(status=bindparam("st"), received_seq=bindparam("r"), quantity=bindparam("q")),
                done,
            )
        moves = [(seq, lid, loc, d) for (seq, lid, loc), d in self.moves.items() if d]
        db.insert_many(conn, "stock_moves", ("seq", "lot_id", "location", "delta"), moves)
        hcols = ("lot_id", "seq", "role", "event_time", "location", "party_id", "quantity")
        unique = {(h["lot_id"], h["seq"], h["role"]): h for h in self.history}
        db.insert_many(conn, "lot_events", hcols, [tuple(h[c] for c in hcols) for h in unique.values()])
        if self.event_rows:
            ecols = tuple(self.event_rows[0])
            db.insert_many(conn, "events", ecols, [tuple(r[c] for c in ecols) for r in self.event_rows])


def _private_product(key: str) -> str | None:
    if key.startswith("urn:tracefood:lot:"):
        return key.split(":")[3] or None
    return None


def rows_of(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row, sorted, for comparing a rebuild with what is stored."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in (events, lots, stock, lot_links, lot_events, shipments):
        out[table.name] = sorted(
            (tuple(r) for r in conn.execute(select(table))), key=lambda t: tuple("" if v is None else str(v) for v in t)
        )
    return out
