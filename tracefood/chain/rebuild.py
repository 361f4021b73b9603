"""Rebuild the projections from the ledger alone, and compare them with what is stored.

Runs inside one write transaction (appends wait): the projection tables are emptied, every event
entry is replayed through the same :mod:`~tracefood.chain.projections` rules that
recorded it, the result is compared row by row with the stored rows, and the transaction is
rolled back unless ``commit`` is set. The replay checks nothing (the events were checked when
they were recorded); the registry tells which party operates each location, as it does now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from tracefood.chain.projections import EventContext, UnitOfWork, apply_event, rows_of
from tracefood.chain.tables import PROJECTION_TABLES, locations, lots, products, recall_lots
from tracefood.epcis.events import ENTRY_KIND, facts
from tracefood.ledger import db
from tracefood.ledger.canonical import loads
from tracefood.ledger.models import entries

CHUNK = 1000


class _Rollback(Exception):
    pass


@dataclass(frozen=True)
class ProjectionReport:
    events: int
    differences: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.differences


def rebuild(engine: Engine, *, commit: bool = False, progress: Callable[[int], None] | None = None) -> ProjectionReport:
    result: ProjectionReport | None = None
    try:
        with db.write_transaction(engine) as conn:
            before = rows_of(conn)
            # recalls name lots by id: set aside while the lots are rebuilt (with the same ids)
            recalled = [tuple(r) for r in conn.execute(select(recall_lots))]
            conn.execute(delete(recall_lots))
            for table in PROJECTION_TABLES:
                conn.execute(delete(table))
            count = _replay(conn, progress)
            after = rows_of(conn)
            differences = _compare(before, after)
            ids = set(conn.execute(select(lots.c.id)).scalars())
            for row in recalled:
                if row[1] not in ids:
                    differences.append({"table": "recall_lots", "code": "lot-missing", "row": list(row)})
            db.insert_many(conn, "recall_lots", tuple(recall_lots.c.keys()), [r for r in recalled if r[1] in ids])
            result = ProjectionReport(count, differences)
            if not commit:
                raise _Rollback
    except _Rollback:
        pass
    assert result is not None
    return result


def _replay(conn: Connection, progress: Callable[[int], None] | None) -> int:
    location_party = dict(conn.execute(select(locations.c.uri, locations.c.party_id)).all())
    product_of_gtin = dict(
        conn.execute(select(products.c.gtin, products.c.id).where(products.c.gtin.is_not(None))).all()
    )
    last = -1
    count = 0
    declared: set[str] = set()  # hash ids of the error declarations replayed so far
    while True:
        rows = conn.execute(
            select(entries.c.seq, entries.c.body).where(entries.c.seq > last).order_by(entries.c.seq).limit(CHUNK)
        ).all()
        if not rows:
            return count
        batch = []
        for row in rows:
            envelope = loads(bytes(row.body))
            if envelope.get("kind") == ENTRY_KIND:
                payload = envelope["payload"]
                batch.append((int(row.seq), envelope, payload, facts(payload["epcis"], payload.get("opaque_ids", ()))))
        unit = UnitOfWork(conn)
        unit.load(o.ident.key for *_, f in batch for o in f.objects)
        for seq, envelope, payload, f in batch:
            ctx = EventContext(
                seq,
                envelope["party"],
                False,
                location_party,
                product_of_gtin,
                check_access=False,
                lenient=bool(payload.get("lenient")),
                hash_id=payload["hash_id"],
                declared=not f.correction and payload["hash_id"] in declared,
            )
            if f.correction:
                declared.add(payload["hash_id"])
            apply_event(unit, f, ctx)
            epcis = payload["epcis"]
            unit.add_event(
                seq,
                epcis["eventID"],
                payload["hash_id"],
                payload.get("kind"),
                f,
                envelope["party"],
                envelope["recorded"],
            )
        unit.flush()
        count += len(batch)
        last = int(rows[-1].seq)
        if progress:
            progress(len(rows))


def _compare(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for table, stored in before.items():
        rebuilt = after.get(table, [])
        stored_set, rebuilt_set = set(stored), set(rebuilt)
        missing = sorted(rebuilt_set - stored_set, key=str)
        extra = sorted(stored_set - rebuilt_set, key=str)
        for row in missing[:20]:
            out.append({"table": table, "code": "projection-missing", "row": list(row)})
        for row in extra[:20]:
            out.append({"table": table, "code": "projection-unexpected", "row": list(row)})
    return out
