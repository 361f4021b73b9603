"""Naming what happened around an anomaly the verifier found (see :mod:`tracefood.ledger.verify`).

The streaming pass only notes *where* something is off; here a few rows around each place are
read again in full and the change is named once, at the sequence number where it was made:
structure first (gaps, duplicated or displaced sequence numbers), then content (bytes that no
longer hash to what was recorded), then links. Kept apart from the streaming pass because it
is a different kind of code: slow, careful, and only run where damage was seen.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from tracefood.ledger import merkle
from tracefood.ledger.canonical import loads
from tracefood.ledger.models import entries

CHUNK = 20_000
GENESIS_PREV = bytes(32)
Named = tuple[int, str, str]  # (seq, code, message)


@dataclass
class Row:
    seq: int  # position: the stored sequence column
    claimed: int | None  # the sequence number inside the bytes
    prev: bytes | None  # the previous hash named inside the bytes
    recomputed: bytes  # SHA-256 leaf hash of the stored bytes
    stored: bytes  # the stored leaf_hash column
    malformed: str | None = None


def _parse(seq: int, body: bytes, stored: bytes) -> Row:
    recomputed = merkle.leaf_hash(body)
    try:
        env = loads(body)
        claimed, prev_text = env["seq"], env["prev"]
        prev = base64.b64decode(prev_text, validate=True)
        if not isinstance(claimed, int) or len(prev) != 32 or env.get("v") != 1:
            raise ValueError("bad envelope fields")
    except Exception as exc:  # any parse failure is a finding, not a crash
        return Row(seq, None, None, recomputed, stored, malformed=str(exc) or type(exc).__name__)
    return Row(seq, claimed, prev, recomputed, stored)


def as_bytes(value: object) -> bytes:
    """A stored value as bytes: tampering through raw SQL can leave text or numbers behind."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8", "surrogateescape")


def rows(conn: Connection, start: int = 0, stop: int | None = None) -> Iterator[Row]:
    """Stream entries in stored order, keyset-paginated (bounded memory on both engines)."""
    cursor = start - 1
    while True:
        stmt = (
            select(entries.c.seq, entries.c.body, entries.c.leaf_hash)
            .where(entries.c.seq > cursor)
            .order_by(entries.c.seq)
            .limit(CHUNK)
        )
        if stop is not None:
            stmt = stmt.where(entries.c.seq < stop)
        batch = conn.execute(stmt).all()
        for seq, body, stored in batch:
            yield _parse(int(seq), as_bytes(body), as_bytes(stored))
        if len(batch) < CHUNK:
            return
        cursor = int(batch[-1][0])


def clusters(points: list[int], gap: int = 3) -> Iterator[tuple[int, int]]:
    if not points:
        return
    lo = hi = points[0]
    for p in points[1:]:
        if p - hi > gap:
            yield lo, hi
            lo = p
        hi = p
    yield lo, hi


@dataclass
class _Namer:
    """The findings of one window: each position is reported at most once, and only near
    the anomalies ``[lo, hi]``."""

    lo: int
    hi: int
    out: list[Named] = field(default_factory=list)
    done: set[int] = field(default_factory=set)

    def report(self, seq: int, code: str, message: str) -> None:
        if seq not in self.done and self.lo - 1 <= seq <= self.hi + 1:
            self.done.add(seq)
            self.out.append((seq, code, message))


def diagnose_window(window: list[Row], lo: int, hi: int) -> list[Named]:
    """Name the changes inside rows ``window`` (stored order) around anomalies in ``[lo, hi]``.

    Decisions, in order: structure (gaps, duplicated or displaced sequence numbers), then
    content (bytes that no longer hash to what was recorded), then links. Each position is
    reported at most once.
    """
    namer = _Namer(lo, hi)
    _gaps(window, namer)
    _renumbered(window, namer)
    for i in range(len(window)):
        _content_and_link(window, i, namer)
    return namer.out


def _gaps(window: list[Row], namer: _Namer) -> None:
    """1. Gaps in the stored sequence column."""
    for a, b in itertools.pairwise(window):
        for missing in range(a.seq + 1, b.seq):
            namer.report(missing, "entry-deleted", f"entry {missing} is missing from the ledger")
            namer.done.add(b.seq)  # its broken link is explained by the deletion


def _renumbered(window: list[Row], namer: _Namer) -> None:
    """2. Sequence numbers inside the bytes that disagree with the position."""
    positions = {r.seq for r in window}
    claims = [r.claimed for r in window]
    for i, r in enumerate(window):
        if r.claimed is None or r.claimed == r.seq:
            continue
        before = window[i - 1] if i else None
        if before is not None and before.claimed is not None and r.claimed == before.claimed + 1:
            continue  # a constant shift continuing a change reported earlier
        if r.claimed in positions and claims.count(r.claimed) == 1 and r.seq in claims:
            namer.report(r.seq, "entries-reordered", f"the entry stored at position {r.seq} is entry {r.claimed}")
            namer.done.add(r.seq + 1)  # the displaced neighbour and its broken link are the same change
        elif before is not None and before.claimed == r.claimed:
            # two rows claim the same number: the one the chain does not vouch for was inserted
            vouched_prev = r.prev == before.prev
            inserted = before if vouched_prev else r
            namer.report(inserted.seq, "entry-inserted", f"entry at position {inserted.seq} is not part of the chain")
            if inserted is before:
                namer.done.add(r.seq)
        elif r.claimed > r.seq:
            namer.report(r.seq, "entry-deleted", f"entry {r.seq} is missing; later entries were renumbered to hide it")


def _content_and_link(window: list[Row], i: int, namer: _Namer) -> None:
    """3. The content of row ``i`` and its link to the row before."""
    r = window[i]
    before = window[i - 1] if i else None
    after = window[i + 1] if i + 1 < len(window) else None
    explain_after = after is not None and after.seq == r.seq + 1 and after.recomputed == after.stored
    if r.malformed:
        namer.report(r.seq, "entry-malformed", f"entry {r.seq} is not a ledger entry: {r.malformed}")
        if explain_after and after is not None:
            namer.done.add(after.seq)
        return
    # the link holds if it names the previous entry's hash as recorded or as recomputed
    # (a changed predecessor is reported on its own)
    back_bad = before is not None and before.seq == r.seq - 1 and r.prev not in (before.recomputed, before.stored)
    if r.seq == 0 and r.prev != GENESIS_PREV:
        back_bad = True
    changed = r.recomputed != r.stored
    if not changed and after is not None and after.seq == r.seq + 1 and after.seq not in namer.done:
        changed = after.prev != r.recomputed and not _rewritten(window, i + 1)
    if changed:
        if back_bad:
            namer.report(r.seq, "link-broken", f"entry {r.seq} was rewritten to name another previous entry")
        else:
            namer.report(r.seq, "entry-modified", f"entry {r.seq} was changed after it was recorded")
        if explain_after and after is not None:
            namer.done.add(after.seq)  # its link to the changed entry is explained
    elif back_bad:
        namer.report(r.seq, "link-broken", f"entry {r.seq} does not name entry {r.seq - 1} as its previous entry")


def _rewritten(window: list[Row], i: int) -> bool:
    """Whether row ``i`` was itself rewritten: its bytes changed, or its own successor does
    not vouch for it. (When the next entry does not vouch for a row, that row was rewritten
    unless the next one was.)"""
    after = window[i]
    after2 = window[i + 1] if i + 1 < len(window) else None
    return after.recomputed != after.stored or (
        after2 is not None and after2.seq == after.seq + 1 and after2.prev != after.recomputed
    )
