"""The unit of work of one append transaction: the projection rows a batch of events touches.

:class:`UnitOfWork` reads the rows the batch names (lots, their stock, in-transit shipments
and container contents, transitively), lets the rules (:mod:`.rules`) and the undo of
corrected events (:mod:`.undo`) change them in memory, and writes the changes back with a few
``executemany`` statements, inside the append transaction. It knows rows, not event kinds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, select, union_all, update

from tracefood.chain.projections.model import IN_TRANSIT, RECEIVED, EventContext, LinkState, LotState, ShipState
from tracefood.chain.projections.stock import StockEntry, allowed_take
from tracefood.chain.tables import events, lot_events, lot_links, lots, shipments, stock
from tracefood.epcis.events import Facts, Obj
from tracefood.errors import EventError
from tracefood.ledger import db

"""Keys per ``IN (...)`` list."""


class UnitOfWork:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lots: dict[str, LotState] = {}
        self.by_id: dict[int, LotState] = {}
        self.stock: dict[tuple[int, str], StockEntry] = {}  # (lot, location) -> entry
        self.stock_of: dict[int, dict[str, StockEntry]] = {}  # lot -> location -> the same entries
        self._holders: dict[int, str | None] = {}  # lot -> who received it in this unit of work
        self._received: dict[int, tuple[int, str | None]] = {}  # uncounted lot -> (seq, to_party) last received
        self.ships: dict[int, list[ShipState]] = {}  # lot id -> in-transit shipments
        self.contents: dict[int, list[LinkState]] = {}  # parent id -> active "contains" links
        self.new_links: list[LinkState] = []
        self.history: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []
        self.moves: dict[tuple[int, int, str], int] = {}  # (seq, lot, location) -> stock change
        self.applied: dict[str, int] = {}  # hash id -> seq, for the events applied in this batch
        self.times: dict[int, str] = {}  # seq -> event time, for the events applied or looked up
        self.declared: set[str] = set()  # hash ids declared erroneous in this batch before they came
        self.holds: dict[int, set[str]] = {}  # lot -> holding dispositions applied in this batch
        self.seq = 0  # the event being applied: its stock moves are recorded under it
        self._next: dict[str, int] = {}

    # -- loading ------------------------------------------------------------------------------

    def load(self, keys: Iterable[str]) -> None:
        """Read the rows for these object keys (and, transitively, container contents)."""
        wanted = sorted(set(keys) - set(self.lots))
        while wanted:
            found: list[LotState] = []
            for chunk in db.chunks(wanted):
                rows = self.conn.execute(select(lots).where(lots.c.key.in_(chunk)))
                found.extend(LotState(**r._mapping) for r in rows)
            ids = self._remember(found)
            wanted = self._load_related(ids)

    def load_ids(self, ids: list[int]) -> None:
        """Read the rows of these lot ids, if not read yet."""
        missing = [i for i in ids if i not in self.by_id]
        if missing:
            self.load(r.key for r in self.conn.execute(select(lots.c.key).where(lots.c.id.in_(missing))))

    def _remember(self, found: list[LotState]) -> list[int]:
        for lot in found:
            self.lots[lot.key] = lot
            self.by_id[lot.id] = lot
        return [lot.id for lot in found]

    def _load_related(self, ids: list[int]) -> list[str]:
        """Stock, in-transit shipments and contents of these lots; returns unseen content keys."""
        child_ids: set[int] = set()
        for chunk in db.chunks(ids):
            for r in self.conn.execute(select(stock).where(stock.c.lot_id.in_(chunk))):
                entry = StockEntry(r.quantity, r.party_id, True, False)
                self.stock[(r.lot_id, r.location)] = entry
                self.stock_of.setdefault(r.lot_id, {})[r.location] = entry
            uncounted = [i for i in chunk if i not in self.stock_of]
            if uncounted:  # who holds a unit whose stock is not counted: its last receiver
                last = select(shipments.c.lot_id, shipments.c.received_seq, shipments.c.to_party).where(
                    shipments.c.lot_id.in_(uncounted), shipments.c.status == RECEIVED
                )
                for lot_id, seq, party in self.conn.execute(last):
                    if lot_id not in self._received or seq > self._received[lot_id][0]:
                        self._received[lot_id] = (seq, party)
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
        for part in db.chunks(unseen):
            rows = self.conn.execute(select(lots.c.key).where(lots.c.id.in_(part)))
            keys.extend(r.key for r in rows)
        return keys

    # -- lots ---------------------------------------------------------------------------------

    def new_id(self, table: str) -> int:
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
        """The lot an object names; with ``create``, a new one first recorded by this event."""
        found = self.lots.get(obj.ident.key)
        if found is not None or not create:
            return found
        ident = obj.ident
        lot = LotState(
            id=self.new_id("lots"),
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

    # -- stock --------------------------------------------------------------------------------

    def on_hand(self, lot: LotState, location: str) -> int | None:
        entry = self.stock.get((lot.id, location))
        return None if entry is None else int(entry.quantity)

    def has_stock(self, lot: LotState) -> bool:
        """Some of the lot is on hand somewhere (as far as this unit of work has read)."""
        return any(entry.quantity for entry in self.stock_of.get(lot.id, {}).values())

    def quantified(self, lot: LotState) -> bool:
        """The lot's stock is counted: some event gave a quantity of it at some place."""
        return bool(self.stock_of.get(lot.id))

    def holds_stock(self, lot: LotState, party: str, location: str | None = None) -> bool:
        """``party`` has some of the lot on hand (at ``location``, or anywhere)."""
        return any(
            entry.party_id == party and entry.quantity > 0 and location in (None, where)
            for where, entry in self.stock_of.get(lot.id, {}).items()
        )

    def holder(self, lot: LotState) -> str | None:
        """Who holds a lot whose stock is not counted (a logistic unit, a serialised item):
        the receiver of its last received shipment, else the party that first recorded it;
        nobody while it is in transit to a registered party (to an unregistered place, whose
        receipt the ledger may never see, its sender keeps it)."""
        moving = [s for s in self.ships.get(lot.id, []) if s.status == IN_TRANSIT]
        if moving:
            if any(s.to_party is not None for s in moving):
                return None
            return max(moving, key=lambda s: s.ship_seq).from_party
        if lot.id in self._holders:
            return self._holders[lot.id]
        received = self._received.get(lot.id)
        return received[1] if received is not None else lot.party_id

    def received_by(self, lot: LotState, party: str | None) -> None:
        """``party`` received the lot: it holds it now (for :meth:`holder`)."""
        self._holders[lot.id] = party

    def _move(self, lot: LotState, location: str, delta: int) -> None:
        key = (self.seq, lot.id, location)
        self.moves[key] = self.moves.get(key, 0) + delta

    def add_stock(self, lot: LotState, location: str, qty: int, party: str | None) -> None:
        entry = self.stock.get((lot.id, location))
        if entry is None:
            entry = self.stock[(lot.id, location)] = StockEntry(0, party, False, True)
            self.stock_of.setdefault(lot.id, {})[location] = entry
        entry.quantity += qty
        self._move(lot, location, qty)
        if party is not None:
            entry.party_id = party
        entry.dirty = True

    def take_stock(self, lot: LotState, location: str | None, obj: Obj, ctx: EventContext, what: str) -> None:
        """Remove ``obj.quantity`` of ``lot`` from ``location``, refusing more than is on hand."""
        if obj.quantity is None or location is None:
            return
        entry = self.stock.get((lot.id, location))
        if entry is None:  # the caller decides whether a first sighting here may take nothing
            raise EventError(obj.pointer, f"{lot.key} is not on hand at {location}: nothing to {what}")
        wanted = allowed_take(entry, lot, location, obj, ctx, what)
        entry.quantity = int(entry.quantity) - wanted
        self._move(lot, location, -wanted)
        entry.dirty = True

    def take_all(self, lot: LotState, location: str | None, party: str | None) -> None:
        """Take everything ``party`` (None: anyone) has of the lot at ``location`` (None:
        everywhere)."""
        for where, entry in self.stock_of.get(lot.id, {}).items():
            if location in (None, where) and party in (None, entry.party_id) and entry.quantity > 0:
                self._move(lot, where, -int(entry.quantity))
                entry.quantity, entry.dirty = 0, True

    def take_back(self, lot: LotState, location: str, qty: int) -> None:
        """Take up to ``qty`` back from what is still there (never below zero): an undo."""
        entry = self.stock.get((lot.id, location))
        if entry is not None:
            taken = min(qty, max(0, int(entry.quantity)))
            entry.quantity, entry.dirty = int(entry.quantity) - taken, True
            self._move(lot, location, -taken)

    # -- links and history --------------------------------------------------------------------

    def active_contents(self, lot: LotState) -> list[LinkState]:
        return [link for link in self.contents.get(lot.id, []) if link.removed_seq is None]

    def link(self, kind: str, parent: LotState, child: LotState, seq: int, qty: int | None) -> None:
        link = LinkState(self.new_id("lot_links"), kind, parent.id, child.id, seq, qty, new=True)
        self.new_links.append(link)
        if kind == "contains":
            self.contents.setdefault(parent.id, []).append(link)

    def moving(self, lot: LotState, qty: int | None, depth: int = 0) -> list[tuple[LotState, int | None]]:
        """The lot itself and, for a logistic unit, everything inside it (recursively)."""
        out: list[tuple[LotState, int | None]] = [(lot, qty)]
        if depth < 8:
            for link in self.active_contents(lot):
                child = self.by_id.get(link.child_id)
                if child is not None:
                    out.extend(self.moving(child, link.quantity, depth + 1))
        return out

    def loaded_by(self, links: list[LinkState], time: str) -> list[LinkState]:
        """The links made by events at or before ``time``: an unloading that reaches the ledger
        late (another system's export) does not close a later trip of the same unit."""
        unknown = sorted({link.seq for link in links} - set(self.times))
        for chunk in db.chunks(unknown):
            found = self.conn.execute(select(events.c.seq, events.c.event_time).where(events.c.seq.in_(chunk)))
            self.times.update((int(seq), str(at)) for seq, at in found)
        return [link for link in links if self.times.get(link.seq, "") <= time]

    def record(self, lot: LotState, role: str, facts: Facts, ctx: EventContext, quantity: int | None) -> None:
        """A ``lot_events`` row: the lot took part in the event in this role."""
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

    # -- writing ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every new and changed row back, in the order the foreign keys need."""
        self._flush_lots()
        self._flush_stock()
        self._flush_links()
        self._flush_shipments()
        moves = [(seq, lid, loc, d) for (seq, lid, loc), d in self.moves.items() if d]
        db.insert_many(self.conn, "stock_moves", ("seq", "lot_id", "location", "delta"), moves)
        hcols = ("lot_id", "seq", "role", "event_time", "location", "party_id", "quantity")
        unique = {(h["lot_id"], h["seq"], h["role"]): h for h in self.history}
        db.insert_many(self.conn, "lot_events", hcols, [tuple(h[c] for c in hcols) for h in unique.values()])
        if self.event_rows:
            ecols = tuple(self.event_rows[0])
            db.insert_many(self.conn, "events", ecols, [tuple(r[c] for c in ecols) for r in self.event_rows])

    def _flush_lots(self) -> None:
        new_lots = [lot for lot in self.lots.values() if lot.new]
        cols: tuple[str, ...] = ("id", "key", "kind", "gtin", "lot_code", "product_id", "uom", "status")
        cols += ("first_seq", "first_time", "tlc_source", "party_id")
        db.insert_many(self.conn, "lots", cols, [tuple(getattr(lot, c) for c in cols) for lot in new_lots])
        changed = [lot for lot in self.lots.values() if lot.dirty and not lot.new]
        if changed:
            self.conn.execute(
                update(lots).where(lots.c.id == bindparam("lid")).values(status=bindparam("st"), uom=bindparam("u")),
                [{"lid": lot.id, "st": lot.status, "u": lot.uom} for lot in changed],
            )

    def _flush_stock(self) -> None:
        items = self.stock.items()
        fresh = [(lid, loc, e.party_id, e.quantity) for (lid, loc), e in items if not e.existed]
        db.insert_many(self.conn, "stock", ("lot_id", "location", "party_id", "quantity"), fresh)
        moved = [
            {"l": lid, "loc": loc, "q": e.quantity, "p": e.party_id} for (lid, loc), e in items if e.existed and e.dirty
        ]
        if moved:
            self.conn.execute(
                update(stock)
                .where(stock.c.lot_id == bindparam("l"), stock.c.location == bindparam("loc"))
                .values(quantity=bindparam("q"), party_id=bindparam("p")),
                moved,
            )

    def _flush_links(self) -> None:
        lcols = ("id", "kind", "parent_id", "child_id", "seq", "quantity", "removed_seq")
        db.insert_many(self.conn, "lot_links", lcols, [tuple(getattr(k, c) for c in lcols) for k in self.new_links])
        removed = [
            {"i": k.id, "r": k.removed_seq} for links in self.contents.values() for k in links if k.dirty and not k.new
        ]
        if removed:
            self.conn.execute(
                update(lot_links).where(lot_links.c.id == bindparam("i")).values(removed_seq=bindparam("r")), removed
            )

    def _flush_shipments(self) -> None:
        all_ships = [s for ships in self.ships.values() for s in ships]
        scols: tuple[str, ...] = ("id", "ship_seq", "lot_id", "quantity", "from_location", "to_location")
        scols += ("from_party", "to_party", "carrier", "reference", "status", "received_seq")
        db.insert_many(self.conn, "shipments", scols, [tuple(getattr(s, c) for c in scols) for s in all_ships if s.new])
        done = [
            {"i": s.id, "st": s.status, "r": s.received_seq, "q": s.quantity, "to": s.to_party}
            for s in all_ships
            if s.dirty and not s.new
        ]
        if done:
            self.conn.execute(
                update(shipments)
                .where(shipments.c.id == bindparam("i"))
                .values(
                    status=bindparam("st"),
                    received_seq=bindparam("r"),
                    quantity=bindparam("q"),
                    to_party=bindparam("to"),
                ),
                done,
            )


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
