"""The one way to write to the log: a :class:`Write`, one transaction under the ledger lock.

Callers that must do their own work in the same transaction as an append (validate against
the projections, write projection or recall rows) do it inside one unit of work,
``Ledger.write(work)``: ``work`` gets a :class:`Write`, reads and writes on ``write.conn``,
appends with :meth:`Write.append`, and raising anywhere rolls everything back, the entries
included. ``Ledger.append`` and ``Ledger.append_batch`` are the same thing with no other work.
When the transaction grew the tree, the ledger signs the new checkpoint before committing
(see :mod:`tracefood.ledger.checkpoints`); :attr:`Write.growth` is what it signs.

Entries are checked and encoded here too (:func:`prepare`): RFC 8785 payload bytes, entry ids,
and the envelope, whose bytes are built without walking the payload twice.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from tracefood import utc
from tracefood.errors import CanonicalError, Conflict, InvalidEntry
from tracefood.ledger import db, merkle, tree
from tracefood.ledger.canonical import canonical_bytes, loads
from tracefood.ledger.checkpoints import Growth
from tracefood.ledger.models import entries

ENVELOPE_VERSION = 1
GENESIS_PREV = bytes(32)
MAX_ENTRY_BYTES = 1 << 20
MAX_ID_LENGTH = 255


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class NewEntry:
    """What a caller asks the ledger to record."""

    payload: Mapping[str, Any]
    entry_id: str | None = None
    kind: str = "event"
    party: str | None = None


@dataclass(frozen=True)
class Receipt:
    """Where an entry sits in the ledger. ``created`` is False for an idempotent repeat."""

    seq: int
    entry_id: str
    leaf_hash: bytes
    recorded: str
    created: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_id": self.entry_id,
            "leaf_hash": b64(self.leaf_hash),
            "recorded": self.recorded,
            "created": self.created,
        }


@dataclass(frozen=True)
class Prepared:
    """An entry checked and encoded, ready to append."""

    index: int
    entry_id: str
    kind: str
    party: str | None
    payload: Mapping[str, Any]
    payload_bytes: bytes


class Write:
    """One write transaction on the ledger, holding its lock (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.growth: Growth | None = None
        """None until an append added an entry; then how the tree grew in this transaction."""

    def append(
        self, items: Sequence[NewEntry | Prepared], *, fresh: bool = False, size: int | None = None
    ) -> list[Receipt]:
        """Append entries in order; return one receipt per item.

        An item whose id is already recorded with the same kind and payload is not appended
        again: its receipt is the existing one (``created=False``). The same id with other
        content is a :class:`Conflict`, and the whole transaction is refused.

        Fast paths for callers that already know: ``fresh``, none of these entry ids is
        recorded (established under this lock; the unique index on entry ids still guards it),
        so existing receipts are not looked up; ``size``, the tree size read under this lock.
        """
        prepared = [p if isinstance(p, Prepared) else _prepare(i, p) for i, p in enumerate(items)]
        existing = {} if fresh else _existing_receipts(self.conn, [p.entry_id for p in prepared])
        size = tree.size(self.conn) if size is None else size
        pieces = merkle.perfect_pieces(0, size)
        found = tree.lookup(self.conn, [*pieces, (0, size - 1)] if size else pieces)  # one round trip
        front = merkle.Frontier(size, [found[c] for c in pieces])
        prev = found[(0, size - 1)] if size else GENESIS_PREV
        # The first append of the transaction fixes where the tree started: the checkpoint
        # signed before it must extend to the one signed after.
        start = (size, front.root()) if self.growth is None else self.growth.start
        receipts, rows, nodes = _build(prepared, existing, front, prev)
        if rows:
            db.insert_many(self.conn, "ledger_entries", ("seq", "entry_id", "leaf_hash", "body"), rows)
            tree.store_nodes(self.conn, nodes)
            self.growth = Growth(start, front.size, front.root())
        return receipts

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: on an exception its appends are undone, and so is
        :attr:`growth` (group commit runs each job in one)."""
        growth = self.growth
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            self.growth = growth
            raise


def prepare(items: Sequence[NewEntry]) -> list[Prepared]:
    """Check and encode entries (before taking the lock: nothing is written on failure)."""
    return [_prepare(i, item) for i, item in enumerate(items)]


_Rows = list[tuple[int, str, bytes, bytes]]
_Nodes = list[tuple[int, int, bytes]]


def _build(
    prepared: Sequence[Prepared],
    existing: Mapping[str, tuple[Prepared, Receipt]],
    front: merkle.Frontier,
    prev: bytes,
) -> tuple[list[Receipt], _Rows, _Nodes]:
    """Envelopes, leaves and new tree nodes for the items not already recorded."""
    recorded = _now()
    receipts: list[Receipt] = []
    new_rows: _Rows = []
    new_nodes: _Nodes = []
    batch_ids: dict[str, tuple[Prepared, Receipt]] = {}
    for p in prepared:
        seen = batch_ids.get(p.entry_id)
        if seen is None and p.entry_id in existing:
            seen = existing[p.entry_id]
        if seen is not None:
            receipts.append(_repeat(p, *seen))
            continue
        size = front.size
        envelope = {
            "v": ENVELOPE_VERSION,
            "seq": size,
            "id": p.entry_id,
            "kind": p.kind,
            "party": p.party,
            "prev": b64(prev),
            "recorded": recorded,
            "payload": p.payload,
        }
        body = envelope_bytes(envelope, p.payload_bytes)
        if len(body) > MAX_ENTRY_BYTES:
            raise InvalidEntry(
                f"entry {p.index} is {len(body)} bytes; the limit is {MAX_ENTRY_BYTES}",
                errors=[{"field": f"/{p.index}/payload", "reason": "too large"}],
            )
        prev = merkle.leaf_hash(body)
        new_nodes.extend(front.append(prev))
        new_rows.append((size, p.entry_id, prev, body))
        receipt = Receipt(size, p.entry_id, prev, recorded)
        receipts.append(receipt)
        batch_ids[p.entry_id] = (p, receipt)
    return receipts, new_rows, new_nodes


def _repeat(p: Prepared, other: Prepared, receipt: Receipt) -> Receipt:
    """The receipt of an id recorded before: the same if the content is, else a conflict."""
    if (other.kind, other.payload_bytes) != (p.kind, p.payload_bytes):
        raise Conflict(
            f"entry id {p.entry_id!r} is already recorded (seq {receipt.seq}) with different content",
            errors=[{"field": f"/{p.index}/entry_id", "reason": "already recorded with different content"}],
        )
    return Receipt(receipt.seq, receipt.entry_id, receipt.leaf_hash, receipt.recorded, False)


def envelope_bytes(envelope: Mapping[str, Any], payload_bytes: bytes) -> bytes:
    """RFC 8785 bytes of an envelope whose payload is already canonical.

    Equal to ``canonical_bytes(envelope)`` (a property test checks it) without walking the
    payload a second time: the envelope's keys are fixed, so their JCS order is too.
    """
    dumps = orjson.dumps
    return b"".join(
        (
            b'{"id":',
            dumps(envelope["id"]),
            b',"kind":',
            dumps(envelope["kind"]),
            b',"party":',
            dumps(envelope["party"]),
            b',"payload":',
            payload_bytes,
            b',"prev":',
            dumps(envelope["prev"]),
            b',"recorded":',
            dumps(envelope["recorded"]),
            b',"seq":',
            str(int(envelope["seq"])).encode(),
            b',"v":',
            str(int(envelope["v"])).encode(),
            b"}",
        )
    )


def _prepare(index: int, item: NewEntry) -> Prepared:
    """Check one item (cheap, and nothing is written on failure)."""
    if not isinstance(item.payload, Mapping):
        raise InvalidEntry(
            f"entry {index}: the payload must be a JSON object",
            errors=[{"field": f"/{index}/payload", "reason": "not a JSON object"}],
        )
    try:
        payload_bytes = canonical_bytes(item.payload)
    except CanonicalError as exc:
        raise InvalidEntry(
            f"entry {index}: {exc}",
            errors=[{"field": f"/{index}/payload{'' if exc.path == '/' else exc.path}", "reason": exc.reason}],
        ) from exc
    if type(item.kind) is not str or not item.kind:
        raise InvalidEntry(
            f"entry {index}: kind must be a non-empty string",
            errors=[{"field": f"/{index}/kind", "reason": "invalid"}],
        )
    entry_id = item.entry_id
    if entry_id is None:
        entry_id = "sha-256:" + hashlib.sha256(item.kind.encode() + b"\n" + payload_bytes).hexdigest()
    checked = [("entry_id", entry_id), ("kind", item.kind)]
    if item.party is not None:
        checked.append(("party", item.party))
    for name, value in checked:
        if type(value) is not str or not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
            raise InvalidEntry(
                f"entry {index}: {name} must be 1 to {MAX_ID_LENGTH} printable characters",
                errors=[{"field": f"/{index}/{name}", "reason": "invalid"}],
            )
    return Prepared(index, entry_id, item.kind, item.party, item.payload, payload_bytes)


def _existing_receipts(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[Prepared, Receipt]]:
    found: dict[str, tuple[Prepared, Receipt]] = {}
    unique = sorted(set(ids))
    for chunk in db.chunks(unique):
        stmt = select(entries.c.seq, entries.c.entry_id, entries.c.leaf_hash, entries.c.body).where(
            entries.c.entry_id.in_(chunk)
        )
        for row in conn.execute(stmt):
            env = loads(row.body)
            prepared = Prepared(
                -1, row.entry_id, env["kind"], env["party"], env["payload"], canonical_bytes(env["payload"])
            )
            found[row.entry_id] = (
                prepared,
                Receipt(int(row.seq), row.entry_id, bytes(row.leaf_hash), env["recorded"], False),
            )
    return found


def _now() -> str:
    return utc.text(utc.now(), "us")
