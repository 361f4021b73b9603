"""Verify a stored ledger from its bytes up; return findings, never raise for what it finds.

One streaming pass (memory O(log n) plus the findings) recomputes every leaf hash from the
stored bytes, follows the ``prev`` chain, rebuilds the Merkle tree and compares every stored
node and every checkpoint (stored in the database or held by the caller) with it. Places
where something is off are collected as *anomalies*; a second step reads a few rows around
each anomaly and names what happened there, so that a single change is reported once, at
the sequence number where it was made:

``entry-modified``    the entry's bytes changed (they no longer hash to what the ledger or
                      the next entry's ``prev`` recorded)
``link-broken``       the entry's ``prev`` does not name the entry before it
``entry-deleted``     an entry is missing (a gap, or later entries renumbered to hide one)
``entry-inserted``    an entry that the chain does not vouch for sits at this position
``entries-reordered`` entries are stored out of order
``entry-malformed``   the stored bytes are not a ledger entry
``node-mismatch`` / ``node-missing``  a stored Merkle node is wrong / absent
``checkpoint-signature``    a checkpoint does not verify with the ledger key
``checkpoint-inconsistent`` a checkpoint's root is not the root of the ledger at its size
``truncated``          the ledger is shorter than a checkpoint says it was

Nodes covering a changed entry, and nodes after a structural change (insert, delete,
reorder), are not reported separately: the entry finding explains them.

Callers above the log may add ``checks``: functions run on the same read snapshot after the
log itself is checked, each returning findings of its own (the label tables compared with
their entries, :mod:`tracefood.labels.ledger_audit`). The log never knows what they read.
"""

from __future__ import annotations

import binascii
import bisect
import contextlib
import hashlib
import queue
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from tracefood.errors import NoteError
from tracefood.ledger import db, merkle
from tracefood.ledger.canonical import loads
from tracefood.ledger.diagnose import CHUNK, GENESIS_PREV, as_bytes, clusters, diagnose_window, rows
from tracefood.ledger.models import LEVEL_BITS, checkpoints
from tracefood.ledger.note import Checkpoint, Verifier, open_checkpoint

__all__ = ["Check", "Finding", "Report", "diagnose_window", "verify_ledger"]

# RFC 8785 orders the envelope's keys id, kind, party, payload, prev, recorded, seq, v: the last
# ~130 bytes of every entry the append path writes are exactly this. Reading seq and prev there
# instead of parsing the whole entry is a third of the verifier's time; the hashes, not this
# parse, are what detect a change (any other shape falls back to a full parse).
ENVELOPE_TAIL = re.compile(
    rb',"prev":"([A-Za-z0-9+/]{43}=)","recorded":"[0-9T:.Z-]{1,40}","seq":(0|[1-9][0-9]{0,15}),"v":1}\Z'
)
TAIL_WINDOW = 200
MAX_FINDINGS = 1_000  # a report lists at most this many; ``Report.complete`` says if more exist
DIAGNOSE_WINDOW = 5_000


@dataclass(frozen=True)
class Finding:
    seq: int | None
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "code": self.code, "message": self.message}


Check = Callable[[Connection], Iterable[Finding]]
"""A check of what is stored beside the log against it, run on the verifier's snapshot."""


@dataclass
class Report:
    size: int
    findings: list[Finding] = field(default_factory=list)
    checkpoints_checked: int = 0
    complete: bool = True  # False when findings were cut at MAX_FINDINGS

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "size": self.size,
            "findings": [f.to_json() for f in self.findings],
            "findings_complete": self.complete,
        }


ROWS_SQL = "SELECT seq, body, leaf_hash FROM ledger_entries WHERE seq > {mark} ORDER BY seq LIMIT {limit}"
NODES_SQL = "SELECT id, hash FROM ledger_nodes WHERE id >= {mark} AND id < {mark} ORDER BY id"
END = (1 << 63, b"")
Chunk = tuple[list[tuple[int, bytes, bytes]], list[tuple[int, bytes]]]


def _chunks(conn: Connection) -> Iterator[Chunk]:
    """Entries in stored order, CHUNK at a time, each with the stored nodes its leaves complete.

    Read through the driver's own cursor on the caller's snapshot (SQLAlchemy Row objects
    and, on PostgreSQL, text-format bytea would double the cost), by a helper thread that
    fetches the next chunk while the caller hashes this one: both drivers release the GIL
    while they wait for the database. All database access stays in that one thread.
    """
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    rows_sql = ROWS_SQL.format(mark=mark, limit=CHUNK)
    nodes_sql = NODES_SQL.format(mark=mark)
    raw: Any = conn.connection.dbapi_connection
    results: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        cursor = raw.cursor(binary=True) if postgres else raw.cursor()
        try:
            last = -1
            while not stop.is_set():
                cursor.execute(rows_sql, (last,))
                rows = cursor.fetchall()
                if not rows:
                    break
                # nodes whose last leaf is in this chunk: keys (last leaf << 6 | level)
                cursor.execute(nodes_sql, (rows[0][0] << LEVEL_BITS, (rows[-1][0] + 1) << LEVEL_BITS))
                results.put((rows, cursor.fetchall()))
                if len(rows) < CHUNK:
                    break
                last = rows[-1][0]
            results.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            results.put(exc)
        finally:
            cursor.close()

    worker = threading.Thread(target=produce, name="tracefood-verify-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = results.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.05)
        worker.join()


@dataclass
class _Scan:
    """Where the streaming pass is between chunks."""

    want: set[int]  # the checkpoint sizes whose roots are needed
    roots: dict[int, bytes]
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (first missing seq, next stored seq)
    stack: list[bytes] = field(default_factory=list)  # perfect subtrees of the leaves seen, largest first
    count: int = 0
    expected_seq: int = 0
    offset: int = 0  # stored position minus claimed sequence, as last seen
    prev_hash: bytes = GENESIS_PREV
    last_claimed: int | None = None
    structural_from: int | None = None
    pending: deque[tuple[int, bytes]] = field(default_factory=deque)  # stored nodes, in key order
    node: tuple[int, bytes] = END  # the stored node being compared


def _claims(body: bytes) -> tuple[int | None, bytes | None]:
    """(seq, prev) named inside an entry read in full; (None, None) if it is malformed."""
    try:
        env = loads(body)
        claimed, named_prev = env["seq"], binascii.a2b_base64(env["prev"], strict_mode=True)
        if type(claimed) is not int:
            raise TypeError("seq is not an integer")
    except Exception:  # malformed: diagnosed later
        return None, None
    return claimed, named_prev


@dataclass
class _HeldCheckpoint:
    source: str
    note: str
    checkpoint: Checkpoint | None = None
    stored_root: bytes | None = None


def verify_ledger(
    engine: Engine,
    verifier: Verifier,
    held: Sequence[str] = (),
    *,
    progress: Callable[[int], None] | None = None,
    checks: Sequence[Check] = (),
) -> Report:
    """Check the whole ledger in one read snapshot. ``held``: signed checkpoint notes;
    ``checks``: more checks on the same snapshot (see the module docstring)."""
    with db.read_snapshot(engine) as conn:
        db.require_schema(conn)
        return _Verification(conn, verifier, held, progress).run(checks)


class _Verification:
    def __init__(
        self, conn: Connection, verifier: Verifier, held: Sequence[str], progress: Callable[[int], None] | None
    ) -> None:
        self.conn, self.verifier, self.progress = conn, verifier, progress
        self.findings: list[Finding] = []
        self.complete = True
        self.explained: set[int | None] = set()
        self.anomalies: list[int] = []
        self.node_problems: list[tuple[int, int, str]] = []
        self.checkpoints = self._load_checkpoints(held)

    def add(self, seq: int | None, code: str, message: str) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(seq, code, message))
        else:
            self.complete = False

    def _load_checkpoints(self, held: Sequence[str]) -> list[_HeldCheckpoint]:
        found = [
            _HeldCheckpoint(f"stored checkpoint of size {int(r.size)}", r.note, stored_root=bytes(r.root_hash))
            for r in self.conn.execute(select(checkpoints.c.size, checkpoints.c.root_hash, checkpoints.c.note))
        ]
        found += [_HeldCheckpoint(f"held checkpoint #{i + 1}", note) for i, note in enumerate(held)]
        for cp in found:
            try:
                cp.checkpoint = open_checkpoint(cp.note, self.verifier)
            except NoteError as exc:
                self.add(None, "checkpoint-signature", f"{cp.source} does not verify with the ledger key: {exc}")
                continue
            if cp.stored_root is not None and cp.stored_root != cp.checkpoint.root:
                self.add(
                    cp.checkpoint.size - 1 if cp.checkpoint.size else None,
                    "checkpoint-signature",
                    f"{cp.source}: the stored root column differs from the signed root",
                )
        return [cp for cp in found if cp.checkpoint is not None]

    def run(self, checks: Sequence[Check] = ()) -> Report:
        want = {cp.checkpoint.size for cp in self.checkpoints if cp.checkpoint}
        scan = _Scan(want, {0: merkle.EMPTY_ROOT} if 0 in want else {})
        for rows_, chunk_nodes in _chunks(self.conn):
            made = self._scan(scan, rows_)
            scan.pending.extend(chunk_nodes)
            self._compare_nodes(scan, made)
            if self.progress:
                self.progress(scan.count)
        for first, after in scan.gaps:
            what = f"entry {first} is" if after == first + 1 else f"entries {first}-{after - 1} are"
            self.add(first, "entry-deleted", f"{what} missing from the ledger")
            self.explained.add(after)  # the entry after a hole names a missing predecessor
        size, claimed_size = scan.count, scan.expected_seq
        if scan.last_claimed is not None:
            claimed_size = max(size, scan.last_claimed + 1)  # renumbering after a deletion is not truncation
        self._diagnose()
        self._report_nodes(scan.structural_from)
        self._check_checkpoints(scan.roots, claimed_size)
        for check in checks:
            for finding in check(self.conn):
                self.add(finding.seq, finding.code, finding.message)
        if self.progress:
            self.progress(scan.count)
        complete = self.complete and len(self.findings) < MAX_FINDINGS
        return Report(size, sorted(self.findings, key=_order), len(self.checkpoints), complete)

    def _scan(self, scan: _Scan, rows_: list[tuple[int, bytes, bytes]]) -> list[tuple[int, int, int, bytes]]:
        """The hot loop over one chunk: locals only, no per-row objects (10^6 entries in a few
        seconds). Returns the tree nodes the chunk's leaves complete, in key order."""
        anomalies, stack, want, roots = self.anomalies, scan.stack, scan.want, scan.roots
        count, expected_seq, offset, prev_hash = scan.count, scan.expected_seq, scan.offset, scan.prev_hash
        last_claimed, structural_from = scan.last_claimed, scan.structural_from
        sha256, a2b, tail_search = hashlib.sha256, binascii.a2b_base64, ENVELOPE_TAIL.search
        made: list[tuple[int, int, int, bytes]] = []  # (node key, level, index, hash)
        for seq, body, stored in rows_:
            if type(body) is not bytes:  # SQLite stores whatever raw SQL wrote
                body = as_bytes(body)
            recomputed = sha256(b"\x00" + body).digest()
            if seq != expected_seq:  # a hole in the stored sequence is a fact, named here
                anomalies.append(expected_seq)
                structural_from = _min(structural_from, expected_seq)
                prev_hash = b""
                scan.gaps.append((expected_seq, seq))
            if recomputed != stored:
                anomalies.append(seq)
            tail = tail_search(body, len(body) - TAIL_WINDOW)
            # not in the shape the append path writes: parse it all
            claimed, named_prev = (int(tail[2]), a2b(tail[1])) if tail is not None else _claims(body)
            if claimed is None:  # malformed: diagnosed later
                anomalies.append(seq)
            else:
                if seq - claimed != offset:
                    offset = seq - claimed
                    anomalies.append(seq)
                    structural_from = _min(structural_from, min(seq, claimed))
                last_claimed = claimed
            if named_prev != prev_hash:
                anomalies.append(seq)
            # Frontier.append, inlined; nodes complete in key order (models.node_id).
            index, acc, level = count, recomputed, 0
            while index & 1:
                acc = sha256(b"\x01" + stack.pop() + acc).digest()
                index >>= 1
                level += 1
                made.append(((count << LEVEL_BITS) | level, level, index, acc))
            stack.append(acc)
            count += 1
            if count in want:
                roots[count] = merkle.fold_pieces(stack)
            prev_hash = recomputed
            expected_seq = seq + 1
        scan.count, scan.expected_seq, scan.offset, scan.prev_hash = count, expected_seq, offset, prev_hash
        scan.last_claimed, scan.structural_from = last_claimed, structural_from
        return made

    def _compare_nodes(self, scan: _Scan, made: list[tuple[int, int, int, bytes]]) -> None:
        """Compare each completed node with the stored one; both come in key order."""
        pending, problems = scan.pending, self.node_problems
        node_key, node_hash = scan.node
        if node_key == END[0] and pending:
            node_key, node_hash = pending.popleft()
        for key, level, index, acc in made:
            while node_key < key:  # a stored node no append made: not ours to judge
                node_key, node_hash = pending.popleft() if pending else END
            if node_key != key:
                problems.append((level, index, "node-missing"))
            else:
                if node_hash != acc:
                    problems.append((level, index, "node-mismatch"))
                node_key, node_hash = pending.popleft() if pending else END
        scan.node = (node_key, node_hash)

    # -- naming what happened around each anomaly --------------------------------------------

    def _diagnose(self) -> None:
        named = {f.seq for f in self.findings} | self.explained
        for lo, hi in clusters(sorted(set(self.anomalies))):
            # a long run of damage is read a window at a time: memory stays bounded
            for start in range(lo, hi + 1, DIAGNOSE_WINDOW):
                if len(self.findings) >= MAX_FINDINGS:
                    return
                stop = min(start + DIAGNOSE_WINDOW - 1, hi)
                window = list(rows(self.conn, max(start - 3, 0), stop + 4))
                found = [f for f in diagnose_window(window, start, stop) if f[0] not in named]
                for seq, code, message in found:
                    self.add(seq, code, message)
                    named.add(seq)
                if not found and not any(start - 1 <= (s if s is not None else -9) <= stop + 1 for s in named):
                    # Backstop: something did not add up here and no rule named it. Never
                    # let an anomaly end as a clean report.
                    self.add(start, "link-broken", f"the hash chain does not hold between entries {start} and {stop}")
                    named.add(start)

    def _report_nodes(self, structural_from: int | None) -> None:
        explained = sorted(f.seq for f in self.findings if f.seq is not None)
        for level, index, code in self.node_problems:
            first, last = index << level, ((index + 1) << level) - 1
            if structural_from is not None and last >= structural_from:
                continue
            i = bisect.bisect_left(explained, first)
            if i < len(explained) and explained[i] <= last:
                continue
            what = "is missing" if code == "node-missing" else "does not match the entries below it"
            self.add(last, code, f"stored Merkle node at level {level}, index {index} (entries {first}-{last}) {what}")

    def _check_checkpoints(self, roots: dict[int, bytes], size: int) -> None:
        good_sizes: list[int] = []
        ordered = sorted(self.checkpoints, key=lambda c: c.checkpoint.size if c.checkpoint else 0)
        for cp in ordered:
            assert cp.checkpoint is not None
            n = cp.checkpoint.size
            if n > size:
                self.add(
                    size,
                    "truncated",
                    f"{cp.source} commits to {n} entries but the ledger ends at {size}: entries "
                    f"{size}-{n - 1} are gone",
                )
            elif roots.get(n) != cp.checkpoint.root:
                since = max((s for s in good_sizes if s < n), default=0)
                self.add(
                    since,
                    "checkpoint-inconsistent",
                    f"{cp.source} (size {n}) does not match the ledger: history between entries "
                    f"{since} and {n - 1} was changed after it was signed",
                )
            else:
                good_sizes.append(n)


def _min(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _order(f: Finding) -> tuple[int, str]:
    return (-1 if f.seq is None else f.seq, f.code)
