"""What capture reads of the registry: products, locations and parties by the ids the readable
form names (remembered across requests), and which party operates each place an event names."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, select

from tracefood.chain.tables import locations, parties, products
from tracefood.epcis.events import Facts
from tracefood.ledger import db

REGISTRY_TTL = 30.0
_REGISTRY_CACHE: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}


class RegistryLookup:
    """Registry rows for the readable form, read over one connection and remembered.

    Rows found are kept for :data:`REGISTRY_TTL` seconds across requests: what the readable
    form takes from them (a product's GTIN and unit, a location's URI) never changes once
    created. Who operates a location, which access control rests on, is read again for each
    batch (:func:`registry_maps`). Misses are never remembered.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None
        self.now = time.monotonic()
        self.where = engine.url.render_as_string(hide_password=True)

    def __call__(self, entity: str, key: str) -> Mapping[str, Any] | None:
        cache_key = (self.where, entity, key)
        hit = _REGISTRY_CACHE.get(cache_key)
        if hit is not None and self.now - hit[0] < REGISTRY_TTL:
            return hit[1]
        table = {"party": parties, "location": locations, "product": products}[entity]
        cond = table.c.gtin == key[5:] if key.startswith("gtin:") else table.c.id == key
        if self.conn is None:
            self.conn = self.engine.connect()
        row = self.conn.execute(select(table).where(cond)).mappings().first()
        self.conn.rollback()
        if row is None:
            return None
        if len(_REGISTRY_CACHE) > 10_000:
            _REGISTRY_CACHE.clear()
        _REGISTRY_CACHE[cache_key] = (self.now, dict(row))
        return dict(row)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def registry_maps(engine: Engine, all_facts: list[Facts]) -> tuple[dict[str, str], dict[str, str]]:
    """(location URI -> operating party, GTIN -> product id) for the places and GTINs named."""
    place_keys = {k for f in all_facts for k in (f.biz_location, f.read_point, f.dest_location, f.source_location) if k}
    gtins = {o.ident.gtin for f in all_facts for o in f.objects if o.ident.gtin}
    with engine.connect() as conn:
        found = (
            _map(conn, locations.c.uri, locations.c.party_id, place_keys),
            _map(conn, products.c.gtin, products.c.id, gtins),
        )
        conn.rollback()
    return found


def _map(conn: Connection, key_col: Any, value_col: Any, keys: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(keys))
    out: dict[str, str] = {}
    for chunk in db.chunks(wanted):
        rows = conn.execute(select(key_col, value_col).where(key_col.in_(chunk)))
        out.update((r[0], r[1]) for r in rows)
    return out
