"""The Merkle tree as stored: node lookups, roots and proofs on an open connection.

Leaf hashes (level 0) live in ``ledger_entries``, completed perfect subtrees (level >= 1) in
``ledger_nodes``. Callers pass a connection that holds one snapshot (see ``db.read_snapshot``)
so a proof and the root it leads to always come from the same tree size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import zip_longest

from sqlalchemy import Connection, func, select

from tracefood.errors import IntegrityError
from tracefood.ledger import db, merkle
from tracefood.ledger.merkle import Coord
from tracefood.ledger.models import entries, node_coord, node_id


def size(conn: Connection) -> int:
    """Number of entries (the next sequence number)."""
    top = conn.execute(select(func.max(entries.c.seq))).scalar()
    return 0 if top is None else int(top) + 1


_LOOKUP_PG = (
    "SELECT 0, seq, leaf_hash FROM ledger_entries WHERE seq = ANY(%(leaves)s) "
    "UNION ALL SELECT 1, id, hash FROM ledger_nodes WHERE id = ANY(%(inner)s)"
)


def lookup(conn: Connection, coords: Iterable[Coord]) -> dict[Coord, bytes]:
    """Fetch the hashes of perfect subtrees in one statement; IntegrityError if one is missing.

    Plain driver SQL: this is the hot path of every proof and append, and building, compiling
    and expanding a SQLAlchemy construct cost more than the database's answer. On PostgreSQL
    the text is constant (``= ANY(array)``), so psycopg prepares it once per connection.
    """
    wanted = set(coords)
    leaves = sorted(i for level, i in wanted if level == 0)
    inner = sorted(node_id(*c) for c in wanted if c[0] > 0)
    if db.is_postgresql(conn):
        rows = conn.exec_driver_sql(_LOOKUP_PG, {"leaves": leaves, "inner": inner}).all()
    else:
        rows = []
        # leaves and inner nodes side by side, one statement per pair of IN lists
        for part_l, part_i in zip_longest(db.chunks(leaves), db.chunks(inner), fillvalue=()):
            sql = (
                f"SELECT 0, seq, leaf_hash FROM ledger_entries WHERE seq IN ({','.join('?' * len(part_l))}) "
                f"UNION ALL SELECT 1, id, hash FROM ledger_nodes WHERE id IN ({','.join('?' * len(part_i))})"
            )
            rows += conn.exec_driver_sql(sql, (*part_l, *part_i)).all()
    found: dict[Coord, bytes] = {}
    for kind, key, value in rows:
        found[(0, int(key)) if kind == 0 else node_coord(int(key))] = bytes(value)
    missing = wanted - found.keys()
    if missing:
        level, index = min(missing)
        raise IntegrityError(f"the stored tree has no node at level {level}, index {index}")
    return found


def root(conn: Connection, tree_size: int) -> bytes:
    return merkle.range_hash(0, tree_size, lookup(conn, merkle.perfect_pieces(0, tree_size)))


def inclusion(conn: Connection, index: int, tree_size: int) -> tuple[bytes, list[bytes], bytes]:
    """(leaf hash, RFC 9162 inclusion path, root) for leaf ``index`` in the tree of ``tree_size``."""
    ranges = merkle.inclusion_ranges(index, tree_size)
    wanted = merkle.pieces_for(ranges) | {(0, index)}
    wanted |= set(merkle.perfect_pieces(0, tree_size))
    found = lookup(conn, wanted)
    return found[(0, index)], merkle.hashes_for(ranges, found), merkle.range_hash(0, tree_size, found)


def consistency(conn: Connection, size1: int, size2: int) -> tuple[list[bytes], bytes, bytes]:
    """(RFC 9162 consistency path, root at size1, root at size2)."""
    ranges = merkle.consistency_ranges(size1, size2)
    wanted = merkle.pieces_for(ranges)
    wanted |= set(merkle.perfect_pieces(0, size1)) | set(merkle.perfect_pieces(0, size2))
    found = lookup(conn, wanted)
    return (
        merkle.hashes_for(ranges, found),
        merkle.range_hash(0, size1, found),
        merkle.range_hash(0, size2, found),
    )


def store_nodes(conn: Connection, created: Sequence[tuple[int, int, bytes]]) -> None:
    db.insert_many(conn, "ledger_nodes", ("id", "hash"), [(node_id(lv, ix), h) for lv, ix, h in created])
