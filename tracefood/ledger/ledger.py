"""The ledger: append entries, sign checkpoints, prove inclusion and consistency, verify.

Each entry is stored as the RFC 8785 bytes of an envelope::

    {"v": 1, "seq": n, "id": entry id, "kind": "event", "party": submitter or null,
     "prev": base64 leaf hash of entry n-1 (32 zero bytes for n = 0),
     "recorded": UTC record time, "payload": {...}}

so the log is a hash chain (``prev``) and an RFC 6962 Merkle tree (leaf = SHA-256(0x00||bytes))
at once. Appends run under the ledger lock (``db.write_transaction``); a batch is one
transaction, so it lands whole or not at all. Entry ids make appends idempotent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, insert, select

from tracefood.errors import Conflict, IntegrityError, InvalidEntry, InvalidParameter, LedgerKeyError, NotFound
from tracefood.ledger import db, merkle, tree
from tracefood.ledger.canonical import CanonicalError, canonical_bytes, loads
from tracefood.ledger.keys import load_key
from tracefood.ledger.models import MAX_LEAVES, checkpoints, entries
from tracefood.ledger.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    sign_checkpoint,
    split_note,
)
from tracefood.ledger.verify import Report, verify_ledger

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


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size


AfterAppend = Callable[[Connection, Sequence[tuple[Receipt, dict[str, Any]]]], None]
"""Hook run inside the append transaction with the new (receipt, envelope) pairs; raising
from it rolls the whole batch back (later issues update projections here)."""


@dataclass
class Ledger:
    """A ledger on one database. Create with :meth:`open` (or directly from an engine)."""

    engine: Engine
    signer: Signer | None = None
    after_append: list[AfterAppend] = field(default_factory=list)
    witness_file: Path | None = None
    """The last checkpoint this signer handed out, kept outside the database (beside the key):
    a new checkpoint must extend it too, so deleting checkpoint rows and rewriting history
    in the database cannot make the ledger sign a fork, and ``verify`` checks against it."""

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
        if self.signer is None:
            raise LedgerKeyError("this ledger was opened without its key: run `tracefood init`")
        return self.signer.verifier

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
        """Append entries in one transaction, in order; return one receipt per item.

        An item whose id is already recorded with the same kind and payload is not appended
        again: its receipt is the existing one (``created=False``). The same id with other
        content is a :class:`Conflict`, and the whole batch is refused.
        """
        prepared = self.prepare(items)
        with db.write_transaction(self.engine) as conn:
            return self._append_locked(conn, prepared)

    def prepare(self, items: Sequence[NewEntry]) -> list[_Prepared]:
        """Check and encode entries before taking the lock (for :meth:`append_in`)."""
        return [_prepare(i, item) for i, item in enumerate(items)]

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """The serialised write transaction appends run in: callers that must read state and
        append in one transaction (event validation and projections) use it with
        :meth:`append_in`. Commits on success, rolls back on any exception."""
        with db.write_transaction(self.engine) as conn:
            yield conn

    def append_in(
        self, conn: Connection, prepared: list[_Prepared], *, fresh: bool = False, size: int | None = None
    ) -> list[Receipt]:
        """Append prepared entries inside :meth:`writing`'s transaction.

        ``fresh``: the caller has already established, under this lock, that none of these
        entry ids is recorded (the unique index on entry ids still guards it), so the lookup
        of existing receipts is skipped. ``size``: the tree size the caller read under this
        lock (saves reading it again).
        """
        return self._append_locked(conn, prepared, fresh=fresh, size=size)

    def _append_locked(
        self, conn: Connection, prepared: list[_Prepared], *, fresh: bool = False, size: int | None = None
    ) -> list[Receipt]:
        existing = {} if fresh else _existing_receipts(conn, [p.entry_id for p in prepared])
        size = tree.size(conn) if size is None else size
        pieces = merkle.perfect_pieces(0, size)
        found = tree.lookup(conn, [*pieces, (0, size - 1)] if size else pieces)  # one round trip
        front = merkle.Frontier(size, [found[c] for c in pieces])
        prev = found[(0, size - 1)] if size else GENESIS_PREV
        recorded = _now()
        receipts: list[Receipt] = []
        new_rows: list[tuple[int, str, bytes, bytes]] = []
        new_nodes: list[tuple[int, int, bytes]] = []
        appended: list[tuple[Receipt, dict[str, Any]]] = []
        batch_ids: dict[str, tuple[_Prepared, Receipt]] = {}
        for p in prepared:
            seen = batch_ids.get(p.entry_id)
            if seen is None and p.entry_id in existing:
                seen = existing[p.entry_id]
            if seen is not None:
                other, receipt = seen
                if (other.kind, other.payload_bytes) != (p.kind, p.payload_bytes):
                    raise Conflict(
                        f"entry id {p.entry_id!r} is already recorded (seq {receipt.seq}) with different content",
                        errors=[{"field": f"/{p.index}/entry_id", "reason": "already recorded with different content"}],
                    )
                receipts.append(Receipt(receipt.seq, receipt.entry_id, receipt.leaf_hash, receipt.recorded, False))
                continue
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
            leaf = merkle.leaf_hash(body)
            new_nodes.extend(front.append(leaf))
            new_rows.append((size, p.entry_id, leaf, body))
            receipt = Receipt(size, p.entry_id, leaf, recorded)
            receipts.append(receipt)
            appended.append((receipt, envelope))
            batch_ids[p.entry_id] = (p, receipt)
            prev = leaf
            size += 1
        if new_rows:
            db.insert_many(conn, "ledger_entries", ("seq", "entry_id", "leaf_hash", "body"), new_rows)
            tree.store_nodes(conn, new_nodes)
            for hook in self.after_append:
                hook(conn, appended)
        return receipts

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
        with db.read_snapshot(self.engine) as conn:
            return _latest_checkpoint(conn)

    def checkpoint(self) -> SignedCheckpoint:
        """The signed checkpoint of the current tree, signing a new one if the tree grew.

        A new checkpoint is signed only after proving it consistent with the last one; if
        the stored tree disagrees with what was signed before, nothing is signed.
        """
        signer = self.signer
        if signer is None:
            raise LedgerKeyError("this ledger was opened without its key: run `tracefood init`")
        witness = self._witness()
        with db.read_snapshot(self.engine) as conn:
            latest = _latest_checkpoint(conn)
            if latest is not None and latest.size == tree.size(conn) and _covers(latest, witness):
                return self._remember(self._verified(latest), witness)
        with db.write_transaction(self.engine) as conn:
            n = tree.size(conn)
            latest = _latest_checkpoint(conn)
            if latest is not None:
                self._verified(latest)
                if latest.size == n and _covers(latest, witness):
                    return self._remember(latest, witness)
            root = tree.root(conn, n)
            for previous in (latest, witness):  # both verified above
                if previous is not None:
                    self._check_extends(conn, previous.checkpoint, n, root)
            if latest is not None and latest.size == n:
                signed = latest
            else:
                cp = Checkpoint(signer.name, n, root)
                signed = SignedCheckpoint(cp, sign_checkpoint(cp, signer))
                conn.execute(
                    insert(checkpoints).values(
                        size=n, root_hash=root, note=signed.note, signed_at=dt.datetime.now(dt.UTC)
                    )
                )
        return self._remember(signed, witness)

    def _witness(self) -> SignedCheckpoint | None:
        """The checkpoint kept beside the key, if any (it must verify)."""
        if self.witness_file is None or not self.witness_file.exists():
            return None
        note = self.witness_file.read_text(encoding="utf-8")
        try:
            return SignedCheckpoint(open_checkpoint(note, self.verifier), note)
        except NoteError as exc:
            raise IntegrityError(f"{self.witness_file} is not a checkpoint of this ledger: {exc}") from exc

    def _remember(self, signed: SignedCheckpoint, kept: SignedCheckpoint | None) -> SignedCheckpoint:
        """Keep ``signed`` beside the key if it is newer than ``kept`` (atomic replace)."""
        if self.witness_file is None:
            return signed
        if kept is None or kept.size < signed.size:
            tmp = self.witness_file.with_name(self.witness_file.name + f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(signed.note)
            os.replace(tmp, self.witness_file)
        return signed

    def _verified(self, stored: SignedCheckpoint) -> SignedCheckpoint:
        """A stored checkpoint, handed out only if it still verifies with the ledger key."""
        try:
            open_checkpoint(stored.note, self.verifier)
        except NoteError as exc:
            raise IntegrityError(
                f"the stored checkpoint of size {stored.size} does not verify: {exc}; run `tracefood verify`"
            ) from exc
        return stored

    def _check_extends(self, conn: Connection, previous: Checkpoint, n: int, root: bytes) -> None:
        """Raise unless the tree of size ``n`` and ``root`` extends a verified earlier checkpoint."""
        if previous.size > n:
            raise IntegrityError(
                f"the ledger has {n} entries but a checkpoint of size {previous.size} was signed: "
                "entries were removed; run `tracefood verify`"
            )
        try:
            if previous.size == 0:
                return
            path, _, _ = tree.consistency(conn, previous.size, n)
            merkle.verify_consistency(previous.size, n, path, previous.root, root)
        except merkle.ProofError as exc:
            raise IntegrityError(
                f"the tree is not consistent with the checkpoint of size {previous.size}: {exc}; run `tracefood verify`"
            ) from exc

    def verify(
        self,
        held: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
        verifier: Verifier | None = None,
    ) -> Report:
        """Verify everything stored against ``held`` checkpoints and the one kept beside the key.

        ``verifier``: the ledger's public key, for auditors who do not hold the signing key.
        See :func:`tracefood.ledger.verify.verify_ledger`.
        """
        checked = list(held)
        if verifier is None:
            witness = self._witness() if self.signer is not None else None
            if witness is not None:
                checked.append(witness.note)
        return verify_ledger(self.engine, verifier or self.verifier, checked, progress=progress)


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


@dataclass(frozen=True)
class _Prepared:
    index: int
    entry_id: str
    kind: str
    party: str | None
    payload: Mapping[str, Any]
    payload_bytes: bytes


def _prepare(index: int, item: NewEntry) -> _Prepared:
    """Check one item before taking the lock (cheap, and nothing is written on failure)."""
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
    return _Prepared(index, entry_id, item.kind, item.party, item.payload, payload_bytes)


def _existing_receipts(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[_Prepared, Receipt]]:
    found: dict[str, tuple[_Prepared, Receipt]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        stmt = select(entries.c.seq, entries.c.entry_id, entries.c.leaf_hash, entries.c.body).where(
            entries.c.entry_id.in_(chunk)
        )
        for row in conn.execute(stmt):
            env = loads(row.body)
            prepared = _Prepared(
                -1, row.entry_id, env["kind"], env["party"], env["payload"], canonical_bytes(env["payload"])
            )
            found[row.entry_id] = (
                prepared,
                Receipt(int(row.seq), row.entry_id, bytes(row.leaf_hash), env["recorded"], False),
            )
    return found


def _latest_checkpoint(conn: Connection) -> SignedCheckpoint | None:
    row = conn.execute(select(checkpoints.c.note).order_by(checkpoints.c.size.desc()).limit(1)).first()
    if row is None:
        return None
    try:
        text, _ = split_note(row.note)
        return SignedCheckpoint(Checkpoint.parse_text(text), row.note)
    except NoteError as exc:
        raise IntegrityError(f"the last stored checkpoint is malformed: {exc}") from exc


T = TypeVar("T")


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


def _covers(stored: SignedCheckpoint, witness: SignedCheckpoint | None) -> bool:
    """True if the stored checkpoint is at least as new as the one kept beside the key."""
    return witness is None or witness.size <= stored.size


def _check_size(name: str, value: int, current: int) -> int:
    if value < 0:
        raise InvalidParameter(name, "must not be negative")
    if value > current:
        raise NotFound(
            f"{name}={value} is beyond the current tree size {current}",
            errors=[{"field": name, "reason": f"the tree has {current} entries"}],
        )
    return value


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
