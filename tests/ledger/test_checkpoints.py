"""Checkpoints signed on the writer's path: every write that grows the tree signs the checkpoint
of its new size before it commits, once per transaction; a rolled-back write signs nothing; a
tree grown without the key is caught up by ``Checkpoints.sign``. Both engines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.conftest import Database
from tests.ledger.test_verify_tamper import drop_triggers, rebuild_nodes
from tracefood.errors import IntegrityError, LedgerKeyError
from tracefood.ledger import Ledger, NewEntry, Write, merkle
from tracefood.ledger.models import checkpoints
from tracefood.ledger.note import open_checkpoint


def lots(start: int, count: int) -> list[NewEntry]:
    return [NewEntry({"lot": f"LOT-{i}"}, entry_id=f"lot-{i}") for i in range(start, start + count)]


def stored(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as conn:
        return [int(s) for s in conn.execute(select(checkpoints.c.size).order_by(checkpoints.c.size)).scalars()]


def test_append__signs_the_checkpoint_of_the_grown_tree(ledger: Ledger) -> None:
    for start, count in ((0, 1), (1, 4), (5, 3)):
        ledger.append_batch(lots(start, count))
        signed = ledger.latest_checkpoint()
        assert signed is not None and signed.size == ledger.size()
        assert open_checkpoint(signed.note, ledger.verifier).root == ledger.root()[1]
        # kept beside the key by the write itself, once committed: never behind what a reader got
        assert ledger.witness_file is not None
        assert ledger.witness_file.read_text(encoding="utf-8") == signed.note
    assert stored(ledger) == [1, 5, 8]


def test_append__repeat_that_adds_nothing_signs_nothing(ledger: Ledger) -> None:
    ledger.append_batch(lots(0, 3))
    ledger.append_batch(lots(0, 3))
    ledger.write(lambda w: w.append(lots(1, 2)))
    assert stored(ledger) == [3]


def test_write__one_checkpoint_for_several_appends_in_one_transaction(ledger: Ledger) -> None:
    def work(w: Write) -> None:
        w.append(lots(0, 2))
        w.append(lots(2, 2))

    ledger.append_batch(lots(100, 1))
    ledger.write(work)
    assert stored(ledger) == [1, 5]
    proof = ledger.consistency_proof(1, 5)
    first, last = (open_checkpoint(n, ledger.verifier) for n in _notes(ledger))
    merkle.verify_consistency(1, 5, proof.path, first.root, last.root)


def test_write__failing_work_signs_nothing(ledger: Ledger) -> None:
    ledger.append_batch(lots(0, 2))

    def work(w: Write) -> None:
        w.append(lots(2, 3))
        raise RuntimeError("projection failed")

    with pytest.raises(RuntimeError):
        ledger.write(work)
    assert stored(ledger) == [2]
    ledger.append_batch(lots(2, 1))
    assert stored(ledger) == [2, 3]


def test_write__concurrent_writers_each_covered_when_they_return(ledger: Ledger) -> None:
    # Group commit may share a transaction: still one checkpoint per commit, covering each
    # writer's entries by the time its write returns.
    problems: list[str] = []

    def writer(worker: int) -> None:
        for i in range(5):
            item = NewEntry({"w": worker, "i": i})
            (receipt,) = ledger.write(lambda w, item=item: w.append([item]))  # type: ignore[misc]
            latest = ledger.latest_checkpoint()
            if latest is None or latest.size <= receipt.seq:
                problems.append(f"entry {receipt.seq} not covered")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    sizes = stored(ledger)
    assert sizes[-1] == ledger.size() == 20 and len(sizes) <= 20
    assert ledger.verify().ok


def test_sign__catches_up_a_tree_grown_without_the_key(ledger: Ledger) -> None:
    ledger.append_batch(lots(0, 2))
    keyless = Ledger(ledger.engine)
    keyless.append_batch(lots(2, 3))
    assert stored(ledger) == [2]
    with pytest.raises(LedgerKeyError):
        keyless.checkpoints.sign()
    assert ledger.checkpoints.sign().size == 5
    assert stored(ledger) == [2, 5]
    assert ledger.checkpoints.sign().size == 5  # nothing new to sign
    assert stored(ledger) == [2, 5]


def test_latest_checkpoint__reads_only(ledger: Ledger) -> None:
    assert ledger.latest_checkpoint() is None  # nothing appended, nothing signed, nothing written
    assert stored(ledger) == []
    ledger.append_batch(lots(0, 1))
    with ledger.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(checkpoints)).scalar_one()
    for _ in range(3):
        assert ledger.latest_checkpoint() is not None
    assert stored(ledger) == [1] and count == 1


def _notes(ledger: Ledger) -> list[str]:
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(checkpoints.c.note).order_by(checkpoints.c.size)).scalars())


def test_append__never_signs_a_fork_of_a_checkpoint_it_handed_out(
    ledger: Ledger, migrated: Database, key_file: Path
) -> None:
    """A database writer who rewrites history and deletes the checkpoint rows that show it
    cannot make the ledger sign a fork: the checkpoint kept beside the key by the last write
    (even one whose process then died without closing) still has to be extended."""
    for i in range(3):
        ledger.append({"lot": f"W-{i}"})
    handed = ledger.latest_checkpoint()
    assert handed is not None and handed.size == 3
    drop_triggers(ledger.engine)
    with ledger.engine.begin() as conn:  # history rewritten below the handed-out checkpoint
        conn.execute(text("DELETE FROM ledger_checkpoints WHERE size > 1"))
        conn.execute(text("DELETE FROM ledger_nodes"))
        conn.execute(text("DELETE FROM ledger_entries WHERE seq >= 1"))
    rebuild_nodes(ledger.engine)
    reopened = Ledger.open(migrated.url, key_file=key_file)  # as a restarted process would
    try:
        for lot in ("FORK-1", "FORK-2"):
            with pytest.raises(IntegrityError):
                reopened.append({"lot": lot})
        assert reopened.size() == 1 and stored(reopened) == [1]
    finally:
        reopened.close()
