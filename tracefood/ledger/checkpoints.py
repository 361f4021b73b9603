"""Signed checkpoints: the latest one stored, and signing a new one on the writer's path.

The ledger appends and proves; signing is a separate duty, with its own key and its own memory
outside the database (the checkpoint kept beside the key, the "witness"). Reads never write
(CONVENTIONS 18): a reader only ever gets the latest *stored* checkpoint. The write transaction
that grows the tree signs the checkpoint of its new size before it commits (``Ledger`` calls
:meth:`Checkpoints.sign_grown`), so every committed entry is covered by a stored checkpoint
when a reader asks. :meth:`Checkpoints.sign` catches up a tree grown without the key (``tracefood
checkpoint``, ``init``, ``serve`` at start-up).

A new checkpoint is signed only after proving the new tree consistent with the last stored one
and with the witness; if the stored tree disagrees with what was signed before, nothing is
signed and the write that grew it is rolled back.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, insert

from tracefood.errors import IntegrityError, LedgerKeyError, NoteError, ProofError
from tracefood.ledger import db, merkle, tree
from tracefood.ledger.models import checkpoints
from tracefood.ledger.note import Checkpoint, Signer, Verifier, open_checkpoint, sign_checkpoint, split_note


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size


@dataclass(frozen=True)
class Growth:
    """What one write transaction did to the tree: it was ``start`` (size, root) when the
    transaction first appended, and is ``size`` entries with ``root`` now."""

    start: tuple[int, bytes]
    size: int
    root: bytes


_LATEST = "SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"
_INSERT = insert(checkpoints)
_log = logging.getLogger(__name__)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created 0600) for the duration of the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def latest(conn: Connection) -> SignedCheckpoint | None:
    """The stored checkpoint of the largest size, parsed but not verified."""
    # Plain driver SQL, constant text: read inside every growing write, where building and
    # compiling a SQLAlchemy construct costs more than the database's answer.
    row = conn.exec_driver_sql(_LATEST).first()
    if row is None:
        return None
    note = str(row[0])
    try:
        text, _ = split_note(note)
        return SignedCheckpoint(Checkpoint.parse_text(text), note)
    except NoteError as exc:
        raise IntegrityError(f"the last stored checkpoint is malformed: {exc}") from exc


class Checkpoints:
    """The checkpoints of one ledger database, and their signer if the key is at hand."""

    def __init__(self, engine: Engine, signer: Signer | None, witness_file: Path | None) -> None:
        self.engine = engine
        self.signer = signer
        self.witness_file = witness_file
        """The last checkpoint this signer handed out, kept outside the database (beside the
        key): a new checkpoint must extend it too, so deleting checkpoint rows and rewriting
        history in the database cannot make the ledger sign a fork."""
        # Notes this process signed or verified: a note is checked against the key once, not
        # on every append (it cannot change without changing the text compared here).
        self._trusted: set[str] = set()
        self._kept: tuple[tuple[int, int, int], SignedCheckpoint] | None = None
        self._file_lock = threading.Lock()

    @property
    def verifier(self) -> Verifier:
        return self._signer().verifier

    def _signer(self) -> Signer:
        if self.signer is None:
            raise LedgerKeyError("this ledger was opened without its key: run `tracefood init`")
        return self.signer

    # -- reading -------------------------------------------------------------------------------

    def latest(self) -> SignedCheckpoint | None:
        """The latest stored checkpoint (verified with the key when the ledger has it). Never
        signs: this is what readers get."""
        with db.read_snapshot(self.engine) as conn:
            stored = latest(conn)
        if stored is None or self.signer is None:
            return stored
        return self._verified(stored)

    def witness(self) -> SignedCheckpoint | None:
        """The checkpoint kept beside the key, if any (it must verify)."""
        if self.witness_file is None:
            return None
        try:
            st = os.stat(self.witness_file)
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        kept = self._kept
        if kept is not None and kept[0] == stamp:  # read and verified already
            return kept[1]
        note = self.witness_file.read_text(encoding="utf-8")
        try:
            found = SignedCheckpoint(open_checkpoint(note, self.verifier), note)
        except NoteError as exc:
            raise IntegrityError(f"{self.witness_file} is not a checkpoint of this ledger: {exc}") from exc
        self._kept = (stamp, found)
        return found

    # -- signing -------------------------------------------------------------------------------

    def sign(self) -> SignedCheckpoint:
        """The signed checkpoint of the current tree: the stored one if it covers the tree and
        the witness, else a new one signed under the write lock (writers only: the CLI's
        ``checkpoint`` and ``init``, ``serve`` at start-up)."""
        self._signer()
        witness = self.witness()
        with db.read_snapshot(self.engine) as conn:
            stored = latest(conn)
            if stored is not None and stored.size == tree.size(conn) and _covers(stored, witness):
                return self.remember(self._verified(stored))
        with db.write_transaction(self.engine) as conn:
            n = tree.size(conn)
            stored = latest(conn)
            if stored is not None:
                self._verified(stored)
                if stored.size == n and _covers(stored, witness):
                    return self.remember(stored)
            root = tree.root(conn, n)
            signed = self._sign_locked(conn, stored, witness, Growth((n, root), n, root), fast=False)
        return self.remember(signed)

    def sign_grown(self, conn: Connection, growth: Growth) -> SignedCheckpoint:
        """Sign the grown tree inside the write transaction that grew it (before its commit);
        call :meth:`remember` once it has committed."""
        return self._sign_locked(conn, latest(conn), self.witness(), growth, fast=True)

    def _sign_locked(
        self,
        conn: Connection,
        stored: SignedCheckpoint | None,
        witness: SignedCheckpoint | None,
        growth: Growth,
        *,
        fast: bool,
    ) -> SignedCheckpoint:
        signer = self._signer()
        if stored is not None:
            self._verified(stored)
        # A verified stored checkpoint at least as large as the witness was signed after
        # proving it extends every earlier one, the witness included: checking it suffices.
        checked = [stored] if stored is not None and _covers(stored, witness) else [stored, witness]
        for previous in checked:
            if previous is not None:
                self._check_extends(conn, previous.checkpoint, growth, fast=fast)
        if stored is not None and stored.size == growth.size:
            return stored
        cp = Checkpoint(signer.name, growth.size, growth.root)
        signed = SignedCheckpoint(cp, sign_checkpoint(cp, signer))
        values = {"size": growth.size, "root_hash": growth.root, "note": signed.note}
        conn.execute(_INSERT, values | {"signed_at": dt.datetime.now(dt.UTC)})
        self._trusted.add(signed.note)
        return signed

    def remember(self, signed: SignedCheckpoint, *, committed: bool = False) -> SignedCheckpoint:
        """Keep ``signed`` beside the key if it is newer than the one there (atomic replace).

        Called after the commit that stored it (a witness ahead of the database would make the
        next signing report removed entries), by every growing write: a checkpoint a reader can
        have been handed is kept at once, so rewriting history and deleting checkpoint rows in
        the database cannot make this signer sign a fork of it. Processes sharing the key file
        take turns on an ``flock`` so the witness never goes backwards. ``committed``: the write
        has landed and must be reported as landed, so a witness that cannot be written is
        logged (``verify`` and the next signing still check the database's checkpoints)."""
        if self.witness_file is None:
            return signed
        try:
            with self._file_lock, _exclusive(self.witness_file.with_name(self.witness_file.name + ".lock")):
                self._save(signed)
        except OSError as exc:
            if not committed:
                raise
            _log.error("could not keep checkpoint %d beside the key in %s: %s", signed.size, self.witness_file, exc)
        return signed

    def _save(self, signed: SignedCheckpoint) -> None:
        assert self.witness_file is not None
        kept = self.witness()
        if kept is not None and kept.size >= signed.size:
            return
        unique = f".{os.getpid()}.{threading.get_ident()}.tmp"
        tmp = self.witness_file.with_name(self.witness_file.name + unique)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(signed.note)
        os.replace(tmp, self.witness_file)
        st = os.stat(self.witness_file)
        self._kept = ((st.st_ino, st.st_mtime_ns, st.st_size), signed)  # ours: no need to read it back

    def _verified(self, stored: SignedCheckpoint) -> SignedCheckpoint:
        """A stored checkpoint, handed out only if it still verifies with the ledger key."""
        if stored.note in self._trusted:
            return stored
        try:
            open_checkpoint(stored.note, self.verifier)
        except NoteError as exc:
            raise IntegrityError(
                f"the stored checkpoint of size {stored.size} does not verify: {exc}; run `tracefood verify`"
            ) from exc
        if len(self._trusted) > 64:  # only the newest few are ever asked about again
            self._trusted.clear()
        self._trusted.add(stored.note)
        return stored

    @staticmethod
    def _check_extends(conn: Connection, previous: Checkpoint, growth: Growth, *, fast: bool) -> None:
        """Raise unless the grown tree extends a verified earlier checkpoint.

        ``fast``: the new nodes were hashed onto the frontier read at ``growth.start``, so a
        checkpoint of that size extends to the new tree if its root is the frontier's root; no
        proof needs reading."""
        n = growth.size
        if previous.size > n:
            raise IntegrityError(
                f"the ledger has {n} entries but a checkpoint of size {previous.size} was signed: "
                "entries were removed; run `tracefood verify`"
            )
        try:
            if previous.size == 0:
                return
            if fast and previous.size == growth.start[0]:
                if previous.root != growth.start[1]:
                    raise ProofError("the stored tree has another root at that size")
                return
            path, _, _ = tree.consistency(conn, previous.size, n)
            merkle.verify_consistency(previous.size, n, path, previous.root, growth.root)
        except ProofError as exc:
            raise IntegrityError(
                f"the tree is not consistent with the checkpoint of size {previous.size}: {exc}; run `tracefood verify`"
            ) from exc


def _covers(stored: SignedCheckpoint, witness: SignedCheckpoint | None) -> bool:
    """True if the stored checkpoint is at least as new as the one kept beside the key."""
    return witness is None or witness.size <= stored.size
