"""The ledger: append entries, read them, prove inclusion and consistency, verify.

Each entry is stored as the RFC 8785 bytes of an envelope::

    {"v": 1, "seq": n, "id": entry id, "kind": "event", "party": submitter or null,
     "prev": base64 leaf hash of entry n-1 (32 zero bytes for n = 0),
     "recorded": UTC record time, "payload": {...}}

so the log is a hash chain (``prev``) and an RFC 6962 Merkle tree (leaf = SHA-256(0x00||bytes))
at once. Writes run under the ledger lock (``db.write_transaction``) in one unit of work,
:meth:`Ledger.write` (see :mod:`tracefood.ledger.append`): a batch lands whole or not at all,
and entry ids make appends idempotent. A write that grows the tree signs its checkpoint before
it commits (:mod:`tracefood.ledger.checkpoints`, when the ledger has its key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from tracefood.errors import IntegrityError, InvalidParameter, NotFound
from tracefood.ledger import db, tree
from tracefood.ledger.append import NewEntry, Receipt, Write, b64, prepare
from tracefood.ledger.canonical import loads
from tracefood.ledger.checkpoints import Checkpoints, SignedCheckpoint
from tracefood.ledger.group_commit import group_for
from tracefood.ledger.keys import load_key
from tracefood.ledger.models import MAX_LEAVES, entries
from tracefood.ledger.note import Signer, Verifier
from tracefood.ledger.verify import Check, Report, verify_ledger

T = TypeVar("T")


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    entry_id: str
    leaf_hash: bytes
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        value = loads(self.body)
        assert isinstance(value, dict)
        return value


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "size": self.size,
            "leaf_hash": b64(self.leaf_hash),
            "proof": [b64(h) for h in self.path],
            "root": b64(self.root),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[bytes]
    first_root: bytes
    second_root: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.first,
            "to": self.second,
            "proof": [b64(h) for h in self.path],
            "from_root": b64(self.first_root),
            "to_root": b64(self.second_root),
        }


@dataclass
class Ledger:
    """A ledger on one database. Create with :meth:`open` (or directly from an engine)."""

    engine: Engine
    signer: Signer | None = None
    witness_file: Path | None = None
    """The last checkpoint this signer handed out, kept outside the database (beside the key);
    see :class:`~tracefood.ledger.checkpoints.Checkpoints`."""
    checkpoints: Checkpoints = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.checkpoints = Checkpoints(self.engine, self.signer, self.witness_file)

    @classmethod
    def open(cls, url: str, key_file: str | Path | None = None, **engine_kwargs: Any) -> Ledger:
        """Open the ledger at a SQLAlchemy URL; ``key_file`` enables checkpoint signing."""
        engine = db.make_engine(url, **engine_kwargs)
        try:
            with engine.connect() as conn:
                db.require_schema(conn)
            signer = load_key(Path(key_file)) if key_file else None
        except BaseException:
            engine.dispose()
            raise
        witness = Path(key_file).with_name(Path(key_file).stem + ".checkpoint") if key_file else None
        return cls(engine, signer, witness_file=witness)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def verifier(self) -> Verifier:
        return self.checkpoints.verifier

    @property
    def origin(self) -> str:
        return self.verifier.name

    # -- appending ---------------------------------------------------------------------------

    def append(
        self,
        payload: Mapping[str, Any],
        *,
        entry_id: str | None = None,
        kind: str = "event",
        party: str | None = None,
    ) -> Receipt:
        """Append one entry (see :meth:`append_batch`)."""
        return self.append_batch([NewEntry(payload, entry_id, kind, party)])[0]

    def append_batch(self, items: Sequence[NewEntry]) -> list[Receipt]:
        """Append entries in one transaction, in order; return one receipt per item (see
        :meth:`Write.append <tracefood.ledger.append.Write.append>`)."""
        prepared = prepare(items)  # before taking the lock
        with self._transaction() as w:
            return w.append(prepared)

    def write(self, work: Callable[[Write], T]) -> T:
        """Run ``work`` in one write transaction under the ledger lock and return its result
        once committed: the one way to do other work in the same transaction as an append.

        ``work`` reads and writes on ``write.conn`` and appends with ``write.append``; if it
        raises, its appends and rows are rolled back and the error is raised here. Concurrent
        writes of this process share one transaction and one commit, each in its own savepoint
        (:mod:`~tracefood.ledger.group_commit`)."""
        return group_for(self.engine, self._transaction).run(work)

    @contextmanager
    def _transaction(self) -> Iterator[Write]:
        """One write transaction; signs the grown tree just before the commit, and keeps the
        checkpoint beside the key once committed."""
        signed: SignedCheckpoint | None = None
        with db.write_transaction(self.engine) as conn:
            w = Write(conn)
            yield w
            if w.growth is not None and self.signer is not None:
                signed = self.checkpoints.sign_grown(conn, w.growth)
        if signed is not None:
            self.checkpoints.remember(signed, committed=True)

    # -- reading -----------------------------------------------------------------------------

    def size(self) -> int:
        with db.read_snapshot(self.engine) as conn:
            return tree.size(conn)

    def root(self, size: int | None = None) -> tuple[int, bytes]:
        """(size, root hash) of the tree now, or at an earlier ``size``."""
        with db.read_snapshot(self.engine) as conn:
            current = tree.size(conn)
            n = current if size is None else _check_size("size", size, current)
            return n, tree.root(conn, n)

    def entry(self, index: int) -> StoredEntry:
        if not 0 <= index < MAX_LEAVES:
            raise NotFound(f"no entry at index {index}", errors=[{"field": "index", "reason": "no such entry"}])
        with db.read_snapshot(self.engine) as conn:
            row = conn.execute(
                select(entries.c.seq, entries.c.entry_id, entries.c.leaf_hash, entries.c.body).where(
                    entries.c.seq == index
                )
            ).first()
        if row is None:
            raise NotFound(f"no entry at index {index}", errors=[{"field": "index", "reason": "no such entry"}])
        return StoredEntry(int(row.seq), row.entry_id, bytes(row.leaf_hash), bytes(row.body))

    def entry_by_id(self, entry_id: str) -> StoredEntry:
        with db.read_snapshot(self.engine) as conn:
            row = conn.execute(
                select(entries.c.seq, entries.c.entry_id, entries.c.leaf_hash, entries.c.body).where(
                    entries.c.entry_id == entry_id
                )
            ).first()
        if row is None:
            raise NotFound(f"no entry with id {entry_id!r}", errors=[{"field": "entry_id", "reason": "unknown"}])
        return StoredEntry(int(row.seq), row.entry_id, bytes(row.leaf_hash), bytes(row.body))

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``index`` is in the tree of ``size`` (default: the current size)."""
        with db.read_snapshot(self.engine, single_statement=size is not None) as conn:
            # With a stated size, the presence of leaf size-1 (fetched with the proof's nodes)
            # shows the tree reached that size: one statement instead of two.
            n = tree.size(conn) if size is None else size
            if size is not None and size < 0:
                raise InvalidParameter("size", "must not be negative")
            if not 0 <= index < n:
                raise InvalidParameter(
                    "index", f"must be between 0 and {n - 1} for tree size {n}" if n else "the tree is empty"
                )
            leaf, path, root = _retrying(conn, "size", n, lambda: tree.inclusion(conn, index, n))
        return InclusionProof(index, n, leaf, path, root)

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """Proof that the tree of size ``second`` extends the tree of size ``first``."""
        with db.read_snapshot(self.engine, single_statement=second is not None) as conn:
            n = tree.size(conn) if second is None else second
            if n < 0:
                raise InvalidParameter("to", "must not be negative")
            if first < 1:
                raise InvalidParameter("from", "must be at least 1 (a proof from the empty tree proves nothing)")
            if first > n:
                raise InvalidParameter("from", f"must not exceed to ({n})")
            if first == n:
                root = _retrying(conn, "to", n, lambda: tree.root(conn, n))
                return ConsistencyProof(first, n, [], root, root)
            path, root1, root2 = _retrying(conn, "to", n, lambda: tree.consistency(conn, first, n))
        return ConsistencyProof(first, n, path, root1, root2)

    # -- checkpoints -------------------------------------------------------------------------

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The latest stored checkpoint (verified when the ledger has its key); never signs."""
        return self.checkpoints.latest()

    def verify(
        self,
        held: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
        verifier: Verifier | None = None,
        checks: Sequence[Check] = (),
    ) -> Report:
        """Verify everything stored against ``held`` checkpoints and the one kept beside the key.

        ``verifier``: the ledger's public key, for auditors who do not hold the signing key;
        ``checks``: checks of what is stored beside the log, on the same snapshot.
        See :func:`tracefood.ledger.verify.verify_ledger`.
        """
        checked = list(held)
        if verifier is None:
            witness = self.checkpoints.witness() if self.signer is not None else None
            if witness is not None:
                checked.append(witness.note)
        return verify_ledger(self.engine, verifier or self.verifier, checked, progress=progress, checks=checks)


def _retrying(conn: Connection, name: str, size: int, read: Callable[[], T]) -> T:
    """Run a proof read for a stated ``size``; a missing node means the tree is smaller
    (NotFound), or that an append committed between the two statements (read again), or,
    if it is still missing, damage (IntegrityError)."""
    if size > MAX_LEAVES:
        raise NotFound(f"{name}={size} is beyond any tree size", errors=[{"field": name, "reason": "too large"}])
    try:
        return read()
    except IntegrityError:
        _check_size(name, size, tree.size(conn))  # NotFound if the tree is smaller
        return read()


def _check_size(name: str, value: int, current: int) -> int:
    if value < 0:
        raise InvalidParameter(name, "must not be negative")
    if value > current:
        raise NotFound(
            f"{name}={value} is beyond the current tree size {current}",
            errors=[{"field": name, "reason": f"the tree has {current} entries"}],
        )
    return value
